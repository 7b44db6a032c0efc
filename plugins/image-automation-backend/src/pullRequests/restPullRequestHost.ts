import {
  PullRequestApiError,
  PullRequestState,
  pullRequestState,
} from './PullRequestHost';

/** A pull request as GitHub's REST API answers it, and Gitea's after it (the fields read). */
export interface RestPull {
  number: number;
  html_url: string;
  state: string;
  merged?: boolean;
  merged_at?: string | null;
  merge_commit_sha?: string | null;
  head?: { sha?: string };
  updated_at?: string;
}

/**
 * The calls GitHub's REST API and Gitea's make alike: a pull request's update, its close with a
 * comment and its read, each answer read as the pull request's state. A subclass makes the calls
 * (base URL, authentication, rate limits) and says what its host's answer means beyond the fields
 * both share (`merged`, `changedAt`).
 * @internal
 */
export abstract class RestPullRequestHost {
  abstract readonly host: string;

  protected abstract call<T>(
    what: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T>;

  /** Whether the answer says the pull request was merged. */
  protected merged(pr: RestPull): boolean {
    return pr.merged === true;
  }

  /** When the host last changed it, where a review moves it (see PullRequestState.changedAt). */
  protected changedAt(_pr: RestPull): string | undefined {
    return undefined;
  }

  /** Edits title and body; the answer is the pull request as the host now has it (merged, closed or open). */
  async update(
    number: number,
    change: { title: string; body: string },
  ): Promise<PullRequestState> {
    const what = `updating pull request #${number}`;
    return this.state(
      what,
      await this.call<RestPull | undefined>(
        what,
        'PATCH',
        `/pulls/${number}`,
        change,
      ),
    );
  }

  async closeWithComment(number: number, comment: string): Promise<void> {
    await this.call(
      `commenting on pull request #${number}`,
      'POST',
      `/issues/${number}/comments`,
      { body: comment },
    );
    await this.call(
      `closing pull request #${number}`,
      'PATCH',
      `/pulls/${number}`,
      { state: 'closed' },
    );
  }

  async get(number: number): Promise<PullRequestState> {
    const what = `reading pull request #${number}`;
    return this.state(
      what,
      await this.call<RestPull | undefined>(what, 'GET', `/pulls/${number}`),
    );
  }

  private state(what: string, pr: RestPull | undefined): PullRequestState {
    if (!pr || typeof pr.number !== 'number' || typeof pr.state !== 'string')
      throw new PullRequestApiError(
        this.host,
        undefined,
        what,
        'the answer does not carry the pull request and its state',
      );
    const merged = this.merged(pr);
    const changedAt = this.changedAt(pr);
    return {
      number: pr.number,
      url: pr.html_url,
      state: pullRequestState(merged, pr.state === 'open'),
      ...(merged && pr.merge_commit_sha
        ? { mergeCommit: pr.merge_commit_sha }
        : {}),
      ...(pr.head?.sha ? { headSha: pr.head.sha } : {}),
      ...(changedAt ? { changedAt } : {}),
    };
  }
}
