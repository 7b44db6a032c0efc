/**
 * Why a tag was or was not selected by an ImagePolicy.
 */

/**
 * A tag's verdict. Stable names: the HTTP API and the UI use them.
 * @internal
 */
export type TagVerdict =
  | 'selected'
  | 'eligible'
  | 'same-version'
  | 'not-semver'
  | 'prerelease-excluded'
  | 'out-of-range'
  | 'filtered-out'
  | 'extract-empty'
  | 'extract-collision'
  | 'not-numeric'
  | 'not-evaluated';

/**
 * One human sentence per verdict, for tooltips and the CLI.
 * @internal
 */
export const TAG_VERDICT_SENTENCES: Readonly<Record<TagVerdict, string>> = {
  selected: 'Selected: this is the latest tag under the policy.',
  eligible: 'Eligible, but older than the selected tag.',
  'same-version':
    'Same version as the selected tag; the selected tag comes first in the order tags are compared.',
  'not-semver':
    'Not a semantic version (Flux needs at least two dots, e.g. 1.2.3), so the semver policy skips it.',
  'prerelease-excluded':
    'A prerelease: the range admits prereleases only when a constraint in the same group names one (e.g. >=1.0.0-0).',
  'out-of-range': 'A version outside the semver range.',
  'filtered-out': 'Does not match filterTags.pattern.',
  'extract-empty':
    'filterTags.extract produced an empty string, which is not a version.',
  'extract-collision':
    'filterTags.extract gives the same value as a later tag, which takes its place.',
  'not-numeric':
    'Not a number (Go ParseFloat); the numerical policy fails on the first such tag.',
  'not-evaluated': 'Not evaluated: the policy could not select a tag.',
};
