/**
 * The order Flux stores scanned tags in (`sortTagsAsStored`), by Go's byte-wise string
 * comparison (golib/strings).
 */

import { compareGoStrings } from '../golib/strings';

const SURROGATE = /[\ud800-\udfff]/;

/**
 * The order an ImageRepository stores its tags in after a scan: descending byte-wise,
 * stable (Flux `sort.SliceStable` with `-strings.Compare`). ImagePolicies iterate tags in
 * this order, which decides ties.
 * @internal
 */
export function sortTagsAsStored(tags: readonly string[]): string[] {
  // Without surrogates, UTF-16 order is code point order, and the engine's own comparison
  // (much faster than a comparator) gives the same result; equal strings are
  // indistinguishable, so reversing an ascending sort is as good as a stable descending one.
  if (!tags.some(tag => SURROGATE.test(tag))) return [...tags].sort().reverse();
  return [...tags].sort((a, b) => compareGoStrings(b, a));
}
