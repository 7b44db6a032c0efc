import { KubeApiError } from './errors';
import { KubeClient } from './KubeClient';

/**
 * One container image a workload runs (its pod template), for the "running" column of the versions
 * matrix.
 * @public
 */
export interface RunningImage {
  cluster: string;
  namespace: string;
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob';
  name: string;
  container: string;
  /** `init` for init containers. */
  containerType: 'container' | 'init';
  image: string;
}

const WORKLOADS = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
] as const;

/**
 * Lists the images that the Deployments, StatefulSets, DaemonSets and CronJobs matching
 * `labelSelector` (e.g. `backstage.io/kubernetes-id=shop`) run, in the given namespaces or, without
 * any, in all namespaces the credential may list. Kinds the credential may not list are skipped,
 * like the Kubernetes plugin does, rather than failing the whole reading.
 * @public
 */
export async function readRunningImages(
  client: KubeClient,
  options: { labelSelector: string; namespaces?: string[] },
): Promise<RunningImage[]> {
  const namespaces = options.namespaces?.length
    ? options.namespaces
    : [undefined];
  const lists = await Promise.all(
    WORKLOADS.flatMap(workload =>
      namespaces.map(async namespace => {
        try {
          const path = await client.pathOf({ ...workload, namespace });
          const list = await client.request<{ items: any[] }>('GET', path, {
            query: { labelSelector: options.labelSelector },
          });
          return list.items.map(item => ({ kind: workload.kind, item }));
        } catch (error) {
          if (
            error instanceof KubeApiError &&
            (error.statusCode === 403 || error.statusCode === 404)
          ) {
            return [];
          }
          throw error;
        }
      }),
    ),
  );
  const images: RunningImage[] = [];
  for (const { kind, item } of lists.flat()) {
    const podSpec =
      kind === 'CronJob'
        ? item.spec?.jobTemplate?.spec?.template?.spec
        : item.spec?.template?.spec;
    const add = (
      containers: any[] | undefined,
      containerType: RunningImage['containerType'],
    ) => {
      for (const c of containers ?? []) {
        images.push({
          cluster: client.cluster.name,
          namespace: item.metadata.namespace,
          kind,
          name: item.metadata.name,
          container: c.name,
          containerType,
          image: c.image,
        });
      }
    };
    add(podSpec?.initContainers, 'init');
    add(podSpec?.containers, 'container');
  }
  return images.sort(
    (a, b) =>
      a.namespace.localeCompare(b.namespace) ||
      a.kind.localeCompare(b.kind) ||
      a.name.localeCompare(b.name) ||
      a.container.localeCompare(b.container),
  );
}
