/** How an ImagePolicy orders tags: `spec.policy` has exactly one of these. @internal */
export type PolicyOrdering = 'semver' | 'alphabetical' | 'numerical';

/** The editable part of an ImagePolicy spec, as the preview form holds it. @internal */
export interface PolicyForm {
  ordering: PolicyOrdering;
  /** `policy.semver.range`. */
  range: string;
  /** `policy.alphabetical.order` or `policy.numerical.order`. */
  order: 'asc' | 'desc';
  /** `filterTags.pattern`. */
  pattern: string;
  /** `filterTags.extract`. */
  extract: string;
}

interface EditableSpec {
  policy?: {
    semver?: { range?: unknown };
    alphabetical?: { order?: unknown };
    numerical?: { order?: unknown };
  };
  filterTags?: { pattern?: unknown; extract?: unknown };
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** The form prefilled from a spec; a spec without a known ordering starts as semver. @internal */
export function formOf(spec: Record<string, unknown>): PolicyForm {
  const { policy = {}, filterTags = {} } = spec as EditableSpec;
  let ordering: PolicyOrdering = 'semver';
  if (policy.alphabetical) ordering = 'alphabetical';
  else if (policy.numerical) ordering = 'numerical';
  const order = ordering === 'semver' ? undefined : policy[ordering]?.order;
  return {
    ordering,
    range: text(policy.semver?.range),
    order: order === 'desc' ? 'desc' : 'asc',
    pattern: text(filterTags.pattern),
    extract: text(filterTags.extract),
  };
}

/**
 * The spec to preview: the policy's own spec (repository, digest reflection, …) with the form's
 * ordering and filter; an empty pattern and extract mean no `filterTags`.
 * @internal
 */
export function specOf(
  base: Record<string, unknown>,
  form: PolicyForm,
): Record<string, unknown> {
  const { policy: _policy, filterTags: _filterTags, ...rest } = base;
  const policy =
    form.ordering === 'semver'
      ? { semver: { range: form.range } }
      : { [form.ordering]: { order: form.order } };
  const filterTags =
    form.pattern || form.extract
      ? {
          pattern: form.pattern,
          ...(form.extract ? { extract: form.extract } : {}),
        }
      : undefined;
  return { ...rest, policy, ...(filterTags ? { filterTags } : {}) };
}
