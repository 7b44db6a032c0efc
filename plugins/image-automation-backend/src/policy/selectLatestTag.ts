/**
 * ImagePolicy selection (`applyPolicy` in Flux's image-reflector-controller).
 */

import {
  applyTagFilter,
  compileTagFilter,
  FilteredTags,
} from './applyTagFilter';
import { latestOf, Policer, policerFromSpec } from './policer';
import { PolicySelection, SelectLatestTagArgs } from './types';

/** Flux's message when the repository has no tags yet. @internal */
export const NO_TAGS_IN_DATABASE = 'no tags in database';

/**
 * Selects the latest tag exactly as Flux does, in the same order of checks: an invalid
 * policy stalls first, then an empty repository waits, then an invalid `filterTags.pattern`
 * stalls, then the policer runs (its errors are retried).
 * `tags` must be in the order the controller iterates them (see `sortTagsAsStored`).
 * @internal
 */
export function selectLatestTag(args: SelectLatestTagArgs): PolicySelection {
  return selectWithDetails(args).selection;
}

/** A selection with what it was made from, for explanations. @internal */
export interface DetailedSelection {
  selection: PolicySelection;
  /** Undefined when the policy is invalid. */
  policer?: Policer;
  /** Set when `filterTags` was applied. */
  filtered?: FilteredTags;
}

/** `selectLatestTag`, also returning the policer and the filtered candidates. @internal */
export function selectWithDetails(
  args: SelectLatestTagArgs,
): DetailedSelection {
  const policer = policerFromSpec(args.policy);
  if ('error' in policer) {
    return { selection: invalidPolicy(`invalid policy: ${policer.error}`) };
  }
  if (args.tags.length === 0) {
    return {
      policer,
      selection: {
        ok: false,
        reason: 'DependencyNotReady',
        message: NO_TAGS_IN_DATABASE,
        stalled: false,
      },
    };
  }
  if (args.filterTags) {
    const re = compileTagFilter(args.filterTags);
    if ('error' in re) {
      return {
        policer,
        selection: invalidPolicy(`failed to filter tags: ${re.error}`),
      };
    }
    const filtered = applyTagFilter(re, args.filterTags.extract, args.tags);
    const result = latestOf(policer, filtered.candidates);
    const selection: PolicySelection =
      'error' in result
        ? failure(result.error)
        : { ok: true, tag: filtered.originals.get(result.latest) ?? '' };
    return { policer, filtered, selection };
  }
  const result = latestOf(policer, args.tags);
  return {
    policer,
    selection:
      'error' in result
        ? failure(result.error)
        : { ok: true, tag: result.latest },
  };
}

function invalidPolicy(message: string): PolicySelection {
  return { ok: false, reason: 'InvalidPolicy', message, stalled: true };
}

function failure(message: string): PolicySelection {
  return { ok: false, reason: 'Failure', message, stalled: false };
}
