import {
  ImageRef,
  objectId,
  PromotionTarget,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { FoundMarker } from '../git/applySetters';
import { policyRepository } from '../objects/policyRepository';
import { splitImageRef } from '../util/splitImageRef';
import { ObjectStore } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';

/** The Git target of an ImageUpdateAutomation. @internal */
export function gitTarget(automationId: string): PromotionTarget {
  return { id: `git:${automationId}`, type: 'git', objectId: automationId };
}

/** The promotion subject of an ImagePolicy. @internal */
export function policySubject(namespace: string, policy: string): string {
  return objectId('ImagePolicy', namespace, policy);
}

/** @internal */
export function versionOfRef(ref: ImageRef): PromotionVersion {
  return {
    image: ref.name,
    tag: ref.tag,
    ...(ref.digest ? { digest: ref.digest } : {}),
  };
}

/** @internal */
export function refOfVersion(
  version: PromotionVersion,
  fallbackName: string,
): ImageRef {
  return {
    name: version.image ?? fallbackName,
    tag: version.tag,
    ...(version.digest ? { digest: version.digest } : {}),
  };
}

/**
 * What a policy's markers hold now: a full image reference marker says all; otherwise the `:tag`,
 * `:name` and `:digest` markers together. Undefined when no marker says which tag it holds.
 * @internal
 */
export function carriedVersion(
  markers: FoundMarker[],
): PromotionVersion | undefined {
  const field = (m: FoundMarker) => m.setter.split(':')[2];
  const full = markers.find(m => field(m) === undefined);
  const parts: { repository?: string; tag?: string; digest?: string } = full
    ? splitImageRef(full.value)
    : {};
  const tag = parts.tag ?? markers.find(m => field(m) === 'tag')?.value;
  if (!tag) return undefined;
  const image =
    parts.repository ?? markers.find(m => field(m) === 'name')?.value;
  const digest =
    parts.digest ?? markers.find(m => field(m) === 'digest')?.value;
  return { ...(image ? { image } : {}), tag, ...(digest ? { digest } : {}) };
}

/** When the policy's repository first saw `tag`, from scan history. @internal */
export async function firstSeenOf(
  objects: ObjectStore,
  scans: ScanStore,
  namespace: string,
  policy: string,
  tag: string,
): Promise<Date | undefined> {
  const stored = await objects.get(objectId('ImagePolicy', namespace, policy));
  // Never from a repository the policy may not refer to (another tenant's; issue #13).
  const source = stored ? await policyRepository(objects, stored) : undefined;
  if (!source || source.denied) return undefined;
  const repository = source.id;
  const page = await scans.listTags(repository, {
    search: tag,
    includeGone: true,
    limit: 100,
  });
  const record = page.items.find(t => t.tag === tag);
  return record ? new Date(record.firstSeenAt) : undefined;
}
