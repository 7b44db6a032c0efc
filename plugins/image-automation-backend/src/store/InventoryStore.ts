/**
 * Inventory entry in Flux's format: `{id: "<ns>_<name>_<group>_<Kind>", v: "<version>"}`.
 * @internal
 */
export interface InventoryEntry {
  id: string;
  v: string;
}

/**
 * Where an apply stands: `applying` while it runs (entries = old ∪ new), `applied` after it finished
 * (entries = new), `failed` when it stopped (entries stay old ∪ new until a retry succeeds).
 * @internal
 */
export type InventoryState = 'applying' | 'applied' | 'failed';

/**
 * What one automation object applied into one cluster.
 * @internal
 */
export interface InventoryRecord {
  /** The applying object, e.g. `ResourceSet/<namespace>/<name>`. */
  owner: string;
  cluster: string;
  entries: InventoryEntry[];
  state: InventoryState;
  /** Revision of the last apply that finished. */
  lastAppliedRevision?: string;
  /** Why the last apply failed. */
  message?: string;
  /**
   * Only with state `applied`: the `resourceVersion` each object had right after the apply that
   * finished (keyed by inventory id), and `key`, a digest of the settings it was applied with. An
   * unchanged render whose objects still carry these versions needs no dry run.
   */
  appliedVersions?: AppliedVersions;
  /**
   * When a manifest sync first found the owner gone from its source (undefined while it exists);
   * what it applied is uninstalled once it has been gone for the grace period.
   */
  orphanedAt?: Date;
  updatedAt: Date;
}

/**
 * The `resourceVersion`s an apply left, and the digest of its settings.
 * @internal
 */
export interface AppliedVersions {
  key: string;
  versions: Record<string, string>;
}

/**
 * Storage of inventories.
 * @internal
 */
export interface InventoryStore {
  /** The inventory of `owner` in `cluster`, if it applied anything there. */
  get(owner: string, cluster: string): Promise<InventoryRecord | undefined>;
  /** Inventories of one owner (all clusters) and/or one cluster (all owners), ordered by owner, cluster. */
  list(filter?: {
    owner?: string;
    cluster?: string;
  }): Promise<InventoryRecord[]>;
  /** Creates or replaces the inventory of `owner` in `cluster` (its owner exists: not orphaned). */
  put(record: Omit<InventoryRecord, 'updatedAt' | 'orphanedAt'>): Promise<void>;
  /** Records when the owner was found gone, or (undefined) that it exists again. */
  setOrphaned(
    owner: string,
    cluster: string,
    since: Date | undefined,
  ): Promise<void>;
  /** Forgets the inventory (after everything in it was garbage-collected). */
  delete(owner: string, cluster: string): Promise<void>;
}
