import { useContext, useId } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { Alert, Flex, Text } from '@backstage/ui';
import {
  AutomationObjectView,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { LiveUpdatesContext } from '../../hooks/useLiveUpdates';
import { usePolledValue } from '../../hooks/usePolledValue';
import { errorMessage } from '../errorMessage';
import { formatDuration, formatTags, formatTime } from '../format';
import { collapseEvents } from './kindFacts';
import { objectTitle } from './objectState';
import { Cell, CellText, Row } from '../table/Table';
import { PagedTable } from './PagedTable';
import {
  RegistryFailingLine,
  registryErrorClass,
  useFailedScan,
} from './RegistryFailure';
import { useCursorPages } from './useCursorPages';

/** How many recent events the collapsed history reads. @internal */
export const HISTORY_EVENTS_LIMIT = 100;

/**
 * What the object did over time: an ImageRepository's scans (paged), any other object's recent
 * events as a timeline in which repeats collapse into one entry with "×N".
 * @internal
 */
export function HistoryPanel(props: { object: AutomationObjectView }) {
  return props.object.kind === 'ImageRepository' ? (
    <ScanHistoryTable object={props.object} />
  ) : (
    <EventHistory object={props.object} />
  );
}

function ScanHistoryTable(props: { object: AutomationObjectView }) {
  const { object } = props;
  const api = useApi(imageAutomationApiRef);
  const table = useCursorPages<ScanRecord>(
    options => api.getScans(object, options),
    object.status.lastScanResult?.scanTime ?? object.lastRunAt,
  );
  const failed = useFailedScan(object);
  const scans = (
    <PagedTable
      aria-label={`Scans of ${objectTitle(object)}`}
      table={table}
      what="the scans"
      columns={[
        'Time',
        'Outcome',
        'Tags',
        'Revision',
        'Added',
        'Removed',
        'Duration',
        'Error',
      ]}
      empty="No scans yet."
    >
      {scan => (
        <Row id={scan.id}>
          <CellText title={formatTime(scan.startedAt)} />
          <Cell>
            <Text
              weight="bold"
              color={scan.outcome === 'success' ? 'success' : 'danger'}
            >
              {scan.outcome === 'success' ? 'Success' : 'Failure'}
            </Text>
          </Cell>
          <CellText title={String(scan.tagCount)} />
          <Cell>
            <Text style={{ overflowWrap: 'anywhere' }}>
              {scan.revision ?? '—'}
            </Text>
          </Cell>
          <CellText title={formatTags(scan.tagsAdded)} />
          <CellText title={formatTags(scan.tagsRemoved)} />
          <CellText title={formatDuration(scan.durationMs)} />
          <Cell>
            <Text
              color={scan.error ? 'danger' : 'secondary'}
              style={{ overflowWrap: 'anywhere' }}
            >
              {scan.outcome === 'failure' && registryErrorClass(scan) && (
                <Text weight="bold" color="danger">
                  {registryErrorClass(scan)}:{' '}
                </Text>
              )}
              {scan.error ?? '—'}
            </Text>
          </Cell>
        </Row>
      )}
    </PagedTable>
  );
  return (
    <Flex direction="column" gap="3">
      {failed && <RegistryFailingLine object={object} scan={failed} />}
      {scans}
    </Flex>
  );
}

function EventHistory(props: { object: AutomationObjectView }) {
  const { object } = props;
  const api = useApi(imageAutomationApiRef);
  const title = objectTitle(object);
  const descriptionId = useId();
  const live = useContext(LiveUpdatesContext);
  // Reloads (keeping what is shown) on every signal and whenever the object ran again.
  const events = usePolledValue(
    object.id,
    () => api.getEvents(object, { limit: HISTORY_EVENTS_LIMIT }),
    live.pollIntervalMs,
    { refreshOn: `${live.version} ${object.lastRunAt}` },
  );
  const runs = collapseEvents(events.value?.items ?? []);
  return (
    <Flex direction="column" gap="2">
      <Text id={descriptionId} color="secondary">
        The last {HISTORY_EVENTS_LIMIT} events of {title}, newest first; repeats
        are shown once with their count.
      </Text>
      {events.error && (
        <Alert
          status="danger"
          role="alert"
          title="Could not load the history"
          description={errorMessage(events.error)}
        />
      )}
      {events.loading && <Text color="secondary">Loading the history…</Text>}
      {events.value && runs.length === 0 && (
        <Text>No events recorded yet.</Text>
      )}
      {runs.length > 0 && (
        <ol
          aria-label={`History of ${title}`}
          aria-describedby={descriptionId}
          style={{ listStyle: 'none', margin: 0, padding: 0 }}
        >
          {runs.map(run => (
            <li
              key={`${run.last}-${run.reason}-${run.count}`}
              style={{
                borderInlineStart: `3px solid var(${
                  run.type === 'Warning'
                    ? '--bui-warning-border'
                    : '--bui-border-2'
                })`,
                paddingInlineStart: 'var(--bui-space-3)',
                paddingBlock: 'var(--bui-space-1)',
              }}
            >
              <Flex direction="column" gap="1">
                <Text>
                  <Text
                    weight="bold"
                    color={run.type === 'Warning' ? 'warning' : 'primary'}
                  >
                    {run.type === 'Warning' ? 'Warning' : 'Normal'} ·{' '}
                    {run.reason}
                  </Text>
                  {run.count > 1 && <Text weight="bold"> ×{run.count}</Text>}
                </Text>
                <Text style={{ overflowWrap: 'anywhere' }}>{run.message}</Text>
                <Text variant="body-small" color="secondary">
                  {run.count > 1
                    ? `${formatTime(run.first)} – ${formatTime(run.last)}`
                    : formatTime(run.last)}
                </Text>
              </Flex>
            </li>
          ))}
        </ol>
      )}
    </Flex>
  );
}
