/**
 * Adler-32 checksum of the UTF-8 bytes of a string, as an unsigned integer. Flux uses its
 * decimal form for ImageRepository revisions and the Flux Operator for input ids.
 * @internal
 */
export function adler32(text: string | Uint8Array): number {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const mod = 65521;
  let a = 1;
  let b = 0;
  // Reduce every 3800 bytes: the sums stay exact in doubles long before they could overflow.
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(i + 3800, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= mod;
    b %= mod;
  }
  return (b * 65536 + a) >>> 0;
}
