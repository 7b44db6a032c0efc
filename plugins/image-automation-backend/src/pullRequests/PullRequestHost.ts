/**
 * Pull (merge) requests on a Git host, for ImageUpdateAutomations in pull-request mode: the
 * update is pushed to a per-target branch and a pull request from it to the checkout branch is
 * the promotion. One adapter instance serves one repository with one credential.
 * @internal
 */
export interface PullRequestHost {
  /** `host[:port]` of the API, named in every error. */
  readonly host: string;
  /** The open pull request from `head` into `base`, if there is one (one call). */
  findOpen(head: string, base: string): Promise<PullRequestRef | undefined>;
  /** Opens it with its labels and reviewers; asks for auto-merge when `request.autoMerge`. */
  open(request: NewPullRequest): Promise<OpenedPullRequest>;
  /**
   * New title and body (the branch was force-pushed before), in one call. The answer is the pull
   * request as the host has it now: a pull request merged or closed meanwhile says so here, so that
   * an update needs no read before it.
   */
  update(
    number: number,
    change: { title: string; body: string },
  ): Promise<PullRequestState>;
  /** Comments, then closes without merging. */
  closeWithComment(number: number, comment: string): Promise<void>;
  /** Open, closed or merged (one call). */
  get(number: number): Promise<PullRequestState>;
  /** The reviews and the checks of the head commit. */
  reviews(number: number, headSha?: string): Promise<PullRequestReviews>;
}

/** @internal */
export interface PullRequestRef {
  number: number;
  /** The pull request's web page. */
  url: string;
}

/** @internal */
export interface OpenedPullRequest extends PullRequestRef {
  /** Auto-merge was asked for and the host accepted it. */
  autoMerge?: boolean;
  /**
   * Auto-merge was asked for and the host refused it (e.g. the repository does not allow it): why,
   * naming the host. The pull request is open all the same, for a person to merge.
   */
  autoMergeRefused?: string;
}

/** @internal */
export interface NewPullRequest {
  head: string;
  base: string;
  title: string;
  body: string;
  labels?: string[];
  reviewers?: string[];
  /** Merge by itself once approvals and checks allow, where the host supports it. */
  autoMerge?: boolean;
}

/** @internal */
export interface PullRequestState extends PullRequestRef {
  state: 'open' | 'closed' | 'merged';
  /** Merged: the commit the merge produced on the base branch. */
  mergeCommit?: string;
  /** The head commit the host sees. */
  headSha?: string;
  /**
   * When the host last changed it, only from hosts where a review moves it (GitHub's `updated_at`);
   * Gitea (1.26) does not move `updated_at` on a review, so it is left out there.
   */
  changedAt?: string;
}

/** A pull request's state from the host's words: merged, else open, else closed. @internal */
export function pullRequestState(
  merged: boolean,
  open: boolean,
): PullRequestState['state'] {
  if (merged) return 'merged';
  return open ? 'open' : 'closed';
}

/** @internal */
export interface PullRequestReviews {
  /** Reviewers whose latest review approves. */
  approvedBy: string[];
  /** Reviewers whose latest review requests changes. */
  changesRequestedBy: string[];
  /** The combined commit status of the head: `none` when no check reported. */
  checks: 'success' | 'pending' | 'failure' | 'none';
}

/** The checks of a combined commit status (GitHub, Gitea): success, pending, else failure. @internal */
export function combinedStatusChecks(
  state: string | undefined,
): 'success' | 'pending' | 'failure' {
  if (state === 'success' || state === 'pending') return state;
  return 'failure';
}

/**
 * An API call the host refused or failed: the message names the host, the call and the HTTP
 * status, never a credential.
 * @internal
 */
export class PullRequestApiError extends Error {
  constructor(
    readonly host: string,
    readonly status: number | undefined,
    what: string,
    detail?: string,
    readonly retryAfterMs?: number,
  ) {
    super(
      `${host}: ${what} failed${
        status !== undefined ? ` with HTTP ${status}` : ''
      }${detail ? `: ${detail}` : ''}`,
    );
    this.name = 'PullRequestApiError';
  }
}
