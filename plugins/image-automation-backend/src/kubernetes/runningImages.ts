import { splitImageRef } from '../util/splitImageRef';
import { KubeClient } from './KubeClient';

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
