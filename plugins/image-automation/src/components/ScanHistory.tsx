import { useEffect } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Cell,
  CellText,
  Column,
  Flex,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
  Text,
} from '@backstage/ui';
import {
  AutomationObjectView,
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { usePolledValue } from '../hooks/usePolledValue';
import { errorMessage } from './errorMessage';
import { formatDuration, formatTags, formatTime } from './format';

/** How many scans the table shows. @internal */
export const RECENT_SCANS_LIMIT = 20;

/** Props of {@link ScanHistory}. @internal */
export interface ScanHistoryProps {
  object: AutomationObjectView;
  /** Changes after an action on the object, so the table loads at once instead of at the next poll. */
  refreshToken: number;
  pollIntervalMs: number;
}

/**
 * The "Recent scans" table of an ImageRepository: one row per scan, newest first, so a
 * reconcile shows up as a new row and a failing registry shows its errors.
 * @internal
 */
export function ScanHistory(props: ScanHistoryProps) {
  const { object, refreshToken, pollIntervalMs } = props;
  const api = useApi(imageAutomationApiRef);
  const scans = usePolledValue<Page<ScanRecord>>(
    object.id,
    () => api.getScans(object, { limit: RECENT_SCANS_LIMIT }),
    pollIntervalMs,
  );
  const { refresh } = scans;

  useEffect(() => {
    if (refreshToken > 0) refresh();
  }, [refreshToken, refresh]);

  const label = `Recent scans of ${object.kind} ${object.namespace}/${object.name}`;
  return (
    <Flex direction="column" gap="2">
      <Text as="h4" variant="title-x-small">
        Recent scans
      </Text>
      {scans.error && (
        <Alert
          status="danger"
          title="Could not load the scans"
          description={errorMessage(scans.error)}
        />
      )}
      {scans.loading ? (
        <Text color="secondary">Loading scans…</Text>
      ) : (
        <TableRoot aria-label={label}>
          <TableHeader>
            <Column isRowHeader>Time</Column>
            <Column>Outcome</Column>
            <Column>Tags</Column>
            <Column>Revision</Column>
            <Column>Added</Column>
            <Column>Removed</Column>
            <Column>Duration</Column>
            <Column>Error</Column>
          </TableHeader>
          <TableBody
            items={scans.value?.items ?? []}
            renderEmptyState={() => 'No scans yet.'}
          >
            {scan => (
              <Row id={scan.id}>
                <Cell>
                  <Text>{formatTime(scan.startedAt)}</Text>
                </Cell>
                <CellText
                  title={scan.outcome === 'success' ? 'Success' : 'Failure'}
                />
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
                    {scan.error ?? '—'}
                  </Text>
                </Cell>
              </Row>
            )}
          </TableBody>
        </TableRoot>
      )}
    </Flex>
  );
}
