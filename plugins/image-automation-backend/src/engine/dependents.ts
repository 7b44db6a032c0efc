import { parseImageReference } from '../registry';
import { InputProviderReference, selectProviders } from '../resourceset';
import { ObjectStore, StoredObject } from '../store/ObjectStore';

type Lister = Pick<ObjectStore, 'list'>;

/** A namespaced reference as specs write it: the namespace defaults to the referrer's. */
function refersTo(
  ref: { name?: string; namespace?: string } | undefined,
  referrer: StoredObject,
  target: StoredObject,
): boolean {
  return (
    ref?.name === target.name &&
    (ref.namespace ?? referrer.namespace) === target.namespace
  );
}

function specOf<T>(object: StoredObject): Partial<T> {
  return (object.manifest.spec ?? {}) as Partial<T>;
}

/** The canonical repository name of an image or `oci://` URL, or undefined when it does not parse. */
function canonicalOf(
  url: string | undefined,
  insecure: boolean | undefined,
): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return parseImageReference(url.replace(/^oci:\/\//, ''), { insecure })
      .canonical;
  } catch {
    return undefined;
  }
}

/**
 * Which objects become due at once when an object of a kind produces something new (the reconciler
 * decides when it did: a new scan revision, a new selection, a moved revision, a new export, a
 * change of readiness). One rule per producing kind; the engine marks the ids due.
 *
 * - ImageRepository → the ImagePolicies whose `imageRepositoryRef` names it (any namespace), then
 *   the OCI/ECR/GAR/ACR ArtifactTag ResourceSetInputProviders whose `url` is the same repository.
 * - ImagePolicy → every ImageUpdateAutomation of its namespace (Flux's rule).
 * - GitRepository → the ImageUpdateAutomations whose `sourceRef` names it.
 * - ResourceSetInputProvider → the ResourceSets of its namespace whose `inputsFrom` selects it.
 * - Provider → the Alerts of its namespace and entity whose `providerRef` names it.
 *
 * ResourceSets and ImageUpdateAutomations make due what their promotions unblock downstream; the
 * promotion planner names those ids (`PromotionPlanner.applied`), the reconcilers pass them on.
 * @internal
 */
export const DEPENDENTS: Readonly<
  Record<string, (source: StoredObject, objects: Lister) => Promise<string[]>>
> = Object.freeze({
  ImageRepository: async (repository, objects) => {
    const policies = (await objects.list({ kind: 'ImagePolicy' })).filter(
      policy =>
        refersTo(
          specOf<{ imageRepositoryRef: { name?: string; namespace?: string } }>(
            policy,
          ).imageRepositoryRef,
          policy,
          repository,
        ),
    );
    const spec = specOf<{ image: string; insecure: boolean }>(repository);
    const canonical = canonicalOf(spec.image, spec.insecure);
    const providers = canonical
      ? (await objects.list({ kind: 'ResourceSetInputProvider' })).filter(
          provider => {
            const p = specOf<{ type: string; url: string; insecure: boolean }>(
              provider,
            );
            return (
              /^(OCI|ECR|GAR|ACR)ArtifactTag$/.test(p.type ?? '') &&
              canonicalOf(p.url, p.insecure) === canonical
            );
          },
        )
      : [];
    return [...policies, ...providers].map(o => o.id);
  },
  ImagePolicy: async (policy, objects) =>
    (
      await objects.list({
        kind: 'ImageUpdateAutomation',
        namespace: policy.namespace,
      })
    ).map(a => a.id),
  GitRepository: async (repository, objects) =>
    (await objects.list({ kind: 'ImageUpdateAutomation' }))
      .filter(a =>
        refersTo(
          specOf<{ sourceRef: { name?: string; namespace?: string } }>(a)
            .sourceRef,
          a,
          repository,
        ),
      )
      .map(a => a.id),
  ResourceSetInputProvider: async (provider, objects) => {
    const candidate = {
      apiVersion: provider.apiVersion,
      kind: provider.kind,
      name: provider.name,
      namespace: provider.namespace,
      labels: provider.manifest.metadata.labels ?? {},
      inputs: [],
    };
    return (
      await objects.list({ kind: 'ResourceSet', namespace: provider.namespace })
    )
      .filter(rset => {
        const inputsFrom = specOf<{ inputsFrom: unknown }>(rset).inputsFrom;
        if (!Array.isArray(inputsFrom)) return false;
        try {
          return (
            selectProviders(
              rset.namespace,
              inputsFrom as InputProviderReference[],
              [candidate],
            ).length > 0
          );
        } catch {
          // An invalid reference is the ResourceSet's own error, reported by its reconciler.
          return false;
        }
      })
      .map(rset => rset.id);
  },
  Provider: async (provider, objects) =>
    (await objects.list({ kind: 'Alert', namespace: provider.namespace }))
      .filter(
        alert =>
          alert.entityRef === provider.entityRef &&
          specOf<{ providerRef: { name?: string } }>(alert).providerRef
            ?.name === provider.name,
      )
      .map(alert => alert.id),
});

/**
 * The objects due now because `source` produced something new, by {@link DEPENDENTS}; none for a
 * kind without a rule.
 * @internal
 */
export async function dependentsOf(
  source: StoredObject,
  objects: Lister,
): Promise<string[]> {
  const rule = DEPENDENTS[source.kind];
  return rule ? rule(source, objects) : [];
}
