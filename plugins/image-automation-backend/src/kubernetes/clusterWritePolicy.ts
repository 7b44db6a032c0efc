import { describeObject, groupOf } from './objectId';
import { ClusterWritePolicy, KubernetesObject } from './types';

function listAllows(
  list: string[] | undefined,
  ...candidates: string[]
): boolean {
  if (!list || list.length === 0 || list.includes('*')) {
    return true;
  }
  return candidates.some(c => list.includes(c));
}

/**
 * Why automation may not write `object` into a cluster with `policy`, or `undefined` when it may.
 *
 * A namespaced object needs its namespace allowed; a Namespace object needs its own name allowed;
 * any other cluster-scoped object (ClusterRole, CRD, …) is refused as soon as namespaces are
 * restricted, because it reaches beyond them, unless its kind is explicitly listed in `allowedKinds`.
 * @public
 */
export function writeRefusal(
  object: KubernetesObject,
  policy: ClusterWritePolicy,
  clusterName: string,
): string | undefined {
  const group = groupOf(object.apiVersion);
  const kindAllowed = listAllows(
    policy.allowedKinds,
    object.kind,
    `${group}/${object.kind}`,
  );
  if (!kindAllowed) {
    return `${describeObject(object)} refused: kind ${
      group ? `${group}/` : ''
    }${object.kind} is not in the allowed kinds of cluster '${clusterName}'`;
  }
  const namespaces = policy.allowedNamespaces;
  const restricted =
    namespaces && namespaces.length > 0 && !namespaces.includes('*');
  if (!restricted) {
    return undefined;
  }
  const namespace = object.metadata.namespace;
  if (namespace) {
    return namespaces.includes(namespace)
      ? undefined
      : `${describeObject(
          object,
        )} refused: namespace '${namespace}' is not in the allowed namespaces of cluster '${clusterName}'`;
  }
  if (object.kind === 'Namespace' && group === '') {
    return namespaces.includes(object.metadata.name)
      ? undefined
      : `${describeObject(object)} refused: namespace '${
          object.metadata.name
        }' is not in the allowed namespaces of cluster '${clusterName}'`;
  }
  const explicitlyListed =
    policy.allowedKinds?.includes(object.kind) ||
    policy.allowedKinds?.includes(`${group}/${object.kind}`);
  return explicitlyListed
    ? undefined
    : `${describeObject(
        object,
      )} refused: cluster-scoped objects are not allowed in cluster '${clusterName}' (its namespaces are restricted; list the kind in allowedKinds to allow it)`;
}
