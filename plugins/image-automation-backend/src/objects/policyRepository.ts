import {
  ImagePolicySpec,
  ImageRepositorySpec,
  objectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { referenceDenied } from './tenancy';

/** The ImageRepository an ImagePolicy names, and whether the policy may read it. @internal */
export interface PolicyRepository {
  /** `ImageRepository/<namespace>/<name>`. */
  id: string;
  /** The stored repository, if it exists. */
  repository?: StoredObject;
  /**
   * Why the policy may not refer to it (the message its reconciler's Stalled `AccessDenied`
   * condition carries); then nothing of the repository, its tags least of all, may be shown
   * alongside the policy.
   */
  denied?: string;
}

/**
 * The ImageRepository `policy.spec.imageRepositoryRef` names, with the tenancy check the
 * ImagePolicy reconciler makes ({@link referenceDenied} over the policy's granted namespaces and
 * the repository's `accessFrom`), for readers that show or use the repository's tags beside the
 * policy (issue #13). Undefined when the policy names no repository.
 * @internal
 */
export async function policyRepository(
  objects: Pick<ObjectStore, 'get'>,
  policy: StoredObject,
  get: (id: string) => Promise<StoredObject | undefined> = id =>
    objects.get(id),
): Promise<PolicyRepository | undefined> {
  const ref = (policy.manifest.spec as Partial<ImagePolicySpec> | undefined)
    ?.imageRepositoryRef;
  if (!ref?.name) return undefined;
  const namespace = ref.namespace ?? policy.namespace;
  const id = objectId('ImageRepository', namespace, ref.name);
  const repository = await get(id);
  const denied = referenceDenied(
    policy,
    'spec.imageRepositoryRef',
    { kind: 'ImageRepository', namespace, name: ref.name },
    (repository?.manifest.spec as ImageRepositorySpec | undefined)?.accessFrom,
    true,
  );
  return denied
    ? { id, denied }
    : { id, ...(repository ? { repository } : {}) };
}
