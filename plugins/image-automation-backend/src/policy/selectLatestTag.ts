/**
 * ImagePolicy selection (`applyPolicy` in Flux's image-reflector-controller).
 */

import { applyTagFilter, compileTagFilter } from './applyTagFilter';
import { latestOf, policerFromSpec } from './policer';
import { PolicySelection, SelectLatestTagArgs } from './types';

/** Flux's message when the repository has no tags yet. @public */
export const NO_TAGS_IN_DATABASE = 'no tags in database';

/**
 * Selects the latest tag exactly as Flux does, in the same order of checks: an invalid
 * policy stalls first, then an empty repository waits, then an invalid `filterTags.pattern`
 * stalls, then the policer runs (its errors are retried).
 * `tags` must be in the order the controller iterates them (see `sortTagsAsStored`).
 * @public
 */
export function selectLatestTag(args: SelectLatestTagArgs): PolicySelection {
  const policer = policerFromSpec(args.policy);
  if ('error' in policer) {
    return invalidPolicy(`invalid policy: ${policer.error}`);
  }
  if (args.tags.length === 0) {
    return {
      ok: false,
      reason: 'DependencyNotReady',
      message: NO_TAGS_IN_DATABASE,
      stalled: false,
    };
  }
  if (args.filterTags) {
    const re = compileTagFilter(args.filterTags);
    if ('error' in re)
      return invalidPolicy(`failed to filter tags: ${re.error}`);
    const filtered = applyTagFilter(re, args.filterTags.extract, args.tags);
    const result = latestOf(policer, filtered.candidates);
    if ('error' in result) return failure(result.error);
    return { ok: true, tag: filtered.originals.get(result.latest) ?? '' };
  }
  const result = latestOf(policer, args.tags);
  return 'error' in result
    ? failure(result.error)
    : { ok: true, tag: result.latest };
}

function invalidPolicy(message: string): PolicySelection {
  return { ok: false, reason: 'InvalidPolicy', message, stalled: true };
}

function failure(message: string): PolicySelection {
  return { ok: false, reason: 'Failure', message, stalled: false };
}
