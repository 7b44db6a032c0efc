import { TimelineEvent } from '@imageops/backstage-plugin-image-automation-common';
import {
  barsOf,
  formatLeadTime,
  formatShortTime,
  formatSpan,
  leadTimesOf,
  mergeEvents,
  placeTickLabels,
  sinceOf,
  summariseTimeline,
} from './timelineModel';

const lanes = [
  { id: 'registry', label: 'registry' },
  { id: 'git:staging', label: 'staging' },
  { id: 'cluster:prod', label: 'prod' },
];

function event(
  id: string,
  time: string,
  kind: TimelineEvent['kind'],
  tag: string,
  targetId?: string,
): TimelineEvent {
  return {
    id,
    time,
    kind,
    tag,
    message: id,
    objectId: 'ImagePolicy/apps/web',
    ...(targetId ? { targetId } : {}),
  };
}

describe('timelineModel', () => {
  it('formats spans to the minute below a day and to the hour above', () => {
    expect(formatSpan(30_000)).toBe('< 1 min');
    expect(formatSpan(12 * 60_000)).toBe('12 min');
    expect(formatSpan(3 * 3_600_000 + 5 * 60_000)).toBe('3 h 5 min');
    expect(formatSpan(2 * 3_600_000)).toBe('2 h');
    // 2 d 22 h 58 min rounds to 2 d 23 h; 1 d 23 h 40 min rounds up to a whole 2 d.
    expect(formatSpan((2 * 24 + 22) * 3_600_000 + 58 * 60_000)).toBe(
      '2 d 23 h',
    );
    expect(formatSpan((24 + 23) * 3_600_000 + 40 * 60_000)).toBe('2 d');
  });

  it('formats times as weekday and minute in UTC, dropping the day when it repeats', () => {
    expect(formatShortTime('2030-01-01T10:02:00Z')).toBe('Tue 10:02');
    expect(
      formatShortTime('2030-01-01T10:15:00Z', '2030-01-01T10:02:00Z'),
    ).toBe('10:15');
    expect(
      formatShortTime('2030-01-03T09:00:00Z', '2030-01-01T10:15:00Z'),
    ).toBe('Thu 09:00');
    expect(formatShortTime('2030-01-01T23:30:00-02:00')).toBe('Wed 01:30');
    expect(formatShortTime('2030-01-01T10:02:00Z', undefined, true)).toBe(
      '2030-01-01 Tue 10:02',
    );
  });

  it('computes the lead time from first seen to the last target reached, per version', () => {
    const events = [
      event('a', '2030-01-03T09:00:00Z', 'applied', '1.5.0', 'cluster:prod'),
      event('b', '2030-01-02T09:00:00Z', 'requested', '1.5.0', 'cluster:prod'),
      event('c', '2030-01-01T10:15:00Z', 'applied', '1.5.0', 'git:staging'),
      event('d', '2030-01-01T10:02:00Z', 'tag-seen', '1.5.0'),
      // Seen again after it was gone: the first sighting counts.
      event('e', '2030-01-01T12:00:00Z', 'tag-seen', '1.5.0'),
      event('f', '2030-01-01T09:00:00Z', 'applied', '1.4.0', 'git:staging'),
      event('g', '2030-01-01T08:00:00Z', 'tag-seen', '1.6.0'),
    ];
    const leads = leadTimesOf(events, lanes);
    expect(leads.map(formatLeadTime)).toEqual([
      '1.5.0 seen Tue 10:02 → staging 10:15 → prod Thu 09:00 · lead time 1 d 23 h',
      '1.4.0 seen before this range → staging Tue 09:00',
    ]);
    expect(leads[0].leadMs).toBe(
      Date.parse('2030-01-03T09:00:00Z') - Date.parse('2030-01-01T10:02:00Z'),
    );
  });

  it('draws a bar from each applied to the next on the same lane and subject, the last one until now', () => {
    const start = Date.parse('2030-01-01T00:00:00Z');
    const now = Date.parse('2030-01-05T00:00:00Z');
    const before = [
      event('x', '2029-12-20T00:00:00Z', 'applied', '1.3.0', 'cluster:prod'),
    ];
    const bars = barsOf(
      [
        event('a', '2030-01-03T09:00:00Z', 'applied', '1.5.0', 'cluster:prod'),
        event('b', '2030-01-02T09:00:00Z', 'failed', '1.4.0', 'cluster:prod'),
        event('c', '2030-01-01T10:15:00Z', 'applied', '1.5.0', 'git:staging'),
      ],
      before,
      start,
      now,
    );
    expect(bars).toEqual([
      {
        laneId: 'cluster:prod',
        subject: 'ImagePolicy/apps/web',
        tag: '1.3.0',
        start,
        end: Date.parse('2030-01-03T09:00:00Z'),
        running: false,
      },
      {
        laneId: 'cluster:prod',
        subject: 'ImagePolicy/apps/web',
        tag: '1.5.0',
        start: Date.parse('2030-01-03T09:00:00Z'),
        end: now,
        running: true,
      },
      {
        laneId: 'git:staging',
        subject: 'ImagePolicy/apps/web',
        tag: '1.5.0',
        start: Date.parse('2030-01-01T10:15:00Z'),
        end: now,
        running: true,
      },
    ]);
  });

  it('leaves out bars that ended before the range starts', () => {
    const start = Date.parse('2030-01-02T00:00:00Z');
    const bars = barsOf(
      [
        event('a', '2030-01-03T00:00:00Z', 'applied', '1.6.0', 'git:staging'),
        event('b', '2030-01-01T12:00:00Z', 'applied', '1.5.0', 'git:staging'),
        event('c', '2030-01-01T00:00:00Z', 'applied', '1.4.0', 'git:staging'),
      ],
      [],
      start,
      Date.parse('2030-01-04T00:00:00Z'),
    );
    expect(bars.map(b => [b.tag, new Date(b.start).toISOString()])).toEqual([
      ['1.5.0', '2030-01-02T00:00:00.000Z'],
      ['1.6.0', '2030-01-03T00:00:00.000Z'],
    ]);
  });

  it('merges pages once each, newest first, and summarises the chart in words', () => {
    const a = event(
      'a',
      '2030-01-03T09:00:00Z',
      'applied',
      '1.5.0',
      'cluster:prod',
    );
    const b = event(
      'b',
      '2030-01-02T09:00:00Z',
      'rejected',
      '1.6.0',
      'cluster:prod',
    );
    const c = event('c', '2030-01-02T09:00:00Z', 'tag-seen', '1.6.0');
    expect(mergeEvents([b, a], [a, c]).map(e => e.id)).toEqual(['a', 'c', 'b']);
    expect(summariseTimeline('Last week', lanes, [a, b, c])).toBe(
      'Timeline, last week: 3 lanes (registry, staging, prod); 3 events — 1 applied, 1 rejected, 1 tag seen. The table below lists every event.',
    );
    expect(sinceOf('1d', Date.parse('2030-01-02T00:00:00Z'))).toBe(
      '2030-01-01T00:00:00.000Z',
    );
    expect(sinceOf('all', Date.now())).toBeUndefined();
  });
});

describe('placeTickLabels', () => {
  it('keeps the newest label and leaves out one that would overlap it', () => {
    // Two scans seconds apart near the right edge: both labels would end at almost the same x.
    const placed = placeTickLabels(
      [
        { x: 939, label: '6.9.0' },
        { x: 937, label: '5 tags' },
      ],
      940,
    );
    expect(placed).toEqual([
      { x: 939, label: '6.9.0', anchorEnd: true },
      { x: 937, anchorEnd: true },
    ]);
  });

  it('labels ticks that have room, starting at the tick away from the right edge', () => {
    const placed = placeTickLabels(
      [
        { x: 700, label: '1.5.0' },
        { x: 500, label: '1.4.0' },
        { x: 520, label: '1.3.0' },
      ],
      940,
    );
    expect(placed.map(tick => tick.label)).toEqual([
      '1.5.0',
      '1.4.0',
      undefined,
    ]);
    expect(placed.every(tick => !tick.anchorEnd)).toBe(true);
  });
});
