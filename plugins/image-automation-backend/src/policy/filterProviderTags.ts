/**
 * ResourceSetInputProvider tag filtering (`spec.filter` for `*Tag` and `*ArtifactTag`
 * providers), as Flux Operator's `makeFilters` + `Filters.Tags`.
 */

import { compileGoRegexp, GoRegexp } from '../golib/regexp';
import {
  compareSemVersions,
  parseConstraints,
  parseFluxVersion,
  satisfiesConstraints,
  SemVersion,
} from '../golib/semver';
import { compareGoStrings } from '../golib/strings';

/** `spec.filter` of a ResourceSetInputProvider. @internal */
export interface RsipFilter {
  includeBranch?: string;
  excludeBranch?: string;
  includeTag?: string;
  excludeTag?: string;
  includeEnvironment?: string;
  excludeEnvironment?: string;
  labels?: string[];
  limit?: number;
  semver?: string;
}

/** Flux Operator's default `spec.filter.limit`. @internal */
export const DEFAULT_PROVIDER_FILTER_LIMIT = 100;

/**
 * Filters tags listed by a registry or Git provider, in listing order:
 * include (must match) / exclude (must not match) — only the last non-empty regex of
 * Branch → Tag → Environment is used for each, as in Flux Operator — then either keep the
 * versions in the `semver` range sorted descending (stable: equal versions keep listing
 * order) or sort reverse byte-wise, then keep the first `limit` (default 100).
 * @internal
 */
export function filterProviderTags(
  filter: RsipFilter | undefined,
  tags: readonly string[],
): { ok: true; tags: string[] } | { ok: false; message: string } {
  const f = filter ?? {};
  let include: GoRegexp | undefined;
  let exclude: GoRegexp | undefined;
  const fields = [
    'includeBranch',
    'includeTag',
    'includeEnvironment',
    'excludeBranch',
    'excludeTag',
    'excludeEnvironment',
  ] as const;
  for (const field of fields) {
    const pattern =
      f[field] === undefined || f[field] === null ? '' : String(f[field]);
    if (!pattern) continue;
    const compiled = compileGoRegexp(pattern);
    if (!compiled.ok)
      return {
        ok: false,
        message: `invalid ${field} regex: ${compiled.message}`,
      };
    if (field.startsWith('include')) include = compiled.regexp;
    else exclude = compiled.regexp;
  }
  let constraints;
  if (f.semver) {
    const parsed = parseConstraints(String(f.semver));
    if (!parsed.ok)
      return {
        ok: false,
        message: `invalid semver expression: ${parsed.message}`,
      };
    constraints = parsed.constraints;
  }

  const matching = tags.filter(
    tag =>
      (!include || include.regexp.test(tag)) &&
      (!exclude || !exclude.regexp.test(tag)),
  );
  let ordered: string[];
  if (constraints) {
    const versions: SemVersion[] = [];
    for (const tag of matching) {
      const v = parseFluxVersion(tag);
      if (v && satisfiesConstraints(v, constraints)) versions.push(v);
    }
    // Array.prototype.sort is stable, which keeps equal versions in listing order.
    versions.sort((a, b) => compareSemVersions(b, a));
    ordered = versions.map(v => v.original);
  } else {
    ordered = [...matching].sort((a, b) => compareGoStrings(b, a));
  }
  const limit =
    f.limit && f.limit > 0 ? f.limit : DEFAULT_PROVIDER_FILTER_LIMIT;
  return { ok: true, tags: ordered.slice(0, limit) };
}
