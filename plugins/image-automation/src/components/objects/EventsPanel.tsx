import { useApi } from '@backstage/core-plugin-api';
import { Text } from '@backstage/ui';
import { Cell, CellText, Row } from '../table/Table';
import {
  AutomationObjectView,
  ObjectEvent,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { formatTime } from '../format';
import { objectTitle } from './objectState';
import { PagedTable } from './PagedTable';
import { useCursorPages } from './useCursorPages';

/**
 * Every event of the object, newest first, a page at a time (the backend's cursor); the first
 * page loads again when the object runs again.
 * @internal
 */
export function EventsPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  const api = useApi(imageAutomationApiRef);
  const table = useCursorPages<ObjectEvent>(
    options => api.getEvents(object, options),
    object.lastRunAt,
  );
  return (
    <PagedTable
      aria-label={`Events of ${objectTitle(object)}`}
      table={table}
      what="the events"
      columns={['Time', 'Type', 'Reason', 'Message']}
      empty="No events recorded yet."
    >
      {event => (
        <Row id={event.id}>
          <CellText title={formatTime(event.time)} />
          <Cell>
            <Text
              weight={event.type === 'Warning' ? 'bold' : 'regular'}
              color={event.type === 'Warning' ? 'warning' : 'primary'}
            >
              {event.type}
            </Text>
          </Cell>
          <CellText title={event.reason} />
          <Cell>
            <Text style={{ overflowWrap: 'anywhere' }}>{event.message}</Text>
          </Cell>
        </Row>
      )}
    </PagedTable>
  );
}
