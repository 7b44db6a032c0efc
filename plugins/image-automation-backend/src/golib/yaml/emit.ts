/**
 * go-yaml v2's encoder (the libyaml emitter port) for template values: block style, keys in
 * go-yaml's natural order, YAML 1.1 quoting, literal blocks for multi-line strings and line
 * folding past 80 columns. This is what `sigs.k8s.io/yaml` prints, so what Kubernetes tools
 * and the Flux Operator print.
 */

import { GoValue, isPlainMap, formatFloat, GoStruct } from '../reflect';
import { isBase60Float, resolvePlain } from './resolve';

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

type Style = 'plain' | 'single' | 'double' | 'literal';

interface ScalarAnalysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

const isBreakCp = (cp: number) =>
  cp === 0x0a || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029;
const isBlankCh = (ch: string | undefined) =>
  ch === undefined ||
  ch === ' ' ||
  ch === '\t' ||
  isBreakCp(ch.codePointAt(0)!);

/** Strings that need no analysis: no spaces, breaks, indicators or non-ASCII. */
const SIMPLE_PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./+=@-]*$/;
const SIMPLE_ANALYSIS: ScalarAnalysis = {
  multiline: false,
  blockPlainAllowed: true,
  singleQuotedAllowed: true,
  blockAllowed: true,
};

function analyze(value: string): ScalarAnalysis {
  if (SIMPLE_PLAIN.test(value) && !value.startsWith('...'))
    return SIMPLE_ANALYSIS;
  if (value.length === 0) {
    return {
      multiline: false,
      blockPlainAllowed: true,
      singleQuotedAllowed: true,
      blockAllowed: false,
    };
  }
  let blockIndicators = value.startsWith('---') || value.startsWith('...');
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  const chars = [...value];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const cp = ch.codePointAt(0)!;
    const followedByWhitespace = isBlankCh(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      else if ((ch === '?' || ch === ':' || ch === '-') && followedByWhitespace)
        blockIndicators = true;
    } else if (ch === ':' && followedByWhitespace) blockIndicators = true;
    else if (ch === '#' && precededByWhitespace) blockIndicators = true;
    if (!isPrintable(cp)) special = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreakCp(cp)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankCh(ch);
  }
  const a: ScalarAnalysis = {
    multiline: lineBreaks,
    blockPlainAllowed: true,
    singleQuotedAllowed: true,
    blockAllowed: true,
  };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak)
    a.blockPlainAllowed = false;
  if (trailingSpace) a.blockAllowed = false;
  if (breakSpace) {
    a.blockPlainAllowed = false;
    a.singleQuotedAllowed = false;
  }
  if (spaceBreak || special) {
    a.blockPlainAllowed = false;
    a.singleQuotedAllowed = false;
    a.blockAllowed = false;
  }
  if (lineBreaks) a.blockPlainAllowed = false;
  if (blockIndicators) a.blockPlainAllowed = false;
  return a;
}

/** The text of a non-string scalar as go-yaml prints it. */
function scalarText(v: GoValue): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (Number.isNaN(v)) return '.nan';
      if (v === Infinity) return '.inf';
      if (v === -Infinity) return '-.inf';
      return formatFloat(v);
    default:
      return undefined;
  }
}

/** Natural key order of go-yaml v2 (`keyList.Less`) for string keys. @internal */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  const isLetter = (c: string) => /\p{L}/u.test(c);
  const isDigit = (c: string | undefined) =>
    c !== undefined && /\p{Nd}/u.test(c);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++)
      an = an * 10n + BigInt(ar[ai].codePointAt(0)! - 48);
    for (; bi < br.length && isDigit(br[bi]); bi++)
      bn = bn * 10n + BigInt(br[bi].codePointAt(0)! - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
  }
  return ar.length < br.length;
}

const SIMPLE_KEY = /^[\x20-\x2f\x3a-\x7e]*$/;

/** Keys of a map in go-yaml v2 order. @internal */
export function yamlSortedKeys(m: Record<string, unknown>): string[] {
  const keys = Object.keys(m);
  if (keys.length < 2) return keys;
  // Keys without digits in plain ASCII order the same way as go-yaml's natural order
  // except that letters sort after every other character.
  if (keys.every(k => SIMPLE_KEY.test(k))) return keys.sort(simpleKeyCompare);
  // The natural order is not transitive for some digit runs (leading zeros), so the result
  // depends on the algorithm: Go's sort.Sort runs an insertion sort up to 12 elements.
  if (keys.length <= 12) {
    for (let i = 1; i < keys.length; i++) {
      for (let j = i; j > 0 && yamlKeyLess(keys[j], keys[j - 1]); j--) {
        [keys[j], keys[j - 1]] = [keys[j - 1], keys[j]];
      }
    }
    return keys;
  }
  return keys.sort((x, y) => {
    if (yamlKeyLess(x, y)) return -1;
    return yamlKeyLess(y, x) ? 1 : 0;
  });
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function simpleKeyCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xl = isAsciiLetter(x);
    const yl = isAsciiLetter(y);
    if (xl !== yl) return xl ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

// The whole ASCII range, control characters included.
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** Characters in a string (code points), as libyaml counts columns. */
function charCount(s: string): number {
  return ASCII.test(s) ? s.length : [...s].length;
}

class Writer {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;

  put(s: string) {
    this.out += s;
    this.column += s.length === 1 || ASCII.test(s) ? s.length : [...s].length;
  }
  newline() {
    this.out += '\n';
    this.column = 0;
  }
  writeIndent(indent: number) {
    const ind = Math.max(indent, 0);
    if (
      !this.indention ||
      this.column > ind ||
      (this.column === ind && !this.whitespace)
    )
      this.newline();
    while (this.column < ind) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }
  indicator(
    s: string,
    needWhitespace: boolean,
    isWhitespace: boolean,
    isIndention: boolean,
  ) {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(s);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }
}

function chooseStyle(
  value: string,
  simpleKey: boolean,
): { style: Style; a: ScalarAnalysis } {
  const a = analyze(value);
  const r = resolvePlain(value);
  const canUsePlain = r.tag === 'str' && !isBase60Float(value);
  let style: Style = canUsePlain ? 'plain' : 'double';
  if (value.includes('\n')) style = 'literal';
  if (simpleKey && a.multiline) style = 'double';
  if (style === 'plain') {
    if (!a.blockPlainAllowed) style = 'single';
    if (value.length === 0 && simpleKey) style = 'single';
  }
  if (style === 'single' && !a.singleQuotedAllowed) style = 'double';
  if (style === 'literal' && (!a.blockAllowed || simpleKey)) style = 'double';
  return { style, a };
}

function writePlain(
  w: Writer,
  value: string,
  indent: number,
  allowBreaks: boolean,
) {
  if (!w.whitespace) w.put(' ');
  // Folding happens only at a space once past the width: short values go out whole.
  if (
    !allowBreaks ||
    !value.includes(' ') ||
    w.column + charCount(value) <= BEST_WIDTH + 1
  ) {
    w.put(value);
    w.whitespace = false;
    w.indention = false;
    return;
  }
  const chars = [...value];
  let spaces = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === ' ') {
      if (
        allowBreaks &&
        !spaces &&
        w.column > BEST_WIDTH &&
        chars[i + 1] !== ' '
      ) {
        w.writeIndent(indent);
      } else w.put(ch);
      spaces = true;
    } else {
      w.put(ch);
      w.indention = false;
      spaces = false;
    }
  }
  w.whitespace = false;
  w.indention = false;
}

function writeSingle(
  w: Writer,
  value: string,
  indent: number,
  allowBreaks: boolean,
) {
  w.indicator("'", true, false, false);
  if (
    !allowBreaks ||
    !value.includes(' ') ||
    w.column + charCount(value) <= BEST_WIDTH + 1
  ) {
    w.put(value.replace(/'/g, "''"));
    w.indicator("'", false, false, false);
    w.whitespace = false;
    w.indention = false;
    return;
  }
  const chars = [...value];
  let spaces = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === ' ') {
      if (
        allowBreaks &&
        !spaces &&
        w.column > BEST_WIDTH &&
        i > 0 &&
        i < chars.length - 1 &&
        chars[i + 1] !== ' '
      ) {
        w.writeIndent(indent);
      } else w.put(ch);
      spaces = true;
    } else {
      if (ch === "'") w.put("'");
      w.put(ch);
      w.indention = false;
      spaces = false;
    }
  }
  w.indicator("'", false, false, false);
  w.whitespace = false;
  w.indention = false;
}

const DOUBLE_ESCAPES: Record<number, string> = {
  0x00: '0',
  0x07: 'a',
  0x08: 'b',
  0x09: 't',
  0x0a: 'n',
  0x0b: 'v',
  0x0c: 'f',
  0x0d: 'r',
  0x1b: 'e',
  0x22: '"',
  0x5c: '\\',
  0x85: 'N',
  0xa0: '_',
  0x2028: 'L',
  0x2029: 'P',
};

function writeDouble(
  w: Writer,
  value: string,
  indent: number,
  allowBreaks: boolean,
) {
  w.indicator('"', true, false, false);
  const chars = [...value];
  // libyaml's is_bom looks at the start of the value, not the current character: a value
  // that starts with a BOM is escaped entirely.
  const startsWithBom = value.startsWith('\ufeff');
  let spaces = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const cp = ch.codePointAt(0)!;
    if (
      !isPrintable(cp) ||
      startsWithBom ||
      isBreakCp(cp) ||
      ch === '"' ||
      ch === '\\'
    ) {
      let esc = DOUBLE_ESCAPES[cp];
      if (esc === undefined) {
        // \xXX, \uXXXX or \UXXXXXXXX, the shortest that holds the code point.
        let width = 8;
        let letter = 'U';
        if (cp <= 0xff) [width, letter] = [2, 'x'];
        else if (cp <= 0xffff) [width, letter] = [4, 'u'];
        esc = letter + cp.toString(16).toUpperCase().padStart(width, '0');
      }
      w.put(`\\${esc}`);
      spaces = false;
    } else if (ch === ' ') {
      if (
        allowBreaks &&
        !spaces &&
        w.column > BEST_WIDTH &&
        i > 0 &&
        i < chars.length - 1
      ) {
        w.writeIndent(indent);
        if (chars[i + 1] === ' ') w.put('\\');
      } else w.put(ch);
      spaces = true;
    } else {
      w.put(ch);
      spaces = false;
    }
  }
  w.indicator('"', false, false, false);
  w.whitespace = false;
  w.indention = false;
}

function writeLiteral(w: Writer, value: string, indent: number) {
  w.indicator('|', true, false, false);
  const chars = [...value];
  if (chars[0] === ' ' || isBreakCp(chars[0].codePointAt(0)!)) {
    w.indicator(String(BEST_INDENT), false, false, false);
  }
  const last = chars[chars.length - 1];
  let chomp = '';
  if (!isBreakCp(last.codePointAt(0)!)) chomp = '-';
  else if (
    chars.length === 1 ||
    isBreakCp(chars[chars.length - 2].codePointAt(0)!)
  )
    chomp = '+';
  if (chomp) w.indicator(chomp, false, false, false);
  w.newline();
  w.indention = true;
  w.whitespace = true;
  let breaks = true;
  for (const ch of chars) {
    if (isBreakCp(ch.codePointAt(0)!)) {
      w.newline();
      w.indention = true;
      breaks = true;
    } else {
      if (breaks) {
        w.writeIndent(indent);
        breaks = false;
      }
      w.put(ch);
      w.indention = false;
    }
  }
}

/** libyaml's `check_simple_key` for a string key: one line and at most 128 bytes. */
function isSimpleKey(k: GoValue): boolean {
  if (typeof k !== 'string') return true;
  return (
    !/[\n\r\u0085\u2028\u2029]/.test(k) && Buffer.byteLength(k, 'utf8') <= 128
  );
}

/** Emits one scalar; `indent` is the emitter's indentation for this node. */
function emitScalar(w: Writer, v: GoValue, indent: number, simpleKey: boolean) {
  const text = scalarText(v);
  if (text !== undefined) {
    writePlain(w, text, indent, !simpleKey);
    return;
  }
  const s = v as string;
  const { style } = chooseStyle(s, simpleKey);
  switch (style) {
    case 'plain':
      writePlain(w, s, indent, !simpleKey);
      return;
    case 'single':
      writeSingle(w, s, indent, !simpleKey);
      return;
    case 'double':
      writeDouble(w, s, indent, !simpleKey);
      return;
    default:
      writeLiteral(w, s, indent);
  }
}

function entriesOf(v: GoValue): [string, GoValue][] {
  if (v instanceof GoStruct) return Object.entries(v.fields);
  const m = v as Record<string, GoValue>;
  return yamlSortedKeys(m).map(k => [k, m[k]]);
}

/**
 * Emits a node. `parentIndent` is the indentation in force (-1 at the root);
 * `mappingContext` tells whether the node is a mapping value (sequences there are indentless).
 */
function emitNode(
  w: Writer,
  v: GoValue,
  parentIndent: number,
  mappingContext: boolean,
) {
  if (Array.isArray(v)) {
    if (v.length === 0) {
      w.indicator('[', true, true, false);
      w.indicator(']', false, false, false);
      return;
    }
    const indentless = mappingContext && !w.indention;
    let indent = parentIndent + BEST_INDENT;
    if (parentIndent < 0) indent = 0;
    else if (indentless) indent = parentIndent;
    for (const item of v) {
      w.writeIndent(indent);
      w.indicator('-', true, false, true);
      emitNode(w, item, indent, false);
    }
    return;
  }
  if (isPlainMap(v) || v instanceof GoStruct) {
    const entries = entriesOf(v);
    if (entries.length === 0) {
      w.indicator('{', true, true, false);
      w.indicator('}', false, false, false);
      return;
    }
    const indent = parentIndent < 0 ? 0 : parentIndent + BEST_INDENT;
    for (const [k, val] of entries) {
      w.writeIndent(indent);
      if (isSimpleKey(k)) {
        emitScalar(w, k, indent + BEST_INDENT, true);
        w.indicator(':', false, false, false);
      } else {
        // libyaml's complex key form for multi-line keys and keys over 128 bytes.
        w.indicator('?', true, false, true);
        emitScalar(w, k, indent + BEST_INDENT, false);
        w.writeIndent(indent);
        w.indicator(':', true, false, true);
      }
      emitNode(w, val, indent, true);
    }
    return;
  }
  emitScalar(
    w,
    v,
    parentIndent < 0 ? BEST_INDENT : parentIndent + BEST_INDENT,
    false,
  );
}

/**
 * go-yaml v2's `Marshal` of a value whose numbers are already what go-yaml would hold.
 * @internal
 */
export function emitYaml(v: GoValue): string {
  const w = new Writer();
  emitNode(w, v, -1, false);
  // Document end: go-yaml ends the last line unless a block scalar already did.
  if (!(w.column === 0 && w.out.endsWith('\n'))) w.newline();
  return w.out;
}
