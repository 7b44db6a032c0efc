/**
 * Go's `Regexp` methods beyond a single match: the `All` iteration (`FindAllStringSubmatch`),
 * `Split` and `regexp.QuoteMeta`, on a {@link GoRegexp} compiled by `compileGoRegexp`.
 */

import { GoRegexp } from './goRegexp';
import { GoProgramRegExp, matchProgram, Program } from './goRegexpVm';

/**
 * One match: the groups' text (`undefined` when a group took no part) and where it starts,
 * like a `RegExpExecArray`.
 * @internal
 */
export type GoMatch = Array<string | undefined> & { index: number };

function programOf(re: GoRegexp): Program {
  return (re.regexp as GoProgramRegExp).program!;
}

function toMatch(s: string, caps: Int32Array): GoMatch {
  const m = [] as unknown as GoMatch;
  for (let i = 0; i < caps.length; i += 2) {
    m.push(caps[i] >= 0 ? s.slice(caps[i], caps[i + 1]) : undefined);
  }
  m.index = caps[0];
  return m;
}

/**
 * Go's `allMatches` iteration (`FindAllStringSubmatch(s, n)`): at most `n` matches (all when
 * `n < 0`); an empty match abutting the previous match is dropped.
 * @internal
 */
export function findAllSubmatch(re: GoRegexp, s: string, n: number): GoMatch[] {
  const program = programOf(re);
  const out: GoMatch[] = [];
  const most = n < 0 ? s.length + 1 : n;
  let prevMatchEnd = -1;
  for (let pos = 0; out.length < most && pos <= s.length; ) {
    const caps = matchProgram(program, s, pos);
    if (!caps) break;
    let accept = true;
    if (caps[1] === pos) {
      if (caps[0] === prevMatchEnd) accept = false;
      // Advance one rune (two UTF-16 units for a code point above U+FFFF), or past the end.
      pos += pos < s.length && s.codePointAt(pos)! > 0xffff ? 2 : 1;
    } else {
      pos = caps[1];
    }
    prevMatchEnd = caps[1];
    if (accept) out.push(toMatch(s, caps));
  }
  return out;
}

/** `Regexp.Split(s, n)`; `null` (Go's nil slice) when `n` is 0. @internal */
export function split(re: GoRegexp, s: string, n: number): string[] | null {
  if (n === 0) return null;
  if (re.source.length > 0 && s.length === 0) return [''];
  const matches = findAllSubmatch(re, s, n);
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
