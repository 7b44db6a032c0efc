/**
 * Go's `hash/adler32`: `adler32.Checksum` of a string's UTF-8 bytes.
 *
 * @packageDocumentation
 */

export { adler32 } from './adler32';
