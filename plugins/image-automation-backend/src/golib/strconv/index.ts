/**
 * Go's `strconv`: `ParseFloat(s, 64)` (the accepted set and the value, `undefined` where Go
 * returns an error) and `Quote`.
 *
 * @packageDocumentation
 */

export { goParseFloat } from './parseFloat';
export { goQuote } from './quote';
