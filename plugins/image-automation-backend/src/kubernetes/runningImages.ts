import { splitImageRef } from '../util/splitImageRef';
import { KubeApiError } from './errors';
import { KubeClient } from './KubeClient';

/**
 * One container image a workload runs (its pod template), for the "running" column of the versions
 * matrix.
 * @internal
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
 * @internal
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

/** The images one running pod's containers run. @internal */
export interface PodImages {
  namespace: string;
  pod: string;
  images: string[];
}

/**
 * Lists the pods matching `labelSelector` in the given namespaces (all the credential may list
 * without any) with the images their containers run, for the "2/3 pods on 1.4.1" disagreement
 * between what was applied and what runs. Pods that finished are left out.
 * @internal
 */
export async function readPodImages(
  client: KubeClient,
  options: { labelSelector: string; namespaces?: string[] },
): Promise<PodImages[]> {
  const namespaces = options.namespaces?.length
    ? options.namespaces
    : [undefined];
  const lists = await Promise.all(
    namespaces.map(async namespace => {
      const path = await client.pathOf({
        apiVersion: 'v1',
        kind: 'Pod',
        namespace,
      });
      const list = await client.request<{ items: any[] }>('GET', path, {
        query: { labelSelector: options.labelSelector },
      });
      return list.items;
    }),
  );
  return lists
    .flat()
    .filter(
      pod =>
        pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed',
    )
    .map(pod => ({
      namespace: pod.metadata.namespace,
      pod: pod.metadata.name,
      images: (pod.spec?.containers ?? []).map(
        (c: { image: string }) => c.image,
      ),
    }))
    .sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod),
    );
}

/**
 * How many of the pods run the version a target carries, e.g. `2/3 pods on 1.4.1`. With a
 * `repository` (`ghcr.io/acme/app`) only pods with a container of that repository count, and its
 * tag decides; without one (an input provider that exports only a tag) a pod runs the version
 * when one of its containers has that tag or digest.
 * @internal
 */
export function summarisePods(
  pods: PodImages[],
  expected: { repository?: string; tag: string; digest?: string },
) {
  const counts = new Map<string, number>();
  let total = 0;
  let onExpected = 0;
  for (const pod of pods) {
    const candidates = expected.repository
      ? pod.images.filter(
          i => splitImageRef(i).repository === expected.repository,
        )
      : pod.images;
    if (candidates.length === 0) continue;
    total++;
    const running = candidates.find(i => {
      const ref = splitImageRef(i);
      return (
        ref.tag === expected.tag ||
        (expected.digest !== undefined && ref.digest === expected.digest)
      );
    });
    if (running) onExpected++;
    const shown = running ?? candidates[0];
    counts.set(shown, (counts.get(shown) ?? 0) + 1);
  }
  const images = [...counts.entries()]
    .map(([image, count]) => ({ image, pods: count }))
    .sort((a, b) => b.pods - a.pods || a.image.localeCompare(b.image));
  if (total === 0) {
    return {
      summary: `no running pod${
        expected.repository ? ` runs ${expected.repository}` : ''
      }`,
      images,
    };
  }
  return { summary: `${onExpected}/${total} pods on ${expected.tag}`, images };
}
