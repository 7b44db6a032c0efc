/**
 * Go's `regexp` package: RE2 syntax parsed as `regexp/syntax` parses it (Go's error texts), a
 * linear-time matcher (no catastrophic backtracking on hostile patterns), `Expand`, the `All`
 * iteration, `Split` and `QuoteMeta`. The only regular-expression engine that runs patterns
 * written in manifests (tag filters, template functions, alert filters).
 *
 * @packageDocumentation
 */

export {
  compileGoRegexp,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM_SIZE,
  mustCompilePanicMessage,
  patternLengthProblem,
} from './goRegexp';
export type { GoRegexp, GoRegexpCompilation } from './goRegexp';
export { expandGoTemplate } from './expand';
export { findAllSubmatch, split, quoteMeta } from './match';
export type { GoMatch } from './match';
