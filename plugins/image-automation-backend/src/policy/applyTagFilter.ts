/**
 * `spec.filterTags`: keep the tags the pattern matches anywhere (unanchored), replace each by
 * the expansion of `extract` (if set), and remember which original tag each value came from.
 */

import { compileGoRegexp, expandGoTemplate, GoRegexp } from '../golib/regexp';
import { compareGoStrings } from '../golib/strings';
import { TagFilter } from './types';

/** The candidates after filtering, and where each came from. @internal */
export interface FilteredTags {
  /**
   * Candidate values in a deterministic order: descending byte-wise, like the stored tags.
   * Flux iterates a Go map here, so its order — and with it the winner among equal semver
   * versions or equal numbers — is random; sorting the candidates the way the repository
   * sorts tags makes the result repeatable and equal to the unfiltered behaviour whenever
   * `extract` is empty.
   */
  candidates: string[];
  /** Candidate value → the original tag. Later tags win on collisions, as in Flux. */
  originals: Map<string, string>;
  /** Original tag → candidate value, for tags the pattern matched. */
  extracted: Map<string, string>;
}

/**
 * Compiles the pattern, or returns Flux's error text (without the `failed to filter tags: `
 * prefix the reconciler adds).
 * @internal
 */
export function compileTagFilter(
  filter: TagFilter,
): GoRegexp | { error: string } {
  const pattern = String(filter.pattern ?? '');
  const compiled = compileGoRegexp(pattern);
  if (!compiled.ok) {
    // A pattern refused for its size is not repeated in the message (it may be kilobytes).
    return {
      error: compiled.limit
        ? `invalid regular expression pattern: ${compiled.message}`
        : `invalid regular expression pattern '${pattern}': ${compiled.message}`,
    };
  }
  return compiled.regexp;
}

/** Applies a compiled filter to tags in iteration order. @internal */
export function applyTagFilter(
  re: GoRegexp,
  extract: string | undefined,
  tags: readonly string[],
): FilteredTags {
  const originals = new Map<string, string>();
  const extracted = new Map<string, string>();
  const template = String(extract ?? '');
  for (const tag of tags) {
    const match = re.regexp.exec(tag);
    if (!match) continue;
    const value = template === '' ? tag : expandGoTemplate(re, template, match);
    originals.set(value, tag);
    extracted.set(tag, value);
  }
  const candidates = [...originals.keys()].sort((a, b) =>
    compareGoStrings(b, a),
  );
  return { candidates, originals, extracted };
}
