/**
 * Go's `time` package: `time.Time` with layouts, `time.ParseDuration` and
 * `Duration.String()`, with Go's error texts.
 *
 * @packageDocumentation
 */

export {
  GoTime,
  GoTimeError,
  parseDuration,
  parseTime,
  zeroTime,
} from './time';
export type { TimeLocation } from './time';
export { durationString, formatGoDuration, parseGoDuration } from './duration';
