/**
 * Go's `encoding/json` for template values: what `toJson` prints and how `fromJson` and
 * Kubernetes' decoders read numbers.
 */

import { GoTime } from '../time';
import {
  compareStrings,
  GoInt,
  GoStruct,
  GoValue,
  formatFloatExp,
  formatFloatFixed,
  isPlainMap,
} from '../reflect';

/** A value `encoding/json` refuses (`json: unsupported value: NaN`). @internal */
export class JsonMarshalError extends Error {}

function quoteJson(s: string, escapeHtml: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20) out += `\\u00${c.toString(16).padStart(2, '0')}`;
    else if (escapeHtml && (ch === '<' || ch === '>' || ch === '&')) {
      out += `\\u00${c.toString(16)}`;
    } else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's float encoding in JSON: `'f'` format, `'e'` below 1e-6 or from 1e21. @internal */
export function formatJsonFloat(f: number): string {
  if (!Number.isFinite(f)) {
    let name = 'NaN';
    if (f > 0) name = '+Inf';
    else if (f < 0) name = '-Inf';
    throw new JsonMarshalError(`json: unsupported value: ${name}`);
  }
  const abs = Math.abs(f);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return formatFloatExp(f).replace(/e([+-])0(\d)$/, 'e$1$2');
  }
  return formatFloatFixed(f);
}

/**
 * `json.Marshal` (with `indent`, `json.MarshalIndent(v, "", indent)`).
 * @internal
 */
export function marshalJson(
  v: GoValue | undefined,
  opts: { indent?: string; escapeHtml?: boolean } = {},
): string {
  const escapeHtml = opts.escapeHtml ?? true;
  const ind = opts.indent;
  const enc = (x: GoValue | undefined, depth: number): string => {
    if (x === null || x === undefined) return 'null';
    switch (typeof x) {
      case 'string':
        return quoteJson(x, escapeHtml);
      case 'bigint':
        return x.toString();
      case 'number':
        return formatJsonFloat(x);
      case 'boolean':
        return x ? 'true' : 'false';
      default:
        break;
    }
    const nl = ind === undefined ? '' : `\n${ind.repeat(depth + 1)}`;
    const close = ind === undefined ? '' : `\n${ind.repeat(depth)}`;
    const colon = ind === undefined ? ':' : ': ';
    if (x instanceof GoInt) return x.value.toString();
    // time.Time's MarshalJSON: RFC 3339 with nanoseconds
    if (x instanceof GoTime)
      return enc(x.format('2006-01-02T15:04:05.999999999Z07:00'), depth);
    // semver's MarshalJSON: its String()
    if (x instanceof GoStruct && x.typeName === '*semver.Version')
      return enc(x.methods.String(), depth);
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      return `[${x.map(e => nl + enc(e, depth + 1)).join(',')}${close}]`;
    }
    let entries: [string, GoValue][];
    if (x instanceof GoStruct) entries = Object.entries(x.fields);
    else if (x instanceof Map) {
      entries = [...x.entries()].map(
        ([k, val]) => [String(k), val] as [string, GoValue],
      );
      entries.sort((a, b) => compareStrings(a[0], b[0]));
    } else if (isPlainMap(x)) {
      entries = Object.keys(x)
        .sort(compareStrings)
        .map(k => [k, x[k]]);
    } else entries = [];
    if (entries.length === 0) return '{}';
    return `{${entries
      .map(
        ([k, val]) =>
          nl + quoteJson(k, escapeHtml) + colon + enc(val, depth + 1),
      )
      .join(',')}${close}}`;
  };
  return enc(v, 0);
}

/**
 * Parses JSON text into template values. `ints: 'preserve'` keeps integer literals that fit
 * int64 as integers (Kubernetes' decoder, used for ResourceSet inputs); `'float'` reads every
 * number as float64 (`encoding/json` into `interface{}`, as sprig's `fromJson` does).
 * @internal
 */
export function parseJson(text: string, ints: 'preserve' | 'float'): GoValue {
  return JSON.parse(text, function reviver(
    this: unknown,
    _key: string,
    value: unknown,
    ctx?: { source?: string },
  ) {
    if (typeof value === 'number') {
      const src = ctx?.source;
      if (ints === 'preserve' && src !== undefined && /^-?\d+$/.test(src)) {
        const b = BigInt(src);
        if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
      }
      return value;
    }
    return value;
  } as (this: unknown, key: string, value: unknown) => unknown) as GoValue;
}

/** Go's `quoteChar` in encoding/json: one byte, shown as the rune of that value. */
function quoteJsonChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  return `'${goQuoteRune(String.fromCharCode(c))}'`;
}

function goQuoteRune(ch: string): string {
  const cp = ch.charCodeAt(0);
  const named: Record<number, string> = {
    7: '\\a',
    8: '\\b',
    9: '\\t',
    10: '\\n',
    11: '\\v',
    12: '\\f',
    13: '\\r',
  };
  if (named[cp]) return named[cp];
  if (ch === '\\') return '\\\\';
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp >= 0x80 && !/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch))
    return `\\u${cp.toString(16).padStart(4, '0')}`;
  return ch;
}

const MAX_JSON_DEPTH = 10000;
const isJsonSpace = (c: number) =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) =>
  isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** The scanner's state: the open objects and arrays, and whether the top-level value ended. */
interface JsonScan {
  stack: ('key' | 'value' | 'array')[];
  endTop: boolean;
}

/**
 * What the scanner expects next, as in Go's scanner: a step function per state, given the next
 * byte; it returns the next state or the error text.
 */
type Step = (s: JsonScan, c: number) => Step | string;

const fail = (c: number, context: string) =>
  `invalid character ${quoteJsonChar(c)} ${context}`;

/**
 * The syntax error Go's `encoding/json` reports for `text` (its byte scanner's exact wording, such
 * as `invalid character '}' after object key` or `unexpected end of JSON input`), or undefined
 * when the text is valid JSON.
 * @internal
 */
export function jsonSyntaxError(text: string): string | undefined {
  const bytes = Buffer.from(text, 'utf8');
  const s: JsonScan = { stack: [], endTop: false };
  let step: Step = beginValue;
  for (const c of bytes) {
    const next = step(s, c);
    if (typeof next === 'string') return next;
    step = next;
  }
  // End of input, as Go's scanner.eof: one more space completes a number at the top level; the
  // error that space causes (in an unfinished literal or exponent) is the one reported.
  if (s.endTop) return undefined;
  const last = step(s, 0x20);
  if (typeof last === 'string') return last;
  return s.endTop ? undefined : 'unexpected end of JSON input';
}

// ---- scanner states (they refer to each other, so they are hoisted function declarations) ----

function push(
  s: JsonScan,
  c: number,
  kind: 'key' | 'array',
  next: Step,
): Step | string {
  s.stack.push(kind);
  return s.stack.length <= MAX_JSON_DEPTH
    ? next
    : fail(c, 'exceeded max depth');
}

function literal(word: string, at: number): Step {
  return (_s, c) => {
    if (c !== word.charCodeAt(at)) {
      return fail(
        c,
        `in literal ${word} (expecting ${quoteJsonChar(word.charCodeAt(at))})`,
      );
    }
    return at + 1 === word.length ? endValue : literal(word, at + 1);
  };
}

function beginValue(s: JsonScan, c: number): Step | string {
  if (isJsonSpace(c)) return beginValue;
  if (c === 0x7b) return push(s, c, 'key', beginStringOrEmpty);
  if (c === 0x5b) return push(s, c, 'array', beginValueOrEmpty);
  if (c === 0x22) return inString;
  if (c === 0x2d) return neg;
  if (c === 0x30) return zero;
  if (c >= 0x31 && c <= 0x39) return digits;
  if (c === 0x74) return literal('true', 1);
  if (c === 0x66) return literal('false', 1);
  if (c === 0x6e) return literal('null', 1);
  return fail(c, 'looking for beginning of value');
}

function beginValueOrEmpty(s: JsonScan, c: number): Step | string {
  if (isJsonSpace(c)) return beginValueOrEmpty;
  return c === 0x5d ? endValue(s, c) : beginValue(s, c);
}

function beginStringOrEmpty(s: JsonScan, c: number): Step | string {
  if (isJsonSpace(c)) return beginStringOrEmpty;
  if (c === 0x7d) {
    s.stack[s.stack.length - 1] = 'value';
    return endValue(s, c);
  }
  return beginString(s, c);
}

function beginString(_s: JsonScan, c: number): Step | string {
  if (isJsonSpace(c)) return beginString;
  return c === 0x22
    ? inString
    : fail(c, 'looking for beginning of object key string');
}

function endTopStep(_s: JsonScan, c: number): Step | string {
  return isJsonSpace(c) ? endTopStep : fail(c, 'after top-level value');
}

function pop(s: JsonScan): Step {
  s.stack.pop();
  if (s.stack.length === 0) s.endTop = true;
  return s.stack.length === 0 ? endTopStep : endValue;
}

function endValue(s: JsonScan, c: number): Step | string {
  const stack = s.stack;
  if (stack.length === 0) {
    s.endTop = true;
    return endTopStep(s, c);
  }
  if (isJsonSpace(c)) return endValue;
  switch (stack[stack.length - 1]) {
    case 'key':
      if (c !== 0x3a) return fail(c, 'after object key');
      stack[stack.length - 1] = 'value';
      return beginValue;
    case 'value':
      if (c === 0x2c) {
        stack[stack.length - 1] = 'key';
        return beginString;
      }
      return c === 0x7d ? pop(s) : fail(c, 'after object key:value pair');
    default:
      if (c === 0x2c) return beginValue;
      return c === 0x5d ? pop(s) : fail(c, 'after array element');
  }
}

function inString(_s: JsonScan, c: number): Step | string {
  if (c === 0x22) return endValue;
  if (c === 0x5c) return inStringEscape;
  return c < 0x20 ? fail(c, 'in string literal') : inString;
}

function inStringEscape(_s: JsonScan, c: number): Step | string {
  if ('bfnrt\\/"'.includes(String.fromCharCode(c))) return inString;
  return c === 0x75 ? hexDigit(4) : fail(c, 'in string escape code');
}

function hexDigit(left: number): Step {
  return (_s, c) => {
    if (!isHex(c)) return fail(c, 'in \\u hexadecimal character escape');
    return left === 1 ? inString : hexDigit(left - 1);
  };
}

function neg(_s: JsonScan, c: number): Step | string {
  if (c === 0x30) return zero;
  return c >= 0x31 && c <= 0x39 ? digits : fail(c, 'in numeric literal');
}

function digits(s: JsonScan, c: number): Step | string {
  return isDigit(c) ? digits : zero(s, c);
}

function zero(s: JsonScan, c: number): Step | string {
  if (c === 0x2e) return dot;
  return c === 0x65 || c === 0x45 ? exponent : endValue(s, c);
}

function dot(_s: JsonScan, c: number): Step | string {
  return isDigit(c)
    ? fraction
    : fail(c, 'after decimal point in numeric literal');
}

function fraction(s: JsonScan, c: number): Step | string {
  if (isDigit(c)) return fraction;
  return c === 0x65 || c === 0x45 ? exponent : endValue(s, c);
}

function exponent(s: JsonScan, c: number): Step | string {
  return c === 0x2b || c === 0x2d ? exponentSign : exponentSign(s, c);
}

function exponentSign(_s: JsonScan, c: number): Step | string {
  return isDigit(c)
    ? exponentDigits
    : fail(c, 'in exponent of numeric literal');
}

function exponentDigits(s: JsonScan, c: number): Step | string {
  return isDigit(c) ? exponentDigits : endValue(s, c);
}
