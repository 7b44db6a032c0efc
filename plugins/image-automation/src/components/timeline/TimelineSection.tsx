import { memo, useId, useMemo, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Flex,
  Text,
  ToggleButton,
  ToggleButtonGroup,
} from '@backstage/ui';
import {
  Cell,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../table/Table';
import {
  EntityTimelineView,
  TimelineEvent,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef, ObjectRef } from '../../api/ImageAutomationApi';
import { useLivePolledValue } from '../../hooks/useLiveUpdates';
import { errorMessage } from '../errorMessage';
import { formatTime } from '../format';
import { SectionError } from '../SectionError';
import { TimelineChart } from './TimelineChart';
import {
  EVENT_KINDS,
  formatLeadTime,
  laneIdOf,
  leadTimesOf,
  mergeEvents,
  sinceOf,
  TIMELINE_RANGES,
  TimelineRange,
} from './timelineModel';

/** Events per page, for the chart and for each "Load more". @internal */
export const TIMELINE_PAGE_SIZE = 200;

/** Rows the table twin shows at first, and how many more each "Show more events" reveals. @internal */
export const TIMELINE_ROWS_STEP = 25;

/** Props of {@link TimelineSection}. @internal */
export interface TimelineSectionProps {
  /** The catalog entity whose timeline is shown. */
  entityRef: ObjectRef;
  /** Events per page (default {@link TIMELINE_PAGE_SIZE}). */
  pageSize?: number;
}

/** The first page of a range, with the `since` it was asked for and when, so older pages match it. */
interface LoadedTimeline {
  view: EntityTimelineView;
  range: TimelineRange;
  since?: string;
  loadedAt: number;
}

/** Older pages loaded with "Load more", for one range. */
interface OlderPages {
  key: string;
  items: TimelineEvent[];
  cursor?: string;
}

/**
 * The chart, memoised: the section re-renders with every change of the tab (another section's data,
 * a row revealed), the chart only when its events or range do.
 */
const Chart = memo(TimelineChart);

const NO_EVENTS: TimelineEvent[] = [];
const NO_LANES: EntityTimelineView['lanes'] = [];

/** How many rows of the table twin are revealed, for one range. */
interface RowsShown {
  key: string;
  count: number;
}

/**
 * The "Timeline" section of the entity tab: one lane per target over time, joining registry time
 * (tags first seen) and deployment time (promotion steps, pins, suspends), as a chart with bars for
 * how long each tag ran, the lead time of each version from first seen to the last target, and the
 * same events as a table for keyboard and screen-reader users. The chart draws every event loaded;
 * the table shows {@link TIMELINE_ROWS_STEP} rows at first and more on demand, from what is loaded
 * and then from older pages fetched with the cursor.
 * @internal
 */
export function TimelineSection(props: TimelineSectionProps) {
  const { entityRef, pageSize = TIMELINE_PAGE_SIZE } = props;
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const [range, setRange] = useState<TimelineRange>('1w');
  const key = `${entityRef.kind}:${entityRef.namespace}/${entityRef.name}|${range}`;
  const timeline = useLivePolledValue<LoadedTimeline>(key, async () => {
    const loadedAt = Date.now();
    const since = sinceOf(range, loadedAt);
    const view = await api.getTimeline(entityRef, {
      ...(since ? { since } : {}),
      limit: pageSize,
    });
    return { view, range, since, loadedAt };
  });
  const [older, setOlder] = useState<OlderPages>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string>();
  const [rowsShown, setRowsShown] = useState<RowsShown>();

  const loaded = timeline.value;
  // The chart and texts follow the range of the data shown, which lags a click until it loads.
  const rangeInfo = TIMELINE_RANGES.find(
    r => r.id === (loaded?.range ?? range),
  )!;
  const olderPages = older?.key === key ? older : undefined;
  const firstPage = loaded?.view.items;
  const olderItems = olderPages?.items;
  const events = useMemo(
    () => mergeEvents(firstPage ?? NO_EVENTS, olderItems ?? NO_EVENTS),
    [firstPage, olderItems],
  );
  const nextCursor = olderPages ? olderPages.cursor : loaded?.view.nextCursor;
  const rowLimit =
    rowsShown?.key === key ? rowsShown.count : TIMELINE_ROWS_STEP;
  const shownEvents =
    events.length > rowLimit ? events.slice(0, rowLimit) : events;
  const moreLoaded = events.length - shownEvents.length;

  const loadMore = async () => {
    if (!loaded || !nextCursor) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api.getTimeline(entityRef, {
        ...(loaded.since ? { since: loaded.since } : {}),
        limit: pageSize,
        cursor: nextCursor,
      });
      // What is shown stays shown while the first page keeps refreshing above it.
      setOlder({
        key,
        items: mergeEvents(events, page.items),
        cursor: page.nextCursor,
      });
      setRowsShown({ key, count: events.length + TIMELINE_ROWS_STEP });
    } catch (e) {
      setMoreError(
        `Could not load older events: ${errorMessage(
          e instanceof Error ? e : new Error(String(e)),
        )}`,
      );
    } finally {
      setLoadingMore(false);
    }
  };

  const view = loaded?.view;
  const lanes = view?.lanes ?? NO_LANES;
  const appliedBefore = view?.appliedBefore ?? NO_EVENTS;
  const now = loaded?.loadedAt ?? Date.now();
  const start = useMemo(() => {
    if (rangeInfo.ms) return now - rangeInfo.ms;
    const times = [...events, ...appliedBefore].map(e => Date.parse(e.time));
    return Math.min(now - 86_400_000, ...times);
  }, [rangeInfo.ms, now, events, appliedBefore]);
  const laneLabel = (event: TimelineEvent) =>
    lanes.find(l => l.id === laneIdOf(event))?.label ?? laneIdOf(event);
  const leadTimes = useMemo(() => leadTimesOf(events, lanes), [events, lanes]);

  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="4">
        <Flex justify="between" align="center" gap="3">
          <Text as="h2" variant="title-small" id={headingId}>
            Timeline
          </Text>
          <ToggleButtonGroup
            aria-label="Time range"
            selectionMode="single"
            disallowEmptySelection
            selectedKeys={[range]}
            onSelectionChange={keys => {
              const [next] = [...keys];
              if (next) setRange(next as TimelineRange);
            }}
          >
            {TIMELINE_RANGES.map(r => (
              <ToggleButton key={r.id} id={r.id} aria-label={r.name}>
                {r.label}
              </ToggleButton>
            ))}
          </ToggleButtonGroup>
        </Flex>
        <SectionError what="the timeline" data={timeline} />
        {timeline.loading && (
          <Text color="secondary">Loading the timeline…</Text>
        )}
        {view && events.length === 0 && appliedBefore.length === 0 && (
          <Text>{emptyText(view, rangeInfo.name)}</Text>
        )}
        {view &&
          lanes.length > 0 &&
          (events.length > 0 || appliedBefore.length > 0) && (
            <>
              <Chart
                lanes={lanes}
                events={events}
                appliedBefore={appliedBefore}
                start={start}
                end={now}
                rangeName={rangeInfo.name}
              />
              <Text variant="body-small" color="secondary">
                Key:{' '}
                {Object.values(EVENT_KINDS)
                  .map(k => `${k.glyph} ${k.label.toLowerCase()}`)
                  .join(' · ')}
                {' · '}bars: how long each tag ran on each target. Times in UTC.
              </Text>
            </>
          )}
        {view && (
          <Flex direction="column" gap="2">
            <Text as="h3" variant="title-x-small">
              Lead time
            </Text>
            {leadTimes.length === 0 ? (
              <Text color="secondary">
                No version reached a target in this range.
              </Text>
            ) : (
              <ul
                aria-label="Lead time per version"
                style={{ margin: 0, paddingLeft: '1.25rem' }}
              >
                {leadTimes.map(lead => (
                  <li key={lead.tag}>
                    <Text>{formatLeadTime(lead)}</Text>
                  </li>
                ))}
              </ul>
            )}
          </Flex>
        )}
        {events.length > 0 && (
          <Flex direction="column" gap="2">
            <TableRoot aria-label="Timeline events">
              <TableHeader>
                <Column>Time</Column>
                <Column>Lane</Column>
                <Column>Event</Column>
                <Column>Tag</Column>
                <Column>Actor</Column>
              </TableHeader>
              <TableBody items={shownEvents} dependencies={[lanes]}>
                {event => (
                  <Row id={event.id}>
                    <Cell>
                      <Text>{formatTime(event.time)}</Text>
                    </Cell>
                    <Cell>
                      <Text style={{ overflowWrap: 'anywhere' }}>
                        {laneLabel(event)}
                      </Text>
                    </Cell>
                    <Cell>
                      <Flex direction="column" gap="1">
                        <Text weight="bold">
                          {EVENT_KINDS[event.kind].label}
                        </Text>
                        <Text
                          variant="body-small"
                          color="secondary"
                          style={{ overflowWrap: 'anywhere' }}
                        >
                          {event.message}
                        </Text>
                      </Flex>
                    </Cell>
                    <Cell>
                      <Text style={{ overflowWrap: 'anywhere' }}>
                        {event.fromTag && event.tag
                          ? `${event.fromTag} → ${event.tag}`
                          : event.tag ?? '—'}
                      </Text>
                    </Cell>
                    <Cell>
                      <Text style={{ overflowWrap: 'anywhere' }}>
                        {event.actor ?? '—'}
                      </Text>
                    </Cell>
                  </Row>
                )}
              </TableBody>
            </TableRoot>
            {moreError && (
              <Alert status="danger" role="alert" title={moreError} />
            )}
            <Flex justify="between" align="center">
              <Text variant="body-small" color="secondary">
                {shownText(
                  shownEvents.length,
                  events.length,
                  Boolean(nextCursor),
                )}
              </Text>
              {/* One button, so the focus stays on it when it turns from showing to loading. */}
              {(moreLoaded > 0 || nextCursor) && (
                <Button
                  variant="secondary"
                  size="small"
                  isPending={moreLoaded === 0 && loadingMore}
                  onPress={
                    moreLoaded > 0
                      ? () =>
                          setRowsShown({
                            key,
                            count: rowLimit + TIMELINE_ROWS_STEP,
                          })
                      : loadMore
                  }
                >
                  {moreLoaded > 0 ? 'Show more events' : 'Load more events'}
                </Button>
              )}
            </Flex>
          </Flex>
        )}
      </Flex>
    </section>
  );
}

/** How many events the table shows, of those loaded, and whether older ones remain on the server. */
function shownText(
  shown: number,
  loaded: number,
  olderRemain: boolean,
): string {
  const events = `${loaded} ${loaded === 1 ? 'event' : 'events'}`;
  return `${shown < loaded ? `${shown} of ${events}` : events} shown${
    olderRemain ? '; older ones remain' : ''
  }`;
}

/** Why there is nothing to show: no scan yet (and when the first runs), or a quiet range. */
function emptyText(view: EntityTimelineView, rangeName: string): string {
  if (!view.lastScanAt) {
    return view.nextScanAt
      ? `No scan history yet — first scan runs at ${formatTime(
          view.nextScanAt,
        )}.`
      : 'No scan history yet — this entity has no ImageRepository to scan.';
  }
  return rangeName === 'All time'
    ? 'Nothing has happened yet: no tag was seen and nothing was promoted.'
    : `Nothing happened in the ${rangeName.toLowerCase()}: no tag was seen and nothing was promoted.`;
}
