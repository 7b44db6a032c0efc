import {
  TimelineEvent,
  TimelineEventKind,
  TimelineLane,
} from '@imageops/backstage-plugin-image-automation-common';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The ranges the timeline offers. @internal */
export type TimelineRange = '1d' | '1w' | '1m' | 'all';

/** Each range: its id, short label, accessible name and length (none: all time). @internal */
export const TIMELINE_RANGES: ReadonlyArray<{
  id: TimelineRange;
  label: string;
  name: string;
  ms?: number;
}> = [
  { id: '1d', label: '1 d', name: 'Last day', ms: DAY },
  { id: '1w', label: '1 w', name: 'Last week', ms: 7 * DAY },
  { id: '1m', label: '1 m', name: 'Last month', ms: 30 * DAY },
  { id: 'all', label: 'all', name: 'All time' },
];

/** The `since` of a range ending `now` (ISO), or undefined for all time. @internal */
export function sinceOf(range: TimelineRange, now: number): string | undefined {
  const ms = TIMELINE_RANGES.find(r => r.id === range)?.ms;
  return ms === undefined ? undefined : new Date(now - ms).toISOString();
}

/** What each event kind is called, and the glyph that marks it on the chart beside its colour. @internal */
export const EVENT_KINDS: Record<
  TimelineEventKind,
  { label: string; glyph: string }
> = {
  'tag-seen': { label: 'Tag seen', glyph: '|' },
  requested: { label: 'Requested', glyph: '◇' },
  approved: { label: 'Approved', glyph: '✓' },
  rejected: { label: 'Rejected', glyph: '✗' },
  applying: { label: 'Applying', glyph: '…' },
  applied: { label: 'Applied', glyph: '●' },
  failed: { label: 'Failed', glyph: '!' },
  superseded: { label: 'Superseded', glyph: '↷' },
  pinned: { label: 'Pinned', glyph: '⚑' },
  unpinned: { label: 'Unpinned', glyph: '⚐' },
  suspended: { label: 'Suspended', glyph: '‖' },
  resumed: { label: 'Resumed', glyph: '▶' },
};

/** The lane id of events without a target: the registry's. @internal */
export const REGISTRY_LANE = 'registry';

/** The lane an event belongs to. @internal */
export function laneIdOf(event: TimelineEvent): string {
  return event.targetId ?? REGISTRY_LANE;
}

/** Newest first; ties by id, as the backend orders them. @internal */
export function newestFirst(a: TimelineEvent, b: TimelineEvent): number {
  const byTime = Date.parse(b.time) - Date.parse(a.time);
  if (byTime !== 0) return byTime;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

/** Events of several pages as one list: each once, newest first. @internal */
export function mergeEvents(...pages: TimelineEvent[][]): TimelineEvent[] {
  const byId = new Map<string, TimelineEvent>();
  for (const page of pages) for (const event of page) byId.set(event.id, event);
  return [...byId.values()].sort(newestFirst);
}

/** How long a tag ran on one subject of a lane: from its `applied` to the next one (or now). @internal */
export interface TimelineBar {
  laneId: string;
  /** The promotion subject (the event's objectId): a lane carries one bar track per subject. */
  subject: string;
  tag: string;
  start: number;
  end: number;
  /** Still running at `end` (no later `applied`). */
  running: boolean;
}

/**
 * The bars of the lanes: per lane and subject, each `applied` runs until the next; the last one
 * until `now`. `appliedBefore` (what ran when the range starts) begins at `rangeStart`.
 * @internal
 */
export function barsOf(
  events: TimelineEvent[],
  appliedBefore: TimelineEvent[],
  rangeStart: number,
  now: number,
): TimelineBar[] {
  const tracks = new Map<string, TimelineEvent[]>();
  for (const event of [...appliedBefore, ...events]) {
    if (event.kind !== 'applied' || !event.tag) continue;
    const key = `${laneIdOf(event)}\n${event.objectId ?? ''}`;
    tracks.set(key, [...(tracks.get(key) ?? []), event]);
  }
  const bars: TimelineBar[] = [];
  for (const track of tracks.values()) {
    const ascending = [...track].sort((a, b) => -newestFirst(a, b));
    ascending.forEach((event, index) => {
      const next = ascending[index + 1];
      bars.push({
        laneId: laneIdOf(event),
        subject: event.objectId ?? '',
        tag: event.tag!,
        start: Math.max(Date.parse(event.time), rangeStart),
        end: next ? Date.parse(next.time) : now,
        running: !next,
      });
    });
  }
  return bars.filter(bar => bar.end > rangeStart);
}

/** One version's way from the registry to the targets. @internal */
export interface LeadTime {
  tag: string;
  /** When the tag was first seen, if that is among the events loaded. */
  seenAt?: string;
  /** The first `applied` of the tag on each lane, in time order. */
  steps: Array<{ laneId: string; label: string; at: string }>;
  /** From first seen to the last target reached. */
  leadMs?: number;
}

/**
 * The lead time of every version that reached a target among `events`: when it was first seen, then
 * when it was first applied on each lane, newest version (by its last step) first.
 * @internal
 */
export function leadTimesOf(
  events: TimelineEvent[],
  lanes: TimelineLane[],
): LeadTime[] {
  const labels = new Map(lanes.map(l => [l.id, l.label]));
  const seen = new Map<string, string>();
  const applied = new Map<string, Map<string, string>>();
  for (const event of events) {
    if (!event.tag) continue;
    if (event.kind === 'tag-seen') {
      const first = seen.get(event.tag);
      if (!first || Date.parse(event.time) < Date.parse(first))
        seen.set(event.tag, event.time);
    } else if (event.kind === 'applied') {
      const byLane = applied.get(event.tag) ?? new Map<string, string>();
      const lane = laneIdOf(event);
      const first = byLane.get(lane);
      if (!first || Date.parse(event.time) < Date.parse(first))
        byLane.set(lane, event.time);
      applied.set(event.tag, byLane);
    }
  }
  const leads: LeadTime[] = [...applied].map(([tag, byLane]) => {
    const steps = [...byLane]
      .map(([laneId, at]) => ({
        laneId,
        label: labels.get(laneId) ?? laneId,
        at,
      }))
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    const seenAt = seen.get(tag);
    const last = steps[steps.length - 1];
    return {
      tag,
      ...(seenAt
        ? { seenAt, leadMs: Date.parse(last.at) - Date.parse(seenAt) }
        : {}),
      steps,
    };
  });
  return leads.sort(
    (a, b) =>
      Date.parse(b.steps[b.steps.length - 1].at) -
      Date.parse(a.steps[a.steps.length - 1].at),
  );
}

/** A span for people, to the hour past a day and to the minute below: `2 d 23 h`, `3 h 5 min`, `12 min`. @internal */
export function formatSpan(ms: number): string {
  if (ms < MINUTE) return '< 1 min';
  if (ms < HOUR) return `${Math.round(ms / MINUTE)} min`;
  if (ms < DAY) {
    const minutes = Math.round(ms / MINUTE);
    const rest = minutes % 60;
    return rest === 0
      ? `${Math.floor(minutes / 60)} h`
      : `${Math.floor(minutes / 60)} h ${rest} min`;
  }
  const hours = Math.round(ms / HOUR);
  const rest = hours % 24;
  return rest === 0
    ? `${Math.floor(hours / 24)} d`
    : `${Math.floor(hours / 24)} d ${rest} h`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * A time in UTC as a weekday and minute (`Tue 10:02`), or only the minute (`10:15`) when it falls
 * on the same day as `previous`; with `withDate` the date too (`2030-01-01 Tue 10:02`).
 * @internal
 */
export function formatShortTime(
  iso: string,
  previous?: string,
  withDate = false,
): string {
  const date = new Date(iso);
  const hhmm = date.toISOString().slice(11, 16);
  if (
    previous &&
    new Date(previous).toISOString().slice(0, 10) ===
      date.toISOString().slice(0, 10)
  )
    return hhmm;
  const day = `${WEEKDAYS[date.getUTCDay()]} ${hhmm}`;
  return withDate ? `${date.toISOString().slice(0, 10)} ${day}` : day;
}

/** `1.5.0 seen Tue 10:02 → staging 10:15 → prod Thu 09:00 · lead time 2 d 23 h`. @internal */
export function formatLeadTime(lead: LeadTime): string {
  let previous = lead.seenAt;
  const parts = [
    `${lead.tag} seen ${
      lead.seenAt ? formatShortTime(lead.seenAt) : 'before this range'
    }`,
  ];
  for (const step of lead.steps) {
    parts.push(`${step.label} ${formatShortTime(step.at, previous)}`);
    previous = step.at;
  }
  const path = parts.join(' → ');
  return lead.leadMs === undefined
    ? path
    : `${path} · lead time ${formatSpan(lead.leadMs)}`;
}

/** A one-sentence summary of the chart, for its accessible name. @internal */
export function summariseTimeline(
  rangeName: string,
  lanes: TimelineLane[],
  events: TimelineEvent[],
): string {
  const counts = new Map<TimelineEventKind, number>();
  for (const event of events)
    counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
  const kinds = [...counts]
    .map(([kind, count]) => `${count} ${EVENT_KINDS[kind].label.toLowerCase()}`)
    .join(', ');
  const laneNames = lanes.map(l => l.label).join(', ');
  return `Timeline, ${rangeName.toLowerCase()}: ${lanes.length} ${
    lanes.length === 1 ? 'lane' : 'lanes'
  } (${laneNames}); ${events.length} ${
    events.length === 1 ? 'event' : 'events'
  }${kinds ? ` — ${kinds}` : ''}. The table below lists every event.`;
}

/** A tag tick of the chart: where it stands and the label it shows, if there is room for one. */
export interface PlacedTick {
  x: number;
  label?: string;
  /** The label ends at the tick (near the right edge) instead of starting there. */
  anchorEnd: boolean;
}

/**
 * Places the labels of a lane's tag ticks (newest first) so that none overlaps another: a
 * label that would is left out, and the newest scan keeps its label. Every tick keeps its line
 * and its `<title>` with every tag, so nothing is lost, only not repeated on top of itself.
 * Label widths are estimated from the text (the chart's font is about 7 px per character).
 */
export function placeTickLabels(
  ticks: Array<{ x: number; label: string }>,
  plotRight: number,
  charWidth = 7,
): PlacedTick[] {
  const taken: Array<[number, number]> = [];
  return ticks.map(({ x, label }) => {
    const anchorEnd = x > plotRight - 60;
    const width = label.length * charWidth + 6;
    const from = anchorEnd ? x - width : x;
    const to = anchorEnd ? x : x + width;
    if (taken.some(([a, b]) => from < b && a < to)) return { x, anchorEnd };
    taken.push([from, to]);
    return { x, label, anchorEnd };
  });
}
