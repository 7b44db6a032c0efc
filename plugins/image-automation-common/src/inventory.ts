/**
 * An object a ResourceSet applied, as its inventory records it: a reference (what Flux's
 * inventory ids carry), never the object's content.
 * @public
 */
export interface InventoryObjectRef {
  /** `group/version`, or `version` for the core group. */
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

/**
 * Where a cluster's apply stands: `applying` while it runs, `applied` after it finished,
 * `failed` when it stopped (the entries are then those of the last apply and the failed one).
 * @public
 */
export type ClusterInventoryState = 'applying' | 'applied' | 'failed';

/** What a ResourceSet applied into one cluster. @public */
export interface ClusterInventoryView {
  cluster: string;
  state: ClusterInventoryState;
  /** The revision of the last apply that finished in this cluster. */
  lastAppliedRevision?: string;
  /** When the inventory last changed. */
  updatedAt: string;
  /** The objects, by kind, namespace and name. */
  entries: InventoryObjectRef[];
}

/**
 * `GET /objects/ResourceSet/:namespace/:name/inventory`: what a ResourceSet applied, per cluster
 * (by cluster name). A cluster it never applied into is absent.
 * @public
 */
export interface ResourceSetInventoryView {
  /** The ResourceSet, `ResourceSet/<namespace>/<name>`. */
  id: string;
  clusters: ClusterInventoryView[];
}
