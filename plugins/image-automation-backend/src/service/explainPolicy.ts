import { InputError, NotFoundError } from '@backstage/errors';
import {
  formatFieldErrors,
  IMAGE_API_VERSION,
  ImagePolicySpec,
  ImageRepositorySpec,
  objectId,
  PolicyExplanation,
  validateAutomationObject,
} from '@imageops/backstage-plugin-image-automation-common';
import { effectiveExclusionList } from '../engine/ImageRepositoryReconciler';
import { compileGoRegexp } from '../golib/regexp';
import {
  explainSelection,
  sortTagsAsStored,
  TAG_VERDICT_SENTENCES,
} from '../policy';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';

/** The ImageRepository an ImagePolicy spec refers to; throws NotFoundError when it is absent. @internal */
export async function referencedRepository(
  objects: ObjectStore,
  namespace: string,
  spec: ImagePolicySpec,
): Promise<StoredObject> {
  const repoNamespace = spec.imageRepositoryRef.namespace ?? namespace;
  const id = objectId(
    'ImageRepository',
    repoNamespace,
    spec.imageRepositoryRef.name,
  );
  const repository = await objects.get(id);
  if (!repository)
    throw new NotFoundError(
      `the referenced ImageRepository ${id} does not exist`,
    );
  return repository;
}

/** Checks a spec sent for a preview as the API server would; throws InputError naming the fields. @internal */
export function validatePreviewSpec(
  namespace: string,
  spec: unknown,
): ImagePolicySpec {
  const errors = validateAutomationObject({
    apiVersion: IMAGE_API_VERSION,
    kind: 'ImagePolicy',
    metadata: { name: 'preview', namespace },
    spec,
  });
  if (errors.length > 0)
    throw new InputError(formatFieldErrors('ImagePolicy', 'preview', errors));
  // A pattern refused for its size is the caller's error (400), found before any compiling (issue #13).
  const pattern = (spec as ImagePolicySpec).filterTags?.pattern;
  if (typeof pattern === 'string') {
    const compiled = compileGoRegexp(pattern);
    if (!compiled.ok && compiled.limit) {
      throw new InputError(
        `ImagePolicy preview: spec.filterTags.pattern: ${compiled.message}`,
      );
    }
  }
  return spec as ImagePolicySpec;
}

/**
 * Evaluates an ImagePolicy spec against the stored tags of its repository, saying for every
 * tag why it was or was not selected. Reads only.
 * @internal
 */
export async function explainPolicy(
  deps: { objects: ObjectStore; scans: ScanStore },
  namespace: string,
  spec: ImagePolicySpec,
): Promise<PolicyExplanation> {
  const repository = await referencedRepository(deps.objects, namespace, spec);
  const records = new Map(
    (await deps.scans.presentTags(repository.id)).map(r => [r.tag, r]),
  );
  const tags = sortTagsAsStored([...records.keys()]);
  const { selection, verdicts } = explainSelection({
    policy: spec.policy,
    filterTags: spec.filterTags,
    tags,
  });
  return {
    repositoryId: repository.id,
    selection: selection.ok
      ? { ok: true, tag: selection.tag }
      : { ok: false, reason: selection.reason, message: selection.message },
    verdicts: verdicts.map(v => {
      const { digest, firstSeenAt } = records.get(v.tag)!;
      return {
        ...v,
        sentence: TAG_VERDICT_SENTENCES[v.verdict],
        ...(digest ? { digest } : {}),
        firstSeenAt,
      };
    }),
    exclusionList: effectiveExclusionList(
      repository.manifest.spec as unknown as ImageRepositorySpec,
    ),
  };
}
