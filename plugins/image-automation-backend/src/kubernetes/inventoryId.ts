import { InventoryEntry, KubernetesObject } from './types';

/**
 * The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → the core group `""`).
 * @internal
 */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * The version of an `apiVersion` (`apps/v1` → `v1`).
 * @internal
 */
export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

/**
 * Flux's inventory id of an object: `<namespace>_<name>_<group>_<Kind>` (version-insensitive).
 * @internal
 */
export function inventoryId(object: KubernetesObject): string {
  return [
    object.metadata.namespace ?? '',
    object.metadata.name,
    groupOf(object.apiVersion),
    object.kind,
  ].join('_');
}

/**
 * How Flux names an object in messages and change sets: `Kind/namespace/name`, or `Kind/name`
 * for cluster-scoped objects.
 * @internal
 */
export function describeObject(object: {
  kind: string;
  metadata: { name: string; namespace?: string };
}): string {
  const { namespace, name } = object.metadata;
  return namespace
    ? `${object.kind}/${namespace}/${name}`
    : `${object.kind}/${name}`;
}

/**
 * The inventory entry of an object.
 * @internal
 */
export function inventoryEntry(object: KubernetesObject): InventoryEntry {
  return { id: inventoryId(object), v: versionOf(object.apiVersion) };
}

/**
 * The parts of an inventory entry, enough to address the object again (for pruning).
 * Names and namespaces cannot contain `_`, so splitting is unambiguous: the kind is the last part,
 * the group the one before it, and a group may itself contain no `_` either.
 * @internal
 */
export function parseInventoryEntry(entry: InventoryEntry): {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
} {
  const parts = entry.id.split('_');
  if (parts.length !== 4) {
    throw new Error(`invalid inventory id '${entry.id}'`);
  }
  const [namespace, name, group, kind] = parts;
  return {
    apiVersion: group ? `${group}/${entry.v}` : entry.v,
    kind,
    namespace: namespace || undefined,
    name,
  };
}
