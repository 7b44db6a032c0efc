/**
 * A Kubernetes object as plain JSON: what is rendered, applied and read back.
 * @internal
 */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/**
 * How Backstage authenticates to a cluster. Tokens of catalog clusters always come from named
 * credentials in app-config, never from the catalog.
 * @internal
 */
export type ClusterAuth =
  | { type: 'serviceAccount'; token: string }
  | { type: 'clientCertificate'; certData: string; keyData: string };

/**
 * What automation may do in a cluster. Every list fails closed: an empty or missing list allows
 * nothing of that dimension; `*` in a list allows everything of it (the only way to say "all").
 * Whether an object is namespaced is decided by the API server's discovery, never by the manifest.
 * @internal
 */
export interface ClusterWritePolicy {
  /** Namespaces objects may be written to and read from (and Namespace objects that may be applied). */
  allowedNamespaces?: string[];
  /** Namespaced kinds that may be written, as `Kind` (any group) or `group/Kind` (`apps/Deployment`, core: `/ConfigMap`). */
  allowedKinds?: string[];
  /** Cluster-scoped kinds that may be written (`Namespace`, `rbac.authorization.k8s.io/ClusterRole`, …); default none. */
  allowedClusterScopedKinds?: string[];
  /** Entity refs (`component:default/shop`) whose ResourceSets may target the cluster. */
  allowedEntities?: string[];
  /** Owner refs (`group:default/team-a`): ResourceSets of entities with one of these owners may target the cluster. */
  allowedOwners?: string[];
  /**
   * Never read from configuration: set per reconcile for a catalog entity's ResourceSet to the
   * namespaces the entity was granted (`imageAutomation.tenancy.namespaces`). Namespaced objects
   * written, read (`copyFrom`, `dependsOn`) or pruned, and Namespace objects, then also need their
   * namespace in it: the cluster's lists and the entity's grants both have to allow (issue #13).
   * Undefined (platform objects): only the cluster's lists apply.
   */
  grantedTo?: { entityRef?: string; namespaces: readonly string[] };
}

/**
 * A cluster known to the plugin, with everything needed to talk to it.
 * @internal
 */
export interface ClusterDetails {
  name: string;
  /** API server URL. */
  url: string;
  /** Where the cluster was found. */
  source: 'config' | 'catalog';
  auth?: ClusterAuth;
  /** PEM bundle of the API server's CA, base64-encoded as in kubeconfig's `certificate-authority-data`. */
  caData?: string;
  skipTLSVerify?: boolean;
  /** Write restrictions from `imageAutomation.kubernetes.clusters`. */
  writePolicy: ClusterWritePolicy;
  /** Entity ref of the catalog Resource this cluster came from. */
  entityRef?: string;
}

/**
 * What one object's apply did (or, in a dry run, would do).
 * @internal
 */
export type ChangeAction =
  | 'created'
  | 'configured'
  | 'unchanged'
  | 'deleted'
  | 'skipped';

/**
 * One line of a change set: `<Kind>/<namespace>/<name> <action>`, as Flux reports it.
 * @internal
 */
export interface ChangeSetEntry {
  /** `Kind/namespace/name` (cluster-scoped: `Kind/name`). */
  subject: string;
  /** Inventory id `<namespace>_<name>_<group>_<Kind>`. */
  id: string;
  /** API version the object was applied with. */
  version: string;
  action: ChangeAction;
  /** Dry runs: a unified diff of the object from the cluster's state to the applied one (no Secret values). */
  diff?: string;
  /** Why a `skipped` object was left alone when the reason is one to report (the cluster's policy). */
  reason?: string;
}

// The inventory's entries are what the store keeps: the store owns their type, so that it does not
// depend on this module (the applier depends on the store, not the other way round).
export type { InventoryEntry } from '../store/InventoryStore';
