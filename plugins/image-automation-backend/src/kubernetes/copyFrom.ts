import { policyRefusal } from './clusterWritePolicy';
import { KubeClient } from './KubeClient';
import { describeObject } from './inventoryId';
import { KubernetesObject } from './types';

/**
 * `fluxcd.controlplane.io/copyFrom: <namespace>/<name>` on a v1 ConfigMap or Secret of a set: its
 * data is taken from the object of the same kind with that name in the cluster, just before applying.
 * @internal
 */
export const ANNOTATION_COPY_FROM = 'fluxcd.controlplane.io/copyFrom';

/**
 * A `copyFrom` source that is malformed, missing or unreadable; the apply stops before writing anything.
 * @internal
 */
export class CopyFromError extends Error {
  readonly name = 'CopyFromError';
}

function copiesFrom(object: KubernetesObject): string | undefined {
  if (
    object.apiVersion !== 'v1' ||
    (object.kind !== 'ConfigMap' && object.kind !== 'Secret')
  ) {
    return undefined;
  }
  return object.metadata.annotations?.[ANNOTATION_COPY_FROM];
}

/**
 * The rendered object with the source's data. A ConfigMap's `data` and `binaryData` are replaced. A
 * Secret gets the source's `data` over its own and loses `stringData`: Flux writes the decoded source
 * into `stringData`, which the API server stores as the same `data`; copying the encoded bytes keeps
 * values that are not UTF-8 intact. The source's `type` is taken when the object has none (`Opaque`
 * when neither has one).
 */
function withCopiedData(
  object: KubernetesObject,
  source: KubernetesObject,
): KubernetesObject {
  if (object.kind === 'ConfigMap') {
    const { data: _d, binaryData: _b, ...rest } = object;
    return {
      ...rest,
      ...(source.data ? { data: source.data } : {}),
      ...(source.binaryData ? { binaryData: source.binaryData } : {}),
    };
  }
  const { stringData: _s, ...rest } = object;
  const data = {
    ...((object.data as object) ?? {}),
    ...((source.data as object) ?? {}),
  };
  return {
    ...rest,
    type: object.type ?? source.type ?? 'Opaque',
    ...(Object.keys(data).length > 0 ? { data } : {}),
  };
}

/**
 * Resolves the `copyFrom` annotations of a set against one cluster (read with the client's identity,
 * so an impersonated service account needs `get` on the sources). A source outside the cluster's
 * `allowedNamespaces` (or of a kind outside `allowedKinds`) is refused before anything is read. Objects without the annotation are
 * returned as they are. Each source is read once however many objects copy it.
 * @internal
 */
export async function resolveCopyFrom(
  client: KubeClient,
  objects: KubernetesObject[],
): Promise<KubernetesObject[]> {
  const sources = new Map<string, Promise<KubernetesObject | undefined>>();
  return Promise.all(
    objects.map(async object => {
      const reference = copiesFrom(object);
      if (reference === undefined) {
        return object;
      }
      const subject = describeObject(object);
      const match = /^([^/\s]+)\/([^/\s]+)$/.exec(reference.trim());
      if (!match) {
        throw new CopyFromError(
          `${subject}: invalid ${ANNOTATION_COPY_FROM} '${reference}', expected <namespace>/<name>`,
        );
      }
      const [, namespace, name] = match;
      const ref = `${object.kind}/${namespace}/${name}`;
      // A source is read only where the cluster's policy lets this set write: no reading of
      // Secrets from namespaces the entity was not granted.
      const refusal = policyRefusal(
        { apiVersion: 'v1', kind: object.kind, namespace, name },
        client.cluster.writePolicy,
        client.cluster.name,
        true,
      );
      if (refusal) {
        throw new CopyFromError(
          `${subject}: ${ANNOTATION_COPY_FROM} source ${ref} refused: ${refusal}`,
        );
      }
      if (!sources.has(ref)) {
        sources.set(
          ref,
          client.get({ apiVersion: 'v1', kind: object.kind, namespace, name }),
        );
      }
      let source: KubernetesObject | undefined;
      try {
        source = await sources.get(ref);
      } catch (error) {
        throw new CopyFromError(
          `${subject}: failed to read ${ANNOTATION_COPY_FROM} source ${ref}: ${
            (error as Error).message
          }`,
        );
      }
      if (!source) {
        throw new CopyFromError(
          `${subject}: ${ANNOTATION_COPY_FROM} source ${ref} not found on cluster '${client.cluster.name}'`,
        );
      }
      return withCopiedData(object, source);
    }),
  );
}
