/**
 * How go-yaml v2 (YAML 1.1) reads a plain scalar: the resolver behind both decoding and the
 * encoder's decision to quote a string.
 */

import { goParseFloat } from '../strconv';

/** A resolved plain scalar. @internal */
export type Resolved =
  | { tag: 'str'; value: string }
  | { tag: 'null'; value: null }
  | { tag: 'bool'; value: boolean }
  | { tag: 'int'; value: bigint }
  | { tag: 'float'; value: number }
  | { tag: 'timestamp'; value: string }
  | { tag: 'merge'; value: string };

const MAP = new Map<string, Resolved>();
const add = (r: Resolved, words: string[]) => words.forEach(w => MAP.set(w, r));
add({ tag: 'bool', value: true }, [
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
]);
add({ tag: 'bool', value: false }, [
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
]);
add({ tag: 'null', value: null }, ['', '~', 'null', 'Null', 'NULL']);
add({ tag: 'float', value: NaN }, ['.nan', '.NaN', '.NAN']);
add({ tag: 'float', value: Infinity }, [
  '.inf',
  '.Inf',
  '.INF',
  '+.inf',
  '+.Inf',
  '+.INF',
]);
add({ tag: 'float', value: -Infinity }, ['-.inf', '-.Inf', '-.INF']);
add({ tag: 'merge', value: '<<' }, ['<<']);

const HINTED = new Set([...'+-0123456789yYnNtTfFoO~.']);
const YAML_STYLE_FLOAT =
  /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's `strconv.ParseInt(s, 0, 64)`/`ParseUint` syntax (prefixes, leading-zero octal). */
function parseIntBase0(s: string, unsigned: boolean): bigint | undefined {
  const m =
    /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(
      s,
    );
  if (!m) return undefined;
  if (unsigned && m[1] !== '') return undefined;
  let body = m[2];
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`;
  const v = BigInt(
    body
      .replace(/^0[oO]/, '0o')
      .replace(/^0[xX]/, '0x')
      .replace(/^0[bB]/, '0b'),
  );
  const signed = m[1] === '-' ? -v : v;
  if (unsigned) return signed <= UINT64_MAX ? signed : undefined;
  return signed >= INT64_MIN && signed <= INT64_MAX ? signed : undefined;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** go-yaml v2's `parseTimestamp` with its four accepted layouts. */
function isTimestamp(s: string): boolean {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:([Tt])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$/.exec(
      s,
    );
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month))
    return false;
  const h = Number(m[5] ?? m[8] ?? 0);
  const mi = Number(m[6] ?? m[9] ?? 0);
  const se = Number(m[7] ?? m[10] ?? 0);
  return h < 24 && mi < 60 && se < 60;
}

/**
 * go-yaml v2's `resolve("", s)`: the type a plain scalar `s` is read as.
 * @internal
 */
export function resolvePlain(s: string): Resolved {
  const c = s[0];
  // go-yaml consults its table only for strings whose first character hints at one.
  if (s === '' || HINTED.has(c)) {
    const hit = MAP.get(s);
    if (hit) return hit;
  }
  if (c === '.') {
    // Not in the table: a float when strconv.ParseFloat accepts all of it (`.5`, `.5_0`).
    const f = goParseFloat(s);
    if (f !== undefined) return { tag: 'float', value: f };
    return { tag: 'str', value: s };
  }
  if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
    if (isTimestamp(s)) return { tag: 'timestamp', value: s };
    const plain = s.replace(/_/g, '');
    const i = parseIntBase0(plain, false) ?? parseIntBase0(plain, true);
    if (i !== undefined) return { tag: 'int', value: i };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = goParseFloat(plain);
      if (f !== undefined) return { tag: 'float', value: f };
    }
    if (plain.startsWith('0b') || plain.startsWith('-0b')) {
      const neg = plain.startsWith('-');
      const digits = plain.slice(neg ? 3 : 2);
      if (/^[01]+$/.test(digits)) {
        const v = BigInt(`0b${digits}`) * (neg ? -1n : 1n);
        if (v >= INT64_MIN && v <= UINT64_MAX) return { tag: 'int', value: v };
      }
    }
  }
  return { tag: 'str', value: s };
}

/** go-yaml v2's `isBase60Float`: strings the encoder quotes for YAML 1.1 readers. @internal */
export function isBase60Float(s: string): boolean {
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s);
}
