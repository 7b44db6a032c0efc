import {
  ObjectStatus,
  PromotionPullRequest,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';

/**
 * A pull request as the UI shows it, from either source: a promotion's `pullRequest` or an
 * ImageUpdateAutomation's `status.pullRequest` (which names no host: it is read from the URL).
 * @internal
 */
export interface PullRequestFacts {
  url: string;
  number: number;
  host: string;
  state: PromotionPullRequest['state'];
  approvedBy?: string[];
  changesRequestedBy?: string[];
  checks?: PromotionPullRequest['checks'];
  autoMerge?: boolean;
  mergeCommit?: string;
  updatedAt?: string;
}

/** The colour a fact is shown in, always beside its words. @internal */
export type PullRequestTone =
  | 'success'
  | 'warning'
  | 'danger'
  | 'info'
  | 'secondary';

/** One fact about a pull request, in words, with its colour. @internal */
export interface PullRequestFact {
  key: string;
  text: string;
  tone: PullRequestTone;
}

/** The host of a URL, or `the Git host` when it cannot be parsed. */
function hostOf(url: string): string {
  try {
    return new URL(url).host || 'the Git host';
  } catch {
    return 'the Git host';
  }
}

/** An automation's `status.pullRequest` in the shape the UI shows. @internal */
export function pullRequestFromStatus(
  pr: NonNullable<ObjectStatus['pullRequest']>,
): PullRequestFacts {
  return { ...pr, host: hostOf(pr.url) };
}

/**
 * The URL to link to, or undefined when it is not an http(s) URL (a `javascript:` or otherwise odd
 * answer from a host is shown as text, never made a link).
 * @internal
 */
export function safeLink(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:'
      ? parsed.href
      : undefined;
  } catch {
    return undefined;
  }
}

/** A commit SHA as people read it: its first 7 characters. @internal */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

const checkFacts: Record<
  NonNullable<PromotionPullRequest['checks']>,
  { text: string; tone: PullRequestTone }
> = {
  success: { text: 'Checks: passing', tone: 'success' },
  pending: { text: 'Checks: pending', tone: 'warning' },
  failure: { text: 'Checks: failing', tone: 'danger' },
  none: { text: 'Checks: none', tone: 'secondary' },
};

/**
 * What a pull request's state says, fact by fact: open, merged (as which commit) or closed without
 * merge; while open also its reviews, checks and auto-merge.
 * @internal
 */
export function pullRequestFacts(pr: PullRequestFacts): PullRequestFact[] {
  if (pr.state === 'merged') {
    return [
      {
        key: 'state',
        text: pr.mergeCommit
          ? `Merged as ${shortSha(pr.mergeCommit)}`
          : 'Merged',
        tone: 'success',
      },
    ];
  }
  if (pr.state === 'closed') {
    return [{ key: 'state', text: 'Closed without merge', tone: 'danger' }];
  }
  const facts: PullRequestFact[] = [
    { key: 'state', text: 'Open', tone: 'info' },
  ];
  const approvedBy = pr.approvedBy ?? [];
  const changesRequestedBy = pr.changesRequestedBy ?? [];
  if (approvedBy.length > 0) {
    facts.push({
      key: 'approved',
      text: `Approved by ${approvedBy.join(', ')}`,
      tone: 'success',
    });
  }
  if (changesRequestedBy.length > 0) {
    facts.push({
      key: 'changes',
      text: `Changes requested by ${changesRequestedBy.join(', ')}`,
      tone: 'danger',
    });
  }
  if (approvedBy.length === 0 && changesRequestedBy.length === 0) {
    facts.push({ key: 'reviews', text: 'No review yet', tone: 'secondary' });
  }
  if (pr.checks) facts.push({ key: 'checks', ...checkFacts[pr.checks] });
  if (pr.autoMerge) {
    facts.push({ key: 'autoMerge', text: 'Auto-merge on', tone: 'info' });
  }
  return facts;
}

/** The facts in one line, e.g. `Open · Approved by alice · Checks: passing`. @internal */
export function pullRequestSummary(pr: PullRequestFacts): string {
  return pullRequestFacts(pr)
    .map(f => f.text)
    .join(' · ');
}

/**
 * Whether the promotion waits for a review of its open pull request: it is pending, its approval
 * gate waits, and the pull request carrying it is open. The backend opens a pull request for a
 * pending promotion only where the host's reviews count as approvals (`reviewsApprove`), so the
 * review on the host is what moves it.
 * @internal
 */
export function awaitsPullRequestReview(promotion: PromotionView): boolean {
  return (
    promotion.state === 'pending' &&
    promotion.pullRequest?.state === 'open' &&
    promotion.gates.some(g => g.gate === 'approval' && g.state === 'waiting')
  );
}

/**
 * Whether the promotion's gates passed and it waits for its open pull request to be merged on the
 * host (the promotion is `applying` while its pull request is open).
 * @internal
 */
export function awaitsPullRequestMerge(promotion: PromotionView): boolean {
  return (
    promotion.pullRequest?.state === 'open' &&
    (promotion.state === 'applying' || promotion.state === 'approved')
  );
}
