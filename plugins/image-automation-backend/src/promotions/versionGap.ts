/**
 * The "newest" and "behind" columns of the versions matrix: how far one target's deployed tag
 * is from what its ImagePolicy would select, and what the newest tag of the repository is.
 * Pure: the policy engine decides what is eligible and how tags order.
 */

import { ImagePolicySpec } from '@imageops/backstage-plugin-image-automation-common';
import {
  compareSemVersions,
  parseFluxVersion,
  SemVersion,
} from '../golib/semver';
import { goParseFloat } from '../golib/strconv';
import { compareGoStrings } from '../golib/strings';
import { explainSelection, sortTagsAsStored, TagVerdict } from '../policy';
import { applyTagFilter, compileTagFilter } from '../policy/applyTagFilter';
import { latestOf, Policer, policerFromSpec } from '../policy/policer';
import { TagRecord } from '../store/ScanStore';

/** The "newest" and "behind" columns of one row of the versions matrix. @internal */
export interface VersionGap {
  /** The newest tag in the repository, even if the policy filters it out. */
  newest?: { tag: string; firstSeenAt?: string };
  /** How far the deployed tag is behind the policy's eligible tags. */
  behind?: { tags: number; summary: string; ageMs?: number };
}

/** Verdicts of the tags the policy considers: they passed filterTags and are inside the range. */
const ELIGIBLE: ReadonlySet<TagVerdict> = new Set<TagVerdict>([
  'selected',
  'eligible',
  'same-version',
]);

/** How a policy orders values: `parse` gives undefined for a value it cannot order. */
interface Ordering<K> {
  parse(value: string): K | undefined;
  /** Positive when `a` is newer than `b` under the policy. */
  compare(a: K, b: K): number;
}

const SEMVER_ORDERING: Ordering<SemVersion> = {
  parse: parseFluxVersion,
  compare: compareSemVersions,
};

function numericalOrdering(order: 'ASC' | 'DESC'): Ordering<number> {
  return {
    // Go parses `nan` but NaN orders against nothing.
    parse: value => {
      const n = goParseFloat(value);
      return n === undefined || Number.isNaN(n) ? undefined : n;
    },
    compare: (a, b) => (order === 'ASC' ? a - b : b - a),
  };
}

function alphabeticalOrdering(order: 'ASC' | 'DESC'): Ordering<string> {
  return {
    parse: value => value,
    compare: (a, b) =>
      order === 'ASC' ? compareGoStrings(a, b) : compareGoStrings(b, a),
  };
}

/** The policy's ordering; semver orders even when its range does not parse. */
function orderingOf(
  spec: ImagePolicySpec,
  policer: Policer | undefined,
): Ordering<unknown> | undefined {
  if (spec.policy.semver) return SEMVER_ORDERING as Ordering<unknown>;
  if (!policer || policer.kind === 'semver') return undefined;
  return (
    policer.kind === 'numerical'
      ? numericalOrdering(policer.order)
      : alphabeticalOrdering(policer.order)
  ) as Ordering<unknown>;
}

function time(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** `9d`, `3h`, `12m`, `<1m`: the largest whole unit. */
function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return '<1m';
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

function tagCount(n: number): string {
  return n === 1 ? '1 tag' : `${n} tags`;
}

/**
 * The newest tag ignoring filterTags and the range: semver, the highest Flux version (the
 * first in stored order among equal ones, as the policy breaks ties); alphabetical and
 * numerical, what the policy's own `Latest` picks among all tags (numerical: among those that
 * parse as numbers); otherwise the most recently first seen tag.
 */
function newestTag(
  stored: string[],
  records: Map<string, TagRecord>,
  spec: ImagePolicySpec,
  policer: Policer | undefined,
): string | undefined {
  if (stored.length === 0) return undefined;
  let newest: string | undefined;
  if (spec.policy.semver) {
    let best: SemVersion | undefined;
    for (const tag of stored) {
      const v = parseFluxVersion(tag);
      if (v && (!best || compareSemVersions(v, best) > 0)) {
        best = v;
        newest = tag;
      }
    }
  } else if (policer && policer.kind !== 'semver') {
    const candidates =
      policer.kind === 'numerical'
        ? stored.filter(
            tag => numericalOrdering('ASC').parse(tag) !== undefined,
          )
        : stored;
    const result = latestOf(policer, candidates);
    if ('latest' in result) newest = result.latest;
  }
  if (newest !== undefined) return newest;
  // Nothing orders: the most recently first seen tag (the first in stored order on ties).
  let bestTime = -Infinity;
  for (const tag of stored) {
    const t = time(records.get(tag)?.firstSeenAt) ?? -Infinity;
    if (newest === undefined || t > bestTime) {
      newest = tag;
      bestTime = t;
    }
  }
  return newest;
}

/** `1 major` / `2 minor` / `3 patch`: distinct steps among the newer tags, at the highest level that differs. */
function semverSteps(deployed: SemVersion, newer: SemVersion[]): string {
  const best = newer.reduce((a, b) => (compareSemVersions(b, a) > 0 ? b : a));
  let level: 'major' | 'minor' | 'patch' | undefined;
  if (best.major !== deployed.major) level = 'major';
  else if (best.minor !== deployed.minor) level = 'minor';
  else if (best.patch !== deployed.patch) level = 'patch';
  if (!level) return ''; // only the prerelease differs
  const steps = new Set(
    newer.filter(v => v[level] !== deployed[level]).map(v => String(v[level])),
  );
  return `${steps.size} ${level}`;
}

/**
 * The "newest" and "behind" columns of one policy's rows, prepared once for the policy and its
 * repository's tags: only the deployed tag differs between the targets of one policy.
 * @internal
 */
export interface PreparedVersionGap {
  /** The columns for one target carrying `deployedTag` (none or empty: no "behind"). */
  gap(deployedTag?: string): VersionGap;
}

/** What does not depend on the deployed tag, computed the first time a deployed tag is asked. */
type Selected =
  | { ok: false }
  | {
      ok: true;
      ordering: Ordering<unknown>;
      /** The policy's selection. */
      selectedTag: string;
      /** The tags the policy considers, in stored order. */
      eligible: string[];
      /** Their ordering keys, index by index (undefined when a value does not parse). */
      keys: Array<unknown | undefined>;
      /** The deployed tag's value: extracted by filterTags, or the tag itself. */
      valueOf(tag: string): string | undefined;
    };

/**
 * Prepares the "newest" and "behind" columns of one image for any number of targets: the tags
 * are deduplicated, sorted, and the newest found once; the policy's selection, its eligible
 * tags and their ordering keys once, on the first deployed tag asked; then each `gap` only
 * orders its deployed tag against those keys.
 *
 * `behind` counts the tags the policy considers (the explain endpoint's `selected`, `eligible`
 * and `same-version` verdicts) whose value orders strictly above the deployed tag's. The
 * deployed tag is ordered when it passes filterTags and its (extracted) value parses under the
 * policy's ordering; the range does not matter. The age is the gap between the first sightings
 * of the deployed tag and of the policy's selection, when both are known and it is not negative.
 * @internal
 */
export function prepareVersionGap(options: {
  policySpec: ImagePolicySpec;
  tags: TagRecord[];
}): PreparedVersionGap {
  const { policySpec: spec } = options;
  const records = new Map<string, TagRecord>();
  for (const record of options.tags) {
    if (!records.has(record.tag)) records.set(record.tag, record);
  }
  const stored = sortTagsAsStored(
    [...records.values()].filter(r => !r.goneSince).map(r => r.tag),
  );
  const created = policerFromSpec(spec.policy);
  const policer = 'error' in created ? undefined : created;

  const newestName = newestTag(stored, records, spec, policer);
  const newestSeenAt =
    newestName === undefined ? undefined : records.get(newestName)?.firstSeenAt;

  let selected: Selected | undefined;
  const select = (): Selected => {
    if (selected) return selected;
    const { selection, verdicts } = explainSelection({
      policy: spec.policy,
      filterTags: spec.filterTags,
      tags: stored,
    });
    const ordering = orderingOf(spec, policer);
    if (!selection.ok || !ordering) {
      selected = { ok: false };
      return selected;
    }
    const eligible = verdicts
      .filter(v => ELIGIBLE.has(v.verdict))
      .map(v => v.tag);

    // The policy's values: extracted by filterTags, or the tags themselves.
    let valueOf = (tag: string): string | undefined => tag;
    let values: Array<string | undefined> = eligible;
    if (spec.filterTags) {
      // The pattern compiles: the selection succeeded.
      const re = compileTagFilter(spec.filterTags);
      if (!('error' in re)) {
        const extract = spec.filterTags.extract;
        // The expansion of one tag depends on that tag alone.
        const { extracted } = applyTagFilter(re, extract, eligible);
        values = eligible.map(tag => extracted.get(tag));
        valueOf = tag => applyTagFilter(re, extract, [tag]).extracted.get(tag);
      }
    }
    const keys = values.map(value =>
      value === undefined ? undefined : ordering.parse(value),
    );
    selected = {
      ok: true,
      ordering,
      selectedTag: selection.tag,
      eligible,
      keys,
      valueOf,
    };
    return selected;
  };

  const gap = (deployedTag?: string): VersionGap => {
    const result: VersionGap = {};
    if (newestName !== undefined) {
      result.newest = newestSeenAt
        ? { tag: newestName, firstSeenAt: newestSeenAt }
        : { tag: newestName };
    }
    if (deployedTag === undefined || deployedTag === '') return result;

    const selection = select();
    if (!selection.ok) {
      result.behind = { tags: 0, summary: 'no tag selected by the policy' };
      return result;
    }
    const { ordering, eligible, keys } = selection;

    const deployedValue = selection.valueOf(deployedTag);
    const deployedKey =
      deployedValue === undefined ? undefined : ordering.parse(deployedValue);
    if (deployedKey === undefined) {
      let why = 'deployed tag is not a number';
      if (deployedValue === undefined)
        why = 'deployed tag does not match filterTags';
      else if (spec.policy.semver) why = 'deployed tag is not a semver version';
      result.behind = {
        tags: eligible.length,
        summary: `${tagCount(eligible.length)} · ${why}`,
      };
      return result;
    }

    const newer: unknown[] = [];
    for (const key of keys) {
      if (key !== undefined && ordering.compare(key, deployedKey) > 0) {
        newer.push(key);
      }
    }
    if (newer.length === 0) {
      result.behind = { tags: 0, summary: 'up to date' };
      return result;
    }

    const parts: string[] = [];
    if (spec.policy.semver) {
      const steps = semverSteps(
        deployedKey as SemVersion,
        newer as SemVersion[],
      );
      if (steps) parts.push(steps);
    }
    parts.push(tagCount(newer.length));
    const deployedSeen = time(records.get(deployedTag)?.firstSeenAt);
    const selectedSeen = time(records.get(selection.selectedTag)?.firstSeenAt);
    let ageMs: number | undefined;
    if (deployedSeen !== undefined && selectedSeen !== undefined) {
      const age = selectedSeen - deployedSeen;
      if (age >= 0) {
        ageMs = age;
        parts.push(formatAge(age));
      }
    }
    result.behind = { tags: newer.length, summary: parts.join(' · ') };
    if (ageMs !== undefined) result.behind.ageMs = ageMs;
    return result;
  };
  return { gap };
}

/**
 * Computes the "newest" and "behind" columns for one image on one target: `prepareVersionGap`
 * for a single deployed tag (see there for what the columns mean). Several targets of one
 * policy should share one preparation.
 * @internal
 */
export function versionGap(options: {
  policySpec: ImagePolicySpec;
  tags: TagRecord[];
  deployedTag?: string;
  /** Part of the API; the result depends only on recorded first sightings. */
  now: Date;
}): VersionGap {
  return prepareVersionGap(options).gap(options.deployedTag);
}
