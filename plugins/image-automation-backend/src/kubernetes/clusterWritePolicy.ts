import { KubeApiError } from './errors';
import type { KubeClient } from './KubeClient';
import { describeObject, groupOf } from './inventoryId';
import { ClusterWritePolicy, KubernetesObject } from './types';

/** Fails closed: a missing or empty list allows nothing, `*` allows everything. */
function listAllows(
  list: string[] | undefined,
  ...candidates: string[]
): boolean {
  if (!list || list.length === 0) {
    return false;
  }
  return list.includes('*') || candidates.some(c => list.includes(c));
}

function kindName(apiVersion: string, kind: string): string {
  const group = groupOf(apiVersion);
  return group ? `${group}/${kind}` : kind;
}

/**
 * A reference to an object the policy is asked about: what is applied, pruned or read.
 * @internal
 */
export interface PolicySubject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/**
 * Why the policy of cluster `clusterName` does not cover `ref`, or `undefined` when it does.
 * `namespaced` must come from the API server's discovery (see {@link scopeOf}), never from the
 * manifest: a ClusterRoleBinding with a `metadata.namespace` is still cluster-scoped.
 *
 * A namespaced object needs its kind in `allowedKinds` and its namespace in `allowedNamespaces`. A
 * cluster-scoped object needs its kind in `allowedClusterScopedKinds` (default none); a Namespace
 * object also needs its own name in `allowedNamespaces`. A policy narrowed to a catalog entity
 * (`grantedTo`) also needs the namespace (a Namespace object's name) granted to the entity.
 * @internal
 */
export function policyRefusal(
  ref: PolicySubject,
  policy: ClusterWritePolicy,
  clusterName: string,
  namespaced: boolean,
): string | undefined {
  const group = groupOf(ref.apiVersion);
  const candidates = [ref.kind, `${group}/${ref.kind}`];
  const kind = kindName(ref.apiVersion, ref.kind);
  if (namespaced) {
    if (!listAllows(policy.allowedKinds, ...candidates)) {
      return `kind ${kind} is not in the allowedKinds of cluster '${clusterName}'`;
    }
    if (!ref.namespace) {
      return `${kind} is namespaced but the object has no namespace`;
    }
    if (!listAllows(policy.allowedNamespaces, ref.namespace)) {
      return `namespace '${ref.namespace}' is not in the allowedNamespaces of cluster '${clusterName}'`;
    }
    return grantRefusal(policy, ref.namespace);
  }
  if (!listAllows(policy.allowedClusterScopedKinds, ...candidates)) {
    const ignored = ref.namespace
      ? ` (its metadata.namespace '${ref.namespace}' does not make it namespaced)`
      : '';
    return `kind ${kind} is cluster-scoped on cluster '${clusterName}'${ignored} and not in its allowedClusterScopedKinds`;
  }
  if (
    group === '' &&
    ref.kind === 'Namespace' &&
    !listAllows(policy.allowedNamespaces, ref.name)
  ) {
    return `namespace '${ref.name}' is not in the allowedNamespaces of cluster '${clusterName}'`;
  }
  if (group === '' && ref.kind === 'Namespace') {
    return grantRefusal(policy, ref.name);
  }
  return undefined;
}

/**
 * Why the entity the policy was narrowed to ({@link ClusterWritePolicy.grantedTo}) may not use
 * `namespace`, or `undefined` when it may or the policy is not narrowed (a platform object).
 */
function grantRefusal(
  policy: ClusterWritePolicy,
  namespace: string,
): string | undefined {
  const granted = policy.grantedTo;
  if (!granted || listAllows([...granted.namespaces], namespace)) {
    return undefined;
  }
  return `namespace '${namespace}' is not granted to ${
    granted.entityRef ? `entity ${granted.entityRef}` : 'this object'
  } (imageAutomation.tenancy.namespaces)`;
}

/**
 * `cluster` with its policy narrowed to what an object of a catalog entity may do: the entity's
 * granted namespaces (`grantedNamespaces`, none when missing: fail closed) on top of the cluster's
 * lists. Platform objects (not from the catalog) get the cluster as it is.
 * @internal
 */
export function clusterForObject<C extends { writePolicy: ClusterWritePolicy }>(
  cluster: C,
  object: {
    source: { type: string };
    entityRef?: string;
    grantedNamespaces?: readonly string[];
  },
): C {
  if (object.source.type !== 'catalog') return cluster;
  return {
    ...cluster,
    writePolicy: {
      ...cluster.writePolicy,
      grantedTo: {
        entityRef: object.entityRef,
        namespaces: [...(object.grantedNamespaces ?? [])],
      },
    },
  };
}

/**
 * Why automation may not write `object` into a cluster with `policy`, or `undefined` when it may
 * (see {@link policyRefusal}; `namespaced` from discovery).
 * @internal
 */
export function writeRefusal(
  object: KubernetesObject,
  policy: ClusterWritePolicy,
  clusterName: string,
  namespaced: boolean,
): string | undefined {
  const reason = policyRefusal(
    { ...object, ...object.metadata },
    policy,
    clusterName,
    namespaced,
  );
  return reason ? `${describeObject(object)} refused: ${reason}` : undefined;
}

/**
 * Whether a kind is namespaced, from the API server's discovery; `undefined` when the cluster does
 * not serve the kind (yet).
 * @internal
 */
export async function scopeOf(
  client: KubeClient,
  apiVersion: string,
  kind: string,
): Promise<boolean | undefined> {
  try {
    return (await client.resourceFor(apiVersion, kind)).namespaced;
  } catch (error) {
    if (error instanceof KubeApiError && error.statusCode === 404) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Why the cluster's policy does not cover reading or deleting `ref` (the same rules as writing), or
 * `undefined` when it does. A kind the cluster does not serve is refused: its scope is unknown.
 * @internal
 */
export async function accessRefusal(
  client: KubeClient,
  ref: PolicySubject,
): Promise<string | undefined> {
  const { name: clusterName, writePolicy } = client.cluster;
  const namespaced = await scopeOf(client, ref.apiVersion, ref.kind);
  if (namespaced === undefined) {
    return `kind ${kindName(
      ref.apiVersion,
      ref.kind,
    )} is not served by cluster '${clusterName}', so its scope cannot be checked`;
  }
  return policyRefusal(ref, writePolicy, clusterName, namespaced);
}

/**
 * Why a `dependsOn` target may not be read, or `undefined` when it may: the same rules as writing
 * ({@link accessRefusal}), and never a Secret — even a yes/no readiness answer about a Secret's
 * content would let an expression guess its value bit by bit.
 * @internal
 */
export async function dependencyRefusal(
  client: KubeClient,
  ref: PolicySubject,
): Promise<string | undefined> {
  if (groupOf(ref.apiVersion) === '' && ref.kind === 'Secret') {
    return 'Secrets cannot be dependencies (their content is never read for readiness)';
  }
  return accessRefusal(client, ref);
}

/**
 * Who wants to use a cluster: the catalog entity a ResourceSet came from and that entity's owner
 * (both full refs, e.g. `component:default/shop`, `group:default/team-a`).
 * @internal
 */
export interface ClusterRequester {
  entityRef?: string;
  owner?: string;
}

/**
 * Why `requester` may not target the cluster, or `undefined` when the cluster's `allowedEntities`
 * lists its entity (or `*`) or `allowedOwners` lists its entity's owner (or `*`). Empty lists allow
 * no one; an object without an entity is only allowed by `allowedEntities: ['*']`.
 * @internal
 */
export function entityRefusal(
  policy: ClusterWritePolicy,
  clusterName: string,
  requester: ClusterRequester,
): string | undefined {
  const entity = requester.entityRef?.toLocaleLowerCase('en-US');
  const owner = requester.owner?.toLocaleLowerCase('en-US');
  const lower = (list?: string[]) =>
    list?.map(e => e.toLocaleLowerCase('en-US'));
  if (listAllows(lower(policy.allowedEntities), ...(entity ? [entity] : []))) {
    return undefined;
  }
  if (
    entity &&
    listAllows(lower(policy.allowedOwners), ...(owner ? [owner] : []))
  ) {
    return undefined;
  }
  const who = requester.entityRef
    ? `entity ${requester.entityRef}${
        requester.owner ? ` (owner ${requester.owner})` : ''
      }`
    : 'an object without a catalog entity';
  return `cluster '${clusterName}' does not allow ${who} to target it: list the entity in allowedEntities or its owner in allowedOwners of imageAutomation.kubernetes.clusters '${clusterName}'`;
}
