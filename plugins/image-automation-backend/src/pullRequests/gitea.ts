import { GitAuth } from '../git/runGit';
import { callHostApi } from './apiCall';
import {
  combinedStatusChecks,
  NewPullRequest,
  OpenedPullRequest,
  PullRequestApiError,
  PullRequestHost,
  PullRequestRef,
  PullRequestReviews,
} from './PullRequestHost';
import { RestPullRequestHost } from './restPullRequestHost';

/** The `Authorization` header for an API call with a Git credential (HTTPS only; never SSH keys). @internal */
export function authorizationHeader(
  auth: GitAuth | undefined,
): string | undefined {
  if (!auth) return undefined;
  if (auth.type === 'basic')
    return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString(
      'base64',
    )}`;
  if (auth.type === 'bearer') return `token ${auth.token}`;
  return undefined;
}

/** `owner/repo` of a repository URL (`.git` dropped); undefined when the path is not two segments. @internal */
export function repositoryPath(
  url: string,
): { owner: string; repo: string } | undefined {
  const segments = new URL(url).pathname
    .replace(/\.git\/?$/, '')
    .split('/')
    .filter(Boolean);
  if (segments.length !== 2) return undefined;
  return {
    owner: decodeURIComponent(segments[0]),
    repo: decodeURIComponent(segments[1]),
  };
}

/**
 * Gitea's pull requests (API v1) for one repository: `baseUrl` is the server's origin
 * (`https://gitea.example.com`), `auth` the Git credential already bound to that host (a named
 * credential or the `integrations.gitea` entry). Rate limits: a 429 (or a 403 with
 * `X-RateLimit-Remaining: 0`) is retried once after its `Retry-After` when that is short,
 * otherwise the call fails naming the host, the status and the wait.
 * @internal
 */
export class GiteaPullRequestHost
  extends RestPullRequestHost
  implements PullRequestHost
{
  readonly host: string;
  /** API calls made, for the benchmark and the tests. */
  calls = 0;
  private readonly api: string;

  constructor(
    private readonly options: {
      baseUrl: string;
      /** The API under a sub-path (`https://host/gitea/api/v1`); default `<baseUrl's origin>/api/v1`. */
      apiBaseUrl?: string;
      owner: string;
      repo: string;
      auth?: GitAuth;
      fetch?: typeof fetch;
      signal?: AbortSignal;
    },
  ) {
    super();
    const base = new URL(options.apiBaseUrl ?? options.baseUrl);
    this.host = base.host;
    const api = options.apiBaseUrl
      ? options.apiBaseUrl.replace(/\/+$/, '')
      : `${base.origin}/api/v1`;
    this.api = `${api}/repos/${encodeURIComponent(
      options.owner,
    )}/${encodeURIComponent(options.repo)}`;
  }

  protected call<T>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
    notFound?: T,
  ): Promise<T> {
    const authorization = authorizationHeader(this.options.auth);
    return callHostApi<T>({
      host: this.host,
      url: `${this.api}${path}`,
      method,
      what,
      headers: authorization ? { authorization } : {},
      body,
      notFound,
      fetch: this.options.fetch,
      signal: this.options.signal,
      counted: () => this.calls++,
    });
  }

  async findOpen(
    head: string,
    base: string,
  ): Promise<PullRequestRef | undefined> {
    const found = await this.call<{
      number: number;
      html_url: string;
      state: string;
    } | null>(
      `finding the pull request from '${head}'`,
      'GET',
      `/pulls/${encodeURIComponent(base)}/${encodeURIComponent(head)}`,
      undefined,
      null,
    );
    return found && found.state === 'open'
      ? { number: found.number, url: found.html_url }
      : undefined;
  }

  async open(request: NewPullRequest): Promise<OpenedPullRequest> {
    let labels: number[] | undefined;
    if (request.labels?.length) {
      const known = await this.call<Array<{ id: number; name: string }>>(
        'listing labels',
        'GET',
        '/labels?limit=50',
      );
      labels = known
        .filter(l => request.labels!.includes(l.name))
        .map(l => l.id);
    }
    const created = await this.call<{ number: number; html_url: string }>(
      'opening a pull request',
      'POST',
      '/pulls',
      {
        head: request.head,
        base: request.base,
        title: request.title,
        body: request.body,
        ...(labels?.length ? { labels } : {}),
      },
    );
    if (request.reviewers?.length) {
      await this.call(
        'requesting reviewers',
        'POST',
        `/pulls/${created.number}/requested_reviewers`,
        { reviewers: request.reviewers },
      );
    }
    if (request.autoMerge) {
      try {
        await this.call(
          'scheduling auto-merge',
          'POST',
          `/pulls/${created.number}/merge`,
          {
            Do: 'merge',
            merge_when_checks_succeed: true,
          },
        );
      } catch (error) {
        // Refused for this pull request (405 not mergeable, 409 conflict, 422): open all the same,
        // for a person to merge. Anything else (401, 403, 429, 5xx, no answer) fails the run.
        if (
          error instanceof PullRequestApiError &&
          error.status !== undefined &&
          [405, 409, 422].includes(error.status)
        ) {
          return {
            number: created.number,
            url: created.html_url,
            autoMerge: false,
            autoMergeRefused: error.message,
          };
        }
        throw error;
      }
      return { number: created.number, url: created.html_url, autoMerge: true };
    }
    return { number: created.number, url: created.html_url };
  }

  async reviews(number: number, headSha?: string): Promise<PullRequestReviews> {
    const state: PullRequestReviews = {
      approvedBy: [],
      changesRequestedBy: [],
      checks: 'none',
    };
    const reviews = await this.call<
      Array<{
        state: string;
        user?: { login?: string };
        dismissed?: boolean;
        stale?: boolean;
      }>
    >(
      `reading the reviews of pull request #${number}`,
      'GET',
      `/pulls/${number}/reviews?limit=50`,
    );
    const latest = new Map<string, string>();
    for (const review of reviews ?? []) {
      const login = review.user?.login;
      if (!login || review.dismissed || review.stale) continue;
      if (review.state === 'APPROVED' || review.state === 'REQUEST_CHANGES')
        latest.set(login, review.state);
    }
    state.approvedBy = [...latest]
      .filter(([, s]) => s === 'APPROVED')
      .map(([login]) => login)
      .sort();
    state.changesRequestedBy = [...latest]
      .filter(([, s]) => s === 'REQUEST_CHANGES')
      .map(([login]) => login)
      .sort();
    if (headSha) {
      const combined = await this.call<{
        state?: string;
        total_count?: number;
      }>(
        `reading the checks of pull request #${number}`,
        'GET',
        `/commits/${encodeURIComponent(headSha)}/status`,
      );
      if (combined?.total_count) {
        state.checks = combinedStatusChecks(combined.state);
      }
    }
    return state;
  }
}
