import { Flex, Text } from '@backstage/ui';
import {
  Cell,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../table/Table';
import { FleetPromotion } from '@imageops/backstage-plugin-image-automation-common';
import {
  formatDelta,
  GateChips,
  promotionLabel,
  PromotionDecisions,
  targetName,
} from '../PendingPromotionsSection';
import { EntityCell } from './EntityCell';
import { PullRequestStatus } from '../pullRequest/PullRequestStatus';

/**
 * The fleet page's "Pending promotions": one row per promotion the user may act on, with its
 * entity, image, target, change (with the pull request carrying it, in pull-request mode) and
 * gates, and Approve / Reject / Promote now behind confirm dialogs, as on the entity tab.
 * @internal
 */
export function FleetPromotionsTable(props: {
  promotions: FleetPromotion[];
  onChanged: () => Promise<void>;
}) {
  const { promotions, onChanged } = props;
  return (
    <TableRoot aria-label="Pending promotions">
      <TableHeader>
        <Column>Entity</Column>
        <Column>Image</Column>
        <Column>Target</Column>
        <Column>Change</Column>
        <Column>Gates</Column>
        <Column>Actions</Column>
      </TableHeader>
      <TableBody
        items={promotions.map(promotion => ({ id: promotion.id, promotion }))}
        dependencies={[onChanged]}
      >
        {({ id, promotion }) => {
          const label = promotionLabel(promotion);
          return (
            <Row id={id}>
              <Cell>
                <EntityCell
                  entityRef={promotion.entityRef}
                  owner={promotion.owner}
                />
              </Cell>
              <Cell>
                <Flex direction="column" gap="1">
                  <Text style={{ overflowWrap: 'anywhere' }}>
                    {promotion.to.image ?? promotion.subject}
                  </Text>
                  <Text variant="body-small" color="secondary">
                    {promotion.subject}
                  </Text>
                </Flex>
              </Cell>
              <Cell>
                <Text style={{ overflowWrap: 'anywhere' }}>
                  {targetName(promotion.target)}
                </Text>
              </Cell>
              <Cell>
                <Flex direction="column" gap="1">
                  <Text weight="bold">{formatDelta(promotion)}</Text>
                  <Text variant="body-small" color="secondary">
                    {promotion.state}
                  </Text>
                  {promotion.pullRequest && (
                    <PullRequestStatus pr={promotion.pullRequest} compact />
                  )}
                </Flex>
              </Cell>
              <Cell>
                {promotion.gates.length > 0 ? (
                  <GateChips promotion={promotion} label={label} />
                ) : (
                  <Text color="secondary">No gates</Text>
                )}
              </Cell>
              <Cell>
                <PromotionDecisions
                  promotion={promotion}
                  label={label}
                  onChanged={onChanged}
                  compact
                />
              </Cell>
            </Row>
          );
        }}
      </TableBody>
    </TableRoot>
  );
}
