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
export { sortTagsAsStored } from './goStringOrder';
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
