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
}
