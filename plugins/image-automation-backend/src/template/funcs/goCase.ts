/**
 * Go's one-rune case mappings (`unicode.ToUpper`, `ToLower`, `ToTitle`), which `strings.ToUpper`
 * and friends apply rune by rune. JavaScript's mappings are Unicode's full ones, context-free
 * only per single character: where they give several runes (`ß` → `SS`, `ﬁ` → `FI`,
 * `İ` → `i̇`), Go has the simple mapping, which is the rune itself except for the few below.
 */

const cp = (ch: string) => ch.codePointAt(0)!;

/** Greek letters with ypogegrammeni: their simple upper/title case is the prosgegrammeni form. */
function greekIotaUpper(c: number): string | undefined {
  if (
    (c >= 0x1f80 && c <= 0x1f87) ||
    (c >= 0x1f90 && c <= 0x1f97) ||
    (c >= 0x1fa0 && c <= 0x1fa7)
  )
    return String.fromCodePoint(c + 8);
  if (c === 0x1fb3 || c === 0x1fc3 || c === 0x1ff3)
    return String.fromCodePoint(c + 9);
  return undefined;
}

const single = (ch: string, mapped: string) =>
  [...mapped].length === 1 ? mapped : ch;

/** `unicode.ToUpper` of one rune. @internal */
export function goUpperRune(ch: string): string {
  return greekIotaUpper(cp(ch)) ?? single(ch, ch.toUpperCase());
}

/** `unicode.ToLower` of one rune. @internal */
export function goLowerRune(ch: string): string {
  if (ch === '\u0130') return 'i';
  return single(ch, ch.toLowerCase());
}

// The Latin digraphs whose title case differs from their upper case.
const TITLE_DIGRAPHS: Record<string, string> = {
  Ǆ: 'ǅ',
  ǅ: 'ǅ',
  ǆ: 'ǅ',
  Ǉ: 'ǈ',
  ǈ: 'ǈ',
  ǉ: 'ǈ',
  Ǌ: 'ǋ',
  ǋ: 'ǋ',
  ǌ: 'ǋ',
  Ǳ: 'ǲ',
  ǲ: 'ǲ',
  ǳ: 'ǲ',
};

/** `unicode.ToTitle` of one rune. @internal */
export function goTitleRune(ch: string): string {
  return TITLE_DIGRAPHS[ch] ?? goUpperRune(ch);
}

/** `strings.ToUpper`. @internal */
export function goToUpper(s: string): string {
  let out = '';
  for (const ch of s) out += goUpperRune(ch);
  return out;
}

/** `strings.ToLower`. @internal */
export function goToLower(s: string): string {
  let out = '';
  for (const ch of s) out += goLowerRune(ch);
  return out;
}
