import {
  PolicyExplanation,
  TagVerdictView,
} from '@imageops/backstage-plugin-image-automation-common';

/** Which tags the tag explorer lists. @internal */
export type VerdictFilter = 'all' | 'eligible' | 'rejected';

/** The filters, in the order they are offered, with their labels. @internal */
export const VERDICT_FILTERS: ReadonlyArray<{
  id: VerdictFilter;
  label: string;
}> = [
  { id: 'all', label: 'All' },
  { id: 'eligible', label: 'Eligible only' },
  { id: 'rejected', label: 'Rejected only' },
];

/** A filter from the URL; anything unknown means all tags. @internal */
export function parseVerdictFilter(
  value: string | null | undefined,
): VerdictFilter {
  return VERDICT_FILTERS.find(f => f.id === value)?.id ?? 'all';
}

/** Verdicts of tags the policy could pick: the selected one and those it passed over. */
const ELIGIBLE = new Set(['selected', 'eligible', 'same-version']);

/** Whether a tag passed the policy (selected, or older than the selected tag). @internal */
export function isEligible(verdict: TagVerdictView): boolean {
  return ELIGIBLE.has(verdict.verdict);
}

/** The tags a filter and a (case-insensitive, substring) search keep, in their order. @internal */
export function filterVerdicts(
  verdicts: readonly TagVerdictView[],
  filter: VerdictFilter,
  search: string,
): TagVerdictView[] {
  const needle = search.trim().toLocaleLowerCase('en-US');
  return verdicts.filter(
    v =>
      (filter === 'all' || isEligible(v) === (filter === 'eligible')) &&
      (!needle || v.tag.toLocaleLowerCase('en-US').includes(needle)),
  );
}

/** How a verdict reads: a short label, its colour and glyph (which only repeat the label), and why. @internal */
export interface VerdictPresentation {
  label: string;
  color: 'success' | 'info' | 'danger' | 'secondary';
  glyph: string;
  /** Why, in a sentence, naming the range or pattern when the spec has one. */
  reason: string;
}

const LABELS: Record<string, string> = {
  selected: 'Selected',
  eligible: 'Eligible',
  'same-version': 'Eligible (same version)',
  'not-semver': 'Not valid semver',
  'prerelease-excluded': 'Prerelease excluded',
  'out-of-range': 'Outside the range',
  'filtered-out': 'Filtered out',
  'extract-empty': 'Empty extract',
  'extract-collision': 'Extract collision',
  'not-numeric': 'Not a number',
  'not-evaluated': 'Not evaluated',
};

/** The parts of an ImagePolicy spec the reasons name. */
interface SpecFields {
  policy?: { semver?: { range?: unknown } };
  filterTags?: { pattern?: unknown };
}

/**
 * The label, colour and reason of a verdict under an ImagePolicy spec. The backend's sentence is
 * the reason, except where the spec makes it more precise (the range, the pattern).
 * @internal
 */
export function presentVerdict(
  verdict: TagVerdictView,
  spec: Record<string, unknown>,
): VerdictPresentation {
  const { policy, filterTags } = spec as SpecFields;
  const label = LABELS[verdict.verdict] ?? verdict.verdict;
  let reason = verdict.sentence;
  if (
    verdict.verdict === 'out-of-range' &&
    typeof policy?.semver?.range === 'string'
  ) {
    reason = `Outside the range ${policy.semver.range}.`;
  } else if (
    verdict.verdict === 'filtered-out' &&
    typeof filterTags?.pattern === 'string'
  ) {
    reason = `Does not match filterTags.pattern ${filterTags.pattern}.`;
  }
  if (verdict.verdict === 'selected')
    return { label, color: 'success', glyph: '●', reason };
  if (isEligible(verdict)) return { label, color: 'info', glyph: '✓', reason };
  if (verdict.verdict === 'not-evaluated')
    return { label, color: 'danger', glyph: '!', reason };
  return { label, color: 'secondary', glyph: '✕', reason };
}

/** `1 tag`, `10,000 tags`. @internal */
export function countOf(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

/** `10,000 tags · 3 eligible · selected 6.2.0` (or `· nothing selected`). @internal */
export function summarizeExplanation(explanation: PolicyExplanation): string {
  const eligible = explanation.verdicts.filter(isEligible).length;
  const selection = explanation.selection.ok
    ? `selected ${explanation.selection.tag}`
    : 'nothing selected';
  return [
    countOf(explanation.verdicts.length, 'tag'),
    `${eligible.toLocaleString('en-US')} eligible`,
    selection,
  ].join(' · ');
}

/** How the proposed policy's verdicts differ from the current ones. @internal */
export interface VerdictDiff {
  /** Tag → its current verdict label, for the tags whose verdict changes. */
  previous: Map<string, string>;
  /** Tags eligible now that would no longer be, and the reverse. */
  noLongerEligible: number;
  newlyEligible: number;
}

/** Compares the verdicts of two explanations of the same tags. @internal */
export function diffVerdicts(
  current: PolicyExplanation,
  proposed: PolicyExplanation,
): VerdictDiff {
  const before = new Map(current.verdicts.map(v => [v.tag, v]));
  const previous = new Map<string, string>();
  let noLongerEligible = 0;
  let newlyEligible = 0;
  for (const v of proposed.verdicts) {
    const was = before.get(v.tag);
    if (!was) continue;
    if (was.verdict !== v.verdict)
      previous.set(v.tag, LABELS[was.verdict] ?? was.verdict);
    if (isEligible(was) && !isEligible(v)) noLongerEligible++;
    if (!isEligible(was) && isEligible(v)) newlyEligible++;
  }
  return { previous, noLongerEligible, newlyEligible };
}
