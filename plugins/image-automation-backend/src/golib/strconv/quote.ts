/**
 * Go's `strconv.Quote` (what `%q` prints for a string): a double-quoted Go string literal;
 * the C escapes for BEL, BS, FF, LF, CR, TAB, VT, `"` and backslash, `\xNN` for the other
 * ASCII control characters, and `\uNNNN`/`\UNNNNNNNN` for runes Go does not consider printable
 * (`unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space).
 */

/** Go's `strconv.Quote` (`%q` for strings). @internal */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (cp === 7) out += '\\a';
    else if (cp === 8) out += '\\b';
    else if (cp === 12) out += '\\f';
    else if (cp === 10) out += '\\n';
    else if (cp === 13) out += '\\r';
    else if (cp === 9) out += '\\t';
    else if (cp === 11) out += '\\v';
    else if (cp < 0x20 || cp === 0x7f)
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0x80 && !/^[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]$/u.test(ch)) {
      out +=
        cp > 0xffff
          ? `\\U${cp.toString(16).padStart(8, '0')}`
          : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}
