/**
 * Go `regexp.Compile` (RE2 syntax with Perl flags) for JavaScript.
 *
 * The pattern is parsed the way Go's `regexp/syntax` parses it — same accepted syntax, same
 * error codes and offending text — into a tree that is both
 * - compiled to a Pike VM (goRegexpVm.ts), which does the matching: linear time like Go's
 *   engine (no catastrophic backtracking on hostile patterns) and Go's leftmost-first
 *   sub-matches, including captures inside repetitions; and
 * - re-emitted as equivalent JavaScript syntax (the `RegExp`'s `source`, with the `u` flag):
 *   `.`, `^`, `$`, `\A`, `\z`, `\s`, `\w`, `\d`, `\b` and the `m`/`s`/`U` flags keep Go's
 *   meaning (ASCII classes, `\n` as the only line end, `$` never before a final newline);
 *   case folding (`(?i)`, also scoped) is expanded into explicit sets, because Node 22 has
 *   no scoped modifiers; captures are unnamed and their names kept aside, because Go
 *   allows duplicate names.
 *
 * Look-around, back-references, atomic groups, possessive quantifiers, `\Z` and the like are
 * rejected with Go's message, e.g.
 * ``error parsing regexp: invalid or unsupported Perl syntax: `(?=` ``.
 *
 * Known differences: Unicode tables (`\p{…}`) and case-folding orbits come from the
 * JavaScript engine's Unicode version, not Go's; Go's "expression too large" limits are
 * only reproduced for repeat counts and nesting. Registry tags are ASCII, so neither shows
 * in tag filtering.
 */

import { goQuote } from '../strconv';
import { compileProgram, GoProgramRegExp } from './goRegexpVm';
import type { AssertKind, Node, Ranges } from './goRegexpSyntax';

/** A compiled Go regular expression. @internal */
export interface GoRegexp {
  /** The Go pattern as written. */
  source: string;
  /**
   * The expression as a `RegExp` (unanchored, no global state). Its source is the equivalent
   * JavaScript syntax; `test`/`exec` run Go's semantics in linear time (see goRegexpVm.ts).
   */
  regexp: RegExp;
  /** Number of capturing groups. */
  captureCount: number;
  /** Group names by index (index 0 is the whole match); `undefined` for unnamed groups. */
  names: Array<string | undefined>;
}

/**
 * The result of compiling: the expression, or Go's error text. `limit` is set when the pattern
 * was refused for its size (see {@link MAX_PATTERN_LENGTH}, {@link MAX_PROGRAM_SIZE}) rather
 * than for its syntax.
 * @internal
 */
export type GoRegexpCompilation =
  | { ok: true; regexp: GoRegexp }
  | { ok: false; message: string; limit?: true };

/**
 * The longest pattern compiled (in characters). Go has no such limit; here patterns come from
 * untrusted manifests (issue #13), and compiling is synchronous, so a size bound is checked
 * before any parsing. Tag filters and template regexes are a few dozen characters in practice.
 * @internal
 */
export const MAX_PATTERN_LENGTH = 4096;

/**
 * The most VM instructions a pattern may compile to (repetitions are expanded, so
 * `[a-z]{1000}` is 1000 instructions). Go's own bound is far larger (~3.3M); this one keeps a
 * hostile pattern's compile time and memory to milliseconds and megabytes.
 * @internal
 */
export const MAX_PROGRAM_SIZE = 50_000;

const ASSERT_JS: Record<AssertKind, string> = {
  bot: '^',
  eot: '$',
  bol: '(?<![^\\n])',
  eol: '(?![^\\n])',
  wb: '\\b',
  nwb: '\\B',
};

const MAX_RUNE = 0x10ffff;
const MAX_HEIGHT = 1000;
const FOLD = 1;
const ONE_LINE = 2;
const DOT_NL = 4;
const NON_GREEDY = 8;

class GoSyntaxError extends Error {
  constructor(code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

// ---- character sets ----------------------------------------------------------------------

function normalize(ranges: Ranges): Ranges {
  const sorted = ranges.filter(r => r[0] <= r[1]).sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function negate(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const MIN_FOLD = 0x41;
const MAX_FOLD = 0x1e943;
let foldOrbits: Map<number, number[]> | undefined;

/** Simple case-folding orbits (`k`, `K`, U+212A KELVIN SIGN …), built once on first use. */
function orbitOf(cp: number): number[] | undefined {
  if (!foldOrbits) {
    const byKey = new Map<string, number[]>();
    for (let c = MIN_FOLD; c <= MAX_FOLD; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      const up = s.toUpperCase();
      const viaUpper = [...up].length === 1 ? up.toLowerCase() : undefined;
      const lower = s.toLowerCase();
      let key = s;
      if (viaUpper && [...viaUpper].length === 1) key = viaUpper;
      else if ([...lower].length === 1) key = lower;
      if (key === s && up === s && lower === s) continue;
      const list = byKey.get(key) ?? [];
      list.push(c);
      byKey.set(key, list);
    }
    foldOrbits = new Map();
    for (const [key, members] of byKey) {
      const all = [...new Set([...members, key.codePointAt(0)!])];
      if (all.length > 1) for (const m of all) foldOrbits.set(m, all);
    }
  }
  return foldOrbits.get(cp);
}

function foldRanges(ranges: Ranges): Ranges {
  const out: Ranges = [...ranges];
  for (const [lo, hi] of ranges) {
    for (let c = Math.max(lo, MIN_FOLD); c <= Math.min(hi, MAX_FOLD); c++) {
      const orbit = orbitOf(c);
      if (orbit) for (const m of orbit) out.push([m, m]);
    }
  }
  return normalize(out);
}

const DIGIT: Ranges = [[0x30, 0x39]];
const SPACE: Ranges = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];
const WORD: Ranges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];

const PERL_GROUPS: Record<string, { sign: number; ranges: Ranges }> = {
  '\\d': { sign: 1, ranges: DIGIT },
  '\\D': { sign: -1, ranges: DIGIT },
  '\\s': { sign: 1, ranges: SPACE },
  '\\S': { sign: -1, ranges: SPACE },
  '\\w': { sign: 1, ranges: WORD },
  '\\W': { sign: -1, ranges: WORD },
};

const POSIX: Record<string, Ranges> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

// Go's general categories (unicode.Categories); scripts are checked against the engine.
const CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

const unicodeCache = new Map<string, Ranges | null>();
let allCodePoints: string | undefined;

/** Every code point except the surrogates, in order (built once, about 4 MB). */
function everyCodePoint(): string {
  if (!allCodePoints) {
    const parts: string[] = [];
    for (let start = 0; start <= MAX_RUNE; start += 0x1000) {
      const chunk: number[] = [];
      for (let c = start; c < start + 0x1000 && c <= MAX_RUNE; c++) {
        if (c < 0xd800 || c > 0xdfff) chunk.push(c);
      }
      parts.push(String.fromCodePoint(...chunk));
    }
    allCodePoints = parts.join('');
  }
  return allCodePoints;
}

/** The code point ranges of a Unicode property, read from the JavaScript engine. */
function unicodeRanges(name: string): Ranges | undefined {
  if (unicodeCache.has(name)) return unicodeCache.get(name) ?? undefined;
  let property: string | undefined;
  if (name === 'Any') property = 'Any';
  else if (name === 'Assigned') property = 'Assigned';
  else if (name === 'ASCII' || name === 'Ascii') property = 'ASCII';
  else if (name === 'LC' || name === 'Lc') property = 'LC';
  else if (CATEGORIES.has(name)) property = `gc=${name}`;
  else if (/^[A-Z][A-Za-z_]*$/.test(name)) property = `sc=${name}`;
  let ranges: Ranges | null = null;
  if (property === 'Any') ranges = [[0, MAX_RUNE]];
  else if (property) {
    try {
      // Let the engine find the runs of the property in a string of every code point.
      const re = new RegExp(`\\p{${property}}+`, 'gu');
      ranges = [];
      const all = everyCodePoint();
      for (const m of all.matchAll(re)) {
        const end = m.index + m[0].length;
        const lastUnit = all.charCodeAt(end - 1);
        const isLowSurrogate = lastUnit >= 0xdc00 && lastUnit <= 0xdfff;
        ranges.push([
          m[0].codePointAt(0)!,
          isLowSurrogate ? all.codePointAt(end - 2)! : lastUnit,
        ]);
      }
    } catch {
      ranges = null;
    }
  }
  unicodeCache.set(name, ranges);
  return ranges ?? undefined;
}

// ---- parser --------------------------------------------------------------------------------

const isAlnum = (c: string) => /^[0-9A-Za-z]$/.test(c);
const isOctal = (c: string | undefined) =>
  c !== undefined && c >= '0' && c <= '7';
const hexValue = (c: string | undefined) =>
  c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? parseInt(c, 16) : -1;

interface Frame {
  flags: number;
  capture: boolean;
  /** The capture's group number, when `capture`. */
  index: number;
  alternatives: Node[][];
  items: Node[];
}

class Parser {
  private pos = 0;
  private captures = 0;
  readonly names: Array<string | undefined> = [undefined];
  private flags = ONE_LINE;
  /** The flags to restore when the group just opened by `parsePerlFlags` closes. */
  private savedFlags = ONE_LINE;
  /** The groups enclosing the one being parsed. */
  private stack: Frame[] = [];
  /** The group being parsed (at the top level, the whole expression). */
  private frame: Frame = {
    flags: ONE_LINE,
    capture: false,
    index: 0,
    alternatives: [],
    items: [],
  };

  constructor(private readonly src: string) {}

  private get rest(): string {
    return this.src.slice(this.pos);
  }

  /** Reads one code point (not one UTF-16 unit). */
  private nextRune(at = this.pos): { cp: number; len: number } {
    const cp = this.src.codePointAt(at)!;
    return { cp, len: cp > 0xffff ? 2 : 1 };
  }

  parse(): { node: Node; captures: number } {
    this.stack = [];
    this.frame = {
      flags: this.flags,
      capture: false,
      index: 0,
      alternatives: [],
      items: [],
    };
    let lastRepeatStart = -1;
    while (this.pos < this.src.length)
      lastRepeatStart = this.parseItem(lastRepeatStart);
    if (this.stack.length > 0)
      throw new GoSyntaxError('missing closing )', this.src);
    return { node: this.finish(this.frame), captures: this.captures };
  }

  /**
   * Parses the item at `pos` into the open group. Returns where it started when it was a
   * repetition operator (the next item may not be one: `a**`), else -1.
   */
  private parseItem(lastRepeatStart: number): number {
    const start = this.pos;
    const c = this.src[this.pos];
    switch (c) {
      case '(':
        this.openGroup();
        return -1;
      case '|':
        this.frame.alternatives.push(this.frame.items);
        this.frame.items = [];
        this.pos++;
        return -1;
      case ')':
        this.closeGroup();
        return -1;
      case '^':
      case '$':
      case '.':
        this.frame.items.push(this.anchorOrDot(c));
        this.pos++;
        return -1;
      case '[':
        this.frame.items.push({ t: 'class', ranges: this.parseClass() });
        return -1;
      case '*':
      case '+':
      case '?': {
        this.pos++;
        // '?' is zero or one; '*' zero or more; '+' one or more (-1: unbounded).
        let min = 0;
        let max = 1;
        if (c === '*') max = -1;
        else if (c === '+') {
          min = 1;
          max = -1;
        }
        this.repeat(this.frame, min, max, start, lastRepeatStart, false);
        return start;
      }
      case '{':
        return this.parseCountedRepeat(start, lastRepeatStart);
      case '\\':
        this.parseBackslash(this.frame);
        return -1;
      default: {
        const { cp, len } = this.nextRune();
        this.frame.items.push(this.literal(cp));
        this.pos += len;
        return -1;
      }
    }
  }

  /** `(`, `(?:`, `(?P<name>`, `(?flags:` open a group; `(?flags)` only changes the flags. */
  private openGroup() {
    if (this.src[this.pos + 1] === '?') {
      const opened = this.parsePerlFlags();
      if (opened !== undefined) {
        this.stack.push(this.frame);
        // On `)` the flags in effect before the group's own flag changes come back.
        this.frame = {
          flags: this.savedFlags,
          capture: opened,
          index: this.captures,
          alternatives: [],
          items: [],
        };
        this.checkDepth(this.stack, this.frame);
      }
      return;
    }
    this.captures++;
    this.names.push(undefined);
    this.stack.push(this.frame);
    this.frame = {
      flags: this.flags,
      capture: true,
      index: this.captures,
      alternatives: [],
      items: [],
    };
    this.checkDepth(this.stack, this.frame);
    this.pos++;
  }

  private closeGroup() {
    const frame = this.frame;
    const parent = this.stack.pop();
    if (!parent) throw new GoSyntaxError('unexpected )', this.src);
    const body = this.finish(frame);
    this.flags = frame.flags;
    if (frame.capture) {
      parent.items.push({ t: 'cap', index: frame.index, sub: body });
    } else if (body.t === 'concat' && body.subs.length === 1) {
      // `(?:x)` is just x: keeps deeply nested groups from deepening the tree.
      parent.items.push(body.subs[0]);
    } else parent.items.push({ t: 'group', sub: body });
    this.frame = parent;
    this.pos++;
  }

  /** `^`, `$` (text or line, per `(?m)`) and `.` (with or without `\n`, per `(?s)`). */
  private anchorOrDot(c: '^' | '$' | '.'): Node {
    const flags = this.flags;
    if (c === '^')
      return { t: 'assert', kind: flags & ONE_LINE ? 'bot' : 'bol' };
    if (c === '$')
      return { t: 'assert', kind: flags & ONE_LINE ? 'eot' : 'eol' };
    return {
      t: 'class',
      ranges: flags & DOT_NL ? [[0, MAX_RUNE]] : negate([[0x0a, 0x0a]]),
    };
  }

  /** `{n}`, `{n,}`, `{n,m}` after an item, or a literal `{`; returns as `parseItem`. */
  private parseCountedRepeat(start: number, lastRepeatStart: number): number {
    const counted = this.parseRepeatCount();
    if (!counted) {
      this.frame.items.push(this.literal(0x7b));
      this.pos++;
      return -1;
    }
    const [min, max, end] = counted;
    const text = this.src.slice(start, end);
    if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
      throw new GoSyntaxError('invalid repeat count', text);
    }
    this.pos = end;
    this.repeat(this.frame, min, max, start, lastRepeatStart, true);
    return start;
  }

  /**
   * Go refuses parse trees higher than 1000 (`expression nests too deeply`). Nested captures
   * are the way to get there (non-capturing groups add no tree node in Go): a capture at
   * depth 1000 makes the tree 1001 high.
   */
  private checkDepth(stack: Frame[], frame: Frame) {
    let captures = frame.capture ? 1 : 0;
    for (const f of stack) if (f.capture) captures++;
    if (captures >= MAX_HEIGHT) {
      throw new GoSyntaxError('expression nests too deeply', this.src);
    }
  }

  private finish(frame: Frame): Node {
    const alternatives = [...frame.alternatives, frame.items];
    const concat = (items: Node[]): Node => ({ t: 'concat', subs: items });
    return alternatives.length === 1
      ? concat(alternatives[0])
      : { t: 'alt', subs: alternatives.map(concat) };
  }

  private literal(cp: number): Node {
    const ranges: Ranges = [[cp, cp]];
    return {
      t: 'class',
      ranges: this.flags & FOLD ? foldRanges(ranges) : ranges,
    };
  }

  private repeat(
    frame: Frame,
    min: number,
    max: number,
    start: number,
    lastRepeatStart: number,
    counted: boolean,
  ) {
    let flags = this.flags;
    if (this.src[this.pos] === '?') {
      this.pos++;
      flags ^= NON_GREEDY;
    }
    if (lastRepeatStart >= 0) {
      throw new GoSyntaxError(
        'invalid nested repetition operator',
        this.src.slice(lastRepeatStart, this.pos),
      );
    }
    const sub = frame.items.pop();
    if (!sub) {
      throw new GoSyntaxError(
        'missing argument to repetition operator',
        this.src.slice(start, this.pos),
      );
    }
    const node: Node = {
      t: 'rep',
      min,
      max,
      greedy: !(flags & NON_GREEDY),
      sub,
      counted,
    };
    if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, 1000)) {
      throw new GoSyntaxError(
        'invalid repeat count',
        this.src.slice(start, this.pos),
      );
    }
    frame.items.push(node);
  }

  /** `{n}`, `{n,}`, `{n,m}`; undefined when `{` is a literal. Values ≥ 1e8 become -1. */
  private parseRepeatCount(): [number, number, number] | undefined {
    let i = this.pos + 1;
    const int = (): number | undefined => {
      const s = this.src;
      if (!(s[i] >= '0' && s[i] <= '9')) return undefined;
      if (s[i] === '0' && s[i + 1] >= '0' && s[i + 1] <= '9') return undefined;
      let n = 0;
      while (s[i] >= '0' && s[i] <= '9') {
        if (n >= 1e8) n = -1;
        else if (n >= 0) n = n * 10 + Number(s[i]);
        i++;
      }
      return n;
    };
    let min = int();
    if (min === undefined || i >= this.src.length) return undefined;
    let max = min;
    if (this.src[i] === ',') {
      i++;
      if (i >= this.src.length) return undefined;
      if (this.src[i] === '}') max = -1;
      else {
        const m = int();
        if (m === undefined) return undefined;
        max = m;
        if (max < 0) min = -1;
      }
    }
    if (this.src[i] !== '}') return undefined;
    return [min, max, i + 1];
  }

  /**
   * `(?flags)`, `(?flags:`, `(?P<name>`, `(?<name>`. Returns whether a capture was opened,
   * `false` for a non-capturing group, `undefined` when only flags changed.
   */
  private parsePerlFlags(): boolean | undefined {
    const t = this.rest;
    const startsWithP = t.length > 4 && t[2] === 'P' && t[3] === '<';
    const startsWithName = t.length > 3 && t[2] === '<';
    if (startsWithP || startsWithName) {
      const end = t.indexOf('>');
      if (end < 0) throw new GoSyntaxError('invalid named capture', t);
      const name = t.slice(startsWithP ? 4 : 3, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) {
        throw new GoSyntaxError('invalid named capture', t.slice(0, end + 1));
      }
      this.captures++;
      this.names.push(name);
      this.savedFlags = this.flags;
      this.pos += end + 1;
      return true;
    }
    let flags = this.flags;
    let negated = false;
    let sawFlag = false;
    let i = 2;
    while (i < t.length) {
      const c = String.fromCodePoint(t.codePointAt(i)!);
      i += c.length;
      switch (c) {
        case 'i':
          flags = negated ? flags & ~FOLD : flags | FOLD;
          sawFlag = true;
          continue;
        case 'm':
          flags = negated ? flags | ONE_LINE : flags & ~ONE_LINE;
          sawFlag = true;
          continue;
        case 's':
          flags = negated ? flags & ~DOT_NL : flags | DOT_NL;
          sawFlag = true;
          continue;
        case 'U':
          flags = negated ? flags & ~NON_GREEDY : flags | NON_GREEDY;
          sawFlag = true;
          continue;
        case '-':
          if (negated) break;
          negated = true;
          sawFlag = false;
          continue;
        case ':':
        case ')':
          if (negated && !sawFlag) break;
          this.pos += i;
          if (c === ':') {
            this.savedFlags = this.flags;
            this.flags = flags;
            return false;
          }
          this.flags = flags;
          return undefined;
        default:
          break;
      }
      break;
    }
    throw new GoSyntaxError(
      'invalid or unsupported Perl syntax',
      t.slice(0, i),
    );
  }

  private parseBackslash(frame: Frame) {
    const t = this.rest;
    const next = t[1];
    const assertions: Record<string, AssertKind> = {
      A: 'bot',
      z: 'eot',
      b: 'wb',
      B: 'nwb',
    };
    if (next !== undefined && assertions[next]) {
      frame.items.push({ t: 'assert', kind: assertions[next] });
      this.pos += 2;
      return;
    }
    if (next === 'C') throw new GoSyntaxError('invalid escape sequence', '\\C');
    if (next === 'Q') {
      const end = t.indexOf('\\E', 2);
      const literal = end < 0 ? t.slice(2) : t.slice(2, end);
      for (const ch of literal)
        frame.items.push(this.literal(ch.codePointAt(0)!));
      this.pos += end < 0 ? t.length : end + 2;
      return;
    }
    const unicode = this.parseUnicodeClass(t);
    if (unicode) {
      frame.items.push({ t: 'class', ranges: unicode.ranges });
      this.pos += unicode.len;
      return;
    }
    const perl = PERL_GROUPS[t.slice(0, 2)];
    if (perl) {
      frame.items.push({
        t: 'class',
        ranges: this.group(perl.sign, perl.ranges),
      });
      this.pos += 2;
      return;
    }
    const { cp, len } = this.parseEscape(t);
    frame.items.push(this.literal(cp));
    this.pos += len;
  }

  private group(sign: number, ranges: Ranges): Ranges {
    const base = this.flags & FOLD ? foldRanges(ranges) : ranges;
    return sign < 0 ? negate(base) : base;
  }

  /** `\pN`, `\p{Name}`, `\P{^Name}` … */
  private parseUnicodeClass(
    t: string,
  ): { ranges: Ranges; len: number } | undefined {
    if (t[0] !== '\\' || (t[1] !== 'p' && t[1] !== 'P')) return undefined;
    let sign = t[1] === 'P' ? -1 : 1;
    let seq: string;
    let name: string;
    if (t.length === 2) {
      seq = t;
      name = '';
    } else if (t[2] !== '{') {
      const ch = String.fromCodePoint(t.codePointAt(2)!);
      seq = t.slice(0, 2 + ch.length);
      name = ch;
    } else {
      const end = t.indexOf('}');
      if (end < 0) throw new GoSyntaxError('invalid character class range', t);
      seq = t.slice(0, end + 1);
      name = t.slice(3, end);
    }
    if (name.startsWith('^')) {
      sign = -sign;
      name = name.slice(1);
    }
    let ranges = unicodeRanges(name);
    if (!ranges) throw new GoSyntaxError('invalid character class range', seq);
    if (this.flags & FOLD) ranges = foldRanges(ranges);
    return { ranges: sign < 0 ? negate(ranges) : ranges, len: seq.length };
  }

  /** A single escaped character; Go rejects back-references (`\1`) and unknown letters. */
  private parseEscape(t: string): { cp: number; len: number } {
    if (t.length < 2)
      throw new GoSyntaxError('trailing backslash at end of expression', '');
    const c = String.fromCodePoint(t.codePointAt(1)!);
    let i = 1 + c.length;
    const fail = () =>
      new GoSyntaxError('invalid escape sequence', t.slice(0, i));
    if (c >= '1' && c <= '7' && !isOctal(t[i])) throw fail();
    if (c >= '0' && c <= '7') {
      let r = Number(c);
      for (let k = 1; k < 3 && isOctal(t[i]); k++) r = r * 8 + Number(t[i++]);
      return { cp: r, len: i };
    }
    if (c === 'x') {
      if (i >= t.length) throw fail();
      const d = String.fromCodePoint(t.codePointAt(i)!);
      i += d.length;
      if (d === '{') {
        let r = 0;
        let n = 0;
        for (;;) {
          if (i >= t.length) throw fail();
          const h = String.fromCodePoint(t.codePointAt(i)!);
          i += h.length;
          if (h === '}') break;
          const v = hexValue(h);
          if (v < 0) throw fail();
          r = r * 16 + v;
          if (r > MAX_RUNE) throw fail();
          n++;
        }
        if (n === 0) throw fail();
        return { cp: r, len: i };
      }
      if (i >= t.length) {
        throw fail();
      }
      const e = String.fromCodePoint(t.codePointAt(i)!);
      i += e.length;
      const x = hexValue(d);
      const y = hexValue(e);
      if (x < 0 || y < 0) throw fail();
      return { cp: x * 16 + y, len: i };
    }
    const controls: Record<string, number> = {
      a: 7,
      f: 12,
      n: 10,
      r: 13,
      t: 9,
      v: 11,
    };
    if (controls[c] !== undefined) return { cp: controls[c], len: i };
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c))
      return { cp: c.codePointAt(0)!, len: i };
    throw fail();
  }

  private parseClass(): Ranges {
    const whole = this.rest;
    let i = 1;
    let sign = 1;
    if (whole[i] === '^') {
      sign = -1;
      i++;
    }
    let ranges: Ranges = [];
    let first = true;
    const fold = (r: Ranges) => (this.flags & FOLD ? foldRanges(r) : r);
    while (i >= whole.length || whole[i] !== ']' || first) {
      first = false;
      const t = whole.slice(i);
      if (t.length > 2 && t[0] === '[' && t[1] === ':') {
        const end = t.indexOf(':]', 2);
        if (end >= 0) {
          const name = t.slice(0, end + 2);
          const negated = name[2] === '^';
          const posix = POSIX[name.slice(negated ? 3 : 2, -2)];
          if (!posix)
            throw new GoSyntaxError('invalid character class range', name);
          ranges = ranges.concat(negated ? negate(fold(posix)) : fold(posix));
          i += name.length;
          continue;
        }
      }
      const unicode = this.parseUnicodeClass(t);
      if (unicode) {
        ranges = ranges.concat(unicode.ranges);
        i += unicode.len;
        continue;
      }
      const perl = PERL_GROUPS[t.slice(0, 2)];
      if (perl) {
        ranges = ranges.concat(this.group(perl.sign, perl.ranges));
        i += 2;
        continue;
      }
      const classChar = (at: number): { cp: number; len: number } => {
        const s = whole.slice(at);
        if (s === '') throw new GoSyntaxError('missing closing ]', whole);
        if (s[0] === '\\') return this.parseEscape(s);
        const cp = s.codePointAt(0)!;
        return { cp, len: cp > 0xffff ? 2 : 1 };
      };
      const rangeStart = i;
      const lo = classChar(i);
      i += lo.len;
      let hi = lo;
      if (whole.length - i >= 2 && whole[i] === '-' && whole[i + 1] !== ']') {
        i++;
        hi = classChar(i);
        i += hi.len;
        if (hi.cp < lo.cp) {
          throw new GoSyntaxError(
            'invalid character class range',
            whole.slice(rangeStart, i),
          );
        }
      }
      ranges = ranges.concat(fold([[lo.cp, hi.cp]]));
    }
    this.pos += i + 1;
    const set = normalize(ranges);
    return sign < 0 ? negate(set) : set;
  }
}

function repeatIsValid(node: Node, n: number): boolean {
  let limit = n;
  if (node.t === 'rep' && node.counted) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > limit) return false;
    if (m > 0) limit = Math.floor(limit / m);
  }
  switch (node.t) {
    case 'rep':
    case 'cap':
    case 'group':
      return repeatIsValid(node.sub, limit);
    case 'concat':
    case 'alt':
      return node.subs.every(s => repeatIsValid(s, limit));
    default:
      return true;
  }
}

// ---- emitter -------------------------------------------------------------------------------

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function emitClass(ranges: Ranges): string {
  if (ranges.length === 1 && ranges[0][0] === ranges[0][1]) {
    const cp = ranges[0][0];
    return /^[0-9A-Za-z_]$/.test(String.fromCodePoint(cp))
      ? String.fromCodePoint(cp)
      : hex(cp);
  }
  if (ranges.length === 1 && ranges[0][0] === 0 && ranges[0][1] === MAX_RUNE)
    return '[^]';
  const body = ranges
    .map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`))
    .join('');
  return `[${body}]`;
}

function emit(node: Node): string {
  switch (node.t) {
    case 'class':
      return emitClass(node.ranges);
    case 'assert':
      return ASSERT_JS[node.kind];
    case 'cap':
      return `(${emit(node.sub)})`;
    case 'group':
      return `(?:${emit(node.sub)})`;
    case 'concat':
      return node.subs.map(emit).join('');
    case 'alt':
      return node.subs.map(emit).join('|');
    case 'rep': {
      const sub = emit(node.sub);
      const atom =
        node.sub.t === 'class' || node.sub.t === 'cap' || node.sub.t === 'group'
          ? sub
          : `(?:${sub})`;
      return `${atom}${repeatOperator(node.min, node.max)}${
        node.greedy ? '' : '?'
      }`;
    }
    default:
      return '';
  }
}

/** The shortest operator for a repeat of min to max (-1: unbounded) times, as Go's syntax writes it. */
function repeatOperator(min: number, max: number): string {
  if (min === 0 && max === -1) return '*';
  if (min === 1 && max === -1) return '+';
  if (min === 0 && max === 1) return '?';
  if (max === -1) return `{${min},}`;
  if (min === max) return `{${min}}`;
  return `{${min},${max}}`;
}

const compiled = new Map<string, GoRegexpCompilation>();

/** The compiled program's instruction count (as compileProgram builds it), saturating above `cap`. */
function programSize(node: Node, cap: number): number {
  const sat = (n: number) => (n > cap ? cap + 1 : n);
  switch (node.t) {
    case 'class':
    case 'assert':
      return 1;
    case 'cap':
      return sat(2 + programSize(node.sub, cap));
    case 'group':
      return programSize(node.sub, cap);
    case 'concat':
    case 'alt': {
      let n = node.t === 'alt' ? node.subs.length - 1 : 0;
      for (const sub of node.subs) {
        n = sat(n + programSize(sub, cap));
        if (n > cap) return n;
      }
      return n;
    }
    default: {
      const sub = programSize(node.sub, cap);
      const copies =
        node.max === -1 ? Math.max(1, node.min) : Math.max(1, node.max);
      return sat(copies * (sub + 1) + 1);
    }
  }
}

/** Refuses a pattern longer than {@link MAX_PATTERN_LENGTH}; the message does not repeat it. @internal */
export function patternLengthProblem(pattern: string): string | undefined {
  return pattern.length > MAX_PATTERN_LENGTH
    ? `error parsing regexp: expression too long: ${pattern.length} characters, the limit is ${MAX_PATTERN_LENGTH}`
    : undefined;
}

/**
 * Compiles a Go regular expression, or returns Go's error text
 * (`error parsing regexp: <what>: \`<where>\``).
 * @internal
 */
export function compileGoRegexp(pattern: string): GoRegexpCompilation {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  const tooLong = patternLengthProblem(pattern);
  if (tooLong) return { ok: false, message: tooLong, limit: true };
  let result: GoRegexpCompilation;
  try {
    const parser = new Parser(pattern);
    const { node, captures } = parser.parse();
    if (programSize(node, MAX_PROGRAM_SIZE) > MAX_PROGRAM_SIZE) {
      return {
        ok: false,
        message: `error parsing regexp: expression too large: it would compile to more than ${MAX_PROGRAM_SIZE} instructions`,
        limit: true,
      };
    }
    result = {
      ok: true,
      regexp: {
        source: pattern,
        regexp: GoProgramRegExp.create(
          emit(node),
          compileProgram(node, captures),
        ),
        captureCount: captures,
        names: parser.names,
      },
    };
  } catch (error) {
    if (!(error instanceof GoSyntaxError)) throw error;
    result = { ok: false, message: error.message };
  }
  if (compiled.size > 1000) compiled.clear();
  compiled.set(pattern, result);
  return result;
}

/** Go's `strconv.CanBackquote`: no control character but tab, no backquote, no DEL or BOM. */
function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 0x09) || c === 0x60 || c === 0x7f || c === 0xfeff)
      return false;
    if (c >= 0xd800 && c <= 0xdfff) return false; // a lone surrogate is invalid UTF-8 in Go
  }
  return true;
}

/**
 * The value `regexp.MustCompile(pattern)` panics with when compiling failed with `error`:
 * ``regexp: Compile(`a(`): error parsing regexp: missing closing ): `a(` `` (the pattern in
 * backquotes when Go can, else `strconv.Quote`d).
 * @internal
 */
export function mustCompilePanicMessage(
  pattern: string,
  error: string,
): string {
  const quoted = canBackquote(pattern) ? `\`${pattern}\`` : goQuote(pattern);
  return `regexp: Compile(${quoted}): ${error}`;
}
