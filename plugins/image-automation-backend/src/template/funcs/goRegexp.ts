/**
 * Go `regexp` for the template functions (`regexMatch`, `regexFind`, `regexReplaceAll`,
 * `regexSplit`, …): the policy engine's Go-syntax compiler and its linear-time VM
 * (policy/goRegexp.ts, policy/goRegexpVm.ts), Go's `All` matching rules and `Expand`
 * templates. No JavaScript backtracking engine runs a template's pattern, so hostile patterns
 * such as `(a+)+$` take time linear in the input (issue #13).
 */

import { GoFuncError } from '../funcTypes';
import { compileGoRegexp as compilePolicyRegexp, GoRegexp } from '../../policy/goRegexp';
import { matchProgram, Program } from '../../policy/goRegexpVm';

/** A compiled template regular expression. @internal */
export interface TemplateRegexp {
  /** The pattern as written. */
  expr: string;
  program: Program;
  /** Group names by index (0 = whole match). */
  names: Array<string | undefined>;
}

/** One match: the groups' text (undefined when a group took no part), its index and named groups. @internal */
export type TemplateMatch = Array<string | undefined> & {
  index: number;
  groups: Record<string, string | undefined>;
};

/** Compiles an RE2 expression; errors are Go's `regexp.Compile` text. @internal */
export function compileGoRegexp(expr: string): TemplateRegexp {
  const compiled = compilePolicyRegexp(expr);
  if (!compiled.ok) throw new GoFuncError(compiled.message);
  const re: GoRegexp = compiled.regexp;
  const program = (re.regexp as unknown as { program: Program }).program;
  return { expr, program, names: re.names };
}

function toMatch(
  re: TemplateRegexp,
  s: string,
  caps: Int32Array,
): TemplateMatch {
  const groups: Record<string, string | undefined> = Object.create(null);
  const m = [] as unknown as TemplateMatch;
  for (let i = 0; i < caps.length; i += 2) {
    const text = caps[i] >= 0 ? s.slice(caps[i], caps[i + 1]) : undefined;
    m.push(text);
    const name = re.names[i / 2];
    // `Expand` takes the first group of that name that took part in the match.
    if (name !== undefined && groups[name] === undefined && text !== undefined)
      groups[name] = text;
  }
  m.index = caps[0];
  m.groups = groups;
  return m;
}

/** Go's `allMatches` iteration: empty matches abutting the previous match are dropped. @internal */
export function findAll(
  re: TemplateRegexp,
  s: string,
  n: number,
): TemplateMatch[] {
  const out: TemplateMatch[] = [];
  if (n < 0) n = s.length + 1;
  let prevMatchEnd = -1;
  for (let pos = 0; out.length < n && pos <= s.length; ) {
    const caps = matchProgram(re.program, s, pos);
    if (!caps) break;
    let accept = true;
    if (caps[1] === pos) {
      if (caps[0] === prevMatchEnd) accept = false;
      pos +=
        pos < s.length ? (s.codePointAt(pos)! > 0xffff ? 2 : 1) : 1;
    } else {
      pos = caps[1];
    }
    prevMatchEnd = caps[1];
    if (accept) out.push(toMatch(re, s, caps));
  }
  return out;
}

/** Go's `Regexp.Expand` template syntax (`$1`, `${1}`, `$name`, `${name}`, `$$`). @internal */
export function expandTemplate(template: string, m: TemplateMatch): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    if (rest.startsWith('$')) {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let len = 0;
    const braced = /^\{([A-Za-z0-9_]+)\}/.exec(rest);
    if (braced) {
      name = braced[1];
      len = braced[0].length;
    } else {
      const bare = /^[A-Za-z0-9_]+/.exec(rest);
      if (bare) {
        name = bare[0];
        len = bare[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    i += len;
    if (/^\d+$/.test(name)) {
      const idx = Number(name);
      if (idx < m.length) out += m[idx] ?? '';
    } else out += m.groups[name] ?? '';
  }
  return out;
}

/** `Regexp.Split(s, n)`. @internal */
export function goSplit(
  re: TemplateRegexp,
  s: string,
  n: number,
): string[] | null {
  if (n === 0) return null;
  if (re.expr.length > 0 && s.length === 0) return [''];
  const matches = findAll(re, s, n);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    end = m.index;
    if (m.index + m[0]!.length !== 0) out.push(s.slice(beg, end));
    beg = m.index + m[0]!.length;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** `regexp.QuoteMeta`. @internal */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
