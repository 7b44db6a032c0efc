import { ObjectStatus } from './objects/status';

/** Where an automation object was declared. @public */
export interface ObjectSource {
  /** `catalog`: an entity's manifests annotation; `config`: `imageAutomation.locations`. */
  type: 'catalog' | 'config';
  /** The URL or file the manifest was read from. */
  location: string;
}

/** Whether the caller may perform an action, and why not. @public */
export interface ActionPermission {
  allowed: boolean;
  reason?: string;
}

/** An automation object with its status and schedule, as the API returns it. @public */
export interface AutomationObjectView {
  /** Stable id: `<kind>/<namespace>/<name>`. */
  id: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** The entity the object belongs to, if any. */
  entityRef?: string;
  source: ObjectSource;
  generation: number;
  spec: Record<string, unknown>;
  status: ObjectStatus;
  suspended: boolean;
  /** Who suspended or resumed the object last, and when. */
  suspendedBy?: string;
  suspendedAt?: string;
  /** The last reconcile request, by whom. */
  reconcileRequestedAt?: string;
  reconcileRequestedBy?: string;
  lastRunAt?: string;
  nextRunAt?: string;
  /** What the caller may do with this object. */
  actions: {
    suspend: ActionPermission;
    resume: ActionPermission;
    reconcile: ActionPermission;
  };
}

/**
 * The class of a registry failure (the backend's `RegistryError.kind`):
 * - `unauthorized`: 401/403 or a refused token request (wrong or missing credentials);
 * - `notFound`: the repository or tag does not exist;
 * - `hostNotAllowed`: the registry or its token realm is not allow-listed (a configuration matter);
 * - `tagLimit`: the repository has more tags than the configured cap;
 * - `rateLimited`: 429 still after the allowed retries;
 * - `budgetExceeded`: the per-registry request budget (counted across every replica) would not allow
 *   the request before the deadline, or could not be claimed;
 * - `timeout`, `aborted`, `network`, `tls`: the connection failed, slowly or not;
 * - `server`: 5xx still after the allowed retries;
 * - `rejected`: another 4xx answer (a bad request, a method not allowed);
 * - `invalidResponse`: malformed JSON, an oversized body, an unusable header, a page link to another
 *   host (Flux's SSRF guard), a token realm over plain HTTP for an HTTPS registry;
 * - `invalidReference`: the image name cannot be parsed.
 * @public
 */
export type RegistryErrorKind =
  | 'unauthorized'
  | 'notFound'
  | 'hostNotAllowed'
  | 'tagLimit'
  | 'rateLimited'
  | 'budgetExceeded'
  | 'timeout'
  | 'aborted'
  | 'network'
  | 'tls'
  | 'server'
  | 'rejected'
  | 'invalidResponse'
  | 'invalidReference';

/** One scan of an ImageRepository. @public */
export interface ScanRecord {
  id: number;
  objectId: string;
  canonicalImageName?: string;
  startedAt: string;
  durationMs: number;
  outcome: 'success' | 'failure';
  error?: string;
  /** A failed scan: the class of the registry's failure; absent when it was not a registry error. */
  errorKind?: RegistryErrorKind;
  /** A failed scan: the HTTP status of the registry's failing answer, when there was one. */
  errorStatus?: number;
  tagCount: number;
  revision?: string;
  tagsAdded: string[];
  tagsRemoved: string[];
  requests: number;
}

/** A page of results. @public */
export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/** An action on an object through the API. @public */
export type ObjectAction = 'suspend' | 'resume' | 'reconcile';

/** An event of an automation object, as Flux controllers emit them. @public */
export interface ObjectEvent {
  id: number;
  objectId: string;
  time: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /**
   * What the reporting controller attaches for notifications (Flux's event metadata, e.g. the
   * `revision` a push or an artifact is at). Offered to the Alerts with the event; not stored, so
   * events read back through the API have none.
   */
  metadata?: Record<string, string>;
}

/** Why one tag was or was not selected by an ImagePolicy. @public */
export interface TagVerdictView {
  tag: string;
  /** A stable name: `selected`, `eligible`, `not-semver`, `out-of-range`, `filtered-out`, … */
  verdict: string;
  /** The verdict in a sentence. */
  sentence: string;
  detail?: string;
  /** The digest the tag pointed at when it was last resolved, if it ever was. */
  digest?: string;
  /** When a scan first found the tag. */
  firstSeenAt?: string;
}

/** An ImagePolicy's selection against its repository's stored tags, tag by tag. @public */
export interface PolicyExplanation {
  /** The ImageRepository whose stored tags were evaluated. */
  repositoryId: string;
  /** The selected tag, or why nothing could be selected (Flux's reason and message). */
  selection:
    | { ok: true; tag: string }
    | { ok: false; reason: string; message: string };
  /** Every stored tag, in the order the controller iterates them. */
  verdicts: TagVerdictView[];
  /**
   * The repository's effective `exclusionList`: tags matching it are dropped at scan time, so
   * they are never stored and have no verdict.
   */
  exclusionList: string[];
}

/** A tag an ImageRepository has seen (`GET /objects/…/tags`). @public */
export interface RepositoryTagView {
  tag: string;
  /** The digest the tag pointed at when it was last resolved, if it ever was. */
  digest?: string;
  firstSeenAt: string;
  lastSeenAt: string;
  /** When a scan first missed the tag; absent while the registry still lists it. */
  goneSince?: string;
}

/** A policy to evaluate without saving it (`POST /policy-preview`). @public */
export interface PolicyPreviewRequest {
  /** The namespace the policy would live in. */
  namespace: string;
  /** The `spec` of the ImagePolicy. */
  spec: Record<string, unknown>;
}
