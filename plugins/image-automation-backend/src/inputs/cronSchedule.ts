/**
 * Cron schedules as robfig/cron v3 parses them for the Flux Operator (5 fields — minute, hour,
 * day of month, month, day of week — or a descriptor such as `@daily` / `@every 1h`), evaluated
 * in an IANA time zone.
 */

import { parseGoDuration } from '../golib/time';

/** A parsed schedule: the first activation strictly after a time. @internal */
export interface CronSchedule {
  next(after: Date): Date;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DOW_NAMES: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

const FIELDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DOW_NAMES },
];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The allowed values of one field, and whether it was written `*` or `?` (robfig's star bit). */
interface FieldSet {
  values: Set<number>;
  star: boolean;
}

function parseInteger(text: string): number {
  if (!/^[0-9]+$/.test(text))
    throw new Error(
      `failed to parse int from ${text}: strconv.Atoi: parsing "${text}": invalid syntax`,
    );
  return Number(text);
}

function parseValue(text: string, bounds: Bounds): number {
  const named = bounds.names?.[text.toLowerCase()];
  return named ?? parseInteger(text);
}

function parseField(field: string, bounds: Bounds): FieldSet {
  const values = new Set<number>();
  let star = false;
  for (const expr of field.split(',')) {
    const [rangePart, stepPart, ...moreSlashes] = expr.split('/');
    if (moreSlashes.length > 0) throw new Error(`too many slashes: ${expr}`);
    const [low, high, ...moreHyphens] = rangePart.split('-');
    if (moreHyphens.length > 0) throw new Error(`too many hyphens: ${expr}`);
    let start: number;
    let end: number;
    if (low === '*' || low === '?') {
      start = bounds.min;
      end = bounds.max;
      star = true;
    } else {
      start = parseValue(low, bounds);
      end = high === undefined ? start : parseValue(high, bounds);
    }
    let step = 1;
    if (stepPart !== undefined) {
      step = parseInteger(stepPart);
      // `N/step` means from N to the end of the field.
      if (high === undefined && !(low === '*' || low === '?')) end = bounds.max;
      if (step > 1) star = false;
    }
    if (start < bounds.min)
      throw new Error(
        `beginning of range (${start}) below minimum (${bounds.min}): ${expr}`,
      );
    if (end > bounds.max)
      throw new Error(
        `end of range (${end}) above maximum (${bounds.max}): ${expr}`,
      );
    if (start > end)
      throw new Error(
        `beginning of range (${start}) beyond end of range (${end}): ${expr}`,
      );
    if (step === 0)
      throw new Error(`step of range should be a positive number: ${expr}`);
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return { values, star };
}

/** Wall-clock fields of an instant in a time zone. */
function wallClock(instant: number, format: Intl.DateTimeFormat) {
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(
    parts.year,
    parts.month - 1,
    parts.day,
    parts.hour % 24,
    parts.minute,
    parts.second,
  );
}

/** The instant at which the zone's clocks show `wall` (the later offset wins in a DST gap). */
function fromWallClock(wall: number, format: Intl.DateTimeFormat): number {
  let instant = wall;
  for (let i = 0; i < 3; i++) {
    const offset = wallClock(instant, format) - instant;
    instant = wall - offset;
  }
  return instant;
}

function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

class FieldSchedule implements CronSchedule {
  constructor(
    private readonly fields: FieldSet[],
    private readonly format: Intl.DateTimeFormat,
  ) {}

  private dayMatches(wall: Date): boolean {
    const [, , dom, , dow] = this.fields;
    const domMatch = dom.values.has(wall.getUTCDate());
    const dowMatch = dow.values.has(wall.getUTCDay());
    // robfig/cron: when either day field is a wildcard both must match, otherwise either may.
    return dom.star || dow.star ? domMatch && dowMatch : domMatch || dowMatch;
  }

  next(after: Date): Date {
    const [minute, hour, , month] = this.fields;
    // The first whole minute strictly after `after`, read on the zone's clocks.
    const startInstant = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
    const wall = new Date(wallClock(startInstant, this.format));
    const yearLimit = wall.getUTCFullYear() + 5;
    // Walk the wall clock field by field, from months down to minutes, as robfig/cron does.
    for (;;) {
      if (wall.getUTCFullYear() > yearLimit) {
        throw new Error(
          'the schedule has no activation in the next five years',
        );
      }
      if (!month.values.has(wall.getUTCMonth() + 1)) {
        wall.setUTCMonth(wall.getUTCMonth() + 1, 1);
        wall.setUTCHours(0, 0, 0, 0);
        continue;
      }
      if (!this.dayMatches(wall)) {
        wall.setUTCDate(wall.getUTCDate() + 1);
        wall.setUTCHours(0, 0, 0, 0);
        continue;
      }
      if (!hour.values.has(wall.getUTCHours())) {
        wall.setUTCHours(wall.getUTCHours() + 1, 0, 0, 0);
        continue;
      }
      if (!minute.values.has(wall.getUTCMinutes())) {
        wall.setUTCMinutes(wall.getUTCMinutes() + 1, 0, 0);
        continue;
      }
      const instant = fromWallClock(wall.getTime(), this.format);
      // A wall-clock time that does not exist (clocks moved forward) never fires, as in
      // robfig/cron; one before the start is the one just passed.
      if (
        instant < startInstant ||
        wallClock(instant, this.format) !== wall.getTime()
      ) {
        wall.setUTCMinutes(wall.getUTCMinutes() + 1, 0, 0);
        continue;
      }
      return new Date(instant);
    }
  }
}

/** `@every <duration>`: a constant delay, rounded down to whole seconds (at least one second). */
class EverySchedule implements CronSchedule {
  constructor(private readonly delayMs: number) {}
  next(after: Date): Date {
    return new Date(Math.floor(after.getTime() / 1000) * 1000 + this.delayMs);
  }
}

/**
 * Parses a cron spec in a time zone, as the Flux Operator does (`CRON_TZ=<tz> <spec>` with
 * robfig/cron's 5-field parser and descriptors). Throws with the Flux Operator's message:
 * `failed to parse cron spec '<spec>' with timezone '<tz>': <cause>`.
 * @internal
 */
export function parseCronSchedule(
  spec: string,
  timeZone: string,
): CronSchedule {
  try {
    let format: Intl.DateTimeFormat;
    try {
      format = zoneFormat(timeZone);
    } catch {
      throw new Error(
        `provided bad location ${timeZone}: unknown time zone ${timeZone}`,
      );
    }
    const text = spec.trim();
    if (text.startsWith('@every ')) {
      const delay = parseGoDuration(text.slice('@every '.length).trim());
      return new EverySchedule(Math.max(1000, Math.floor(delay / 1000) * 1000));
    }
    let fieldsText = text;
    if (text.startsWith('@')) {
      const expanded = DESCRIPTORS[text];
      if (!expanded) throw new Error(`unrecognized descriptor: ${text}`);
      fieldsText = expanded;
    }
    const fields = fieldsText.split(/\s+/).filter(Boolean);
    if (fields.length !== 5) {
      throw new Error(
        `expected exactly 5 fields, found ${fields.length}: [${fields.join(
          ' ',
        )}]`,
      );
    }
    return new FieldSchedule(
      fields.map((field, i) => parseField(field, FIELDS[i])),
      format,
    );
  } catch (error) {
    throw new Error(
      `failed to parse cron spec '${spec}' with timezone '${timeZone}': ${
        (error as Error).message
      }`,
    );
  }
}
