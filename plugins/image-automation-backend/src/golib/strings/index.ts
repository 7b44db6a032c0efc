/**
 * Go's string semantics that JavaScript lacks: `strings.Compare` (and `<`), which order by
 * UTF-8 bytes, and `len`, which counts UTF-8 bytes.
 *
 * @packageDocumentation
 */

export { compareGoStrings, utf8Length } from './compare';
