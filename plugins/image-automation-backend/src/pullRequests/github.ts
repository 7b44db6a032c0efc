import { GitAuth } from '../git/runGit';
import { callHostApi } from './apiCall';
import {
  combinedStatusChecks,
  NewPullRequest,
  OpenedPullRequest,
  PullRequestHost,
  PullRequestRef,
  PullRequestReviews,
} from './PullRequestHost';
import { RestPull, RestPullRequestHost } from './restPullRequestHost';

/** GitHub's GraphQL mutation that turns auto-merge on for a pull request (by its node id). */
export const ENABLE_AUTO_MERGE_MUTATION =
  'mutation EnableAutoMerge($pullRequestId: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId}) { pullRequest { number autoMergeRequest { enabledAt } } } }';

/** The GraphQL endpoint of a REST base: `https://api.github.com/graphql`, or GHES's `https://HOST/api/graphql`. @internal */
export function gitHubGraphqlUrl(apiBaseUrl: string): string {
  const base = apiBaseUrl.replace(/\/+$/, '');
  return /\/api\/v3$/.test(base)
    ? base.replace(/\/v3$/, '/graphql')
    : `${base}/graphql`;
}

/**
 * GitHub's pull requests (REST v3) for one repository. `apiBaseUrl` is `https://api.github.com`
 * or a GitHub Enterprise Server's `https://HOST/api/v3` (from the platform's config, never from a
 * manifest). Primary rate limits (403/429 with `X-RateLimit-Remaining: 0`) and secondary limits
 * (`Retry-After`) are waited out once when short; otherwise the call fails naming the host, the
 * status and the wait. Not tested against github.com (it cannot run here): against a local
 * stand-in serving the recorded API contract.
 * @internal
 */
export class GitHubPullRequestHost
  extends RestPullRequestHost
  implements PullRequestHost
{
  readonly host: string;
  calls = 0;
  private readonly api: string;
  private readonly owner: string;

  constructor(
    private readonly options: {
      apiBaseUrl: string;
      owner: string;
      repo: string;
      auth?: GitAuth;
      fetch?: typeof fetch;
      signal?: AbortSignal;
    },
  ) {
    super();
    const base = new URL(options.apiBaseUrl);
    this.host = base.host;
    this.owner = options.owner;
    this.api = `${options.apiBaseUrl.replace(
      /\/$/,
      '',
    )}/repos/${encodeURIComponent(options.owner)}/${encodeURIComponent(
      options.repo,
    )}`;
  }

  protected call<T>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
    url = `${this.api}${path}`,
  ): Promise<T> {
    // GitHub tokens are the password of Git's basic credential (`x-access-token:<token>`).
    const auth = this.options.auth;
    let token: string | undefined;
    if (auth?.type === 'basic') token = auth.password;
    else if (auth?.type === 'bearer') token = auth.token;
    return callHostApi<T>({
      host: this.host,
      url,
      method,
      what,
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
      fetch: this.options.fetch,
      signal: this.options.signal,
      counted: () => this.calls++,
    });
  }

  async findOpen(
    head: string,
    base: string,
  ): Promise<PullRequestRef | undefined> {
    // Filtered to the one head branch: at most one open pull request matches.
    const found = await this.call<Array<{ number: number; html_url: string }>>(
      `finding the pull request from '${head}'`,
      'GET',
      `/pulls?state=open&head=${encodeURIComponent(
        `${this.owner}:${head}`,
      )}&base=${encodeURIComponent(base)}&per_page=1`,
    );
    return found[0]
      ? { number: found[0].number, url: found[0].html_url }
      : undefined;
  }

  async open(request: NewPullRequest): Promise<OpenedPullRequest> {
    const created = await this.call<{
      number: number;
      html_url: string;
      node_id?: string;
    }>('opening a pull request', 'POST', '/pulls', {
      head: request.head,
      base: request.base,
      title: request.title,
      body: request.body,
    });
    if (request.labels?.length) {
      await this.call(
        'adding labels',
        'POST',
        `/issues/${created.number}/labels`,
        { labels: request.labels },
      );
    }
    if (request.reviewers?.length) {
      await this.call(
        'requesting reviewers',
        'POST',
        `/pulls/${created.number}/requested_reviewers`,
        { reviewers: request.reviewers },
      );
    }
    const ref = { number: created.number, url: created.html_url };
    if (!request.autoMerge) return ref;
    if (!created.node_id)
      return {
        ...ref,
        autoMerge: false,
        autoMergeRefused: `${this.host}: enabling auto-merge: the pull request has no node id`,
      };
    // GraphQL answers a refusal (a repository without auto-merge, a pull request already mergeable)
    // with 200 and `errors`: open all the same, for a person to merge. HTTP failures fail the run.
    const answer = await this.call<{
      data?: unknown;
      errors?: Array<{ type?: string; message?: string }>;
    }>(
      'enabling auto-merge',
      'POST',
      '',
      {
        query: ENABLE_AUTO_MERGE_MUTATION,
        variables: { pullRequestId: created.node_id },
      },
      gitHubGraphqlUrl(this.options.apiBaseUrl),
    );
    if (answer?.errors?.length) {
      const why = answer.errors
        .map(e => e.message ?? e.type ?? 'refused')
        .join('; ')
        .slice(0, 300);
      return {
        ...ref,
        autoMerge: false,
        autoMergeRefused: `${this.host}: enabling auto-merge was refused: ${why}`,
      };
    }
    return { ...ref, autoMerge: true };
  }

  /** Merged by `merged` or by a `merged_at` time. */
  protected override merged(pr: RestPull): boolean {
    return pr.merged === true || Boolean(pr.merged_at);
  }

  protected override changedAt(pr: RestPull): string | undefined {
    return pr.updated_at;
  }

  async reviews(number: number, headSha?: string): Promise<PullRequestReviews> {
    const reviews = await this.call<
      Array<{ state: string; user?: { login?: string } }>
    >(
      `reading the reviews of pull request #${number}`,
      'GET',
      `/pulls/${number}/reviews?per_page=100`,
    );
    const latest = new Map<string, string>();
    for (const review of reviews) {
      const login = review.user?.login;
      if (!login) continue;
      if (
        review.state === 'APPROVED' ||
        review.state === 'CHANGES_REQUESTED' ||
        review.state === 'DISMISSED'
      ) {
        latest.set(login, review.state);
      }
    }
    const result: PullRequestReviews = {
      approvedBy: [...latest]
        .filter(([, s]) => s === 'APPROVED')
        .map(([l]) => l)
        .sort(),
      changesRequestedBy: [...latest]
        .filter(([, s]) => s === 'CHANGES_REQUESTED')
        .map(([l]) => l)
        .sort(),
      checks: 'none',
    };
    if (headSha) {
      // Checks (check runs, e.g. GitHub Actions) and commit statuses (the older API many CI systems
      // report through) of the head: the worst of both.
      const runs = await this.call<{
        total_count: number;
        check_runs: Array<{ status: string; conclusion: string | null }>;
      }>(
        `reading the checks of pull request #${number}`,
        'GET',
        `/commits/${encodeURIComponent(headSha)}/check-runs?per_page=100`,
      );
      const combined = await this.call<{
        state?: string;
        total_count?: number;
      }>(
        `reading the commit status of pull request #${number}`,
        'GET',
        `/commits/${encodeURIComponent(headSha)}/status`,
      );
      const states: Array<PullRequestReviews['checks']> = [];
      if (runs.total_count > 0) {
        const bad = runs.check_runs.some(
          r =>
            r.status === 'completed' &&
            !['success', 'neutral', 'skipped'].includes(r.conclusion ?? ''),
        );
        const pending = runs.check_runs.some(r => r.status !== 'completed');
        if (bad) states.push('failure');
        else states.push(pending ? 'pending' : 'success');
      }
      if (combined?.total_count) {
        states.push(combinedStatusChecks(combined.state));
      }
      for (const worst of ['failure', 'pending', 'success'] as const) {
        if (states.includes(worst)) {
          result.checks = worst;
          break;
        }
      }
    }
    return result;
  }
}
