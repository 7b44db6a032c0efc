import {
  ObjectEvent,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { StoredObject } from '../store/ObjectStore';

/** What one reconcile of one object produced. @internal */
export interface ReconcileResult {
  status: ObjectStatus;
  /** When the object is due again. */
  requeueAfterMs: number;
  /**
   * Ids of objects that must be reconciled now because this one produced something new
   * (a new scan revision, a new selection).
   */
  dueNow?: string[];
  /**
   * Events beyond the Ready transition the engine records anyway (a push summary, a marker
   * that could not be applied).
   */
  events?: Array<Pick<ObjectEvent, 'type' | 'reason' | 'message' | 'metadata'>>;
  /**
   * Metadata for the Ready transition's event (when the engine records one and it is Normal): what
   * Flux's controller attaches to it, e.g. a GitRepository's artifact `revision`.
   */
  readyEventMetadata?: Record<string, string>;
  /**
   * The type of the Ready transition's event when it is not the usual one (Normal when ready,
   * Warning when not): the Flux Operator records a dependency that is not ready yet as Normal.
   */
  readyEventType?: ObjectEvent['type'];
  /**
   * The message of the Ready transition's event when it says more than the condition: the Flux
   * Operator's input provider adds `, revision <digest>` to its success event only.
   */
  readyEventMessage?: string;
}

/** What the engine hands a reconcile besides the object. @internal */
export interface ReconcileContext {
  /**
   * Aborted when this instance may no longer act for the object: its lease was lost or ran out
   * without renewal, its deadline passed, or the engine is stopping. A reconciler checks it
   * (`signal.throwIfAborted()`) before every write: a scan or selection recorded, a push, an
   * apply, a prune, a promotion record. Requests it passes the signal to are cancelled with it.
   */
  signal: AbortSignal;
}

/** The reconciler of one kind, mirroring the Flux controller for it. @internal */
export interface Reconciler {
  readonly apiVersion: string;
  readonly kind: string;
  /**
   * How long one reconcile of the object may take, from its spec (Flux's `timeout`, or the kind's
   * default); the engine aborts it a grace period later. Undefined: the engine's default.
   */
  timeoutMs?(
    object: StoredObject,
  ): number | undefined | Promise<number | undefined>;
  reconcile(
    object: StoredObject,
    now: Date,
    context?: ReconcileContext,
  ): Promise<ReconcileResult>;
}

/** Why the engine aborted a reconcile: the reason of {@link ReconcileContext.signal}. @internal */
export class ReconcileAborted extends Error {
  constructor(
    /** `lease`: lost or about to run out; `deadline`: took too long; `shutdown`: the engine stops. */
    readonly why: 'lease' | 'deadline' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'ReconcileAborted';
  }
}
