import { GitAuth } from '../git/runGit';
import { callHostApi } from './apiCall';
import {
  NewPullRequest,
  OpenedPullRequest,
  PullRequestApiError,
  PullRequestHost,
  PullRequestRef,
  PullRequestReviews,
  PullRequestState,
  pullRequestState,
} from './PullRequestHost';

const API_VERSION = 'api-version=7.1';
/** Azure DevOps refuses a longer description. */
const MAX_DESCRIPTION = 4000;

/** Azure DevOps' pull request, as far as the adapter reads it (Git REST API 7.1). */
interface GitPullRequest {
  pullRequestId: number;
  status: 'active' | 'abandoned' | 'completed' | 'notSet' | 'all';
  createdBy?: { id?: string };
  lastMergeSourceCommit?: { commitId?: string };
  lastMergeCommit?: { commitId?: string };
  reviewers?: Array<{
    uniqueName?: string;
    displayName?: string;
    vote?: number;
    isContainer?: boolean;
  }>;
}

/**
 * Where an Azure DevOps repository's API is, from its clone URL:
 * `https://dev.azure.com/{org}/{project}/_git/{repo}`, `https://{org}.visualstudio.com/{project}/_git/{repo}`
 * or an Azure DevOps Server `https://host/{collection}/{project}/_git/{repo}`. Undefined when the
 * path has no `_git/{repo}`.
 * @internal
 */
export function azureDevOpsRepository(
  url: URL,
): { root: string; repo: string } | undefined {
  const segments = url.pathname.replace(/\/+$/, '').split('/');
  const at = segments.lastIndexOf('_git');
  if (at < 2 || at !== segments.length - 2 || !segments[at + 1])
    return undefined;
  let decoded: string[];
  try {
    decoded = segments.map(decodeURIComponent);
  } catch {
    return undefined;
  }
  // `.`/`..` (also percent-encoded) would move the API call to another path of the host.
  if (decoded.some(s => s === '.' || s === '..')) return undefined;
  return {
    root: `${url.origin}${segments.slice(0, at).join('/')}`,
    repo: segments[at + 1],
  };
}

/**
 * Azure DevOps' pull requests (Git REST API 7.1) for one repository. The API is at the clone
 * URL's origin and project path (a manifest cannot name another). A PAT (the password of a basic
 * credential) goes as HTTP Basic, a bearer credential (an Entra ID token) as a bearer token.
 * Reviewers by name are not supported (Azure DevOps needs identity ids; use branch policies);
 * labels are set when the pull request is created; auto-merge is Azure's auto-complete, set by
 * the pull request's creator. Not tested against Azure DevOps (it cannot run here): against a
 * local stand-in serving the recorded API contract.
 * @internal
 */
export class AzureDevOpsPullRequestHost implements PullRequestHost {
  readonly host: string;
  calls = 0;
  private readonly api: string;
  private readonly web: string;
  /** The last pull request read, whose reviewers `reviews` reports without another call. */
  private lastRead?: GitPullRequest;

  constructor(
    private readonly options: {
      /** `https://dev.azure.com/{org}/{project}` (the part of the clone URL before `/_git/`). */
      root: string;
      repo: string;
      auth?: GitAuth;
      fetch?: typeof fetch;
      signal?: AbortSignal;
    },
  ) {
    this.host = new URL(options.root).host;
    this.api = `${options.root}/_apis/git/repositories/${encodeURIComponent(
      decodeURIComponent(options.repo),
    )}`;
    this.web = `${options.root}/_git/${options.repo}`;
  }

  private call<T>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const auth = this.options.auth;
    let authorization: string | undefined;
    if (auth?.type === 'basic') {
      authorization = `Basic ${Buffer.from(
        `${auth.username}:${auth.password}`,
      ).toString('base64')}`;
    } else if (auth?.type === 'bearer') {
      authorization = `Bearer ${auth.token}`;
    }
    return callHostApi<T>({
      host: this.host,
      url: `${this.api}${path}${path.includes('?') ? '&' : '?'}${API_VERSION}`,
      method,
      what,
      headers: authorization ? { authorization } : {},
      body,
      fetch: this.options.fetch,
      signal: this.options.signal,
      counted: () => this.calls++,
    });
  }

  private url(id: number) {
    return `${this.web}/pullrequest/${id}`;
  }

  async findOpen(
    head: string,
    base: string,
  ): Promise<PullRequestRef | undefined> {
    const found = await this.call<{ value?: GitPullRequest[] }>(
      `finding the pull request from '${head}'`,
      'GET',
      `/pullrequests?searchCriteria.status=active&searchCriteria.sourceRefName=${encodeURIComponent(
        `refs/heads/${head}`,
      )}&searchCriteria.targetRefName=${encodeURIComponent(
        `refs/heads/${base}`,
      )}&$top=1`,
    );
    const pr = found?.value?.[0];
    return pr
      ? { number: pr.pullRequestId, url: this.url(pr.pullRequestId) }
      : undefined;
  }

  async open(request: NewPullRequest): Promise<OpenedPullRequest> {
    if (request.reviewers?.length) {
      throw new PullRequestApiError(
        this.host,
        undefined,
        'requesting reviewers',
        'reviewers by name are not supported on Azure DevOps (it needs identity ids): use a branch policy with required reviewers',
      );
    }
    const created = await this.call<GitPullRequest>(
      'opening a pull request',
      'POST',
      '/pullrequests',
      {
        sourceRefName: `refs/heads/${request.head}`,
        targetRefName: `refs/heads/${request.base}`,
        title: request.title,
        description: truncate(request.body),
        ...(request.labels?.length
          ? { labels: request.labels.map(name => ({ name })) }
          : {}),
      },
    );
    const ref = {
      number: created.pullRequestId,
      url: this.url(created.pullRequestId),
    };
    if (!request.autoMerge) return ref;
    if (!created.createdBy?.id) {
      return {
        ...ref,
        autoMerge: false,
        autoMergeRefused: `${this.host}: setting auto-complete: the answer named no creator`,
      };
    }
    try {
      await this.call(
        `setting auto-complete on pull request ${created.pullRequestId}`,
        'PATCH',
        `/pullrequests/${created.pullRequestId}`,
        {
          autoCompleteSetBy: { id: created.createdBy.id },
        },
      );
    } catch (error) {
      if (
        error instanceof PullRequestApiError &&
        error.status !== undefined &&
        [400, 409].includes(error.status)
      ) {
        return { ...ref, autoMerge: false, autoMergeRefused: error.message };
      }
      throw error;
    }
    return { ...ref, autoMerge: true };
  }

  /** Edits title and description; the answer is the pull request as the host now has it. */
  async update(
    number: number,
    change: { title: string; body: string },
  ): Promise<PullRequestState> {
    const what = `updating pull request ${number}`;
    const pr = await this.call<GitPullRequest | undefined>(
      what,
      'PATCH',
      `/pullrequests/${number}`,
      {
        title: change.title,
        description: truncate(change.body),
      },
    );
    return this.state(what, pr);
  }

  async closeWithComment(number: number, comment: string): Promise<void> {
    await this.call(
      `commenting on pull request ${number}`,
      'POST',
      `/pullRequests/${number}/threads`,
      {
        comments: [{ parentCommentId: 0, content: comment, commentType: 1 }],
        status: 'closed',
      },
    );
    await this.call(
      `abandoning pull request ${number}`,
      'PATCH',
      `/pullrequests/${number}`,
      { status: 'abandoned' },
    );
  }

  private async read(number: number): Promise<GitPullRequest> {
    const pr = await this.call<GitPullRequest>(
      `reading pull request ${number}`,
      'GET',
      `/pullrequests/${number}`,
    );
    this.lastRead = pr;
    return pr;
  }

  async get(number: number): Promise<PullRequestState> {
    return this.state(
      `reading pull request ${number}`,
      await this.read(number),
    );
  }

  private state(
    what: string,
    pr: GitPullRequest | undefined,
  ): PullRequestState {
    if (
      !pr ||
      typeof pr.pullRequestId !== 'number' ||
      typeof pr.status !== 'string'
    )
      throw new PullRequestApiError(
        this.host,
        undefined,
        what,
        'the answer does not carry the pull request and its status',
      );
    this.lastRead = pr;
    const head = pr.lastMergeSourceCommit?.commitId;
    return {
      number: pr.pullRequestId,
      url: this.url(pr.pullRequestId),
      state: pullRequestState(
        pr.status === 'completed',
        pr.status === 'active',
      ),
      ...(pr.status === 'completed' && pr.lastMergeCommit?.commitId
        ? { mergeCommit: pr.lastMergeCommit.commitId }
        : {}),
      ...(head ? { headSha: head } : {}),
    };
  }

  async reviews(number: number, headSha?: string): Promise<PullRequestReviews> {
    // Votes: 10 approved, 5 approved with suggestions, -5 waiting for the author, -10 rejected.
    const pr =
      this.lastRead?.pullRequestId === number
        ? this.lastRead
        : await this.read(number);
    const people = (pr.reviewers ?? []).filter(
      r => !r.isContainer && (r.uniqueName || r.displayName),
    );
    const name = (r: { uniqueName?: string; displayName?: string }) =>
      (r.uniqueName || r.displayName)!;
    const result: PullRequestReviews = {
      approvedBy: people
        .filter(r => (r.vote ?? 0) >= 5)
        .map(name)
        .sort(),
      changesRequestedBy: people
        .filter(r => (r.vote ?? 0) < 0)
        .map(name)
        .sort(),
      checks: 'none',
    };
    if (headSha) {
      const statuses = await this.call<{
        value?: Array<{
          id?: number;
          state?: string;
          context?: { genre?: string; name?: string };
        }>;
      }>(
        `reading the statuses of pull request ${number}`,
        'GET',
        `/pullRequests/${number}/statuses`,
      );
      // The latest status of each context counts.
      const latest = new Map<string, string>();
      for (const s of [...(statuses?.value ?? [])].sort(
        (a, b) => (a.id ?? 0) - (b.id ?? 0),
      )) {
        latest.set(
          `${s.context?.genre ?? ''}/${s.context?.name ?? ''}`,
          s.state ?? 'notSet',
        );
      }
      const states = [...latest.values()].filter(s => s !== 'notApplicable');
      if (states.length) {
        if (states.some(s => s === 'failed' || s === 'error'))
          result.checks = 'failure';
        else
          result.checks = states.some(s => s !== 'succeeded')
            ? 'pending'
            : 'success';
      }
    }
    return result;
  }
}

function truncate(body: string): string {
  return body.length <= MAX_DESCRIPTION
    ? body
    : `${body.slice(0, MAX_DESCRIPTION - 1)}…`;
}
