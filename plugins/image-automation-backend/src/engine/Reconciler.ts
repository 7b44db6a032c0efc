import { ObjectEvent, ObjectStatus } from '@imageops/backstage-plugin-image-automation-common';
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
  events?: Array<Pick<ObjectEvent, 'type' | 'reason' | 'message'>>;
}

/** The reconciler of one kind, mirroring the Flux controller for it. @internal */
export interface Reconciler {
  readonly apiVersion: string;
  readonly kind: string;
  reconcile(object: StoredObject, now: Date): Promise<ReconcileResult>;
}
