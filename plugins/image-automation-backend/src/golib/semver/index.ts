/**
 * Masterminds/semver v3 as Flux uses it: `NewVersion` (coercing), comparison with
 * prerelease precedence, `NewConstraint` and `Constraints.Check` with Masterminds' error texts,
 * plus Flux's own pre-check `fluxcd/pkg/version.ParseVersion`.
 *
 * @packageDocumentation
 */

export {
  compareSemVersions,
  comparePrerelease,
  parseFluxVersion,
  parseSemVersion,
  parseUint64,
} from './version';
export type { Segment, SemVersion } from './version';
export { parseConstraints, satisfiesConstraints } from './constraints';
export type { ConstraintParse, SemVerConstraints } from './constraints';
