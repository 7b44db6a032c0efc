import { Config } from '@backstage/config';
import {
  integrationReadAllowed,
  readGitAccessSettings,
} from '../../git/gitAccess';
import { RegistryTls } from '../../registry/RegistryClient';
import { ExportedInput } from '../exportedInputs';
import {
  branchInputs,
  enoughBranches,
  enoughPullRequests,
  filterProblem,
  GitRefItem,
  pagedJson,
  pullRequestInputs,
  PullRequestItem,
  tagInputs,
} from './forge';
import { forgeFailure, forgeToken } from './forgeCall';
import {
  checkSourceUrl,
  createSourceHttp,
  GIT_PROVIDER_MAX_BODY_BYTES,
  SourceHttpError,
  SourceResponse,
  sourceTls,
} from './http';
import { InputSource, InputSourceContext, InputSourceResult } from './types';

/**
 * The Gitea (and Forgejo) ResourceSetInputProvider types: `GiteaBranch`, `GiteaTag` and
 * `GiteaPullRequest`, read through Gitea's REST API (`/api/v1/repos/{owner}/{repo}/…`).
 *
 * `spec.url` is the repository's web URL (`https://gitea.example.com/owner/repo`, optionally
 * under the sub-path Gitea is served from); requests go to that host only, which must be in
 * `imageAutomation.inputProviders.allowedHosts`. Authentication, in this order: the named
 * credential `spec.secretRef` names (`token`, or `basic` whose password is the token, as the Flux
 * Operator uses it), granted to the entity and bound to the repository; else the Backstage
 * `integrations.gitea` entry for the host, only for repositories under
 * `imageAutomation.git.integrationRead` (or `integrationPush`); else anonymous.
 */

type GiteaKind = 'branch' | 'tag' | 'pull';

/** Where a Gitea repository's API is, from its web URL. @internal */
export interface GiteaRepositoryLocation {
  /** The repository's URL without `.git` or a trailing slash: what credentials are bound to. */
  repositoryUrl: string;
  /** `…/api/v1/repos/{owner}/{repo}` */
  apiUrl: string;
  owner: string;
  repo: string;
}

/**
 * The API location of the Gitea repository `url` names: its last two path segments are the owner
 * and the repository (a `.git` suffix dropped), anything before them the path Gitea is served
 * under. Throws with a message fit for a condition.
 * @internal
 */
export function giteaRepository(url: string): GiteaRepositoryLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`'${url}' is not a valid URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new Error(`'${url}' must be an http(s) URL of a Gitea repository`);
  }
  if (parsed.username || parsed.password) {
    throw new Error(
      `credentials in the URL are not allowed; use spec.secretRef`,
    );
  }
  if (parsed.search || parsed.hash) {
    throw new Error(`'${url}' must not have a query or fragment`);
  }
  if (/%2e|%2f|%5c|\\/i.test(parsed.pathname)) {
    throw new Error(`'${url}' has an encoded '.', '/' or '\\' in its path`);
  }
  const segments = parsed.pathname
    .replace(/\.git\/?$/, '')
    .split('/')
    .filter(Boolean);
  if (segments.length < 2) {
    throw new Error(
      `'${url}' does not name a repository: expected https://<host>/<owner>/<repository>`,
    );
  }
  const [owner, repo] = segments.slice(-2);
  const prefix = segments.slice(0, -2).join('/');
  const base = `${parsed.protocol}//${parsed.host}${
    prefix ? `/${prefix}` : ''
  }`;
  return {
    repositoryUrl: `${base}/${owner}/${repo}`,
    apiUrl: `${base}/api/v1/repos/${encodeURIComponent(
      owner,
    )}/${encodeURIComponent(repo)}`,
    owner,
    repo,
  };
}

/**
 * Whether a Gitea listing has a page after this one. Gitea cuts `limit` to its
 * `[api] MAX_RESPONSE_ITEMS` (50 by default), so a short page does not mean the end: most
 * listings say `Link: <…>; rel="next"`, and all of them `X-Total-Count` (the tags listing only
 * that). Never a URL from the answer is followed: the next page is always built from `spec.url`.
 */
function hasNextPage(
  response: SourceResponse<unknown>,
  _page: readonly unknown[],
  all: readonly unknown[],
): boolean {
  const link = response.headers.link;
  if (typeof link === 'string' && /<[^>]*>\s*;\s*rel="?next"?/.test(link))
    return true;
  const total = Number(response.headers['x-total-count']);
  return Number.isSafeInteger(total) && all.length < total;
}

/**
 * The `Authorization` header from Backstage's `integrations.gitea` entry for the repository's
 * host (Basic user and password, which Gitea also accepts with a token as the password), only
 * when `imageAutomation.git.integrationRead` (or `integrationPush`) lists the repository; none
 * otherwise (the request is anonymous).
 */
function integrationAuthorization(
  config: Config,
  location: GiteaRepositoryLocation,
): Record<string, string> {
  if (
    !integrationReadAllowed(
      location.repositoryUrl,
      readGitAccessSettings(config),
    )
  )
    return {};
  const host = new URL(location.repositoryUrl).host.toLocaleLowerCase('en-US');
  for (const entry of config.getOptionalConfigArray('integrations.gitea') ??
    []) {
    if (entry.getOptionalString('host')?.toLocaleLowerCase('en-US') !== host)
      continue;
    const username = entry.getOptionalString('username');
    const password = entry.getOptionalString('password');
    if (!password) return {};
    return username
      ? {
          authorization: `Basic ${Buffer.from(
            `${username}:${password}`,
          ).toString('base64')}`,
        }
      : { authorization: `Bearer ${password}` };
  }
  return {};
}

interface GiteaBranch {
  name: string;
  commit?: { id?: string };
}
interface GiteaTag {
  name: string;
  id?: string;
  commit?: { sha?: string };
}
interface GiteaPull {
  number: number;
  title?: string;
  user?: { login?: string };
  labels?: Array<{ name?: string }> | null;
  head?: { ref?: string; sha?: string };
}

/** The answer's items, each checked to have what an input needs (else the call fails). */
function listItems<T>(
  response: SourceResponse<unknown>,
  what: string,
  valid: (item: T) => boolean,
): T[] {
  if (!Array.isArray(response.body)) {
    throw new SourceHttpError(
      'Gitea answered with something other than a list',
    );
  }
  const items = response.body as T[];
  if (
    !items.every(
      item => typeof item === 'object' && item !== null && valid(item),
    )
  ) {
    throw new SourceHttpError(`Gitea answered with a malformed ${what} list`);
  }
  return items;
}

const named = (item: { name?: unknown }) =>
  typeof item.name === 'string' && item.name !== '';

async function giteaInputs(
  context: InputSourceContext,
  kind: GiteaKind,
): Promise<InputSourceResult> {
  const { spec } = context;
  const terminal = (reason: string, message: string): InputSourceResult => ({
    ok: false,
    terminal: true,
    reason,
    message,
  });
  if (!spec.url)
    return terminal(
      'InvalidSpec',
      `spec.url is required for type '${spec.type}'`,
    );
  let location: GiteaRepositoryLocation;
  try {
    location = giteaRepository(spec.url);
  } catch (error) {
    return terminal(
      'InvalidSpec',
      `invalid spec.url: ${(error as Error).message}`,
    );
  }
  const problem = filterProblem(spec.filter);
  if (problem) return terminal('InvalidSpec', problem);

  // Refusals decided before any request: the host, then the credentials.
  let headers: Record<string, string>;
  let tls: RegistryTls | undefined;
  try {
    checkSourceUrl(context, location.apiUrl);
    if (spec.secretRef?.name) {
      const token = await forgeToken(context, location.repositoryUrl);
      headers = token ? { authorization: `Bearer ${token}` } : {};
    } else {
      headers = integrationAuthorization(context.config, location);
    }
    tls = sourceTls(context, location.repositoryUrl);
  } catch (error) {
    return forgeFailure(context, error);
  }

  const client = createSourceHttp(context, {
    what: 'Gitea',
    maxBodyBytes: GIT_PROVIDER_MAX_BODY_BYTES,
    tls,
  });
  const page =
    (path: string, extra = '') =>
    (n: number) =>
      `${location.apiUrl}/${path}?${extra}page=${n}&limit=100`;
  try {
    let inputs: ExportedInput[];
    if (kind === 'branch') {
      const branches = await pagedJson<GitRefItem>(client, page('branches'), {
        headers,
        items: response =>
          listItems<GiteaBranch>(response, 'branch', named).map(b => ({
            name: b.name,
            sha: String(b.commit?.id ?? ''),
          })),
        more: hasNextPage,
        done: items => enoughBranches(spec.filter, items),
      });
      inputs = branchInputs(spec.filter, branches);
    } else if (kind === 'tag') {
      const tags = await pagedJson<GitRefItem>(client, page('tags'), {
        headers,
        items: response =>
          listItems<GiteaTag>(response, 'tag', named).map(t => ({
            name: t.name,
            sha: String(t.commit?.sha ?? t.id ?? ''),
          })),
        more: hasNextPage,
      });
      inputs = tagInputs(spec.filter, tags);
    } else {
      const pulls = await pagedJson<PullRequestItem>(
        client,
        page('pulls', 'state=open&'),
        {
          headers,
          items: response =>
            listItems<GiteaPull>(response, 'pull request', pr =>
              Number.isSafeInteger(pr.number),
            ).map(pr => ({
              number: pr.number,
              sha: String(pr.head?.sha ?? ''),
              branch: String(pr.head?.ref ?? ''),
              author: String(pr.user?.login ?? ''),
              title: String(pr.title ?? ''),
              labels: (Array.isArray(pr.labels) ? pr.labels : [])
                .map(l => (typeof l?.name === 'string' ? l.name : ''))
                .filter(Boolean),
            })),
          more: hasNextPage,
          done: items => enoughPullRequests(spec.filter, items),
        },
      );
      inputs = pullRequestInputs(context, pulls);
    }
    return { ok: true, inputs };
  } catch (error) {
    if (context.signal?.aborted) throw error;
    return forgeFailure(context, error);
  }
}

/** `GiteaBranch`: the repository's branches (`id`, `sha`, `branch`). @internal */
export const giteaBranchSource: InputSource = context =>
  giteaInputs(context, 'branch');
/** `GiteaTag`: the repository's tags (`id`, `sha`, `tag`). @internal */
export const giteaTagSource: InputSource = context =>
  giteaInputs(context, 'tag');
/** `GiteaPullRequest`: the repository's open pull requests (`id`, `sha`, `branch`, `author`, `title`, `labels`). @internal */
export const giteaPullRequestSource: InputSource = context =>
  giteaInputs(context, 'pull');
