/**
 * Sprig's string functions. Go strings are byte sequences: `trunc`, `substr` and friends
 * index bytes, so they work on UTF-8 buffers here.
 */

import { FuncMap, fn, GoFuncError } from '../funcTypes';
import { checkStringLength } from '../limits';
import {
  formatValue,
  GoValue,
  compareStrings,
  typedSlice,
} from '../../golib/reflect';
import { goQuote } from '../../golib/strconv';
import { strslice, strval } from './convert';
import { goStringFromBytes } from './goBytes';
import { goTitleRune, goToLower, goToUpper } from './goCase';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

function byteSlice(s: string, start: number, end?: number): string {
  const b = utf8(s);
  const e = end ?? b.length;
  if (start < 0 || e > b.length || start > e) {
    throw new GoFuncError(
      // Go names the length only when the end is past it
      `runtime error: slice bounds out of range [${
        start > e ? `${start}:${e}]` : `:${e}] with length ${b.length}`
      }`,
    );
  }
  return goStringFromBytes(b.subarray(start, e));
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Go's `strings.Title`: upper-cases letters that follow a separator. */
export function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const r of s) {
    out += isSeparator(prev) ? goTitleRune(r) : r;
    prev = r;
  }
  return out;
}

function isSeparator(r: string): boolean {
  if (r.charCodeAt(0) <= 0x7f) {
    return !/[0-9a-zA-Z_]/.test(r);
  }
  if (/[\p{L}\p{Nd}]/u.test(r)) return false;
  // Go's unicode.IsSpace is Unicode White_Space (with U+0085, without U+FEFF, unlike \s)
  return /\p{White_Space}/u.test(r);
}

/** Go's `strings.Trim(s, cutset)`. */
function trimCutset(s: string, cutset: string): string {
  const set = new Set([...cutset]);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a])) a++;
  while (b > a && set.has(chars[b - 1])) b--;
  return chars.slice(a, b).join('');
}

/** Go's `strings.TrimSpace` (Unicode white space). */
export function trimSpace(s: string): string {
  return s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
}

function splitToMap(parts: string[]): GoValue {
  const res: Record<string, GoValue> = {};
  parts.forEach((p, i) => {
    res[`_${i}`] = p;
  });
  return res;
}

/** Go's `strings.SplitN`. */
function splitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const chars = [...s];
    if (n < 0 || n >= chars.length) return chars;
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join('')];
  }
  const parts = s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/** `indent n s` adds n spaces per line. */
function checkIndent(n: bigint, s: string, what: string) {
  if (n <= 0n) return;
  let lines = 1n;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
  checkStringLength(BigInt(s.length) + n * lines, what);
}

/** Sprig's string functions shared by slim-sprig and sprig. @internal */
export const stringFuncs: FuncMap = {
  hello: fn([], () => 'Hello!'),
  trunc: fn(['int', 'string'], (c: bigint, s: string) => {
    const n = Number(c);
    const len = byteLength(s);
    if (n < 0 && len + n > 0) return byteSlice(s, len + n);
    if (n >= 0 && len > n) return byteSlice(s, 0, n);
    return s;
  }),
  trim: fn(['string'], trimSpace),
  upper: fn(['string'], goToUpper),
  lower: fn(['string'], goToLower),
  title: fn(['string'], goTitle),
  substr: fn(
    ['int', 'int', 'string'],
    (start: bigint, end: bigint, s: string) => {
      const a = Number(start);
      const b = Number(end);
      if (a < 0) return byteSlice(s, 0, b);
      if (b < 0 || b > byteLength(s)) return byteSlice(s, a);
      return byteSlice(s, a, b);
    },
  ),
  repeat: fn(['int', 'string'], (count: bigint, s: string) => {
    if (count < 0n) throw new GoFuncError('strings: negative Repeat count');
    checkStringLength(count * BigInt(s.length), 'repeat');
    return s.repeat(Number(count));
  }),
  trimall: fn(['string', 'string'], (a: string, b: string) => trimCutset(b, a)),
  trimAll: fn(['string', 'string'], (a: string, b: string) => trimCutset(b, a)),
  trimSuffix: fn(['string', 'string'], (a: string, b: string) =>
    a !== '' && b.endsWith(a) ? b.slice(0, b.length - a.length) : b,
  ),
  trimPrefix: fn(['string', 'string'], (a: string, b: string) =>
    b.startsWith(a) ? b.slice(a.length) : b,
  ),
  contains: fn(['string', 'string'], (sub: string, s: string) =>
    s.includes(sub),
  ),
  hasPrefix: fn(['string', 'string'], (sub: string, s: string) =>
    s.startsWith(sub),
  ),
  hasSuffix: fn(['string', 'string'], (sub: string, s: string) =>
    s.endsWith(sub),
  ),
  quote: fn(
    [],
    (...xs: GoValue[]) =>
      xs
        .filter(x => x !== null)
        .map(x => goQuote(strval(x)))
        .join(' '),
    'any',
  ),
  squote: fn(
    [],
    (...xs: GoValue[]) =>
      xs
        .filter(x => x !== null)
        .map(x => `'${formatValue(x)}'`)
        .join(' '),
    'any',
  ),
  cat: fn(
    [],
    (...xs: GoValue[]) =>
      xs
        .filter(x => x !== null)
        .map(formatValue)
        .join(' '),
    'any',
  ),
  indent: fn(['int', 'string'], (n: bigint, s: string) => {
    checkIndent(n, s, 'indent');
    const pad = ' '.repeat(Math.max(0, Number(n)));
    return pad + s.replace(/\n/g, `\n${pad}`);
  }),
  nindent: fn(['int', 'string'], (n: bigint, s: string) => {
    checkIndent(n, s, 'nindent');
    const pad = ' '.repeat(Math.max(0, Number(n)));
    return `\n${pad}${s.replace(/\n/g, `\n${pad}`)}`;
  }),
  replace: fn(
    ['string', 'string', 'string'],
    (o: string, n: string, src: string) =>
      o === '' ? goReplaceEmpty(src, n) : src.split(o).join(n),
  ),
  plural: fn(
    ['string', 'string', 'int'],
    (one: string, many: string, c: bigint) => (c === 1n ? one : many),
  ),
  toString: fn(['any'], strval),
  split: fn(['string', 'string'], (sep: string, s: string) =>
    splitToMap(splitN(s, sep, -1)),
  ),
  splitList: fn(['string', 'string'], (sep: string, s: string) =>
    typedSlice(splitN(s, sep, -1), 'string'),
  ),
  splitn: fn(['string', 'int', 'string'], (sep: string, n: bigint, s: string) =>
    splitToMap(splitN(s, sep, Number(n))),
  ),
  toStrings: fn(['any'], strslice),
  join: fn(['string', 'any'], (sep: string, v: GoValue) =>
    strslice(v).join(sep),
  ),
  sortAlpha: fn(['any'], (v: GoValue) =>
    typedSlice(
      Array.isArray(v) ? strslice(v).sort(compareStrings) : [strval(v)],
      'string',
    ),
  ),
};

/** `strings.Replace(s, "", new, -1)` inserts `new` around every rune. */
function goReplaceEmpty(s: string, n: string): string {
  return n + [...s].join(n) + (s === '' ? '' : n);
}
