import {
  AutomationObject,
  ObjectSource,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';

/** An object as declared by a source, before it is stored. @internal */
export interface DeclaredObject {
  manifest: AutomationObject;
  entityRef?: string;
  source: ObjectSource;
  /**
   * The namespaces granted to the declaring entity (`*` for all), checked by the engine and the
   * reconcilers; absent for platform objects (`imageAutomation.locations`).
   */
  grantedNamespaces?: string[];
}

/** A stored automation object with its status and schedule. @internal */
export interface StoredObject {
  id: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  entityRef?: string;
  sourceKey: string;
  source: ObjectSource;
  /** See {@link DeclaredObject.grantedNamespaces}. */
  grantedNamespaces?: string[];
  manifest: AutomationObject;
  generation: number;
  status: ObjectStatus;
  suspended: boolean;
  suspendedBy?: string;
  suspendedAt?: string;
  reconcileRequestedAt?: string;
  reconcileRequestedBy?: string;
  nextRunAt: string;
  lastRunAt?: string;
}

/** Objects, their status, schedule and lease. @internal */
export interface ObjectStore {
  /**
   * Replaces what one source declares: new objects are created (due now), changed ones get a
   * new generation (due now), those the source no longer declares are deleted. An object
   * already declared by another source is left to that source and reported back, except that a
   * platform source (`config`) takes over an object a catalog source declared. A change of the
   * granted namespaces makes the object due now (without a new generation).
   */
  syncSource(
    sourceKey: string,
    objects: DeclaredObject[],
  ): Promise<{
    conflicts: Array<{
      id: string;
      ownerSourceKey: string;
      ownerEntityRef?: string;
    }>;
    takenOver: Array<{ id: string; fromSourceKey: string }>;
  }>;
  /**
   * Sets (message) or clears (undefined) the `DeclarationConflict` condition of an object that
   * other sources also declare; runs keep it until it is cleared.
   */
  setDeclarationConflict(
    id: string,
    message: string | undefined,
    now: Date,
  ): Promise<void>;
  /** Every source key that has objects (to drop sources that disappeared). */
  listSourceKeys(): Promise<string[]>;
  get(id: string): Promise<StoredObject | undefined>;
  list(filter?: {
    entityRef?: string;
    kind?: string;
    namespace?: string;
    sourceKey?: string;
  }): Promise<StoredObject[]>;
  /**
   * Takes a lease on up to `limit` due objects that nobody else holds, atomically per
   * object, so two instances on one database never reconcile the same object at once.
   */
  claimDue(options: {
    owner: string;
    now: Date;
    limit: number;
    leaseMs: number;
  }): Promise<StoredObject[]>;
  /** How many objects are due at `now` and not leased (what claimDue would choose from); for metrics. */
  countDue(now: Date): Promise<number>;
  /** Extends this owner's lease on an object while a long reconcile runs; false if it was lost. */
  renewLease(id: string, owner: string, until: Date): Promise<boolean>;
  /** Stores an intermediate status (progress of a long reconcile) while this owner holds the lease. */
  reportProgress(
    id: string,
    owner: string,
    status: ObjectStatus,
  ): Promise<boolean>;
  /**
   * Gives up this owner's lease without storing an outcome (the run was stopped before it
   * finished): the object is due again at once, for any instance. False if the lease was not held.
   */
  releaseLease(id: string, owner: string, now: Date): Promise<boolean>;
  /** Stores the outcome of a run and releases the lease, if this owner still holds it. */
  completeRun(
    id: string,
    owner: string,
    result: { status: ObjectStatus; nextRunAt: Date; ranAt: Date },
  ): Promise<boolean>;
  setSuspended(
    id: string,
    suspended: boolean,
    actor: string,
    now: Date,
  ): Promise<StoredObject | undefined>;
  requestReconcile(
    id: string,
    actor: string,
    now: Date,
  ): Promise<StoredObject | undefined>;
  /** Makes objects due now (a dependency changed). */
  markDue(ids: string[], now: Date): Promise<void>;
}
