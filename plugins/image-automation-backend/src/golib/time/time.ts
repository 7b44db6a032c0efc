/**
 * Go's `time.Time` for templates: layouts (`2006-01-02T15:04:05Z07:00`) for parsing
 * (`toDate`, `mustToDate`) and formatting (`%v`, `.Format`), `time.ParseDuration` for
 * `mustDateModify`, and Go's error texts.
 *
 * The template engine's local time zone is UTC: the controllers run in containers without
 * a zone database, so Go's `time.Local` is UTC there too.
 */

import { GoInt, GoStruct, GoValue } from '../reflect';

const NS = 1000000000n;

const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const LONG_DAYS = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
];
const short = (names: string[]) => names.map(n => n.slice(0, 3));

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1–12, may overflow). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = y - (m <= 2 ? 1 : 0);
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe -
      Math.floor(doe / 1460) +
      Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) /
      365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
function daysIn(m: number, y: number): number {
  if (m === 2) return isLeap(y) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** A time's location: `utc`, `local`, a shared unnamed whole-hour zone, or a zone of its own (compared by identity). @internal */
export type TimeLocation = string | object;

/** Go's zero `time.Time` (January 1, year 1, 00:00:00 UTC). */
const ZERO_TIME_NANOS = BigInt(daysFromCivil(1, 1, 1)) * 86400n * NS;

/** A Go error from the `time` package. @internal */
export class GoTimeError extends Error {}

/**
 * A Go `time.Time`: an instant (nanoseconds since the Unix epoch) and the zone it is shown in.
 * @internal
 */
export class GoTime extends GoStruct {
  constructor(
    /** Nanoseconds since 1970-01-01T00:00:00Z. */
    readonly unixNano: bigint,
    /** Zone offset east of UTC, in seconds. */
    readonly offset: number,
    /** Zone abbreviation (`""` prints the offset instead). */
    readonly zone: string,
    /**
     * Which `*time.Location` the time carries: Go's `==` on times compares it by pointer, so
     * times in UTC, in Local (UTC too, here) and in each `FixedZone` are never equal.
     */
    readonly loc: TimeLocation = 'utc',
  ) {
    super('time.Time', {}, {});
    const int = (n: number) => new GoInt(BigInt(n));
    const named = (typeName: string, name: string) =>
      new GoStruct(typeName, {}, { String: () => name });
    Object.assign(this.methods, {
      String: () => this.format('2006-01-02 15:04:05.999999999 -0700 MST'),
      Format: (layout: GoValue) => this.format(String(layout)),
      Unix: () => this.unixSeconds(),
      UnixNano: () => this.unixNano,
      UnixMilli: () => floorDiv(this.unixNano, 1000000n),
      Year: () => int(this.fields_().year),
      Month: () => named('time.Month', LONG_MONTHS[this.fields_().month - 1]),
      Day: () => int(this.fields_().day),
      Hour: () => int(this.fields_().hour),
      Minute: () => int(this.fields_().minute),
      Second: () => int(this.fields_().second),
      Nanosecond: () => int(this.fields_().nanos),
      YearDay: () => int(this.fields_().yday),
      Weekday: () => named('time.Weekday', LONG_DAYS[this.fields_().weekday]),
      UnixMicro: () => floorDiv(this.unixNano, 1000n),
      UTC: () => new GoTime(this.unixNano, 0, 'UTC'),
      Local: () => new GoTime(this.unixNano, 0, 'UTC', 'local'),
      IsZero: () => this.unixNano === ZERO_TIME_NANOS,
      Add: (d: GoValue) => this.plus(intArg(d)),
      AddDate: (y: GoValue, m: GoValue, d: GoValue) =>
        this.addDate(Number(intArg(y)), Number(intArg(m)), Number(intArg(d))),
      Before: (o: GoValue) => this.unixNano < timeArg(o).unixNano,
      After: (o: GoValue) => this.unixNano > timeArg(o).unixNano,
      Equal: (o: GoValue) => this.unixNano === timeArg(o).unixNano,
    });
  }

  /** Go's `==`: the same instant in the same location. */
  equals(o: GoTime): boolean {
    return this.unixNano === o.unixNano && this.loc === o.loc;
  }

  /** The same location, another instant (Go's `Add`). */
  plus(ns: bigint): GoTime {
    return new GoTime(this.unixNano + ns, this.offset, this.zone, this.loc);
  }

  /** Go's `AddDate`: calendar arithmetic in the time's zone, normalised as `time.Date` does. */
  addDate(years: number, months: number, days: number): GoTime {
    const f = this.fields_();
    const m0 = f.month - 1 + months;
    const y = f.year + years + Math.floor(m0 / 12);
    const m = (((m0 % 12) + 12) % 12) + 1;
    const day = daysFromCivil(y, m, 1) + f.day - 1 + days;
    const local =
      BigInt(day) * 86400n +
      BigInt(f.hour * 3600 + f.minute * 60 + f.second) -
      BigInt(this.offset);
    return new GoTime(
      local * NS + BigInt(f.nanos),
      this.offset,
      this.zone,
      this.loc,
    );
  }

  /** Seconds since the epoch (Go's `Unix()`). */
  unixSeconds(): bigint {
    return floorDiv(this.unixNano, NS);
  }

  /** The civil fields in this time's zone. */
  fields_() {
    const local = this.unixSeconds() + BigInt(this.offset);
    const days = Number(floorDiv(local, 86400n));
    const secs = Number(local - BigInt(days) * 86400n);
    const [year, month, day] = civilFromDays(days);
    return {
      year,
      month,
      day,
      hour: Math.floor(secs / 3600),
      minute: Math.floor(secs / 60) % 60,
      second: secs % 60,
      nanos: Number(this.unixNano - this.unixSeconds() * NS),
      yday: days - daysFromCivil(year, 1, 1) + 1,
      weekday: (((days + 4) % 7) + 7) % 7,
    };
  }

  /** Go's `Time.Format`. */
  format(layout: string): string {
    const f = this.fields_();
    let out = '';
    let rest = layout;
    for (;;) {
      const c = nextChunk(rest);
      out += c.prefix;
      if (!c.std) break;
      rest = c.suffix;
      out += formatStd(c.std, c.std_, f, this.offset, this.zone);
    }
    return out;
  }
}

/** An integer method argument (Go converts the template's number to the parameter's type). */
function intArg(v: GoValue): bigint {
  if (typeof v === 'bigint') return v;
  if (v instanceof GoInt) return v.value;
  throw new GoTimeError(`wrong type for value; expected int; got ${typeof v}`);
}

function timeArg(v: GoValue): GoTime {
  if (v instanceof GoTime) return v;
  throw new GoTimeError('wrong type for value; expected time.Time');
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Go's zero time, what `toDate` returns on a parse error. @internal */
export const zeroTime = () => new GoTime(ZERO_TIME_NANOS, 0, 'UTC');

type Std =
  | 'Jan'
  | 'January'
  | 'Mon'
  | 'Monday'
  | 'MST'
  | '1'
  | '01'
  | '2'
  | '_2'
  | '02'
  | '__2'
  | '002'
  | '15'
  | '3'
  | '03'
  | '4'
  | '04'
  | '5'
  | '05'
  | '06'
  | '2006'
  | 'PM'
  | 'pm'
  | 'tz'
  | 'frac0'
  | 'frac9';

interface Chunk {
  prefix: string;
  std?: Std;
  /** The layout text of the element (`-07:00`, `.000`). */
  std_: string;
  suffix: string;
}

const ZONE_LAYOUTS = ['070000', '07:00:00', '0700', '07:00', '07'];
const startsLower = (s: string) => s.length > 0 && s[0] >= 'a' && s[0] <= 'z';
const isDigitAt = (s: string, i: number) =>
  i < s.length && s[i] >= '0' && s[i] <= '9';

/** Go's `nextStdChunk`: the text before the first layout element, the element, the rest. */
function nextChunk(layout: string): Chunk {
  const at = (i: number, std: Std, len: number, skip = 0): Chunk => ({
    prefix: layout.slice(0, i + skip),
    std,
    std_: layout.slice(i + skip, i + len),
    suffix: layout.slice(i + len),
  });
  for (let i = 0; i < layout.length; i++) {
    const s = layout.slice(i);
    switch (layout[i]) {
      case 'J':
        if (s.startsWith('Jan')) {
          if (s.startsWith('January')) return at(i, 'January', 7);
          if (!startsLower(s.slice(3))) return at(i, 'Jan', 3);
        }
        break;
      case 'M':
        if (s.startsWith('Mon')) {
          if (s.startsWith('Monday')) return at(i, 'Monday', 6);
          if (!startsLower(s.slice(3))) return at(i, 'Mon', 3);
        }
        if (s.startsWith('MST')) return at(i, 'MST', 3);
        break;
      case '0':
        if (s.length >= 2 && s[1] >= '1' && s[1] <= '6')
          return at(i, s.slice(0, 2) as Std, 2);
        if (s.startsWith('002')) return at(i, '002', 3);
        break;
      case '1':
        if (s.startsWith('15')) return at(i, '15', 2);
        return at(i, '1', 1);
      case '2':
        if (s.startsWith('2006')) return at(i, '2006', 4);
        return at(i, '2', 1);
      case '_':
        if (s.startsWith('_2')) {
          if (s.startsWith('_2006')) return at(i, '2006', 5, 1);
          return at(i, '_2', 2);
        }
        if (s.startsWith('__2')) return at(i, '__2', 3);
        break;
      case '3':
      case '4':
      case '5':
        return at(i, layout[i] as Std, 1);
      case 'P':
        if (s.startsWith('PM')) return at(i, 'PM', 2);
        break;
      case 'p':
        if (s.startsWith('pm')) return at(i, 'pm', 2);
        break;
      case '-':
      case 'Z':
        for (const z of ZONE_LAYOUTS)
          if (s.slice(1).startsWith(z)) return at(i, 'tz', z.length + 1);
        break;
      case '.':
      case ',':
        if (s[1] === '0' || s[1] === '9') {
          let j = 1;
          while (j < s.length && s[j] === s[1]) j++;
          if (!isDigitAt(s, j))
            return at(i, s[1] === '0' ? 'frac0' : 'frac9', j);
        }
        break;
      default:
        break;
    }
  }
  return { prefix: layout, std_: '', suffix: '' };
}

const pad = (n: number, w: number) =>
  (n < 0 ? '-' : '') + String(Math.abs(n)).padStart(w, '0');

function formatZone(layout: string, offset: number): string {
  if (layout[0] === 'Z' && offset === 0) return 'Z';
  const abs = Math.abs(offset);
  const sign = offset < 0 ? '-' : '+';
  const colon = layout.includes(':') ? ':' : '';
  const digits = layout.slice(1).replace(/:/g, '');
  let out = sign + pad(Math.floor(abs / 3600), 2);
  if (digits.length >= 4) out += colon + pad(Math.floor(abs / 60) % 60, 2);
  if (digits.length === 6) out += colon + pad(abs % 60, 2);
  return out;
}

function formatStd(
  std: Std,
  text: string,
  f: ReturnType<GoTime['fields_']>,
  offset: number,
  zone: string,
): string {
  const hour12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
  switch (std) {
    case 'Jan':
      return short(LONG_MONTHS)[f.month - 1];
    case 'January':
      return LONG_MONTHS[f.month - 1];
    case 'Mon':
      return short(LONG_DAYS)[f.weekday];
    case 'Monday':
      return LONG_DAYS[f.weekday];
    case 'MST':
      if (zone !== '') return zone;
      return formatZone('-0700', offset);
    case '1':
      return String(f.month);
    case '01':
      return pad(f.month, 2);
    case '2':
      return String(f.day);
    case '_2':
      return String(f.day).padStart(2, ' ');
    case '02':
      return pad(f.day, 2);
    case '__2':
      return String(f.yday).padStart(3, ' ');
    case '002':
      return pad(f.yday, 3);
    case '15':
      return pad(f.hour, 2);
    case '3':
      return String(hour12);
    case '03':
      return pad(hour12, 2);
    case '4':
      return String(f.minute);
    case '04':
      return pad(f.minute, 2);
    case '5':
      return String(f.second);
    case '05':
      return pad(f.second, 2);
    case '06':
      return pad(((f.year % 100) + 100) % 100, 2);
    case '2006':
      return pad(f.year, 4);
    case 'PM':
      return f.hour >= 12 ? 'PM' : 'AM';
    case 'pm':
      return f.hour >= 12 ? 'pm' : 'am';
    case 'tz':
      return formatZone(text, offset);
    case 'frac0':
      return text[0] + pad(f.nanos, 9).slice(0, text.length - 1);
    case 'frac9': {
      const digits = pad(f.nanos, 9)
        .slice(0, text.length - 1)
        .replace(/0+$/, '');
      return digits ? text[0] + digits : '';
    }
    default:
      return '';
  }
}

/** Go's `time` package quoting: ASCII as is (with `"` and `\` escaped), other bytes as `\xNN`. */
function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 || c < 0x20) {
      for (const b of new TextEncoder().encode(ch))
        out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return `${out}"`;
}

function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined;
  if (!isDigitAt(s, 1)) return fixed ? undefined : [Number(s[0]), s.slice(1)];
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] | undefined {
  let n = 0;
  while (n < 3 && isDigitAt(s, n)) n++;
  if (n === 0 || (fixed && n !== 3)) return undefined;
  return [Number(s.slice(0, n)), s.slice(n)];
}

function lookupName(names: string[], v: string): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (
      v.length >= n.length &&
      v.slice(0, n.length).toLowerCase() === n.toLowerCase()
    )
      return [i, v.slice(n.length)];
  }
  return undefined;
}

/** `time.FixedZone`: Go shares one location per unnamed whole hour from −12 to +14. */
function fixedZone(name: string, offset: number): TimeLocation {
  const hour = offset / 3600;
  if (name === '' && Number.isInteger(hour) && hour >= -12 && hour <= 14)
    return `fixed${hour}`;
  return {};
}

/** Go's `time` `atoi`: an optional sign and any number of digits (none is 0). */
function atoi(s: string): number | undefined {
  const m = /^([+-]?)(\d*)$/.exec(s);
  if (!m) return undefined;
  const x = Number(m[2] || '0');
  return m[1] === '-' ? -x : x;
}

/** Go's `parseSignedOffset`: a sign and an hour of at most 23, all its digits read, or 0. */
function signedOffsetLength(v: string): number {
  const m = /^[+-](\d+)/.exec(v);
  return m && BigInt(m[1]) <= 23n ? m[0].length : 0;
}

/** Go's `parseTimeZone`: the length of a zone abbreviation at the start of `v`, or 0. */
function zoneNameLength(v: string): number {
  if (v.length < 3) return 0;
  if (v.startsWith('ChST') || v.startsWith('MeST')) return 4;
  if (v.startsWith('GMT')) return 3 + signedOffsetLength(v.slice(3));
  if (v[0] === '+' || v[0] === '-') return signedOffsetLength(v);
  let n = 0;
  while (n < 6 && n < v.length && v[n] >= 'A' && v[n] <= 'Z') n++;
  switch (n) {
    case 3:
      return 3;
    case 4:
      return v[3] === 'T' || v.startsWith('WITA') ? 4 : 0;
    case 5:
      return v[4] === 'T' ? 5 : 0;
    default:
      return 0;
  }
}

/**
 * One `parseTime`: what is left of the value, the fields read so far, and the state of the
 * layout element being read (`ok`, `range`). Each layout element has its step (`parseYear`,
 * `parseSeconds`, `parseZoneOffset`, …), as the cases of Go's `parse` loop.
 */
class TimeParse {
  /** What is left to parse; each layout element consumes from its front. */
  private value: string;
  private year = 0;
  private month = -1;
  private day = -1;
  private yday = -1;
  private hour = 0;
  private min = 0;
  private sec = 0;
  private nsec = 0;
  private utc = false;
  private zoneOffset: number | undefined;
  private zoneName = '';
  private pm = false;
  private am = false;
  /** The element read is out of range (Go's `rangeErrString`). */
  private range = '';
  /** The element read is well-formed (Go's `err == nil`). */
  private ok = true;

  constructor(private readonly layout: string, private readonly text: string) {
    this.value = text;
  }

  private fail(layoutElem: string, valueElem: string, message = ''): never {
    throw new GoTimeError(
      message
        ? `parsing time ${timeQuote(this.text)}${message}`
        : `parsing time ${timeQuote(this.text)} as ${timeQuote(
            this.layout,
          )}: cannot parse ${timeQuote(valueElem)} as ${timeQuote(layoutElem)}`,
    );
  }

  run(): GoTime {
    let rest = this.layout;
    for (;;) {
      const c = nextChunk(rest);
      this.matchLiteral(c.prefix);
      if (!c.std) {
        if (this.value.length > 0)
          this.fail('', '', `: extra text: ${timeQuote(this.value)}`);
        break;
      }
      rest = c.suffix;
      const hold = this.value;
      this.range = '';
      this.ok = true;
      this.parseElement(c.std, c.std_, rest);
      if (this.range) this.fail('', '', `: ${this.range} out of range`);
      if (!this.ok) this.fail(c.std_, hold);
    }
    this.resolveDate();
    return this.toTime();
  }

  /** The literal text must match, any run of spaces matching any run of spaces. */
  private matchLiteral(literal: string) {
    let prefix = literal;
    while (prefix.length > 0) {
      const value = this.value;
      if (prefix[0] === ' ') {
        if (value.length > 0 && value[0] !== ' ') this.fail(literal, value);
        prefix = prefix.replace(/^ +/, '');
        this.value = value.replace(/^ +/, '');
        continue;
      }
      if (value.length === 0 || value[0] !== prefix[0])
        this.fail(literal, value);
      prefix = prefix.slice(1);
      this.value = value.slice(1);
    }
  }

  /**
   * Go writes `value, err = getnum(value, …)`: takes the number and the rest from `r`, or
   * marks the element bad.
   */
  private num(r: [number, string] | undefined): number {
    if (!r) {
      this.ok = false;
      return 0;
    }
    this.value = r[1];
    return r[0];
  }

  /** Go's parseNanoseconds: the digits go through atoi, so a sign is accepted. */
  private parseNanos(v: string, nbytes: number): number | undefined {
    if (v[0] !== '.' && v[0] !== ',') return undefined;
    const n = Math.min(nbytes, 10);
    const ns = atoi(v.slice(1, n));
    if (ns === undefined) return undefined;
    if (ns < 0) {
      this.range = 'fractional second';
      return 0;
    }
    return ns * 10 ** (10 - n);
  }

  /** Reads the value for one layout element (`std`, written `text`); `rest` is the layout after it. */
  private parseElement(std: Std, text: string, rest: string) {
    switch (std) {
      case '06':
      case '2006':
        this.parseYear(std);
        break;
      case 'Jan':
      case 'January':
      case 'Mon':
      case 'Monday':
        this.parseName(std);
        break;
      case '1':
      case '01':
        this.month = this.num(getnum(this.value, std === '01'));
        if (this.ok && (this.month <= 0 || this.month > 12))
          this.range = 'month';
        break;
      case '2':
      case '_2':
      case '02':
      case '__2':
      case '002':
        this.parseDay(std);
        break;
      case '15':
      case '3':
      case '03':
      case '4':
      case '04':
        this.parseClock(std);
        break;
      case '5':
      case '05':
        this.parseSeconds(std, rest);
        break;
      case 'PM':
      case 'pm':
        this.parseAmPm(std);
        break;
      case 'tz':
        this.parseZoneOffset(text);
        break;
      case 'MST':
        this.parseZoneName();
        break;
      case 'frac0':
      case 'frac9':
        this.parseFraction(std, text);
        break;
      default:
        break;
    }
  }

  private parseYear(std: '06' | '2006') {
    const value = this.value;
    if (std === '06') {
      const y = value.length < 2 ? undefined : atoi(value.slice(0, 2));
      if (y === undefined) this.ok = false;
      else {
        this.year = y + (y >= 69 ? 1900 : 2000);
        this.value = value.slice(2);
      }
      return;
    }
    if (value.length < 4 || !isDigitAt(value, 0) || !/^\d{4}/.test(value))
      this.ok = false;
    else {
      this.year = Number(value.slice(0, 4));
      this.value = value.slice(4);
    }
  }

  /** A month or weekday name, long or short, in any case (the weekday is checked, not used). */
  private parseName(std: 'Jan' | 'January' | 'Mon' | 'Monday') {
    switch (std) {
      case 'Jan':
      case 'January':
        this.month =
          this.num(
            lookupName(
              std === 'Jan' ? short(LONG_MONTHS) : LONG_MONTHS,
              this.value,
            ),
          ) + 1;
        break;
      default:
        this.num(
          lookupName(std === 'Mon' ? short(LONG_DAYS) : LONG_DAYS, this.value),
        );
    }
  }

  /** Day of the month (`2`, `_2`, `02`) or of the year (`__2`, `002`). */
  private parseDay(std: '2' | '_2' | '02' | '__2' | '002') {
    if (std === '__2' || std === '002') {
      for (let i = 0; i < 2; i++)
        if (std === '__2' && this.value[0] === ' ')
          this.value = this.value.slice(1);
      this.yday = this.num(getnum3(this.value, std === '002'));
      return;
    }
    if (std === '_2' && this.value[0] === ' ') this.value = this.value.slice(1);
    this.day = this.num(getnum(this.value, std === '02'));
  }

  /** Hours (`15`, `3`, `03`) and minutes (`4`, `04`). */
  private parseClock(std: '15' | '3' | '03' | '4' | '04') {
    switch (std) {
      case '15':
        this.hour = this.num(getnum(this.value, false));
        if (this.hour < 0 || this.hour >= 24) this.range = 'hour';
        break;
      case '3':
      case '03':
        this.hour = this.num(getnum(this.value, std === '03'));
        if (this.hour < 0 || this.hour > 12) this.range = 'hour';
        break;
      default:
        this.min = this.num(getnum(this.value, std === '04'));
        if (this.min < 0 || this.min >= 60) this.range = 'minute';
    }
  }

  private parseSeconds(std: '5' | '05', rest: string) {
    this.sec = this.num(getnum(this.value, std === '05'));
    if (!this.ok) return;
    if (this.sec < 0 || this.sec >= 60) {
      this.range = 'second';
      return;
    }
    // a fraction in the value but not in the layout is still read
    const value = this.value;
    if (
      value.length >= 2 &&
      (value[0] === '.' || value[0] === ',') &&
      isDigitAt(value, 1)
    ) {
      const next = nextChunk(rest).std;
      if (next === 'frac0' || next === 'frac9') return;
      let n = 2;
      while (isDigitAt(value, n)) n++;
      const ns = this.parseNanos(value, n);
      if (ns === undefined) this.ok = false;
      else this.nsec = ns;
      this.value = value.slice(n);
    }
  }

  private parseAmPm(std: 'PM' | 'pm') {
    const value = this.value;
    const p = value.slice(0, 2);
    if (value.length < 2) this.ok = false;
    else {
      this.value = value.slice(2);
      if (p === (std === 'PM' ? 'PM' : 'pm')) this.pm = true;
      else if (p === (std === 'PM' ? 'AM' : 'am')) this.am = true;
      else this.ok = false;
    }
  }

  /** A numeric zone (`Z07:00`, `-0700`, …, as written in `z`). */
  private parseZoneOffset(z: string) {
    if (z[0] === 'Z' && this.value[0] === 'Z') {
      this.value = this.value.slice(1);
      this.utc = true;
      return;
    }
    const parts = this.zoneOffsetParts(z.slice(1));
    if (!parts) {
      this.ok = false;
      return;
    }
    const [sign, hh, mm, ss] = parts;
    // Go reads hour, minute, second in turn (stopping at the first bad one), then checks
    // the ranges, whose error wins over a bad number
    let h = 0;
    let m = 0;
    let s = 0;
    const hv = getnum(hh, true);
    if (!hv) this.ok = false;
    else {
      h = hv[0];
      const mv = getnum(mm, true);
      if (!mv) this.ok = false;
      else {
        m = mv[0];
        const sv = getnum(ss, true);
        if (!sv) this.ok = false;
        else s = sv[0];
      }
    }
    if (h > 24) this.range = 'time zone offset hour';
    if (m > 60) this.range = 'time zone offset minute';
    if (s > 60) this.range = 'time zone offset second';
    let offset = (h * 60 + m) * 60 + s;
    if (sign === '-') offset = -offset;
    else if (sign !== '+') this.ok = false;
    this.zoneOffset = offset;
  }

  /**
   * Cuts a zone offset of the layout's `shape` (`07:00`, `07`, …) off the value: its sign,
   * hours, minutes and seconds as text; undefined when the value is too short for it.
   */
  private zoneOffsetParts(
    shape: string,
  ): [string, string, string, string] | undefined {
    const value = this.value;
    let parts: [string, string, string, string];
    let length: number;
    if (shape === '07:00') {
      if (value.length < 6 || value[3] !== ':') return undefined;
      parts = [value[0], value.slice(1, 3), value.slice(4, 6), '00'];
      length = 6;
    } else if (shape === '07') {
      if (value.length < 3) return undefined;
      parts = [value[0], value.slice(1, 3), '00', '00'];
      length = 3;
    } else if (shape === '07:00:00') {
      if (value.length < 9 || value[3] !== ':' || value[6] !== ':')
        return undefined;
      parts = [
        value[0],
        value.slice(1, 3),
        value.slice(4, 6),
        value.slice(7, 9),
      ];
      length = 9;
    } else if (shape === '070000') {
      if (value.length < 7) return undefined;
      parts = [
        value[0],
        value.slice(1, 3),
        value.slice(3, 5),
        value.slice(5, 7),
      ];
      length = 7;
    } else {
      if (value.length < 5) return undefined;
      parts = [value[0], value.slice(1, 3), value.slice(3, 5), '00'];
      length = 5;
    }
    this.value = value.slice(length);
    return parts;
  }

  /** A zone abbreviation (`MST`, `UTC`, `GMT+3`, …). */
  private parseZoneName() {
    const value = this.value;
    if (value.startsWith('UTC')) {
      this.utc = true;
      this.value = value.slice(3);
      return;
    }
    const n = zoneNameLength(value);
    if (n === 0) this.ok = false;
    else {
      this.zoneName = value.slice(0, n);
      this.value = value.slice(n);
    }
  }

  /** Fractional seconds: `.000` exactly that many digits, `.999` any number, or none. */
  private parseFraction(std: 'frac0' | 'frac9', text: string) {
    const value = this.value;
    if (std === 'frac0') {
      const ndigit = text.length;
      if (value.length < ndigit) {
        this.ok = false;
        return;
      }
      const ns = this.parseNanos(value, ndigit);
      if (ns === undefined) this.ok = false;
      else this.nsec = ns;
      this.value = value.slice(ndigit);
      return;
    }
    if (
      value.length < 2 ||
      (value[0] !== '.' && value[0] !== ',') ||
      !isDigitAt(value, 1)
    )
      return;
    let i = 0;
    while (isDigitAt(value, i + 1)) i++;
    const ns = this.parseNanos(value, 1 + i);
    if (ns === undefined) this.ok = false;
    else this.nsec = ns;
    this.value = value.slice(1 + i);
  }

  /** AM/PM, then the month and day from the day of the year, checked against any given. */
  private resolveDate() {
    if (this.pm && this.hour < 12) this.hour += 12;
    else if (this.am && this.hour === 12) this.hour = 0;
    const { year, yday } = this;
    if (yday >= 0) {
      if (yday < 1 || yday > 365 + (isLeap(year) ? 1 : 0))
        this.fail('', '', ': day-of-year out of range');
      let m = 1;
      while (
        m < 12 &&
        daysFromCivil(year, m + 1, 1) - daysFromCivil(year, 1, 1) < yday
      )
        m++;
      const d = yday - (daysFromCivil(year, m, 1) - daysFromCivil(year, 1, 1));
      if (this.month >= 0 && this.month !== m)
        this.fail('', '', ': day-of-year does not match month');
      this.month = m;
      if (this.day >= 0 && this.day !== d)
        this.fail('', '', ': day-of-year does not match day');
      this.day = d;
    } else {
      if (this.month < 0) this.month = 1;
      if (this.day < 0) this.day = 1;
    }
    if (this.day < 1 || this.day > daysIn(this.month, year))
      this.fail('', '', ': day out of range');
  }

  /** The instant and its zone: UTC, a numeric offset, a zone name, or the local zone. */
  private toTime(): GoTime {
    const { zoneOffset, zoneName, nsec } = this;
    const civil =
      BigInt(daysFromCivil(this.year, this.month, this.day)) * 86400n +
      BigInt(this.hour * 3600 + this.min * 60 + this.sec);
    const nanos = (s: bigint) => s * NS + BigInt(nsec);
    if (this.utc) return new GoTime(nanos(civil), 0, 'UTC', 'utc');
    if (zoneOffset !== undefined) {
      const t = nanos(civil - BigInt(zoneOffset));
      // the local zone (UTC) is used when the offset and name fit it
      if (zoneOffset === 0 && (zoneName === '' || zoneName === 'UTC'))
        return new GoTime(t, 0, 'UTC', 'local');
      return new GoTime(
        t,
        zoneOffset,
        zoneName,
        fixedZone(zoneName, zoneOffset),
      );
    }
    if (zoneName !== '') {
      let off = 0;
      if (zoneName.length > 3 && zoneName.startsWith('GMT'))
        off = Number(zoneName.slice(3)) * 3600;
      // Go records a GMT±h offset for the zone but leaves the instant as if it were UTC
      return new GoTime(nanos(civil), off, zoneName, fixedZone(zoneName, off));
    }
    return new GoTime(nanos(civil), 0, 'UTC', 'local');
  }
}

/**
 * Go's `time.ParseInLocation(layout, value, time.Local)` with a UTC local zone.
 * Throws {@link GoTimeError} with Go's message.
 * @internal
 */
export function parseTime(layout: string, text: string): GoTime {
  return new TimeParse(layout, text).run();
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  μs: 1000n,
  ms: 1000000n,
  s: NS,
  m: 60n * NS,
  h: 3600n * NS,
};

/** Go's `time.ParseDuration` in nanoseconds; throws {@link GoTimeError} with Go's message. @internal */
export function parseDuration(orig: string): bigint {
  const invalid = () =>
    new GoTimeError(`time: invalid duration ${timeQuote(orig)}`);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  const LIMIT = 1n << 63n;
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigitAt(s, 0))) throw invalid();
    const int = /^\d*/.exec(s)![0];
    let v = 0n;
    for (const ch of int) {
      if (v > LIMIT / 10n) throw invalid();
      v = v * 10n + BigInt(ch);
      if (v > LIMIT) throw invalid();
    }
    s = s.slice(int.length);
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const frac = /^\d*/.exec(s)![0];
      post = frac.length > 0;
      let overflow = false;
      for (const ch of frac) {
        if (overflow) continue;
        if (f > (LIMIT - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(ch);
        if (y > LIMIT) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s = s.slice(frac.length);
    }
    if (int.length === 0 && !post) throw invalid();
    const u = /^[^.0-9]*/.exec(s)![0];
    if (u === '')
      throw new GoTimeError(
        `time: missing unit in duration ${timeQuote(orig)}`,
      );
    s = s.slice(u.length);
    const unit = DURATION_UNITS[u];
    if (unit === undefined)
      throw new GoTimeError(
        `time: unknown unit ${timeQuote(u)} in duration ${timeQuote(orig)}`,
      );
    if (v > LIMIT / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) throw invalid();
    }
    d += v;
    if (d > LIMIT) throw invalid();
  }
  if (neg) return -d;
  if (d > LIMIT - 1n) throw invalid();
  return d;
}
