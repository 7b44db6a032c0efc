/**
 * Go strings are byte sequences; functions that cut or decode bytes can leave invalid UTF-8,
 * which Go keeps as it is and shows (in JSON, and so in the differential oracle) as one U+FFFD
 * per invalid byte.
 */

/**
 * Bytes back to a string the way Go's `encoding/json` (and so the differential oracle) shows
 * a Go string: each byte that does not start a valid UTF-8 sequence becomes one U+FFFD.
 * @internal
 */
export function goStringFromBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0;
    let min = 0;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    }
    let cp = n ? c & (0x3f >> n) : -1;
    for (let k = 1; k <= n && cp >= 0; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) cp = -1;
      else cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += '\ufffd';
      i++;
    } else {
      out += String.fromCodePoint(cp);
      i += n + 1;
    }
  }
  return out;
}
