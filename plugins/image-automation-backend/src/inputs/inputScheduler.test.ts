import { parseCronSchedule } from './cronSchedule';
import {
  createInputScheduler,
  formatRfc3339,
  nextScheduleStatus,
  previousActivation,
} from './inputScheduler';
import { reconcileSettings } from './reconcileSettings';

const at = (iso: string) => new Date(iso);
const next = (spec: string, tz: string, after: string) =>
  parseCronSchedule(spec, tz).next(at(after)).toISOString();

describe('cron schedules (robfig/cron v3 as the Flux Operator parses them)', () => {
  it.each([
    ['*/15 * * * *', 'UTC', '2025-01-01T10:07:30Z', '2025-01-01T10:15:00.000Z'],
    ['0 9 * * 1-5', 'UTC', '2025-01-03T09:00:00Z', '2025-01-06T09:00:00.000Z'],
    ['5/20 * * * *', 'UTC', '2025-01-01T10:06:00Z', '2025-01-01T10:25:00.000Z'],
    [
      '0 0 * jan-feb MON',
      'UTC',
      '2025-02-25T00:00:00Z',
      '2026-01-05T00:00:00.000Z',
    ],
    // Both day fields restricted: either may match (Jan 1 is a Wednesday, Jan 6 a Monday).
    ['0 0 1 * 1', 'UTC', '2025-01-01T00:00:00Z', '2025-01-06T00:00:00.000Z'],
    ['0 0 29 2 *', 'UTC', '2025-01-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('%s in %s after %s is %s', (spec, tz, after, expected) => {
    expect(next(spec, tz, after)).toBe(expected);
  });

  it.each([
    ['@yearly', '2026-01-01T00:00:00.000Z'],
    ['@annually', '2026-01-01T00:00:00.000Z'],
    ['@monthly', '2025-02-01T00:00:00.000Z'],
    ['@weekly', '2025-01-05T00:00:00.000Z'],
    ['@daily', '2025-01-02T00:00:00.000Z'],
    ['@midnight', '2025-01-02T00:00:00.000Z'],
    ['@hourly', '2025-01-01T11:00:00.000Z'],
    ['@every 90m', '2025-01-01T11:30:00.000Z'],
  ])('descriptor %s after Wed 2025-01-01 10:00 UTC is %s', (spec, expected) => {
    expect(next(spec, 'UTC', '2025-01-01T10:00:00Z')).toBe(expected);
  });

  it('evaluates in the time zone, across daylight saving time', () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(next('0 9 * * *', 'Europe/Berlin', '2025-01-06T07:30:00Z')).toBe(
      '2025-01-06T08:00:00.000Z',
    );
    expect(next('0 9 * * *', 'Europe/Berlin', '2025-07-01T00:00:00Z')).toBe(
      '2025-07-01T07:00:00.000Z',
    );
    // 02:30 does not exist in New York on 2025-03-09: the next run is the day after.
    expect(next('30 2 * * *', 'America/New_York', '2025-03-09T05:00:00Z')).toBe(
      '2025-03-10T06:30:00.000Z',
    );
    // 01:30 happens twice on 2025-11-02: it runs at the first one, once.
    expect(next('30 1 * * *', 'America/New_York', '2025-11-02T04:00:00Z')).toBe(
      '2025-11-02T05:30:00.000Z',
    );
    expect(next('30 1 * * *', 'America/New_York', '2025-11-02T05:30:00Z')).toBe(
      '2025-11-03T06:30:00.000Z',
    );
    expect(next('@daily', 'America/New_York', '2025-01-01T00:00:00Z')).toBe(
      '2025-01-01T05:00:00.000Z',
    );
    expect(next('30 9 * * *', 'Asia/Kolkata', '2025-01-01T00:00:00Z')).toBe(
      '2025-01-01T04:00:00.000Z',
    );
  });

  it.each([
    [
      '* * * *',
      'UTC',
      "failed to parse cron spec '* * * *' with timezone 'UTC': expected exactly 5 fields, found 4: [* * * *]",
    ],
    [
      '0 0 * * * *',
      'UTC',
      "failed to parse cron spec '0 0 * * * *' with timezone 'UTC': expected exactly 5 fields, found 6: [0 0 * * * *]",
    ],
    [
      '61 * * * *',
      'UTC',
      "failed to parse cron spec '61 * * * *' with timezone 'UTC': end of range (61) above maximum (59): 61",
    ],
    [
      '* * * * 7',
      'UTC',
      "failed to parse cron spec '* * * * 7' with timezone 'UTC': end of range (7) above maximum (6): 7",
    ],
    [
      '5-1 * * * *',
      'UTC',
      "failed to parse cron spec '5-1 * * * *' with timezone 'UTC': beginning of range (5) beyond end of range (1): 5-1",
    ],
    [
      '@fortnightly',
      'UTC',
      "failed to parse cron spec '@fortnightly' with timezone 'UTC': unrecognized descriptor: @fortnightly",
    ],
    [
      '@daily',
      'Mars/Olympus',
      "failed to parse cron spec '@daily' with timezone 'Mars/Olympus': provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
    ],
    [
      'x * * * *',
      'UTC',
      `failed to parse cron spec 'x * * * *' with timezone 'UTC': failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`,
    ],
  ])('refuses %j in %s', (spec, tz, message) => {
    expect(() => parseCronSchedule(spec, tz)).toThrow(message);
  });

  it('finds the previous activation, up to five years back', () => {
    const leap = parseCronSchedule('0 0 29 2 *', 'UTC');
    expect(previousActivation(leap, at('2026-06-01T00:00:00Z'))).toEqual({
      prev: at('2024-02-29T00:00:00Z'),
      next: at('2028-02-29T00:00:00Z'),
    });
    const daily = parseCronSchedule('0 9 * * *', 'UTC');
    expect(previousActivation(daily, at('2025-01-01T09:00:00Z')).prev).toEqual(
      at('2025-01-01T09:00:00Z'),
    );
    expect(previousActivation(daily, at('2025-01-01T08:59:59Z')).prev).toEqual(
      at('2024-12-31T09:00:00Z'),
    );
  });
});

describe('input provider schedules', () => {
  const twoMinutes = 2 * 60_000;

  it('no schedule means always', () => {
    expect(createInputScheduler(undefined, twoMinutes)).toBeUndefined();
    expect(createInputScheduler([], twoMinutes)).toBeUndefined();
  });

  it('validates windows against the timeout and the cron spec', () => {
    expect(() =>
      createInputScheduler([{ cron: '@daily', window: '1m' }], twoMinutes),
    ).toThrow(
      'failed to validate schedule[0]: a non-zero window (1m0s) must always be at least twice the timeout (2m0s)',
    );
    expect(() =>
      createInputScheduler(
        [{ cron: '@daily' }, { cron: '@daily', window: '-1m' }],
        twoMinutes,
      ),
    ).toThrow('failed to validate schedule[1]: negative window: -1m0s');
    expect(() => createInputScheduler([{ cron: 'nope' }], twoMinutes)).toThrow(
      "failed to validate schedule[0]: failed to parse cron spec 'nope' with timezone 'UTC': expected exactly 5 fields, found 1: [nope]",
    );
    expect(
      createInputScheduler([{ cron: '@daily', window: '4m' }], twoMinutes),
    ).toBeDefined();
  });

  it('runs only when the reconcile ends inside a window', () => {
    const scheduler = createInputScheduler(
      [{ cron: '0 9 * * *', timeZone: 'Europe/Berlin', window: '1h' }],
      twoMinutes,
    )!;
    expect(scheduler.shouldReconcile(at('2025-01-06T08:30:00Z'))).toBe(true);
    expect(scheduler.shouldReconcile(at('2025-01-06T08:57:59Z'))).toBe(true);
    expect(scheduler.shouldReconcile(at('2025-01-06T08:58:00Z'))).toBe(false);
    expect(scheduler.shouldReconcile(at('2025-01-06T07:59:00Z'))).toBe(false);
    expect(scheduler.next(at('2025-01-06T07:59:00Z'))).toEqual({
      cron: '0 9 * * *',
      timeZone: 'Europe/Berlin',
      window: '1h0m0s',
      when: at('2025-01-06T08:00:00Z'),
    });
    expect(
      nextScheduleStatus(scheduler.next(at('2025-01-06T07:59:00.250Z'))),
    ).toEqual({
      cron: '0 9 * * *',
      timeZone: 'Europe/Berlin',
      window: '1h0m0s',
      when: '2025-01-06T08:00:00Z',
    });
    expect(scheduler.shouldScheduleInterval(at('2025-01-06T08:10:00Z'))).toBe(
      true,
    );
    expect(scheduler.shouldScheduleInterval(at('2025-01-06T09:10:00Z'))).toBe(
      false,
    );
  });

  it('a schedule without a window always allows a run but never an interval requeue', () => {
    const scheduler = createInputScheduler(
      [{ cron: '0 9 * * *', window: '1h' }, { cron: '0 0 1 1 *' }],
      twoMinutes,
    )!;
    expect(scheduler.shouldReconcile(at('2025-06-06T23:00:00Z'))).toBe(true);
    expect(
      createInputScheduler(
        [{ cron: '@hourly' }],
        twoMinutes,
      )!.shouldScheduleInterval(at('2025-06-06T23:00:00Z')),
    ).toBe(false);
    // The earliest next activation among the schedules.
    expect(scheduler.next(at('2024-12-31T23:00:00Z')).when).toEqual(
      at('2025-01-01T00:00:00Z'),
    );
  });

  it('prints the next activation as Go RFC 3339 on the zone clock', () => {
    expect(formatRfc3339(at('2025-01-06T08:00:00Z'), 'Europe/Berlin')).toBe(
      '2025-01-06T09:00:00+01:00',
    );
    expect(formatRfc3339(at('2025-01-06T08:00:00Z'), 'America/New_York')).toBe(
      '2025-01-06T03:00:00-05:00',
    );
    expect(formatRfc3339(at('2025-01-06T08:00:00Z'), 'UTC')).toBe(
      '2025-01-06T08:00:00Z',
    );
  });
});

describe('reconcile annotations', () => {
  it('reads the defaults, the Flux Operator annotations and a force request', () => {
    expect(reconcileSettings(undefined, undefined, undefined)).toEqual({
      disabled: false,
      intervalMs: 600_000,
      timeoutMs: 120_000,
    });
    expect(
      reconcileSettings(
        {
          'fluxcd.controlplane.io/reconcile': 'Disabled',
          'fluxcd.controlplane.io/reconcileEvery': '30s',
          'fluxcd.controlplane.io/reconcileTimeout': 'soon',
          'reconcile.fluxcd.io/forceAt': 'now-1',
        },
        'now-1',
        undefined,
      ),
    ).toEqual({
      disabled: true,
      intervalMs: 30_000,
      timeoutMs: 120_000,
      forceAt: 'now-1',
    });
    // A force request counts only with the same value as the reconcile request, once.
    expect(
      reconcileSettings({ 'reconcile.fluxcd.io/forceAt': 'a' }, 'b', undefined)
        .forceAt,
    ).toBeUndefined();
    expect(
      reconcileSettings({ 'reconcile.fluxcd.io/forceAt': 'a' }, 'a', 'a')
        .forceAt,
    ).toBeUndefined();
  });
});
