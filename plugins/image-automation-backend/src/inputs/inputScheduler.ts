/**
 * `spec.schedule` of a ResourceSetInputProvider: when a reconcile may run, and when the next
 * one is due (the Flux Operator's `internal/schedule` behaviour).
 */

import { InputProviderSchedule } from '@imageops/backstage-plugin-image-automation-common';
import { formatGoDuration, parseGoDuration } from '../golib/time';
import { CronSchedule, parseCronSchedule } from './cronSchedule';

/** How far back a previous activation is looked for: five years covers `0 0 29 2 *`. */
const LOOK_BACK_MS = 5 * 365 * 24 * 3_600_000;

/**
 * The schedule that fires next, and when. `window` is Go's duration string (`5m0s` for `5m`, `0s`
 * without one), as the Flux Operator writes it.
 * @internal
 */
export interface NextSchedule {
  cron: string;
  timeZone: string;
  window: string;
  when: Date;
}

/**
 * `status.nextSchedule` as the Flux Operator writes it: `when` in RFC 3339 seconds, in UTC
 * (`2027-01-01T00:00:00Z`, a Kubernetes `metav1.Time`).
 * @internal
 */
export function nextScheduleStatus(next: NextSchedule): {
  cron: string;
  timeZone: string;
  window: string;
  when: string;
} {
  return { ...next, when: formatRfc3339(next.when, 'UTC') };
}

interface ParsedSchedule {
  spec: { cron: string; timeZone: string; window: string };
  cron: CronSchedule;
  windowMs: number;
}

/**
 * The latest activation in [start, end] that comes before `next`, by the Flux Operator's
 * binary search over `cron.next` (so it works for any schedule, `@every` included).
 */
function searchPrevious(
  cron: CronSchedule,
  start: number,
  end: number,
  next: number,
): number | undefined {
  if (end < start) return undefined;
  const middle = start + Math.floor((end - start) / 2);
  const trigger = cron.next(new Date(middle)).getTime();
  if (trigger >= next) return searchPrevious(cron, start, middle - 1, next);
  // `trigger` is a candidate; a closer one can only come after it.
  return searchPrevious(cron, trigger, end, next) ?? trigger;
}

/**
 * The previous and next activations of a schedule around `now` (no previous one within five
 * years gives undefined).
 * @internal
 */
export function previousActivation(
  cron: CronSchedule,
  now: Date,
): { prev?: Date; next: Date } {
  const next = cron.next(now);
  const prev = searchPrevious(
    cron,
    now.getTime() - LOOK_BACK_MS,
    next.getTime() - 1,
    next.getTime(),
  );
  return { prev: prev === undefined ? undefined : new Date(prev), next };
}

/**
 * The schedules of one provider with its reconcile timeout. Built by
 * {@link createInputScheduler}, which validates them.
 * @internal
 */
export class InputScheduler {
  /** @internal */
  constructor(
    private readonly schedules: ParsedSchedule[],
    private readonly timeoutMs: number,
  ) {}

  private inWindow(schedule: ParsedSchedule, time: Date): boolean {
    const { prev } = previousActivation(schedule.cron, time);
    return (
      !!prev &&
      time.getTime() + this.timeoutMs < prev.getTime() + schedule.windowMs
    );
  }

  /**
   * Whether a reconcile may run now: always when any schedule has no window, else when the
   * reconcile (bounded by the timeout) would end inside the window of some schedule's last
   * activation.
   */
  shouldReconcile(now: Date): boolean {
    return this.schedules.some(s => s.windowMs === 0 || this.inWindow(s, now));
  }

  /** Whether an interval-based requeue at `at` would fall inside some schedule's window. */
  shouldScheduleInterval(at: Date): boolean {
    return this.schedules.some(s => s.windowMs !== 0 && this.inWindow(s, at));
  }

  /** The earliest next activation among the schedules. */
  next(now: Date): NextSchedule {
    let best: NextSchedule | undefined;
    for (const s of this.schedules) {
      const when = s.cron.next(now);
      if (!best || when.getTime() < best.when.getTime())
        best = { ...s.spec, when };
    }
    return best!;
  }
}

/**
 * Validates and parses `spec.schedule`; undefined when there are no schedules (always run).
 * Throws with the Flux Operator's messages, e.g.
 * `failed to validate schedule[0]: a non-zero window (1m0s) must always be at least twice the timeout (2m0s)`.
 * @internal
 */
export function createInputScheduler(
  schedules: InputProviderSchedule[] | undefined,
  timeoutMs: number,
): InputScheduler | undefined {
  if (!schedules || schedules.length === 0) return undefined;
  const parsed = schedules.map((schedule, i): ParsedSchedule => {
    const timeZone = schedule.timeZone || 'UTC';
    const window = schedule.window ?? '0s';
    const windowMs = parseGoDuration(window);
    if (windowMs < 0) {
      throw new Error(
        `failed to validate schedule[${i}]: negative window: ${formatGoDuration(
          windowMs,
        )}`,
      );
    }
    if (windowMs > 0 && windowMs < 2 * timeoutMs) {
      throw new Error(
        `failed to validate schedule[${i}]: a non-zero window (${formatGoDuration(
          windowMs,
        )}) must always be at least twice the timeout (${formatGoDuration(
          timeoutMs,
        )})`,
      );
    }
    let cron: CronSchedule;
    try {
      cron = parseCronSchedule(schedule.cron, timeZone);
    } catch (error) {
      throw new Error(
        `failed to validate schedule[${i}]: ${(error as Error).message}`,
      );
    }
    return {
      spec: {
        cron: schedule.cron,
        timeZone,
        window: formatGoDuration(windowMs),
      },
      cron,
      windowMs,
    };
  });
  return new InputScheduler(parsed, timeoutMs);
}

/**
 * Go's `time.RFC3339` form of an instant on a zone's clocks (`2025-01-06T09:00:00+01:00`, `Z`
 * for UTC), as the Flux Operator prints the next activation in its messages.
 * @internal
 */
export function formatRfc3339(when: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  for (const part of format.formatToParts(when)) parts[part.type] = part.value;
  const wall = Date.UTC(
    +parts.year,
    +parts.month - 1,
    +parts.day,
    +parts.hour % 24,
    +parts.minute,
    +parts.second,
  );
  const offsetMinutes = Math.round(
    (wall - Math.floor(when.getTime() / 1000) * 1000) / 60_000,
  );
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  // Go's `Z07:00` prints `Z` for any zero offset.
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(
          abs % 60,
        ).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${String(
    +parts.hour % 24,
  ).padStart(2, '0')}:${parts.minute}:${parts.second}${zone}`;
}
