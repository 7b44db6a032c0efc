/** A Kubernetes-style status condition, as Flux writes them. @public */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** `status.lastScanResult` of an ImageRepository. @public */
export interface ScanResult {
  tagCount: number;
  scanTime: string;
  revision: string;
  latestTags?: string[];
}

/** `status.latestRef` and `status.observedPreviousRef` of an ImagePolicy. @public */
export interface ImageRef {
  name: string;
  tag: string;
  digest?: string;
}

/** One entry of a ResourceSet's `status.history` (Flux Operator's `Snapshot`). @public */
export interface HistorySnapshot {
  /** `sha256:` of the applied objects (of the spec when the build failed). */
  digest: string;
  firstReconciled: string;
  lastReconciled: string;
  /** Go duration of the last reconcile with this outcome. */
  lastReconciledDuration: string;
  /** The Ready reason of that outcome. */
  lastReconciledStatus: string;
  totalReconciliations: number;
  /** `inputs` and `resources` counts. */
  metadata?: Record<string, string>;
}

/**
 * The status of an automation object: Flux's status fields for its kind plus the
 * conditions. Kind-specific fields are optional.
 * @public
 */
export interface ObjectStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastHandledReconcileAt?: string;
  canonicalImageName?: string;
  lastScanResult?: ScanResult;
  observedExclusionList?: string[];
  latestRef?: ImageRef;
  observedPreviousRef?: ImageRef;
  /** ImageUpdateAutomation: when the last run started. */
  lastAutomationRunTime?: string;
  /** ImageUpdateAutomation: the full hash of the last pushed commit. */
  lastPushCommit?: string;
  lastPushTime?: string;
  /** ImageUpdateAutomation: the policies applied by the last run, by name. */
  observedPolicies?: Record<string, ImageRef>;
  /** ImageUpdateAutomation: the source revision of the last run (`main@sha1:…`). */
  observedSourceRevision?: string;
  /**
   * ImageUpdateAutomation: the `$imagepolicy` markers the last run found at the branch tip, with the
   * value each held (not a Flux field; at most 500).
   */
  markers?: Array<{
    file: string;
    line: number;
    setter: string;
    value: string;
  }>;
  /**
   * ImageUpdateAutomation in pull-request mode: the pull request of the target (not a Flux field).
   * `versions` are the policies' versions it carries (`name` → `tag[@digest]`); `promotions` the
   * promotions it carries out.
   */
  pullRequest?: {
    number: number;
    url: string;
    branch: string;
    base: string;
    state: 'open' | 'closed' | 'merged';
    head?: string;
    versions: Record<string, string>;
    promotions: string[];
    approvedBy?: string[];
    changesRequestedBy?: string[];
    checks?: 'success' | 'pending' | 'failure' | 'none';
    /** Auto-merge was asked for and the host accepted it. */
    autoMerge?: boolean;
    mergeCommit?: string;
    /**
     * When the host last changed the pull request, as the host said (its `updated_at`): its reviews
     * are read again only when this moves (a review changes it; a push of this automation is
     * recorded with the time the host answered).
     */
    hostChangedAt?: string;
    updatedAt: string;
  };
  /** Receiver: `/hook/<sha256 of token, name and namespace>` (served under `/api/image-automation`). */
  webhookPath?: string;
  /** GitRepository: the revision last resolved (`main@sha1:…`). */
  artifact?: { revision: string; lastUpdateTime: string };
  /** ResourceSetInputProvider: the inputs exported by the last successful reconcile. */
  exportedInputs?: Array<Record<string, unknown>>;
  /** ResourceSetInputProvider: `sha256:` digest of the exported inputs as sorted-key YAML. */
  lastExportedRevision?: string;
  /** ResourceSetInputProvider: the schedule and time of the next allowed reconcile. */
  nextSchedule?: {
    cron: string;
    timeZone?: string;
    window?: string;
    when: string;
  };
  /** ResourceSetInputProvider: the last `reconcile.fluxcd.io/forceAt` handled. */
  lastHandledForceAt?: string;
  /**
   * ResourceSet: what the last finished apply left in the clusters, in Flux's format
   * (`<ns>_<name>_<group>_<Kind>`), the union over the target clusters.
   */
  inventory?: { entries: Array<{ id: string; v: string }> };
  /** ResourceSet: the clusters applied to by the last finished reconcile, by name. */
  appliedClusters?: string[];
  /** ResourceSet: `sha256:` digest of the objects of the last finished apply. */
  lastAppliedRevision?: string;
  /** ResourceSet: the last reconcile outcomes, newest first, at most 5. */
  history?: HistorySnapshot[];
  /**
   * Provider: the outcome of the last notification delivery (not a Flux field: Flux's v1beta3
   * Provider has no status).
   */
  lastDelivery?: { time: string; result: 'Sent' | 'Failed'; message: string };
}
