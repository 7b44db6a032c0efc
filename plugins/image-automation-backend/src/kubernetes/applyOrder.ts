import { compareGoStrings } from '../golib/strings';
import { groupOf } from './inventoryId';
import { KubernetesObject } from './types';

/**
 * Kinds in the order Flux applies them within a stage; kinds not listed go between the list and the
 * webhook configurations, which are applied last so that they cannot reject the objects before them.
 */
const KIND_ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterClass',
  'RuntimeClass',
  'PriorityClass',
  'StorageClass',
  'VolumeSnapshotClass',
  'IngressClass',
  'GatewayClass',
  'ClusterRoleBinding',
  'ResourceQuota',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LAST_KINDS = [
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];

/**
 * One stage of a staged apply: its objects are applied together and, when `wait` is set, must be
 * ready before the next stage starts (a CRD must be established before its custom resources).
 * @internal
 */
export interface ApplyStage {
  name: 'definitions' | 'classes' | 'roles' | 'resources';
  wait: boolean;
  objects: KubernetesObject[];
}

function kindRank(kind: string): number {
  const index = KIND_ORDER.indexOf(kind);
  if (index >= 0) {
    return index;
  }
  const last = LAST_KINDS.indexOf(kind);
  return last >= 0 ? KIND_ORDER.length + 1 + last : KIND_ORDER.length;
}

/**
 * Flux's apply order within a stage: kind order, then group, kind, namespace, name.
 * @internal
 */
export function compareApplyOrder(
  a: KubernetesObject,
  b: KubernetesObject,
): number {
  return (
    kindRank(a.kind) - kindRank(b.kind) ||
    compareGoStrings(groupOf(a.apiVersion), groupOf(b.apiVersion)) ||
    compareGoStrings(a.kind, b.kind) ||
    compareGoStrings(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    compareGoStrings(a.metadata.name, b.metadata.name)
  );
}

function stageOf(object: KubernetesObject): ApplyStage['name'] {
  const group = groupOf(object.apiVersion);
  if (
    (object.kind === 'CustomResourceDefinition' &&
      group === 'apiextensions.k8s.io') ||
    (object.kind === 'Namespace' && group === '') ||
    (object.kind === 'ClusterRole' && group === 'rbac.authorization.k8s.io')
  ) {
    return 'definitions';
  }
  if (object.kind.endsWith('Class')) {
    return 'classes';
  }
  if (object.kind === 'Role' && group === 'rbac.authorization.k8s.io') {
    return 'roles';
  }
  return 'resources';
}

/**
 * Splits objects into Flux's apply stages (`ApplyAllStaged`): CRDs, Namespaces and ClusterRoles
 * first (waited for), then `*Class` kinds (waited for), then Roles, then everything else; each
 * stage sorted by {@link compareApplyOrder}. Empty stages are omitted.
 * @internal
 */
export function planApplyStages(objects: KubernetesObject[]): ApplyStage[] {
  const stages: ApplyStage[] = [
    { name: 'definitions', wait: true, objects: [] },
    { name: 'classes', wait: true, objects: [] },
    { name: 'roles', wait: false, objects: [] },
    { name: 'resources', wait: false, objects: [] },
  ];
  for (const object of objects) {
    stages.find(s => s.name === stageOf(object))!.objects.push(object);
  }
  for (const stage of stages) {
    stage.objects.sort(compareApplyOrder);
  }
  return stages.filter(s => s.objects.length > 0);
}

/**
 * Flux's pruning phases: Flux's own Kustomizations and HelmReleases first, so that their controllers
 * garbage-collect what they applied before the rest disappears, then everything else.
 * @internal
 */
export function planPrunePhases<T extends { apiVersion: string }>(
  objects: T[],
): Array<{ fluxObjects: boolean; objects: T[] }> {
  const isFlux = (o: T) => isFluxDeployer(o.apiVersion);
  return [
    { fluxObjects: true, objects: objects.filter(isFlux) },
    { fluxObjects: false, objects: objects.filter(o => !isFlux(o)) },
  ].filter(p => p.objects.length > 0);
}

/**
 * Whether objects of this API version deploy other objects through a Flux controller
 * (Kustomizations, HelmReleases), which is why they are pruned first.
 * @internal
 */
export function isFluxDeployer(apiVersion: string): boolean {
  return ['kustomize.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io'].includes(
    groupOf(apiVersion),
  );
}
