import {
  TimelineEvent,
  TimelineLane,
} from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../format';
import {
  barsOf,
  EVENT_KINDS,
  formatSpan,
  laneIdOf,
  placeTickLabels,
  summariseTimeline,
  TimelineBar,
} from './timelineModel';

const WIDTH = 960;
const LABEL_WIDTH = 200;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_RIGHT = WIDTH - 20;
const AXIS_HEIGHT = 24;
const TRACK_HEIGHT = 22;
const LANE_PADDING = 14;
const X_TICKS = 5;

/** Bar fills, cycled by tag; each bar also carries its tag as text, so colour is never alone. */
const BAR_COLOURS = [
  'var(--bui-accent-bg, #1f5493)',
  'var(--bui-fg-positive, #2e7d32)',
  'var(--bui-fg-warning, #b26a00)',
  'var(--bui-fg-announcement, #0277bd)',
];
/** Markers: red for bad outcomes, neutral otherwise; each has a glyph and a `<title>` as well. */
const MARKER_COLOUR: Partial<Record<TimelineEvent['kind'], string>> = {
  rejected: 'var(--bui-fg-negative, #c62828)',
  failed: 'var(--bui-fg-negative, #c62828)',
  suspended: 'var(--bui-fg-warning, #b26a00)',
};

/** Props of {@link TimelineChart}. @internal */
export interface TimelineChartProps {
  lanes: TimelineLane[];
  /** The events loaded, newest first. */
  events: TimelineEvent[];
  /** What each target carried when the range starts. */
  appliedBefore: TimelineEvent[];
  /** The range drawn, in epoch milliseconds. */
  start: number;
  end: number;
  rangeName: string;
}

/**
 * The timeline as an SVG image: one row per lane (the registry's ticks for tags seen, then one per
 * target with a bar track per subject), time on the x-axis. Its accessible name summarises it; the
 * section's table lists the same events for keyboard and screen-reader users.
 * @internal
 */
export function TimelineChart(props: TimelineChartProps) {
  const { lanes, events, appliedBefore, start, end, rangeName } = props;
  const span = Math.max(end - start, 1);
  const x = (time: number) =>
    PLOT_LEFT +
    ((Math.min(Math.max(time, start), end) - start) / span) *
      (PLOT_RIGHT - PLOT_LEFT);
  const bars = barsOf(events, appliedBefore, start, end);
  const tagColour = colourByTag(bars.map(b => b.tag));

  let y = AXIS_HEIGHT;
  const rows = lanes.map(lane => {
    const subjects = [
      ...new Set(bars.filter(b => b.laneId === lane.id).map(b => b.subject)),
    ];
    const height =
      LANE_PADDING * 2 + TRACK_HEIGHT * Math.max(1, subjects.length);
    const row = { lane, top: y, height, subjects };
    y += height;
    return row;
  });
  const height = y + 4;

  return (
    <svg
      role="img"
      aria-label={summariseTimeline(rangeName, lanes, events)}
      viewBox={`0 0 ${WIDTH} ${height}`}
      width="100%"
      style={{ maxWidth: WIDTH, fontFamily: 'inherit', fontSize: 11 }}
    >
      {Array.from({ length: X_TICKS }, (_, i) => {
        const time = start + (span * i) / (X_TICKS - 1);
        return (
          <g key={`axis-${i}`}>
            <line
              x1={x(time)}
              x2={x(time)}
              y1={AXIS_HEIGHT - 4}
              y2={height}
              stroke="currentColor"
              strokeOpacity={0.15}
            />
            <text
              x={x(time)}
              y={AXIS_HEIGHT - 8}
              textAnchor={axisAnchor(i)}
              fill="currentColor"
            >
              {axisLabel(time, span)}
            </text>
          </g>
        );
      })}
      {rows.map(({ lane, top, height: laneHeight, subjects }) => (
        <g key={lane.id}>
          <line
            x1={0}
            x2={WIDTH}
            y1={top}
            y2={top}
            stroke="currentColor"
            strokeOpacity={0.3}
          />
          <g>
            <title>{lane.label}</title>
            <text
              x={4}
              y={top + LANE_PADDING + 12}
              fill="currentColor"
              fontWeight="bold"
            >
              {lane.label.length > 30
                ? `${lane.label.slice(0, 29)}…`
                : lane.label}
            </text>
          </g>
          {bars
            .filter(bar => bar.laneId === lane.id)
            .map(bar => (
              <Bar
                key={`${bar.subject}-${bar.tag}-${bar.start}`}
                bar={bar}
                laneLabel={lane.label}
                x1={x(bar.start)}
                x2={x(bar.end)}
                y={
                  top +
                  LANE_PADDING +
                  TRACK_HEIGHT * subjects.indexOf(bar.subject)
                }
                colour={tagColour(bar.tag)}
              />
            ))}
          {tagTicks(
            events.filter(event => laneIdOf(event) === lane.id),
            x,
          ).map(tick => (
            <TagTick key={tick.time} {...tick} top={top} height={laneHeight} />
          ))}
          {events
            .filter(
              event =>
                laneIdOf(event) === lane.id &&
                event.kind !== 'applied' &&
                event.kind !== 'tag-seen',
            )
            .map(event => (
              <Marker
                key={event.id}
                event={event}
                x={x(Date.parse(event.time))}
                top={top}
              />
            ))}
        </g>
      ))}
    </svg>
  );
}

function Bar(props: {
  bar: TimelineBar;
  laneLabel: string;
  x1: number;
  x2: number;
  y: number;
  colour: string;
}) {
  const { bar, laneLabel, x1, x2, y, colour } = props;
  const width = Math.max(x2 - x1, 2);
  const ran = `${bar.tag} ran on ${laneLabel} (${
    bar.subject
  }) from ${formatTime(new Date(bar.start).toISOString())} ${
    bar.running
      ? 'until now'
      : `to ${formatTime(new Date(bar.end).toISOString())}`
  } (${formatSpan(bar.end - bar.start)})`;
  return (
    <g>
      <title>{ran}</title>
      <rect
        x={x1}
        y={y + 2}
        width={width}
        height={TRACK_HEIGHT - 4}
        rx={3}
        fill={colour}
        fillOpacity={0.25}
        stroke={colour}
      />
      {width > 30 && (
        <text x={x1 + 4} y={y + TRACK_HEIGHT / 2 + 4} fill="currentColor">
          {bar.tag}
        </text>
      )}
    </g>
  );
}

/** Tags a scan added: one tick per scan, labelled with the tag or how many there were, where there is room. */
function TagTick(props: {
  tags: string[];
  time: string;
  x: number;
  label?: string;
  anchorEnd: boolean;
  top: number;
  height: number;
}) {
  const { tags, time, x, label, anchorEnd, top, height } = props;
  return (
    <g>
      <title>{`${EVENT_KINDS['tag-seen'].label}: ${tags.join(
        ', ',
      )} — ${formatTime(time)}`}</title>
      <line
        x1={x}
        x2={x}
        y1={top + 4}
        y2={top + height - 4}
        stroke="currentColor"
        strokeWidth={2}
      />
      {label && (
        <text
          x={anchorEnd ? x - 3 : x + 3}
          y={top + height - 6}
          textAnchor={anchorEnd ? 'end' : 'start'}
          fill="currentColor"
        >
          {label}
        </text>
      )}
    </g>
  );
}

/** A promotion step, pin or suspend: its glyph, coloured for bad outcomes, with the event as its title. */
function Marker(props: { event: TimelineEvent; x: number; top: number }) {
  const { event, x, top } = props;
  const { glyph, label } = EVENT_KINDS[event.kind];
  return (
    <g>
      <title>{`${label}: ${event.message} — ${formatTime(event.time)}${
        event.actor ? ` by ${event.actor}` : ''
      }`}</title>
      <text
        x={x}
        y={top + 11}
        textAnchor="middle"
        fill={MARKER_COLOUR[event.kind] ?? 'currentColor'}
        fontWeight="bold"
      >
        {glyph}
      </text>
    </g>
  );
}

const DAY_MS = 24 * 60 * 60 * 1000;
const AXIS_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  hour: '2-digit',
  minute: '2-digit',
});
const AXIS_DAY = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
});
const AXIS_YEAR = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
});

/** An axis label short enough for five to fit: the time within two days, the day within a year, else the date. */
function axisLabel(time: number, span: number): string {
  let format = AXIS_YEAR;
  if (span <= 2 * DAY_MS) format = AXIS_TIME;
  else if (span <= 365 * DAY_MS) format = AXIS_DAY;
  return format.format(new Date(time));
}

/** The first axis label starts at its tick, the last ends at it, the others are centred. */
function axisAnchor(i: number): 'start' | 'middle' | 'end' {
  if (i === 0) return 'start';
  if (i === X_TICKS - 1) return 'end';
  return 'middle';
}

/** The tag-seen events grouped by scan (time), newest first, as ticks whose labels do not overlap. */
function tagTicks(events: TimelineEvent[], x: (time: number) => number) {
  const byTime = new Map<string, string[]>();
  for (const event of events) {
    if (event.kind === 'tag-seen' && event.tag)
      byTime.set(event.time, [...(byTime.get(event.time) ?? []), event.tag]);
  }
  const scans = [...byTime]
    .map(([time, tags]) => ({ time, tags, x: x(Date.parse(time)) }))
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const placed = placeTickLabels(
    scans.map(scan => ({
      x: scan.x,
      label: scan.tags.length === 1 ? scan.tags[0] : `${scan.tags.length} tags`,
    })),
    PLOT_RIGHT,
  );
  return scans.map((scan, i) => ({
    time: scan.time,
    tags: scan.tags,
    ...placed[i],
  }));
}

/** A colour per tag, in the order the tags first ran. */
function colourByTag(tags: string[]): (tag: string) => string {
  const order = [...new Set(tags)];
  return tag =>
    BAR_COLOURS[Math.max(order.indexOf(tag), 0) % BAR_COLOURS.length];
}
