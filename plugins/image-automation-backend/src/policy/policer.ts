/**
 * Flux's policers (`internal/policy`): build one from `spec.policy` and ask it for the latest
 * of a list of candidate strings.
 */

import {
  compareSemVersions,
  parseConstraints,
  parseFluxVersion,
  satisfiesConstraints,
  SemVerConstraints,
  SemVersion,
} from '../golib/semver';
import { goParseFloat } from '../golib/strconv';
import { compareGoStrings } from '../golib/strings';
import { ImagePolicyChoice } from './types';

/** A ready-to-use policy. @internal */
export type Policer =
  | { kind: 'semver'; range: string; constraints: SemVerConstraints }
  | { kind: 'alphabetical'; order: 'ASC' | 'DESC' }
  | { kind: 'numerical'; order: 'ASC' | 'DESC' };

/** Go's `strings.ToUpper`, which maps code point by code point (`ß` stays `ß`). */
function goToUpper(s: string): string {
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    out += [...up].length === 1 ? up : ch;
  }
  return out;
}

function parseOrder(order: string | undefined): 'ASC' | 'DESC' | string {
  const upper = goToUpper(String(order ?? ''));
  return upper === '' ? 'ASC' : upper;
}

/**
 * Flux `PolicerFromSpec`; the error text is what follows `invalid policy: `.
 * @internal
 */
export function policerFromSpec(
  choice: ImagePolicyChoice,
): Policer | { error: string } {
  if (choice.semver) {
    // Unvalidated YAML (the CLI) can give a number for `range: 1`: read it as written.
    const range = String(choice.semver.range ?? '');
    const parsed = parseConstraints(range);
    if (!parsed.ok) return { error: parsed.message };
    return {
      kind: 'semver',
      range,
      constraints: parsed.constraints,
    };
  }
  let ordered;
  if (choice.alphabetical) {
    ordered = {
      kind: 'alphabetical' as const,
      order: parseOrder(choice.alphabetical.order),
    };
  } else if (choice.numerical) {
    ordered = {
      kind: 'numerical' as const,
      order: parseOrder(choice.numerical.order),
    };
  } else {
    return { error: 'given ImagePolicyChoice object is invalid' };
  }
  if (ordered.order !== 'ASC' && ordered.order !== 'DESC') {
    return {
      error: `invalid order argument provided: '${ordered.order}', must be one of: ASC, DESC`,
    };
  }
  return ordered as Policer;
}

export const EMPTY_LIST = 'version list argument cannot be empty';
export const NO_LATEST =
  'unable to determine latest version from provided list';

/** The latest candidate (`{ latest }`) or the policer's error text (`{ error }`). @internal */
export type LatestResult = { latest: string } | { error: string };

function latestSemver(
  policer: { constraints: SemVerConstraints },
  candidates: readonly string[],
): LatestResult {
  let best: SemVersion | undefined;
  for (const candidate of candidates) {
    const v = parseFluxVersion(candidate);
    if (
      v &&
      (best === undefined || compareSemVersions(v, best) > 0) &&
      satisfiesConstraints(v, policer.constraints)
    ) {
      best = v;
    }
  }
  return best ? { latest: best.original } : { error: NO_LATEST };
}

function latestAlphabetical(
  order: 'ASC' | 'DESC',
  candidates: readonly string[],
): LatestResult {
  let best = candidates[0];
  for (const c of candidates) {
    const d = compareGoStrings(c, best);
    if (order === 'ASC' ? d > 0 : d < 0) best = c;
  }
  return { latest: best };
}

function latestNumerical(
  order: 'ASC' | 'DESC',
  candidates: readonly string[],
): LatestResult {
  let latest = '';
  let previous = 0;
  for (let i = 0; i < candidates.length; i++) {
    const value = goParseFloat(candidates[i]);
    if (value === undefined) {
      return {
        error: `failed to parse invalid numeric value '${candidates[i]}'`,
      };
    }
    // Comparisons with NaN are false, so NaN is always taken, as in Go.
    if (i > 0 && (order === 'ASC' ? value < previous : value > previous))
      continue;
    latest = candidates[i];
    previous = value;
  }
  return { latest };
}

/**
 * The policer's `Latest`: semver keeps the first strictly greater version in iteration order,
 * alphabetical takes the byte-wise maximum (`ASC`) or minimum (`DESC`), numerical keeps the
 * last element not beaten so far and stops at the first string Go cannot parse as a float.
 * @internal
 */
export function latestOf(
  policer: Policer,
  candidates: readonly string[],
): LatestResult {
  if (candidates.length === 0) return { error: EMPTY_LIST };
  switch (policer.kind) {
    case 'semver':
      return latestSemver(policer, candidates);
    case 'alphabetical':
      return latestAlphabetical(policer.order, candidates);
    default:
      return latestNumerical(policer.order, candidates);
  }
}
