/**
 * Go compares strings byte-wise over their UTF-8 encoding. JavaScript compares UTF-16 code
 * units, which disagrees for characters above U+FFFF against U+E000–U+FFFF. Ordering by code
 * point is the same as ordering by UTF-8 bytes, so this maps surrogates above the private-use
 * area before comparing.
 */

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  // Surrogates (D800–DFFF) encode code points ≥ U+10000: they must sort after E000–FFFF.
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * Compares two strings the way Go's `strings.Compare` does (UTF-8 byte order).
 * @internal
 */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      return codePointRank(x) < codePointRank(y) ? -1 : 1;
    }
  }
  if (a.length === b.length) return 0;
  return a.length < b.length ? -1 : 1;
}

/** The length of a string in UTF-8 bytes (Go's `len`). @internal */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      if (c < 0x800) n += 1;
      else if (c >= 0xd800 && c < 0xe000) {
        // Each half of a surrogate pair: 2 UTF-16 units make 4 UTF-8 bytes.
        n += 1;
      } else n += 2;
    }
  }
  return n;
}
