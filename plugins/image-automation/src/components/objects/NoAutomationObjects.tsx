import { configApiRef, useApi } from '@backstage/core-plugin-api';
import { Flex, Link, Text } from '@backstage/ui';

/**
 * The docs the empty state links when `imageAutomation.docsUrl` is not set: Flux's image update
 * guide, since the manifests the annotation names are Flux's.
 * @internal
 */
export const DEFAULT_DOCS_URL = 'https://fluxcd.io/flux/guides/image-update/';

/**
 * What the entity tab says when no automation object belongs to the entity: which annotation
 * names the manifests, and a link to the docs on writing them (`imageAutomation.docsUrl`).
 * @internal
 */
export function NoAutomationObjects() {
  const config = useApi(configApiRef);
  const docsUrl =
    config.getOptionalString('imageAutomation.docsUrl') || DEFAULT_DOCS_URL;
  return (
    <Flex direction="column" gap="1" align="start">
      <Text>
        No automation objects belong to this entity. Check the manifests named
        in its image-automation.io/manifests annotation.
      </Text>
      <Link href={docsUrl} target="_blank" rel="noopener noreferrer">
        How to write image automation manifests
      </Link>
    </Flex>
  );
}
