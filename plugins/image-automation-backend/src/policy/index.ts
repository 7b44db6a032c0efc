/**
 * The policy engine: Flux ImagePolicy tag selection (semver, alphabetical, numerical,
 * `filterTags`), its per-tag explanation, digest reflection and the Ready message, and
 * ResourceSetInputProvider tag filtering. Pure: plain data in, plain data out.
 *
 * @packageDocumentation
 */

export type {
  ImagePolicyChoice,
  PolicySelection,
  SelectLatestTagArgs,
  TagFilter,
} from './types';
export { selectLatestTag, NO_TAGS_IN_DATABASE } from './selectLatestTag';
export { sortTagsAsStored, compareGoStrings } from './goStringOrder';
export { explainSelection } from './explainSelection';
export type { SelectionExplanation, TagExplanation } from './explainSelection';
export { TAG_VERDICT_SENTENCES } from './tagVerdict';
export type { TagVerdict } from './tagVerdict';
export {
  composeImagePolicyReadyMessage,
  digestFetchFailureMessage,
  imagePolicyRequeueAfter,
  planDigestReflection,
  updateImageRefs,
} from './imageRef';
export type {
  DigestReflectionPlan,
  DigestReflectionPolicy,
  ImageRef,
} from './imageRef';
export {
  filterProviderTags,
  DEFAULT_PROVIDER_FILTER_LIMIT,
} from './filterProviderTags';
export type { RsipFilter } from './filterProviderTags';
export { compileGoRegexp, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, patternLengthProblem } from './goRegexp';
export type { GoRegexp, GoRegexpCompilation } from './goRegexp';
export { expandGoTemplate } from './goExpand';
export { goParseFloat } from './goParseFloat';
export { parseConstraints, satisfiesConstraints } from './constraints';
export type { ConstraintParse, SemVerConstraints } from './constraints';
export {
  compareSemVersions,
  parseFluxVersion,
  parseSemVersion,
} from './version';
export type { SemVersion } from './version';
