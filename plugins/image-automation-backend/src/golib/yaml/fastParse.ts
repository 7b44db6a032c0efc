/**
 * A fast reader for the plain block YAML that rendered ResourceSet templates almost always
 * are (block mappings and sequences, plain or simply quoted one-line scalars, literal
 * blocks, `{}`/`[]`). Anything outside that subset makes it give up (`undefined`) and the
 * full parser takes over, so it never changes a result; it only makes building thousands
 * of objects several times faster.
 */

import { GoValue, setOwn } from '../reflect';
import { jsonRoundTripNumber } from './numbers';
import { resolvePlain } from './resolve';

class GiveUp extends Error {}

const giveUp = (): never => {
  throw new GiveUp();
};

interface Line {
  indent: number;
  text: string;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  e: '\x1b',
  ' ': ' ',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};

/** Hex digits after `\x`, `\u` and `\U`. */
const HEX_ESCAPE_WIDTHS = new Map([
  ['x', 2],
  ['u', 4],
  ['U', 8],
]);

function doubleQuoted(s: string): string {
  if (s.length < 2 || !s.endsWith('"')) giveUp();
  const body = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') giveUp();
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) giveUp();
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) out += SIMPLE_ESCAPES[e];
    else {
      const width = HEX_ESCAPE_WIDTHS.get(e) ?? 0;
      const hex = body.slice(i + 1, i + 1 + width);
      if (width === 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width)
        giveUp();
      out += String.fromCodePoint(parseInt(hex, 16));
      i += width;
    }
  }
  return out;
}

function singleQuoted(s: string): string {
  if (s.length < 2 || !s.endsWith("'")) giveUp();
  const body = s.slice(1, -1);
  if (body.replace(/''/g, '').includes("'")) giveUp();
  return body.replace(/''/g, "'");
}

/** A one-line scalar: quoted, `{}`/`[]`, or plain (resolved as go-yaml v2 does). */
function scalar(raw: string): GoValue {
  const s = raw.trimEnd();
  if (s === '{}') return {};
  if (s === '[]') return [];
  const c = s[0];
  if (c === '"') return doubleQuoted(s);
  if (c === "'") return singleQuoted(s);
  if (
    '#,[]{}&*!|>%@`'.includes(c) ||
    s.includes(': ') ||
    s.includes(' #') ||
    s.endsWith(':')
  )
    giveUp();
  if ((c === '-' || c === '?' || c === ':') && (s.length === 1 || s[1] === ' '))
    giveUp();
  if (s.includes('\t')) giveUp();
  const r = resolvePlain(s);
  switch (r.tag) {
    case 'null':
      return null;
    case 'bool':
      return r.value;
    case 'int':
      return r.value >= 2n ** 63n
        ? jsonRoundTripNumber(Number(r.value))
        : r.value;
    case 'float':
      return jsonRoundTripNumber(r.value);
    case 'merge':
      return giveUp();
    default:
      return r.value;
  }
}

function key(raw: string): string {
  const c = raw[0];
  if (c === '"') return doubleQuoted(raw);
  if (c === "'") return singleQuoted(raw);
  const v = scalar(raw);
  return typeof v === 'string' ? v : giveUp();
}

/** Splits `key: rest` (or `key:`) at the first `: ` outside quotes; undefined if not a mapping entry. */
function splitEntry(text: string): [string, string] | undefined {
  let i = 0;
  if (text[0] === '"' || text[0] === "'") {
    const q = text[0];
    i = 1;
    while (i < text.length) {
      if (q === '"' && text[i] === '\\') i += 2;
      else if (text[i] === q && q === "'" && text[i + 1] === "'") i += 2;
      else if (text[i] === q) break;
      else i++;
    }
    i++;
    if (text[i] !== ':') return undefined;
  } else {
    i = text.indexOf(':');
    while (i >= 0 && i + 1 < text.length && text[i + 1] !== ' ')
      i = text.indexOf(':', i + 1);
    if (i < 0) return undefined;
  }
  const k = text.slice(0, i);
  if (k === '' || k.endsWith(' ')) return undefined;
  if (i + 1 < text.length && text[i + 1] !== ' ') return undefined;
  return [k, text.slice(i + 2)];
}

class Reader {
  pos = 0;
  constructor(readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.pos];
  }

  /** A node whose lines are indented at least `min` (the parent's content column). */
  block(min: number, parentIndent: number): GoValue {
    const line = this.peek();
    if (!line || line.indent < min) return null;
    if (line.text === '-' || line.text.startsWith('- '))
      return this.sequence(line.indent);
    return this.mapping(line.indent, parentIndent);
  }

  /** The value after `key:` or `- `, whose own block lines start deeper than `indent`. */
  value(
    rest: string,
    indent: number,
    allowIndentlessSequence: boolean,
  ): GoValue {
    if (rest.trim() === '') {
      const next = this.peek();
      if (
        next &&
        allowIndentlessSequence &&
        next.indent === indent &&
        (next.text === '-' || next.text.startsWith('- '))
      ) {
        return this.sequence(indent);
      }
      return next && next.indent > indent
        ? this.block(indent + 1, indent)
        : null;
    }
    if (rest[0] === '|') return this.literal(rest, indent);
    const v = scalar(rest);
    const next = this.peek();
    // A deeper line after a scalar would be a folded continuation: leave it to the full parser.
    if (next && next.indent > indent) giveUp();
    return v;
  }

  literal(header: string, indent: number): string {
    const m = /^\|([-+]?)$/.exec(header.trimEnd());
    if (!m) giveUp();
    const chomp = m![1];
    const body: string[] = [];
    let contentIndent = -1;
    while (this.pos < this.lines.length) {
      const l = this.lines[this.pos];
      if (l.text === '') {
        body.push('');
        this.pos++;
        continue;
      }
      if (contentIndent < 0) {
        if (l.indent <= indent) break;
        contentIndent = l.indent;
      }
      if (l.indent < contentIndent) break;
      body.push(' '.repeat(l.indent - contentIndent) + l.text);
      this.pos++;
    }
    // Trailing blank lines belong to the block only for the keep chomping.
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    if (body.length === 0) giveUp();
    const text = body.join('\n');
    if (chomp === '-') return text;
    if (chomp === '+') return `${text}\n${'\n'.repeat(trailing)}`;
    return `${text}\n`;
  }

  sequence(indent: number): GoValue[] {
    const out: GoValue[] = [];
    for (
      let l = this.peek();
      l && l.indent === indent && (l.text === '-' || l.text.startsWith('- '));
      l = this.peek()
    ) {
      this.pos++;
      const rest = l.text.slice(2);
      if (rest.startsWith('- ') || rest === '-') giveUp();
      const entry =
        rest.startsWith('"') || rest.startsWith("'") || !rest.includes(':')
          ? undefined
          : splitEntry(rest);
      if (entry) {
        // "- key: value": a mapping whose first entry shares the dash line.
        this.lines[--this.pos] = { indent: indent + 2, text: rest };
        out.push(this.mapping(indent + 2, indent));
      } else out.push(this.value(rest, indent, false));
    }
    const next = this.peek();
    if (next && next.indent > indent) giveUp();
    return out;
  }

  mapping(indent: number, parentIndent: number): Record<string, GoValue> {
    void parentIndent;
    const out: Record<string, GoValue> = {};
    for (let l = this.peek(); l && l.indent === indent; l = this.peek()) {
      if (l.text === '-' || l.text.startsWith('- ')) break;
      const entry = splitEntry(l.text);
      if (!entry) giveUp();
      this.pos++;
      const k = key(entry![0]);
      if (Object.hasOwn(out, k)) giveUp();
      setOwn(out, k, this.value(entry![1], indent, true));
    }
    const next = this.peek();
    if (next && next.indent > indent) giveUp();
    return out;
  }
}

/**
 * Reads one YAML document of the simple block subset; `undefined` means "not in the subset,
 * use the full parser".
 * @internal
 */
export function fastParseYaml(text: string): GoValue | undefined {
  if (
    text.includes('\t') ||
    text.includes('\r') ||
    /(^|\n)(---|\.\.\.)/.test(text)
  )
    return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const t = raw.trimStart();
    if (t.startsWith('#')) return undefined;
    // Only truly empty lines are understood (inside literal blocks); whitespace-only lines
    // may carry content spaces there.
    if (t === '' && raw !== '') return undefined;
    lines.push({ indent: raw.length - t.length, text: t });
  }
  while (lines.length > 0 && lines[lines.length - 1].text === '') lines.pop();
  if (lines.length === 0) return undefined;
  // Outside literal blocks an empty line stops every block, so the whole text is not consumed.
  try {
    const reader = new Reader(lines);
    const first = lines[0];
    if (first.indent !== 0) return undefined;
    let value: GoValue;
    if (first.text === '-' || first.text.startsWith('- '))
      value = reader.sequence(0);
    else if (splitEntry(first.text)) value = reader.mapping(0, -1);
    else return undefined;
    if (reader.pos !== lines.length) return undefined;
    return value;
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  }
}
