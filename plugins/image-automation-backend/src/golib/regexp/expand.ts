/**
 * Go `Regexp.Expand` (for `filterTags.extract` and sprig's `regexReplaceAll`): `$1`, `${1}`, `$name`, `${name}` and `$$`.
 * A reference name is the longest run of letters, digits and `_`, so `$1x` names the group
 * "1x" (which does not exist, so it expands to nothing) while `${1}x` is group 1 then "x".
 * A number with a leading zero is a name, not an index: `$01` is the group named "01"
 * (`(?P<01>…)`), never group 1.
 * Unknown, out-of-range or non-participating groups expand to the empty string; a `$` not
 * followed by a valid reference is kept as is.
 */

import { GoRegexp } from './goRegexp';

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

function extractReference(
  template: string,
): { name: string; num: number; rest: string } | undefined {
  let str = template;
  const brace = str.startsWith('{');
  if (brace) str = str.slice(1);
  let i = 0;
  while (i < str.length) {
    const ch = String.fromCodePoint(str.codePointAt(i)!);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === 0) return undefined;
  const name = str.slice(0, i);
  if (brace) {
    if (str[i] !== '}') return undefined;
    i++;
  }
  let num = /^[0-9]+$/.test(name) && name.length <= 9 ? Number(name) : -1;
  if (name.length > 1 && name[0] === '0') num = -1;
  return { name, num, rest: str.slice(i) };
}

/**
 * Expands `template` with the sub-matches of `match` (an `exec` result of `re`, or a
 * `GoMatch` from `findAllSubmatch`): index `i` holds group `i`'s text, `undefined` when it took no part.
 * @internal
 */
export function expandGoTemplate(
  re: GoRegexp,
  template: string,
  match: ArrayLike<string | undefined>,
): string {
  let out = '';
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf('$');
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractReference(rest);
    if (!ref) {
      out += '$';
      continue;
    }
    rest = ref.rest;
    if (ref.num >= 0) {
      if (ref.num <= re.captureCount) out += match[ref.num] ?? '';
    } else {
      for (let i = 1; i <= re.captureCount; i++) {
        if (re.names[i] === ref.name && match[i] !== undefined) {
          out += match[i];
          break;
        }
      }
    }
  }
  return out + rest;
}
