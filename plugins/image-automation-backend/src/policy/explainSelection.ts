/**
 * Per-tag explanations of an ImagePolicy selection, for the tag explorer, the policy preview
 * and `image-automation policy select --explain`.
 */

import {
  compareSemVersions,
  parseFluxVersion,
  satisfiesConstraints,
  SemVerConstraints,
} from '../golib/semver';
import { goParseFloat } from '../golib/strconv';
import { selectWithDetails } from './selectLatestTag';
import { TagVerdict } from './tagVerdict';
import { PolicySelection, SelectLatestTagArgs } from './types';

/** One tag's verdict; `detail` adds specifics (the extracted value, what it lost to …). @internal */
export interface TagExplanation {
  tag: string;
  verdict: TagVerdict;
  detail?: string;
}

/** A selection with a verdict for every input tag, in input order. @internal */
export interface SelectionExplanation {
  selection: PolicySelection;
  verdicts: TagExplanation[];
}

/** The same constraints with prereleases admitted in every group. */
function admittingPrereleases(cs: SemVerConstraints): SemVerConstraints {
  return { groups: cs.groups.map(g => ({ ...g, includePrerelease: true })) };
}

/**
 * Selects like `selectLatestTag` and says, for every tag, why it was or was not selected.
 * @internal
 */
export function explainSelection(
  args: SelectLatestTagArgs,
): SelectionExplanation {
  const { selection, policer, filtered } = selectWithDetails(args);
  if (!policer || (args.filterTags && !filtered)) {
    // The policy or its pattern is invalid: nothing was evaluated.
    const detail = selection.ok ? undefined : selection.message;
    return {
      selection,
      verdicts: args.tags.map(tag => ({
        tag,
        verdict: 'not-evaluated',
        detail,
      })),
    };
  }
  const selectedTag = selection.ok ? selection.tag : undefined;
  const valueOf = (tag: string) => filtered?.extracted.get(tag) ?? tag;
  const selectedValue =
    selectedTag === undefined ? undefined : valueOf(selectedTag);

  const semver =
    policer.kind === 'semver'
      ? {
          constraints: policer.constraints,
          loose: admittingPrereleases(policer.constraints),
          selected:
            selectedValue === undefined
              ? undefined
              : parseFluxVersion(selectedValue),
        }
      : undefined;
  const selectedNumber =
    selectedValue === undefined ? undefined : goParseFloat(selectedValue);

  const verdicts = args.tags.map((tag): TagExplanation => {
    let value = tag;
    let extractedNote: string | undefined;
    if (filtered) {
      const extracted = filtered.extracted.get(tag);
      if (extracted === undefined) return { tag, verdict: 'filtered-out' };
      const owner = filtered.originals.get(extracted);
      if (owner !== tag) {
        return {
          tag,
          verdict: 'extract-collision',
          detail: `"${extracted}" is taken by ${owner}`,
        };
      }
      value = extracted;
      if (args.filterTags?.extract) extractedNote = `extracted "${value}"`;
    }
    const withNote = (e: TagExplanation): TagExplanation => {
      const detail = [extractedNote, e.detail].filter(Boolean).join('; ');
      return detail ? { ...e, detail } : { tag: e.tag, verdict: e.verdict };
    };
    if (tag === selectedTag) return withNote({ tag, verdict: 'selected' });
    // An empty value is a candidate only for an alphabetical policy; elsewhere it is no version.
    if (extractedNote && value === '' && policer.kind !== 'alphabetical') {
      return { tag, verdict: 'extract-empty' };
    }

    if (semver) {
      const v = parseFluxVersion(value);
      if (!v) return withNote({ tag, verdict: 'not-semver' });
      if (!satisfiesConstraints(v, semver.constraints)) {
        const verdict =
          v.prerelease !== '' && satisfiesConstraints(v, semver.loose)
            ? 'prerelease-excluded'
            : 'out-of-range';
        return withNote({ tag, verdict });
      }
      if (!semver.selected) return withNote({ tag, verdict: 'not-evaluated' });
      if (compareSemVersions(v, semver.selected) === 0) {
        return withNote({
          tag,
          verdict: 'same-version',
          detail: `equal to ${selectedTag}`,
        });
      }
      return withNote({
        tag,
        verdict: 'eligible',
        detail: `older than ${selectedTag}`,
      });
    }
    if (policer.kind === 'numerical') {
      const n = goParseFloat(value);
      if (n === undefined) return withNote({ tag, verdict: 'not-numeric' });
      if (selectedNumber === undefined) {
        return withNote({
          tag,
          verdict: 'not-evaluated',
          detail: selection.ok ? undefined : selection.message,
        });
      }
      if (n === selectedNumber) {
        return withNote({
          tag,
          verdict: 'same-version',
          detail: `equal to ${selectedTag}`,
        });
      }
      const direction = policer.order === 'ASC' ? 'lower' : 'higher';
      return withNote({
        tag,
        verdict: 'eligible',
        detail: `${direction} than ${selectedTag}`,
      });
    }
    if (selectedTag === undefined)
      return withNote({ tag, verdict: 'not-evaluated' });
    const ascending =
      policer.kind === 'alphabetical' && policer.order === 'ASC';
    const direction = ascending ? 'before' : 'after';
    return withNote({
      tag,
      verdict: 'eligible',
      detail: `sorts ${direction} ${selectedTag} (byte-wise)`,
    });
  });
  return { selection, verdicts };
}
