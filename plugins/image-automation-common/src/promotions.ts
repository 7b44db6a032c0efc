import { ActionPermission } from './api';

/**
 * Where a promotion stands. `pending` waits for its gates; `approved` may be carried out on the
 * next pass; `applying` is being written by one backend instance; `applied` and `failed` are its
 * outcomes; `rejected` was refused by a person; `superseded` was replaced by a newer selection
 * before it was carried out.
 * @public
 */
export type PromotionState =
  | 'pending'
  | 'approved'
  | 'rejected'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'superseded';

/** States in which a promotion is still open (not yet closed). @public */
export const OPEN_PROMOTION_STATES: readonly PromotionState[] = [
  'pending',
  'approved',
  'applying',
  'failed',
];

/**
 * What a promotion moves: a Git target is one ImageUpdateAutomation's markers for one ImagePolicy;
 * a cluster target is one ResourceSet in one cluster, for one input provider.
 * @public
 */
export interface PromotionTarget {
  /** `git:<automation id>` or `cluster:<ResourceSet id>@<cluster>`. */
  id: string;
  type: 'git' | 'cluster';
  /** The ImageUpdateAutomation or ResourceSet. */
  objectId: string;
  /** Cluster targets: the cluster's name. */
  cluster?: string;
}

/** A version of an image (or of a provider's inputs) a target carries or should carry. @public */
export interface PromotionVersion {
  /** The image name (repository), when known. */
  image?: string;
  tag: string;
  digest?: string;
  /** Input providers: `lastExportedRevision` of the exported inputs. */
  revision?: string;
  /** Input providers: the exported inputs of that revision. */
  inputs?: Array<Record<string, unknown>>;
}

/** The gates a promotion can wait for. @public */
export type PromotionGateName =
  | 'approval'
  | 'soak'
  | 'window'
  | 'upstream'
  | 'pin';

/** One gate's verdict on a promotion, with its evidence. @public */
export interface PromotionGateResult {
  gate: PromotionGateName;
  /** `passed`; `waiting` (will pass by itself or by a person acting); `error` (misconfigured). */
  state: 'passed' | 'waiting' | 'error';
  /** A short line, e.g. `approval 1/2`, `soak 3h left`, `window opens Mon 09:00 (Europe/Berlin)`. */
  summary: string;
  /** What the verdict rests on (votes, first-seen time, window, upstream record). */
  evidence: Record<string, unknown>;
  /** When the gate passes by itself (soak end, window opening), if it does. */
  eta?: string;
}

/** One step of a promotion's life: who or what decided it, and when. @public */
export interface PromotionStep {
  state: PromotionState;
  at: string;
  /** A user or service entity ref, or `image-automation` for the engine. */
  by: string;
  /** Why: a rejection reason, a justification, an error, or what the engine saw. */
  note?: string;
}

/** A vote on a promotion, bound to the digest it was cast for. @public */
export interface PromotionVote {
  actor: string;
  decision: 'approve' | 'reject';
  /** The digest (or tag, when no digest is known) the vote was cast for. */
  digest: string;
  at: string;
  reason?: string;
}

/** A promotion, as the API returns it. @public */
export interface PromotionView {
  id: string;
  entityRef?: string;
  target: PromotionTarget;
  /** What moves: `ImagePolicy/<ns>/<name>` or `ResourceSetInputProvider/<ns>/<name>`. */
  subject: string;
  from?: PromotionVersion;
  to: PromotionVersion;
  state: PromotionState;
  gates: PromotionGateResult[];
  /** When every gate will have passed by itself, if that is known. */
  eta?: string;
  votes: PromotionVote[];
  history: PromotionStep[];
  /** Promote now: the gates that were bypassed and the justification given. */
  bypassedGates?: PromotionGateName[];
  justification?: string;
  /** Git targets: the commit that carried the version. */
  commit?: string;
  /**
   * Git targets in pull-request mode: the pull (merge) request that carries this promotion, as last
   * read from its host. `state` is the host's; `merged` means applied (`mergeCommit` is the commit).
   */
  pullRequest?: PromotionPullRequest;
  /** Cluster targets: the applied revision. */
  appliedRevision?: string;
  /** The diff written (setter lines for Git, per-object changes for clusters). */
  diff?: string;
  error?: string;
  createdAt: string;
  updatedAt: string;
  closedAt?: string;
  /** What the caller may do with this promotion. */
  actions: {
    approve: ActionPermission;
    reject: ActionPermission;
    promoteNow: ActionPermission;
  };
}

/** The pull request that carries a promotion in pull-request mode. @public */
export interface PromotionPullRequest {
  /** The host's web page of the pull request. */
  url: string;
  number: number;
  /** The Git host, e.g. `gitea.example.com`. */
  host: string;
  state: 'open' | 'closed' | 'merged';
  /** Reviewers whose latest review approves the head commit. */
  approvedBy?: string[];
  changesRequestedBy?: string[];
  /** The combined state of the head commit's checks, if the host reports them. */
  checks?: 'success' | 'pending' | 'failure' | 'none';
  /** Auto-merge enabled on the host (merges when its own rules pass). */
  autoMerge?: boolean;
  mergeCommit?: string;
  updatedAt: string;
}

/** A hold of one target's subject at a version. @public */
export interface PromotionPin {
  targetId: string;
  subject: string;
  version: PromotionVersion;
  reason: string;
  by: string;
  at: string;
  /** The pin lifts itself then, if set. */
  expiresAt?: string;
}

/** What a pending promotion would write (`POST /promotions/:id/preview`). @public */
export interface PromotionPreview {
  promotionId: string;
  /** Git: unified diff of the setter lines and the commit message; cluster: per-object changes. */
  diff: string;
  commitMessage?: string;
  /** Cluster targets: the objects that would change, by cluster. */
  objects?: Array<{
    cluster: string;
    object: string;
    action: string;
    diff?: string;
  }>;
  computedAt: string;
}

/** One row of the versions matrix: one image on one target. @public */
export interface TargetVersionView {
  target: PromotionTarget;
  subject: string;
  image: string;
  /** Git: `file:line` of every marker naming the policy. */
  markers?: Array<{
    file: string;
    line: number;
    setter: string;
    value: string;
  }>;
  deployed?: PromotionVersion;
  /** Cluster targets: what the pods run, e.g. `2/3 pods on 1.4.1`. */
  running?: {
    summary: string;
    images: Array<{ image: string; pods: number }>;
    error?: string;
  };
  selected?: PromotionVersion;
  newest?: { tag: string; firstSeenAt?: string };
  behind?: { tags: number; summary: string; ageMs?: number };
  /**
   * Why `selected`, `newest` and `behind` are left out, e.g. `reference not allowed: …` when the
   * policy's ImageRepository is in a namespace its entity was not granted.
   */
  tagsUnavailable?: string;
  pin?: PromotionPin;
  /** The open promotion for this row, if any. */
  promotionId?: string;
}

/** `GET /entities/:kind/:namespace/:name/versions`. @public */
export interface EntityVersionsView {
  entityRef: string;
  items: TargetVersionView[];
}
