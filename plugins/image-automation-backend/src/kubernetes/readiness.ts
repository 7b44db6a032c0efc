import { KubernetesObject } from './types';

/**
 * A kstatus-like reading of an object: `Current` when it is ready, `InProgress` while it gets
 * there, `Failed` when it reports that it cannot, `Terminating` while being deleted, `NotFound`.
 * @internal
 */
export type ReadinessStatus =
  | 'Current'
  | 'InProgress'
  | 'Failed'
  | 'Terminating'
  | 'NotFound';

/** @internal */
export interface Readiness {
  status: ReadinessStatus;
  message: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

const num = (value: unknown) => (typeof value === 'number' ? value : 0);

function workloadReadiness(
  kind: string,
  spec: any,
  status: any,
): Readiness | undefined {
  const desired = spec?.replicas ?? 1;
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet': {
      const updated = num(status?.updatedReplicas);
      const ready = num(status?.readyReplicas);
      // Older StatefulSets do not report availableReplicas; ready is the best reading there.
      const available = num(status?.availableReplicas ?? ready);
      if (updated < desired || ready < desired || available < desired) {
        return {
          status: 'InProgress',
          message: `${kind}: ${ready}/${desired} replicas ready, ${updated} updated`,
        };
      }
      return {
        status: 'Current',
        message: `${kind}: ${ready}/${desired} replicas ready`,
      };
    }
    case 'DaemonSet': {
      const scheduled = num(status?.desiredNumberScheduled);
      const ready = num(status?.numberReady);
      const updated = num(status?.updatedNumberScheduled);
      return ready < scheduled || updated < scheduled
        ? {
            status: 'InProgress',
            message: `DaemonSet: ${ready}/${scheduled} pods ready`,
          }
        : {
            status: 'Current',
            message: `DaemonSet: ${ready}/${scheduled} pods ready`,
          };
    }
    default:
      return undefined;
  }
}

/**
 * Reads an object's readiness the way kstatus does, for `dependsOn` and `wait`: a stale
 * `observedGeneration` means in progress; workloads compare replica counts; CRDs must be
 * established; Namespaces active; Jobs complete; Pods running or succeeded; objects with
 * conditions follow `Ready` / `Stalled` / `Reconciling`; anything else is current once it exists.
 * @internal
 */
export function readObjectReadiness(
  object: KubernetesObject | undefined,
): Readiness {
  if (!object) {
    return { status: 'NotFound', message: 'not found' };
  }
  const metadata = object.metadata as {
    generation?: number;
    deletionTimestamp?: string;
  };
  if (metadata.deletionTimestamp) {
    return { status: 'Terminating', message: 'being deleted' };
  }
  const status = object.status as any;
  const spec = object.spec as any;
  if (
    typeof status?.observedGeneration === 'number' &&
    typeof metadata.generation === 'number' &&
    status.observedGeneration < metadata.generation
  ) {
    return {
      status: 'InProgress',
      message: `observed generation ${status.observedGeneration} < ${metadata.generation}`,
    };
  }
  const conditions: Condition[] = Array.isArray(status?.conditions)
    ? status.conditions
    : [];
  const condition = (type: string) => conditions.find(c => c.type === type);
  switch (object.kind) {
    case 'CustomResourceDefinition':
      return condition('Established')?.status === 'True'
        ? { status: 'Current', message: 'established' }
        : { status: 'InProgress', message: 'not established yet' };
    case 'Namespace':
      return status?.phase === 'Terminating'
        ? { status: 'Terminating', message: 'namespace terminating' }
        : { status: 'Current', message: 'active' };
    case 'Job':
      if (condition('Failed')?.status === 'True') {
        return {
          status: 'Failed',
          message: condition('Failed')?.message ?? 'job failed',
        };
      }
      return condition('Complete')?.status === 'True'
        ? { status: 'Current', message: 'job complete' }
        : { status: 'InProgress', message: 'job not complete' };
    case 'Pod':
      if (status?.phase === 'Failed') {
        return { status: 'Failed', message: status?.message ?? 'pod failed' };
      }
      return status?.phase === 'Succeeded' ||
        condition('Ready')?.status === 'True'
        ? { status: 'Current', message: `pod ${status?.phase}` }
        : {
            status: 'InProgress',
            message: `pod ${status?.phase ?? 'pending'}`,
          };
    case 'PersistentVolumeClaim':
      return status?.phase === 'Bound'
        ? { status: 'Current', message: 'bound' }
        : {
            status: 'InProgress',
            message: `claim ${status?.phase ?? 'pending'}`,
          };
    default:
      break;
  }
  const workload = workloadReadiness(object.kind, spec, status);
  if (workload) {
    return workload;
  }
  const stalled = condition('Stalled');
  if (stalled?.status === 'True') {
    return {
      status: 'Failed',
      message: stalled.message ?? stalled.reason ?? 'stalled',
    };
  }
  if (condition('Reconciling')?.status === 'True') {
    return {
      status: 'InProgress',
      message: condition('Reconciling')?.message ?? 'reconciling',
    };
  }
  const ready = condition('Ready');
  if (ready) {
    return ready.status === 'True'
      ? { status: 'Current', message: ready.message ?? 'ready' }
      : {
          status: 'InProgress',
          message: ready.message ?? ready.reason ?? 'not ready',
        };
  }
  return { status: 'Current', message: 'exists' };
}
