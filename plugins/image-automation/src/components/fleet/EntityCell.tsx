import { parseEntityRef } from '@backstage/catalog-model';
import {
  humanizeEntityRef,
  useEntityRefLink,
} from '@backstage/plugin-catalog-react';
import { Flex, Link, Text } from '@backstage/ui';

/**
 * A row's entity on the fleet page: a link to the entity's page, and its owner beneath.
 * @internal
 */
export function EntityCell(props: { entityRef?: string; owner?: string }) {
  const { entityRef, owner } = props;
  const entityLink = useEntityRefLink();
  if (!entityRef) return <Text color="secondary">—</Text>;
  return (
    <Flex direction="column" gap="1">
      <Link href={entityLink(entityRef)}>
        {humanizeEntityRef(parseEntityRef(entityRef))}
      </Link>
      <Text variant="body-small" color="secondary">
        {owner
          ? `Owner: ${humanizeEntityRef(parseEntityRef(owner), {
              defaultKind: 'group',
            })}`
          : 'No owner'}
      </Text>
    </Flex>
  );
}
