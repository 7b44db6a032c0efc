import { Flex, Text } from '@backstage/ui';
import {
  Cell,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../table/Table';
import {
  FleetObject,
  FleetObjectHealth,
} from '@imageops/backstage-plugin-image-automation-common';
import { formatRelative, formatTime } from '../format';
import { EntityCell } from './EntityCell';

/** The colour beside each state's word (never instead of it). */
const healthColor: Record<
  FleetObjectHealth,
  'danger' | 'warning' | 'info' | 'secondary'
> = {
  Stalled: 'danger',
  Failing: 'danger',
  Suspended: 'warning',
  Reconciling: 'info',
  Unknown: 'secondary',
};

/**
 * The fleet page's "Failing automations": one row per automation object that is not Ready, with
 * its entity, its state in words and colour, the message of the condition behind it and since when.
 * @internal
 */
export function FailingObjectsTable(props: {
  objects: FleetObject[];
  now: Date;
}) {
  const { objects, now } = props;
  return (
    <TableRoot aria-label="Failing automations">
      <TableHeader>
        <Column>Entity</Column>
        <Column>Object</Column>
        <Column>State</Column>
        <Column>Message</Column>
        <Column>Since</Column>
      </TableHeader>
      <TableBody
        items={objects.map(object => ({ id: object.id, object }))}
        dependencies={[now]}
      >
        {({ id, object }) => (
          <Row id={id}>
            <Cell>
              <EntityCell entityRef={object.entityRef} owner={object.owner} />
            </Cell>
            <Cell>
              <Text style={{ overflowWrap: 'anywhere' }}>
                {object.kind} {object.namespace}/{object.name}
              </Text>
            </Cell>
            <Cell>
              <Text weight="bold" color={healthColor[object.health]}>
                {object.health}
              </Text>
            </Cell>
            <Cell>
              <Flex direction="column" gap="1">
                {object.reason && (
                  <Text variant="body-small" color="secondary">
                    {object.reason}
                  </Text>
                )}
                <Text style={{ overflowWrap: 'anywhere' }}>
                  {object.message ?? '—'}
                </Text>
              </Flex>
            </Cell>
            <Cell>
              {object.since ? (
                <Flex direction="column" gap="1">
                  <Text>{formatRelative(object.since, now)}</Text>
                  <Text variant="body-small" color="secondary">
                    {formatTime(object.since)}
                  </Text>
                </Flex>
              ) : (
                <Text color="secondary">—</Text>
              )}
            </Cell>
          </Row>
        )}
      </TableBody>
    </TableRoot>
  );
}
