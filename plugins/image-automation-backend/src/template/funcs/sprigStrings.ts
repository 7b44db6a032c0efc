/**
 * Sprig v3.3.0's string functions that slim-sprig lacks. Sprig takes them from goutils and
 * xstrings, whose quirks templates see: goutils' `nospace`, `initials`, `abbrev`, `wrap` work
 * on bytes (a multi-byte character is split, or read as Latin-1 runes), its `swapcase` and
 * `untitle` on runes with Go's one-rune case mappings; xstrings' `snakecase`/`kebabcase`
 * split words at case changes, digits and punctuation.
 */

import { FuncMap, fn } from '../funcTypes';
import { goStringFromBytes } from './goBytes';
import { goLowerRune, goTitleRune, goUpperRune } from './goCase';

const encoder = new TextEncoder();

/** A Go string's bytes. */
function bytesOf(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Go's `unicode.IsSpace`. */
function isSpace(c: number): boolean {
  if (c <= 0xff)
    return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0x85 || c === 0xa0;
  return /^\p{White_Space}$/u.test(String.fromCodePoint(c));
}

const isUpper = (ch: string) => /^\p{Lu}$/u.test(ch);
const isLower = (ch: string) => /^\p{Ll}$/u.test(ch);
const isTitle = (ch: string) => /^\p{Lt}$/u.test(ch);
const isLetter = (ch: string) => /^\p{L}$/u.test(ch);
const isNumber = (ch: string) => /^\p{N}$/u.test(ch);
const isPunct = (ch: string) => /^\p{P}$/u.test(ch);

const toUpper = goUpperRune;
const toLower = goLowerRune;
const toTitle = goTitleRune;

/** goutils `DeleteWhiteSpace`: drops bytes that are Latin-1 white space, keeps the others as runes. */
function nospace(s: string): string {
  const b = bytesOf(s);
  let out = '';
  for (const c of b) if (!isSpace(c)) out += String.fromCharCode(c);
  return out.length === b.length ? s : out;
}

/** goutils `Initials`: the first byte of each white-space-separated word, as a Latin-1 rune. */
function initials(s: string): string {
  let out = '';
  let gap = true;
  for (const c of bytesOf(s)) {
    if (isSpace(c)) gap = true;
    else if (gap) {
      out += String.fromCharCode(c);
      gap = false;
    }
  }
  return out;
}

/** goutils `SwapCase`: upper/title to lower, lower to title after white space, else to upper. */
function swapcase(s: string): string {
  let out = '';
  let afterSpace = true;
  for (const ch of s) {
    if (isUpper(ch) || isTitle(ch)) {
      out += toLower(ch);
      afterSpace = false;
    } else if (isLower(ch)) {
      out += afterSpace ? toTitle(ch) : toUpper(ch);
      afterSpace = false;
    } else {
      out += ch;
      afterSpace = isSpace(ch.codePointAt(0)!);
    }
  }
  return out;
}

/** goutils `Uncapitalize`: lower-cases the first rune of each white-space-separated word. */
function untitle(s: string): string {
  let out = '';
  let next = true;
  for (const ch of s) {
    if (isSpace(ch.codePointAt(0)!)) {
      next = true;
      out += ch;
    } else if (next) {
      out += toLower(ch);
      next = false;
    } else out += ch;
  }
  return out;
}

/** goutils `AbbreviateFull` on bytes (`undefined` where goutils returns an error). */
function abbreviateFull(
  b: Uint8Array,
  offset: number,
  maxWidth: number,
): Uint8Array | undefined {
  if (b.length === 0) return b;
  if (maxWidth < 4) return undefined;
  if (b.length <= maxWidth) return b;
  const dots = bytesOf('...');
  const join = (x: Uint8Array, y: Uint8Array) => {
    const r = new Uint8Array(x.length + y.length);
    r.set(x);
    r.set(y, x.length);
    return r;
  };
  let off = Math.min(offset, b.length);
  if (b.length - off < maxWidth - 3) off = b.length - (maxWidth - 3);
  if (off <= 4) return join(b.subarray(0, maxWidth - 3), dots);
  if (maxWidth < 7) return undefined;
  if (off + maxWidth - 3 < b.length) {
    const rest = abbreviateFull(b.subarray(off), 0, maxWidth - 3);
    return rest && join(dots, rest);
  }
  return join(dots, b.subarray(b.length - (maxWidth - 3)));
}

function abbrev(width: bigint, s: string): string {
  if (width < 4n) return s;
  const r = abbreviateFull(bytesOf(s), 0, Number(width));
  return r ? goStringFromBytes(r) : '';
}

function abbrevboth(left: bigint, right: bigint, s: string): string {
  if (right < 4n || (left > 0n && right < 7n)) return s;
  const r = abbreviateFull(bytesOf(s), Number(left), Number(right));
  return r ? goStringFromBytes(r) : '';
}

/**
 * goutils `WrapCustom`: breaks at the last space within `width` bytes; a longer word is cut
 * (`longWords`) or left whole up to the next space. Leading spaces of a line are dropped.
 */
function wrapCustom(
  s: string,
  width: number,
  newline: string,
  longWords: boolean,
): string {
  if (s === '') return '';
  const nl = bytesOf(newline === '' ? '\n' : newline);
  const w = Math.max(1, width);
  const b = bytesOf(s);
  const out: number[] = [];
  const put = (from: number, to: number) => {
    for (let i = from; i < to; i++) out.push(b[i]);
  };
  const space = 0x20;
  let off = 0;
  while (b.length - off > w) {
    if (b[off] === space) {
      off++;
      continue;
    }
    let at = -1;
    for (let i = Math.min(off + w, b.length - 1); i >= off; i--)
      if (b[i] === space) {
        at = i;
        break;
      }
    if (at >= off) {
      put(off, at);
      out.push(...nl);
      off = at + 1;
    } else if (longWords) {
      put(off, off + w);
      out.push(...nl);
      off += w;
    } else {
      const next = b.indexOf(space, off + w);
      if (next < 0) {
        put(off, b.length);
        off = b.length;
      } else {
        put(off, next);
        out.push(...nl);
        off = next + 1;
      }
    }
  }
  put(off, b.length);
  return goStringFromBytes(Uint8Array.from(out));
}

const isConnector = (ch: string) =>
  ch === '-' || ch === '_' || isSpace(ch.codePointAt(0)!);

/** xstrings' letters: Unicode letters except the CJK ideograph blocks. */
function isAlphabet(ch: string): boolean {
  if (!isLetter(ch)) return false;
  const c = ch.codePointAt(0)!;
  if (c < 0x3400) return true;
  return !(
    (c >= 0x4e00 && c <= 0x9fcc) ||
    (c >= 0x3400 && c <= 0x4d85) ||
    (c >= 0x20000 && c <= 0x2b81d)
  );
}

/** xstrings `ToPascalCase`: words split at connectors; each word's first rune upper-cased. */
function camelcase(s: string): string {
  const rs = [...s];
  if (rs.length === 0) return '';
  let out = '';
  let i = 0;
  while (i < rs.length && isConnector(rs[i])) out += rs[i++];
  // all connectors: xstrings writes the last one a second time
  if (i === rs.length) return out + rs[rs.length - 1];
  let firstUpper = isUpper(rs[i]);
  let cur = toUpper(rs[i++]);
  for (; i < rs.length; i++) {
    const prev = cur;
    cur = rs[i];
    if (isConnector(cur) && isConnector(prev)) {
      out += prev;
      continue;
    }
    if (isConnector(prev)) {
      firstUpper = isUpper(cur);
      cur = toUpper(cur);
    } else {
      if (firstUpper) {
        if (isUpper(cur)) cur = toLower(cur);
        else firstUpper = false;
      }
      out += prev;
    }
  }
  return out + cur;
}

type WordType = 'number' | 'upper' | 'alpha' | 'connector' | 'punct' | 'other';

/** xstrings' word scanner: the type and length (in runes) of the word at `rs[i]`. */
function nextWord(rs: string[], i: number): [WordType, number] {
  const r = rs[i];
  let j = i + 1;
  const take = (ok: (ch: string) => boolean) => {
    while (j < rs.length && ok(rs[j])) j++;
  };
  if (isConnector(r)) {
    take(isConnector);
    return ['connector', j - i];
  }
  if (isPunct(r)) {
    take(isPunct);
    return ['punct', j - i];
  }
  if (isUpper(r)) {
    if (j < rs.length && isUpper(rs[j])) {
      take(isUpper);
      // "HTTPStatus" is "HTTP" + "Status": the last upper letter starts the next word.
      if (j < rs.length && isAlphabet(rs[j])) j--;
    } else if (j < rs.length && isAlphabet(rs[j])) {
      take(ch => isAlphabet(ch) && !isUpper(ch));
    }
    return ['upper', j - i];
  }
  if (isAlphabet(r)) {
    take(ch => isAlphabet(ch) && !isUpper(ch));
    return ['alpha', j - i];
  }
  if (isNumber(r)) {
    take(isNumber);
    return ['number', j - i];
  }
  take(
    ch => !(isConnector(ch) || isAlphabet(ch) || isNumber(ch) || isPunct(ch)),
  );
  return ['other', j - i];
}

/** xstrings `ToSnakeCase`/`ToKebabCase`: lower-cased words joined by `sep`. */
function toLowerWords(s: string, sep: string): string {
  const rs = [...s];
  if (rs.length === 0) return '';
  let out = '';
  let pos = 0;
  const next = (): [WordType, string] | undefined => {
    if (pos >= rs.length) return undefined;
    const [t, n] = nextWord(rs, pos);
    const w = rs.slice(pos, pos + n).join('');
    pos += n;
    return [t, w];
  };
  const lower = (t: WordType, w: string) => {
    if (t !== 'upper' && t !== 'connector') {
      out += w;
      return;
    }
    for (const ch of w) {
      if (isConnector(ch)) out += sep;
      else out += isUpper(ch) ? toLower(ch) : ch;
    }
  };
  const isWord = (t: WordType | undefined) => t === 'alpha' || t === 'number';
  const joins = (t: WordType | undefined) =>
    t !== undefined && t !== 'punct' && t !== 'connector';
  let [wt, word] = next()!;
  while (pos < rs.length) {
    if (wt !== 'connector') lower(wt, word);
    const prev = wt;
    const last = word;
    let n = next();
    [wt, word] = n!;
    if (prev === 'number') {
      while (isWord(wt)) {
        lower(wt, word);
        n = next();
        if (!n) {
          wt = undefined as unknown as WordType;
          word = '';
          break;
        }
        [wt, word] = n;
      }
      if (joins(wt)) out += sep;
    } else if (prev === 'connector') {
      lower(prev, last);
    } else if (prev === 'punct') {
      // punctuation joins the words around it as they are
    } else if (wt !== 'number') {
      if (wt !== 'connector' && wt !== 'punct') out += sep;
    } else if (pos < rs.length) {
      const num = word;
      [wt, word] = next()!;
      if (wt !== 'alpha') {
        // a number after a word belongs to it: "Bld4Floor" is "bld4_floor"
        lower('number', num);
        if (wt !== 'connector' && wt !== 'punct') out += sep;
      } else {
        // lower-case letters after a number start a new word with it: "HTTP2xx" is "http_2xx"
        out += sep;
        lower('number', num);
        let more = true;
        while (isWord(wt)) {
          lower(wt, word);
          n = next();
          if (!n) {
            more = false;
            wt = undefined as unknown as WordType;
            word = '';
            break;
          }
          [wt, word] = n;
        }
        if (more && joins(wt)) out += sep;
      }
    }
  }
  if (wt !== undefined) lower(wt, word);
  return out;
}

/** The sprig-only string functions. @internal */
export const sprigStringFuncs: FuncMap = {
  nospace: fn(['string'], nospace),
  initials: fn(['string'], initials),
  swapcase: fn(['string'], swapcase),
  untitle: fn(['string'], untitle),
  abbrev: fn(['int', 'string'], abbrev),
  abbrevboth: fn(['int', 'int', 'string'], abbrevboth),
  wrap: fn(['int', 'string'], (w: bigint, s: string) =>
    wrapCustom(s, Number(w), '', false),
  ),
  wrapWith: fn(
    ['int', 'string', 'string'],
    (w: bigint, sep: string, s: string) => wrapCustom(s, Number(w), sep, true),
  ),
  camelcase: fn(['string'], camelcase),
  snakecase: fn(['string'], (s: string) => toLowerWords(s, '_')),
  kebabcase: fn(['string'], (s: string) => toLowerWords(s, '-')),
};
