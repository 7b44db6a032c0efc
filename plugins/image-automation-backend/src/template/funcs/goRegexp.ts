/**
 * Go `regexp` (RE2 syntax) on top of JavaScript regular expressions: translation of the
 * syntax differences that templates meet in practice, Go's `All` matching rules and
 * `Expand` templates.
 */

import { GoFuncError } from '../funcTypes';

const cache = new Map<string, RegExp>();

/** Compiles an RE2 expression; errors read like Go's `regexp.Compile`. @internal */
export function compileGoRegexp(expr: string): RegExp {
  const hit = cache.get(expr);
  if (hit) return new RegExp(hit.source, hit.flags);
  let src = expr;
  let flags = 'g';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    src = src.slice(lead[0].length);
    for (const f of lead[1]) if (f !== 'U' && !flags.includes(f)) flags += f;
  }
  src = src
    .replace(/\(\?P</g, '(?<')
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\\A/g, '^');
  let re: RegExp;
  try {
    re = new RegExp(src, `${flags}u`);
  } catch {
    try {
      re = new RegExp(src, flags);
    } catch (e) {
      throw new GoFuncError(
        `error parsing regexp: ${goRegexpProblem(
          (e as Error).message,
        )}: \`${expr}\``,
      );
    }
  }
  cache.set(expr, re);
  return new RegExp(re.source, re.flags);
}

/** Go's wording for the syntax errors JavaScript reports. */
function goRegexpProblem(jsMessage: string): string {
  if (/Unterminated group/.test(jsMessage)) return 'missing closing )';
  if (/Unmatched '\)'/.test(jsMessage)) return 'unexpected )';
  if (/Unterminated character class/.test(jsMessage))
    return 'missing closing ]';
  if (/Nothing to repeat/.test(jsMessage))
    return 'missing argument to repetition operator';
  if (/Invalid escape|\\ at end of pattern/.test(jsMessage))
    return 'invalid escape sequence';
  return 'invalid regular expression';
}

/** Go's `FindAllStringSubmatchIndex`-style iteration: empty matches abutting a match are dropped. @internal */
export function findAll(re: RegExp, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  if (n === 0) return out;
  re.lastIndex = 0;
  let prevEnd = -1;
  for (;;) {
    const m = re.exec(s);
    if (!m) break;
    const end = m.index + m[0].length;
    if (m[0].length === 0) {
      re.lastIndex = m.index + (s.codePointAt(m.index)! > 0xffff ? 2 : 1);
      if (m.index === prevEnd) {
        if (m.index >= s.length) break;
        continue;
      }
    }
    out.push(m);
    prevEnd = end;
    if (n > 0 && out.length >= n) break;
    if (m.index >= s.length) break;
  }
  return out;
}

/** Go's `Regexp.Expand` template syntax (`$1`, `${1}`, `$name`, `${name}`, `$$`). @internal */
export function expandTemplate(template: string, m: RegExpExecArray): string {
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
    } else out += m.groups?.[name] ?? '';
  }
  return out;
}

/** `Regexp.Split(s, n)`. @internal */
export function goSplit(re: RegExp, s: string, n: number): string[] | null {
  if (n === 0) return null;
  if (re.source.length > 0 && s.length === 0) return [''];
  const matches = findAll(re, s, n);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    end = m.index;
    if (m.index + m[0].length !== 0) out.push(s.slice(beg, end));
    beg = m.index + m[0].length;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** `regexp.QuoteMeta`. @internal */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
