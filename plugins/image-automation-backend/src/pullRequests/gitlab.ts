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

/** GitLab's answers the adapter reads (merge requests API v4). */
interface MergeRequest {
  iid: number;
  web_url: string;
  state: 'opened' | 'closed' | 'merged' | 'locked';
  sha?: string | null;
  merge_commit_sha?: string | null;
  squash_commit_sha?: string | null;
  head_pipeline?: { status?: string; sha?: string } | null;
}

/** A head pipeline's status as one of the checks states. */
function pipelineChecks(
  status: string | undefined,
): PullRequestReviews['checks'] {
  if (!status) return 'none';
  if (status === 'success' || status === 'skipped') return 'success';
  if (status === 'failed' || status === 'canceled') return 'failure';
  // created, waiting_for_resource, preparing, pending, running, scheduled, manual
  return 'pending';
}

/**
 * The headers GitLab authenticates an API call with, from the Git credential already bound to the
 * host: a personal, project or group access token (the password of a basic credential) goes in
 * `PRIVATE-TOKEN`; an OAuth token (`oauth2:<token>`, or a bearer credential) as a bearer token.
 * @internal
 */
export function gitLabAuthHeaders(
  auth: GitAuth | undefined,
): Record<string, string> {
  if (auth?.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
  if (auth?.type === 'basic') {
    return auth.username === 'oauth2'
      ? { authorization: `Bearer ${auth.password}` }
      : { 'private-token': auth.password };
  }
  return {};
}

/**
 * GitLab's merge requests (REST API v4) for one project. `apiBaseUrl` is the platform's
 * (`https://gitlab.example.com/api/v4`, or under a sub-path `https://host/gitlab/api/v4`), never a
 * manifest's; `project` the project's full path (`group/subgroup/repo`), sent URL-encoded as the
 * project id. Reviewers are named by user name and sent as user ids (one `/users?username=` look-up
 * each, when the merge request is opened). Rate limits (429 with `Retry-After`) are waited out once
 * when short, otherwise the call fails naming the host, the status and the wait. Not tested against
 * gitlab.com (it cannot run here): against a local stand-in serving the recorded API contract.
 * @internal
 */
export class GitLabPullRequestHost implements PullRequestHost {
  readonly host: string;
  /** API calls made, for the benchmark and the tests. */
  calls = 0;
  private readonly api: string;
  private readonly project: string;
  /** The last merge request read, whose head pipeline `reviews` reports without another call. */
  private lastRead?: MergeRequest;

  constructor(
    private readonly options: {
      apiBaseUrl: string;
      project: string;
      auth?: GitAuth;
      fetch?: typeof fetch;
      signal?: AbortSignal;
    },
  ) {
    this.host = new URL(options.apiBaseUrl).host;
    this.api = options.apiBaseUrl.replace(/\/+$/, '');
    this.project = `/projects/${encodeURIComponent(options.project)}`;
  }

  private call<T>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    return callHostApi<T>({
      host: this.host,
      url: `${this.api}${path}`,
      method,
      what,
      headers: gitLabAuthHeaders(this.options.auth),
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
    // Filtered to the one source branch: at most one open merge request matches.
    const found = await this.call<MergeRequest[]>(
      `finding the merge request from '${head}'`,
      'GET',
      `${
        this.project
      }/merge_requests?state=opened&source_branch=${encodeURIComponent(
        head,
      )}&target_branch=${encodeURIComponent(base)}&per_page=1`,
    );
    return found[0]
      ? { number: found[0].iid, url: found[0].web_url }
      : undefined;
  }

  /** The user ids of user names, for `reviewer_ids`; an unknown user name fails, naming it. */
  private async userIds(usernames: string[]): Promise<number[]> {
    const ids: number[] = [];
    for (const username of usernames) {
      const users = await this.call<Array<{ id: number; username: string }>>(
        `looking up reviewer '${username}'`,
        'GET',
        `/users?username=${encodeURIComponent(username)}`,
      );
      const user = users.find(
        u =>
          u.username.toLocaleLowerCase('en-US') ===
          username.toLocaleLowerCase('en-US'),
      );
      if (!user) {
        throw new PullRequestApiError(
          this.host,
          undefined,
          `looking up reviewer '${username}'`,
          'no such user',
        );
      }
      ids.push(user.id);
    }
    return ids;
  }

  async open(request: NewPullRequest): Promise<OpenedPullRequest> {
    const reviewerIds = request.reviewers?.length
      ? await this.userIds(request.reviewers)
      : undefined;
    const created = await this.call<MergeRequest>(
      'opening a merge request',
      'POST',
      `${this.project}/merge_requests`,
      {
        source_branch: request.head,
        target_branch: request.base,
        title: request.title,
        description: request.body,
        ...(request.labels?.length ? { labels: request.labels.join(',') } : {}),
        ...(reviewerIds?.length ? { reviewer_ids: reviewerIds } : {}),
      },
    );
    const ref = { number: created.iid, url: created.web_url };
    if (!request.autoMerge) return ref;
    try {
      // `auto_merge` (GitLab 17.11+) and its older name; merges when the pipeline succeeds.
      await this.call(
        'setting auto-merge',
        'PUT',
        `${this.project}/merge_requests/${created.iid}/merge`,
        {
          auto_merge: true,
          merge_when_pipeline_succeeds: true,
          ...(created.sha ? { sha: created.sha } : {}),
        },
      );
    } catch (error) {
      // Refused for this merge request (405 cannot be merged, 406 conflicts, 409 the head moved,
      // 422): open all the same, for a person to merge. Anything else fails the run.
      if (
        error instanceof PullRequestApiError &&
        error.status !== undefined &&
        [405, 406, 409, 422].includes(error.status)
      ) {
        return { ...ref, autoMerge: false, autoMergeRefused: error.message };
      }
      throw error;
    }
    return { ...ref, autoMerge: true };
  }

  /** Edits title and description; the answer is the merge request as the host now has it. */
  async update(
    number: number,
    change: { title: string; body: string },
  ): Promise<PullRequestState> {
    const what = `updating merge request !${number}`;
    const mr = await this.call<MergeRequest | undefined>(
      what,
      'PUT',
      `${this.project}/merge_requests/${number}`,
      {
        title: change.title,
        description: change.body,
      },
    );
    return this.state(what, mr);
  }

  async closeWithComment(number: number, comment: string): Promise<void> {
    await this.call(
      `commenting on merge request !${number}`,
      'POST',
      `${this.project}/merge_requests/${number}/notes`,
      { body: comment },
    );
    await this.call(
      `closing merge request !${number}`,
      'PUT',
      `${this.project}/merge_requests/${number}`,
      { state_event: 'close' },
    );
  }

  private async read(number: number): Promise<MergeRequest> {
    const mr = await this.call<MergeRequest>(
      `reading merge request !${number}`,
      'GET',
      `${this.project}/merge_requests/${number}`,
    );
    this.lastRead = mr;
    return mr;
  }

  async get(number: number): Promise<PullRequestState> {
    return this.state(
      `reading merge request !${number}`,
      await this.read(number),
    );
  }

  private state(what: string, mr: MergeRequest | undefined): PullRequestState {
    if (!mr || typeof mr.iid !== 'number' || typeof mr.state !== 'string')
      throw new PullRequestApiError(
        this.host,
        undefined,
        what,
        'the answer does not carry the merge request and its state',
      );
    this.lastRead = mr;
    // A fast-forward merge has no merge commit: the head itself is what the target branch got.
    const mergeCommit =
      mr.merge_commit_sha || mr.squash_commit_sha || mr.sha || undefined;
    return {
      number: mr.iid,
      url: mr.web_url,
      state: pullRequestState(mr.state === 'merged', mr.state === 'opened'),
      ...(mr.state === 'merged' && mergeCommit ? { mergeCommit } : {}),
      ...(mr.sha ? { headSha: mr.sha } : {}),
    };
  }

  async reviews(number: number, headSha?: string): Promise<PullRequestReviews> {
    const approvals = await this.call<{
      approved_by?: Array<{ user?: { username?: string } }>;
    }>(
      `reading the approvals of merge request !${number}`,
      'GET',
      `${this.project}/merge_requests/${number}/approvals`,
    );
    const approvedBy = [
      ...new Set(
        (approvals.approved_by ?? [])
          .map(a => a.user?.username)
          .filter((u): u is string => !!u),
      ),
    ].sort();
    let checks: PullRequestReviews['checks'] = 'none';
    if (headSha) {
      // The head pipeline, from the merge request just read when it is of this head, else read now.
      const mr =
        this.lastRead?.iid === number && this.lastRead.sha === headSha
          ? this.lastRead
          : await this.read(number);
      const pipeline = mr.head_pipeline;
      checks =
        pipeline && (!pipeline.sha || pipeline.sha === headSha)
          ? pipelineChecks(pipeline.status)
          : 'none';
    }
    // GitLab's "request changes" is a reviewer state, not an approval: not read (approvals only).
    return { approvedBy, changesRequestedBy: [], checks };
  }
}
