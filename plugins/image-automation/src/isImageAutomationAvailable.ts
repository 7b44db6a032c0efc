import { Entity } from '@backstage/catalog-model';
import { ANNOTATION_MANIFESTS } from '@imageops/backstage-plugin-image-automation-common';

/**
 * Whether an entity declares automation manifests, i.e. whether the Image updates tab applies.
 * @public
 */
export function isImageAutomationAvailable(entity: Entity): boolean {
  return Boolean(entity.metadata.annotations?.[ANNOTATION_MANIFESTS]?.trim());
}
