import { Flex, Text } from '@backstage/ui';
import {
  Cell,
  CellText,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../../table/Table';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../../format';
import { DetailList, specString } from '../DetailList';
import { objectTitle } from '../objectState';

/** The Flux Operator's `spec.filter.limit` default. @internal */
export const DEFAULT_INPUT_LIMIT = 100;

/** An input value as text: strings as they are, anything else as JSON. @internal */
export function inputValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A ResourceSetInputProvider: the inputs it exported ("Total N (max limit)"), when it fetched
 * them, and its next scheduled run.
 * @internal
 */
export function ResourceSetInputProviderPanel(props: {
  object: AutomationObjectView;
}) {
  const { object } = props;
  const { spec, status } = object;
  const title = objectTitle(object);
  const inputs = status.exportedInputs ?? [];
  const limit =
    (spec.filter as { limit?: number } | undefined)?.limit ??
    DEFAULT_INPUT_LIMIT;
  const next = status.nextSchedule;
  return (
    <Flex direction="column" gap="4">
      <DetailList
        aria-label={`Input provider details of ${title}`}
        items={[
          ['Type', specString(spec.type)],
          ['URL', specString(spec.url)],
          [
            'Exported inputs',
            // An empty export has a revision but no `exportedInputs` (omitted, as Flux does).
            status.exportedInputs || status.lastExportedRevision
              ? `Total ${inputs.length} (max ${limit})`
              : 'none exported yet',
          ],
          ['Fetched', formatTime(object.lastRunAt)],
          ['Revision', status.lastExportedRevision ?? '—'],
          [
            'Next schedule',
            next
              ? `${formatTime(next.when)} (cron ${next.cron} ${
                  next.timeZone ?? 'UTC'
                }${next.window ? `, window ${next.window}` : ''})`
              : 'none: runs every interval',
          ],
        ]}
      />
      <TableRoot aria-label={`Inputs exported by ${title}`}>
        <TableHeader>
          <Column>ID</Column>
          <Column>Values</Column>
        </TableHeader>
        <TableBody
          items={inputs.map((input, i) => ({
            id: typeof input.id === 'string' ? input.id : String(i + 1),
            input,
          }))}
          renderEmptyState={() => 'No inputs exported.'}
        >
          {({ id, input }) => (
            <Row id={id}>
              <CellText title={id} />
              <Cell>
                <Flex direction="column" gap="1">
                  {Object.entries(input)
                    .filter(([key]) => key !== 'id')
                    .map(([key, value]) => (
                      <Text key={key} style={{ overflowWrap: 'anywhere' }}>
                        <Text color="secondary">{key}: </Text>
                        {inputValue(value)}
                      </Text>
                    ))}
                </Flex>
              </Cell>
            </Row>
          )}
        </TableBody>
      </TableRoot>
    </Flex>
  );
}
