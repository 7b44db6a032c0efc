/**
 * Adler-32 checksum of the UTF-8 bytes of a string (Go's `hash/adler32`), used by sprig's
 * `adler32sum` and by the Flux Operator for input ids.
 * @internal
 */
export function adler32(s: string): number {
  const bytes = Buffer.from(s, 'utf8');
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}
