import {
  PromotionTarget,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { StoredObject } from '../store/ObjectStore';

/** The cluster target of a ResourceSet in one cluster. @internal */
export function clusterTarget(
  resourceSetId: string,
  cluster: string,
): PromotionTarget {
  return {
    id: `cluster:${resourceSetId}@${cluster}`,
    type: 'cluster',
    objectId: resourceSetId,
    cluster,
  };
}

/**
 * The version an input provider exports now: its revision and inputs, shown by the `tag` values of
 * the inputs and bound to their digest when there is exactly one (an OCIArtifactTag provider
 * tracking one tag), else to the revision.
 * @internal
 */
export function providerVersion(
  provider: StoredObject,
): PromotionVersion | undefined {
  const revision = provider.status.lastExportedRevision;
  if (!revision) return undefined;
  const inputs = (provider.status.exportedInputs ?? []) as Array<
    Record<string, unknown>
  >;
  const tags = [
    ...new Set(
      inputs.map(i => i.tag).filter((t): t is string => typeof t === 'string'),
    ),
  ];
  const digests = [
    ...new Set(
      inputs
        .map(i => i.digest)
        .filter((d): d is string => typeof d === 'string'),
    ),
  ];
  const url = (provider.manifest.spec as { url?: string } | undefined)?.url;
  return {
    ...(url ? { image: url.replace(/^oci:\/\//, '') } : {}),
    tag:
      tags.length > 0
        ? tags.join(', ')
        : `revision ${revision.replace(/^sha256:/, '').slice(0, 12)}`,
    ...(digests.length === 1 && inputs.length === 1
      ? { digest: digests[0] }
      : {}),
    revision,
    inputs,
  };
}
