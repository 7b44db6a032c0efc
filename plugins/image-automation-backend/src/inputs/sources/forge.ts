import { ResourceSetInputProviderSpec } from '@imageops/backstage-plugin-image-automation-common';
import { compileGoRegexp, GoRegexp } from '../../golib/regexp';
import {
  DEFAULT_PROVIDER_FILTER_LIMIT,
  filterProviderTags,
} from '../../policy';
import { ExportedInput, inputId } from '../exportedInputs';
import { applySkipRules } from '../skipInputs';
import { SourceHttp, SourceResponse } from './http';
import { InputSourceContext } from './types';

/**
 * What the Git-forge provider types (Gitea, GitHub, GitLab, Azure DevOps) share: `spec.filter`
 * as the Flux Operator applies it to branches, tags and pull requests, the inputs each kind of
 * item exports, and paging.
 */

type Filter = ResourceSetInputProviderSpec['filter'];

/** A branch or tag of a repository, as listed. @internal */
export interface GitRefItem {
  name: string;
  sha: string;
  /** GitLab only: exported as `slug`. */
  slug?: string;
}

/** An open pull (merge) request. @internal */
export interface PullRequestItem {
  /** The number (GitLab: the IID), the input's `id`. */
  number: number;
  sha: string;
  /** The head (source) branch. */
  branch: string;
  /** The author's login (Azure DevOps: the creator's display name). */
  author: string;
  title: string;
  labels: string[];
  /** GitLab only. */
  slug?: string;
}

/** The compiled include/exclude pair and limit of a filter, or the error for a bad regex. */
function compile(
  filter: Filter,
):
  | { ok: true; include?: GoRegexp; exclude?: GoRegexp; limit: number }
  | { ok: false; message: string } {
  const f = filter ?? {};
  let include: GoRegexp | undefined;
  let exclude: GoRegexp | undefined;
  // Only one include and one exclude are kept, Branch → Tag → Environment: the last non-empty wins.
  for (const field of [
    'includeBranch',
    'includeTag',
    'includeEnvironment',
    'excludeBranch',
    'excludeTag',
    'excludeEnvironment',
  ] as const) {
    const pattern = f[field] ? String(f[field]) : '';
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
  const limit =
    f.limit && f.limit > 0 ? f.limit : DEFAULT_PROVIDER_FILTER_LIMIT;
  return { ok: true, include, exclude, limit };
}

type Selection<T> = { ok: true; items: T[] } | { ok: false; message: string };

/** A configuration error in `spec.filter` (a bad regex or semver range), checked before any request. @internal */
export function filterProblem(filter: Filter): string | undefined {
  const compiled = compile(filter);
  if (!compiled.ok) return compiled.message;
  const tags = filterProviderTags(filter, []);
  return tags.ok ? undefined : tags.message;
}

/** Whether a name passes the filter's include and exclude. */
function passes(name: string, include?: GoRegexp, exclude?: GoRegexp): boolean {
  return (
    (!include || include.regexp.test(name)) &&
    (!exclude || !exclude.regexp.test(name))
  );
}

/**
 * Branches in the order the API listed them, filtered by include/exclude, at most `limit`. The
 * caller may stop paging once `limit` passed: {@link branchesComplete} tells.
 * @internal
 */
export function selectBranches(
  filter: Filter,
  branches: readonly GitRefItem[],
): Selection<GitRefItem> {
  const compiled = compile(filter);
  if (!compiled.ok) return compiled;
  return {
    ok: true,
    items: branches
      .filter(b => passes(b.name, compiled.include, compiled.exclude))
      .slice(0, compiled.limit),
  };
}

/** Whether `selected` already holds `limit` branches, so no further page can change the selection. @internal */
export function branchesComplete(filter: Filter, selected: number): boolean {
  const compiled = compile(filter);
  return compiled.ok && selected >= compiled.limit;
}

/**
 * Tags filtered by include/exclude, then either the versions in `semver` sorted descending
 * (equal versions keep listing order) or all sorted reverse byte-wise, at most `limit`; a tag
 * listed twice takes the metadata of its last listing.
 * @internal
 */
export function selectTags(
  filter: Filter,
  tags: readonly GitRefItem[],
): Selection<GitRefItem> {
  const byName = new Map<string, GitRefItem>();
  const order: string[] = [];
  for (const tag of tags) {
    if (!byName.has(tag.name)) order.push(tag.name);
    byName.set(tag.name, tag);
  }
  const selected = filterProviderTags(filter, order);
  if (!selected.ok) return selected;
  return { ok: true, items: selected.tags.map(name => byName.get(name)!) };
}

/**
 * Open pull requests in API order whose head branch passes include/exclude and that carry every
 * label of `filter.labels`, at most `limit`.
 * @internal
 */
export function selectPullRequests(
  filter: Filter,
  requests: readonly PullRequestItem[],
): Selection<PullRequestItem> {
  const compiled = compile(filter);
  if (!compiled.ok) return compiled;
  const wanted = filter?.labels ?? [];
  return {
    ok: true,
    items: requests
      .filter(
        pr =>
          passes(pr.branch, compiled.include, compiled.exclude) &&
          wanted.every(l => pr.labels.includes(l)),
      )
      .slice(0, compiled.limit),
  };
}

/** A branch's input: `id` (Adler-32 of the name), `sha`, `branch`, and GitLab's `slug`. @internal */
export function branchInput(branch: GitRefItem): ExportedInput {
  return {
    id: inputId(branch.name),
    sha: branch.sha,
    branch: branch.name,
    ...(branch.slug ? { slug: branch.slug } : {}),
  };
}

/** A tag's input: `id` (Adler-32 of the tag), `sha`, `tag`, and GitLab's `slug`. @internal */
export function tagInput(tag: GitRefItem): ExportedInput {
  return {
    id: inputId(tag.name),
    sha: tag.sha,
    tag: tag.name,
    ...(tag.slug ? { slug: tag.slug } : {}),
  };
}

/**
 * A pull request's input: `id` (the number), `sha`, `branch`, `author`, `title`, `labels` only
 * when there are some, and GitLab's `slug`. Empty values are left out, as the Flux Operator does.
 * @internal
 */
export function pullRequestInput(pr: PullRequestItem): ExportedInput {
  const input: ExportedInput = { id: String(pr.number) };
  if (pr.sha) input.sha = pr.sha;
  if (pr.branch) input.branch = pr.branch;
  if (pr.author) input.author = pr.author;
  if (pr.title) input.title = pr.title;
  if (pr.labels.length > 0) input.labels = [...pr.labels];
  if (pr.slug) input.slug = pr.slug;
  return input;
}

/**
 * `spec.skip.labels` on a pull/merge request provider's inputs: an input matching a rule keeps
 * the values it was exported with last time (`context.previous`, by `id`), or is left out when new.
 * @internal
 */
export function withSkipRules(
  context: InputSourceContext,
  inputs: ExportedInput[],
): ExportedInput[] {
  return applySkipRules(context.spec.skip?.labels, inputs, context.previous);
}

/** The items of a selection whose filter was checked before listing ({@link filterProblem}). */
function checked<T>(selection: Selection<T>): T[] {
  // Unreachable after filterProblem: the same filter compiled then.
  if (!selection.ok) throw new Error(selection.message);
  return selection.items;
}

/**
 * The inputs of a Branch type from everything listed (the filter checked before listing with
 * {@link filterProblem}). {@link enoughBranches} tells when listing may stop.
 * @internal
 */
export function branchInputs(
  filter: Filter,
  listed: readonly GitRefItem[],
): ExportedInput[] {
  return checked(selectBranches(filter, listed)).map(branchInput);
}

/** The inputs of a Tag type from every tag listed (the order is decided on all of them). @internal */
export function tagInputs(
  filter: Filter,
  listed: readonly GitRefItem[],
): ExportedInput[] {
  return checked(selectTags(filter, listed)).map(tagInput);
}

/** The inputs of a PullRequest/MergeRequest type, with `spec.skip.labels` applied. @internal */
export function pullRequestInputs(
  context: InputSourceContext,
  listed: readonly PullRequestItem[],
): ExportedInput[] {
  return withSkipRules(
    context,
    checked(selectPullRequests(context.spec.filter, listed)).map(
      pullRequestInput,
    ),
  );
}

/** Whether the branches listed so far already hold `limit` that pass: later pages cannot change the selection. @internal */
export function enoughBranches(
  filter: Filter,
  listed: readonly GitRefItem[],
): boolean {
  const selected = selectBranches(filter, listed);
  return selected.ok && branchesComplete(filter, selected.items.length);
}

/** {@link enoughBranches} for pull requests, which also keep API order. @internal */
export function enoughPullRequests(
  filter: Filter,
  listed: readonly PullRequestItem[],
): boolean {
  const selected = selectPullRequests(filter, listed);
  return selected.ok && branchesComplete(filter, selected.items.length);
}

/** GitLab's slug of a name: lower case, `[^a-z0-9-]` → `-`, at most 63 characters, no `-` at either end. @internal */
export function gitlabSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

/** Items per page requested from a Git provider. @internal */
export const FORGE_PAGE_SIZE = 100;
/** Pages read at most (the Flux Operator's cap). @internal */
export const FORGE_MAX_PAGES = 1000;

/**
 * Reads a page-numbered listing: `pageUrl(n)` for n = 1, 2, … until a page has fewer than
 * {@link FORGE_PAGE_SIZE} items (or, with `more`, until `more` says there is no next page or a
 * page is empty), `done(itemsSoFar)` says stop, or the page cap is reached.
 * `items` takes the page's items out of its answer (default: the body itself, an array).
 * @internal
 */
export async function pagedJson<T>(
  client: SourceHttp,
  pageUrl: (page: number) => string,
  options: {
    headers?: Record<string, string>;
    items?: (response: SourceResponse<unknown>) => T[];
    done?: (items: readonly T[]) => boolean;
    /**
     * Whether the service has a page after this one, instead of "this page was full": for
     * services that cut `limit` to a smaller page size of their own (Gitea: 50 by default).
     */
    more?: (
      response: SourceResponse<unknown>,
      pageItems: readonly T[],
      all: readonly T[],
    ) => boolean;
  } = {},
): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; page <= FORGE_MAX_PAGES; page++) {
    const response = await client.getJson(pageUrl(page), {
      headers: options.headers,
    });
    const items = options.items
      ? options.items(response)
      : (response.body as T[]);
    if (!Array.isArray(items)) {
      throw new Error(
        `${pageUrl(page).replace(/\?.*$/, '')}: the answer is not a list`,
      );
    }
    all.push(...items);
    const more = options.more
      ? options.more(response, items, all) && items.length > 0
      : items.length >= FORGE_PAGE_SIZE;
    if (!more || options.done?.(all)) break;
  }
  return all;
}
