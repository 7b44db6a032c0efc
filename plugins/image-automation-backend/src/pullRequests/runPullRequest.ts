import path from 'node:path';
import {
  ImageRef,
  ObjectEvent,
  ObjectStatus,
  PromotionPullRequest,
} from '@imageops/backstage-plugin-image-automation-common';
import { applyPoliciesToTree } from '../git/applyPoliciesToTree';
import { policyOfSetter, SetterChange } from '../git/applySetters';
import {
  automationCommitMessage,
  RemovedTemplateFieldError,
} from '../git/commitMessage';
import { CommitSigner } from '../git/commitSigner';
import { formatRevision, GitReference } from '../git/gitRef';
import {
  cloneForUpdate,
  commitAll,
  GitRemote,
  pushBranch,
  PushRejectedError,
  readRemoteState,
} from '../git/GitWorkspace';
import { secureJoin } from '../git/secureJoin';
import { markFailed, markReady } from '../engine/conditions';
import { retryAfter } from '../engine/preamble';
import { ReconcileResult } from '../engine/Reconciler';
import { PromotionPlanner } from '../promotions/PromotionPlanner';
import { gitTarget } from '../promotions/gitTargets';
import { PromotionRecord } from '../store/PromotionStore';
import { StoredObject } from '../store/ObjectStore';
import { ImageUpdateAutomationSpec } from '@imageops/backstage-plugin-image-automation-common';
import { PullRequestApiError, PullRequestHost } from './PullRequestHost';
import { PullRequestOptions } from './pullRequestMode';

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message' | 'metadata'>;

const PUSH_ATTEMPTS = 5;

/** What a pull-request run needs from the automation's reconcile. @internal */
export interface PullRequestRun {
  object: StoredObject;
  spec: ImageUpdateAutomationSpec;
  now: Date;
  generation: number;
  status: ObjectStatus;
  events: Event[];
  remote: GitRemote;
  checkoutRef: GitReference;
  policies: Map<string, ImageRef | undefined>;
  observedPolicies: Record<string, ImageRef>;
  signer?: CommitSigner;
  intervalMs: number;
  options: PullRequestOptions;
  host: PullRequestHost;
  /** Reviews of the pull request count as approvals of the promotions it carries (`reviewsApprove`). */
  reviewsApprove?: boolean;
  /** A reconcile was requested (it proposes again what a closed pull request held). */
  requested: boolean;
  /** The entity's Image updates tab, linked from the pull request. */
  tabUrl?: string;
  /** Promotions, when configured. */
  promotions?: {
    planner: PromotionPlanner;
    /** The planner's decisions for this pass; `carried` are the ids the open pull request carries. */
    plan(
      tree: { repoRoot: string; updatePath: string; namespace: string },
      carried: ReadonlySet<string>,
    ): Promise<{
      policies: Map<string, ImageRef | undefined>;
      held: Set<string>;
      markers: NonNullable<ObjectStatus['markers']>;
      writes: Array<{ promotion: PromotionRecord; diff: string }>;
    }>;
    applied(
      writes: Array<{ promotion: PromotionRecord; diff: string }>,
      commit: string | undefined,
    ): Promise<string[]>;
    failed(
      writes: Array<{ promotion: PromotionRecord; diff: string }>,
      error: string,
    ): Promise<void>;
  };
}

type Tracked = NonNullable<ObjectStatus['pullRequest']>;

const gitTargetId = (automationId: string) => gitTarget(automationId).id;

function samePolicies(
  a: Record<string, ImageRef> | undefined,
  b: Record<string, ImageRef>,
): boolean {
  const left = a ?? {};
  const keys = Object.keys(b);
  if (Object.keys(left).length !== keys.length) return false;
  return keys.every(
    k =>
      left[k] &&
      left[k].name === b[k].name &&
      left[k].tag === b[k].tag &&
      (left[k].digest ?? '') === (b[k].digest ?? ''),
  );
}

const versionString = (ref: ImageRef) =>
  `${ref.tag}${ref.digest ? `@${ref.digest}` : ''}`;

function sameVersions(
  a: Record<string, string>,
  b: Record<string, string>,
): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every(k => a[k] === b[k])
  );
}

function describeVersions(versions: Record<string, string>): string {
  return Object.entries(versions)
    .map(([policy, version]) => `${policy} ${version}`)
    .join(', ');
}

/** The body of the pull request: the commit message's body, every change, and what changed since the last push. */
function pullRequestBody(
  message: string,
  fileChanges: Map<string, SetterChange[]>,
  /** The update path relative to the repository root (`fileChanges` are relative to it). */
  updatePath: string,
  tabUrl: string | undefined,
  previous: Record<string, string> | undefined,
  versions: Record<string, string>,
  automation: string,
): string {
  const lines: string[] = [];
  const body = message.split('\n').slice(1).join('\n').trim();
  if (body) lines.push(body, '');
  lines.push('### Image changes', '');
  for (const [file, changes] of [...fileChanges].sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    for (const change of changes) {
      lines.push(
        `- \`${path.posix.join(updatePath, file)}:${change.line}\` (\`${
          change.setter
        }\`): \`${change.oldValue}\` → \`${change.newValue}\``,
      );
    }
  }
  if (previous && !sameVersions(previous, versions)) {
    lines.push('', '### Changed since the last update', '');
    for (const [policy, version] of Object.entries(versions)) {
      if (previous[policy] !== version)
        lines.push(
          `- ${policy}: ${
            previous[policy] ?? '(not in this pull request)'
          } → ${version}`,
        );
    }
    for (const policy of Object.keys(previous)) {
      if (!(policy in versions))
        lines.push(`- ${policy}: no longer in this pull request`);
    }
  }
  lines.push(
    '',
    `Opened by image automation for \`${automation}\`${
      tabUrl ? `: [Image updates](${tabUrl})` : ''
    }.`,
  );
  return lines.join('\n');
}

/**
 * One run of an automation in pull-request mode. First what became of its pull request (merged:
 * its promotions are applied with the merge commit; closed by a person: they are rejected and the
 * versions held until a newer one is selected or a reconcile is requested). Then, from a fresh
 * clone of the base branch, the planned versions are committed and force-pushed, with a lease on
 * the head the branch had, to the per-target branch, and the one pull request of the target is
 * opened or updated (closed with a comment when the base carries everything already).
 * @internal
 */
export async function runPullRequest(
  run: PullRequestRun,
  signal?: AbortSignal,
): Promise<ReconcileResult> {
  const {
    object,
    spec,
    now,
    generation,
    events,
    remote,
    checkoutRef,
    options,
    host,
    promotions,
  } = run;
  let status = run.status;
  let tracked: Tracked | undefined =
    status.pullRequest && status.pullRequest.branch === options.branch
      ? status.pullRequest
      : undefined;
  const fail = (
    reason: string,
    message: string,
    retryMs = retryAfter(run.intervalMs),
  ): ReconcileResult => ({
    status: markFailed(
      { ...status, ...(tracked ? { pullRequest: tracked } : {}) },
      reason,
      message,
      now,
      generation,
    ),
    requeueAfterMs: retryMs,
    events,
  });
  let writes: Array<{ promotion: PromotionRecord; diff: string }> = [];
  /** Automations waiting upstream for promotions a merge applied. */
  const mergedDue: string[] = [];
  /** The pull request as its promotions show it (the host from its web address). */
  const recorded = (pr: Tracked): PromotionPullRequest => {
    let webHost = host.host;
    try {
      webHost = new URL(pr.url).host || host.host;
    } catch {
      // the API host
    }
    return {
      url: pr.url,
      number: pr.number,
      host: webHost,
      state: pr.state,
      ...(pr.approvedBy ? { approvedBy: pr.approvedBy } : {}),
      ...(pr.changesRequestedBy
        ? { changesRequestedBy: pr.changesRequestedBy }
        : {}),
      ...(pr.checks ? { checks: pr.checks } : {}),
      ...(pr.autoMerge !== undefined ? { autoMerge: pr.autoMerge } : {}),
      ...(pr.mergeCommit ? { mergeCommit: pr.mergeCommit } : {}),
      updatedAt: now.toISOString(),
    };
  };
  const trackedPromotions = async (pr = tracked) => {
    if (!promotions || !pr) return [];
    const found = await Promise.all(
      pr.promotions.map(id => promotions.planner.get(id)),
    );
    return found.filter((p): p is PromotionRecord => p !== undefined);
  };
  /** Records the pull request, as last read, on the promotions it carries. */
  const recordOnPromotions = async (pr: Tracked) => {
    if (!promotions) return;
    for (const promotion of await trackedPromotions(pr))
      await promotions.planner.recordPullRequest(promotion, recorded(pr), now);
  };
  /** Ready, waiting for the open pull request: what it waits for, from its reviews and checks. */
  const idle = async (pr: Tracked): Promise<ReconcileResult> => {
    await recordOnPromotions(pr);
    const waiting = [
      pr.approvedBy?.length
        ? `approved by ${pr.approvedBy.join(', ')}`
        : 'waiting for review',
      pr.changesRequestedBy?.length
        ? `changes requested by ${pr.changesRequestedBy.join(', ')}`
        : undefined,
      pr.checks && pr.checks !== 'none' ? `checks ${pr.checks}` : undefined,
    ].filter(Boolean);
    return {
      status: markReady(
        { ...status, pullRequest: pr },
        'Succeeded',
        `pull request #${pr.number} open (${waiting.join(', ')}): ${pr.url}`,
        now,
        generation,
      ),
      requeueAfterMs: run.intervalMs,
      events,
    };
  };
  const apiFailed = async (error: unknown) => {
    signal?.throwIfAborted();
    const message =
      error instanceof PullRequestApiError
        ? error.message
        : `${host.host}: ${(error as Error).message}`;
    await promotions?.failed(writes, message);
    // A host that asked callers to wait (a rate limit too long to sit out in the call) is asked
    // again when it said, at least a second and at most an hour from now.
    const wait =
      error instanceof PullRequestApiError ? error.retryAfterMs : undefined;
    return wait === undefined
      ? fail('PullRequestFailed', message)
      : fail(
          'PullRequestFailed',
          message,
          Math.min(Math.max(1000, wait), 3_600_000),
        );
  };
  const gitFailed = async (prefix: string, error: unknown) => {
    signal?.throwIfAborted();
    const message = `${prefix}: ${(error as Error).message}`;
    await promotions?.failed(writes, message);
    return fail('GitOperationFailed', message);
  };

  // 1. What became of the pull request since the last run: one read, and its reviews only when
  // they decide something now (votes) or nothing else is to be done (see below).
  let reviewsRead = false;
  if (tracked?.state === 'open') {
    let pr;
    try {
      pr = await host.get(tracked.number);
    } catch (error) {
      return await apiFailed(error);
    }
    signal?.throwIfAborted();
    if (pr.state === 'merged') {
      tracked = {
        ...tracked,
        state: 'merged',
        ...(pr.mergeCommit ? { mergeCommit: pr.mergeCommit } : {}),
        updatedAt: now.toISOString(),
      };
      events.push({
        type: 'Normal',
        reason: 'PullRequestMerged',
        message: `pull request #${pr.number} ${pr.url} was merged into '${
          options.base
        }'${pr.mergeCommit ? ` as ${pr.mergeCommit}` : ''}`,
        ...(pr.mergeCommit
          ? { metadata: { revision: `${options.base}@sha1:${pr.mergeCommit}` } }
          : {}),
      });
      // Applied with the merge commit, whatever state they were left in here (see mergedInPullRequest).
      for (const promotion of await trackedPromotions()) {
        mergedDue.push(
          ...(await promotions!.planner.mergedInPullRequest(
            promotion,
            recorded(tracked),
            now,
            events,
          )),
        );
      }
    } else if (pr.state === 'open' && run.reviewsApprove) {
      const waiting = (await trackedPromotions()).filter(
        p => p.state === 'pending',
      );
      if (waiting.length > 0) {
        let reviews;
        try {
          reviews = await host.reviews(pr.number, pr.headSha);
        } catch (error) {
          return await apiFailed(error);
        }
        reviewsRead = true;
        tracked = { ...tracked, ...reviews };
        for (const promotion of waiting) {
          await promotions!.planner.reviewVotes(
            promotion,
            { host: host.host, number: pr.number, ...reviews },
            now,
          );
        }
        await recordOnPromotions(tracked);
      }
    } else if (pr.state === 'closed') {
      tracked = { ...tracked, state: 'closed', updatedAt: now.toISOString() };
      const note = `pull request #${pr.number} ${
        pr.url
      } was closed without being merged (by a person, or because its branch was deleted): ${describeVersions(
        tracked.versions,
      )} held until a newer version is selected or a reconcile is requested`;
      events.push({
        type: 'Warning',
        reason: 'PullRequestClosed',
        message: note,
      });
      for (const promotion of await trackedPromotions()) {
        await promotions!.planner.closedWithoutMerge(
          promotion,
          note,
          now,
          events,
          recorded(tracked),
        );
        await promotions!.planner.recordPullRequest(
          promotion,
          recorded(tracked),
          now,
        );
      }
    }
    status = { ...status, pullRequest: tracked };
  }
  let reopened = false;
  if (tracked?.state === 'closed' && run.requested) {
    reopened = true;
    for (const promotion of await trackedPromotions()) {
      await promotions!.planner.reopen(
        promotion,
        `reconcile requested after pull request #${tracked.number} was closed`,
        now,
        events,
      );
    }
  }

  // 2. From the base branch: plan, apply, commit, push, open or update.
  for (let attempt = 1; ; attempt++) {
    let state;
    try {
      state = await readRemoteState(remote, checkoutRef);
    } catch (error) {
      return await gitFailed('failed to checkout source', error);
    }
    const remoteHead = state.refs.get(`refs/heads/${options.branch}`);
    // Nothing new since the last run (same base, same selections, the branch where it was left, no
    // other open promotion, no pin, no request): no clone, only the pull request's reviews and checks.
    if (
      attempt === 1 &&
      tracked?.state === 'open' &&
      !run.requested &&
      !reviewsRead &&
      state.head &&
      remoteHead === tracked.head &&
      formatRevision(state.resolved, state.head) ===
        status.observedSourceRevision &&
      samePolicies(status.observedPolicies, run.observedPolicies) &&
      (!promotions ||
        (await promotions.planner.onlyOpen(
          gitTargetId(object.id),
          new Set(tracked.promotions),
          now,
        )))
    ) {
      try {
        tracked = {
          ...tracked,
          ...(await host.reviews(tracked.number, tracked.head)),
        };
      } catch (error) {
        return await apiFailed(error);
      }
      return await idle(tracked);
    }
    let checkout;
    try {
      checkout = await cloneForUpdate(remote, state, options.base);
    } catch (error) {
      return await gitFailed('failed to checkout source', error);
    }
    try {
      let result;
      let updateDir = '';
      let policies = run.policies;
      let held: Set<string> | undefined;
      try {
        const updatePath = await secureJoin(
          checkout.dir,
          spec.update?.path ?? '',
        );
        updateDir = path.posix
          .normalize(`/${spec.update?.path ?? ''}`)
          .slice(1);
        const tree = {
          repoRoot: checkout.dir,
          updatePath,
          namespace: object.namespace,
        };
        if (promotions) {
          signal?.throwIfAborted();
          const carried = new Set(
            tracked?.state === 'open' ? tracked.promotions : [],
          );
          const plan = await promotions.plan(tree, carried);
          writes = plan.writes;
          policies = plan.policies;
          held = plan.held;
          status = { ...status, markers: plan.markers };
        }
        result = await applyPoliciesToTree({ ...tree, policies, held });
      } catch (error) {
        signal?.throwIfAborted();
        await promotions?.failed(
          writes,
          `failed to apply policies: ${(error as Error).message}`,
        );
        return fail(
          'UpdateFailed',
          `failed to apply policies: ${(error as Error).message}`,
        );
      }
      if (attempt === 1) {
        for (const w of result.warnings) {
          events.push({
            type: 'Warning',
            reason: 'SetterNotApplied',
            message: `${w.file}:${w.line}: ${w.message}`,
          });
        }
      }
      const versions: Record<string, string> = {};
      for (const changes of result.fileChanges.values()) {
        for (const change of changes) {
          const policy = policyOfSetter(change.setter, object.namespace);
          const ref = policy ? policies.get(policy) : undefined;
          if (policy && ref) versions[policy] = versionString(ref);
        }
      }
      const base = {
        ...status,
        observedSourceRevision: checkout.checkoutRevision,
        observedPolicies: run.observedPolicies,
      };

      if (result.fileChanges.size === 0) {
        // The base carries every version to write: an open pull request has nothing left to do.
        if (tracked?.state === 'open') {
          signal?.throwIfAborted();
          try {
            await host.closeWithComment(
              tracked.number,
              `Closed by image automation: \`${
                options.base
              }\` already carries what this pull request proposed (${describeVersions(
                tracked.versions,
              )}), or the selection moved back to what it carries.`,
            );
          } catch (error) {
            return await apiFailed(error);
          }
          events.push({
            type: 'Normal',
            reason: 'PullRequestSuperseded',
            message: `pull request #${tracked.number} ${tracked.url} closed: '${options.base}' already carries its versions`,
          });
          await recordOnPromotions({ ...tracked, state: 'closed' });
          tracked = undefined;
        }
        signal?.throwIfAborted();
        const dueNow = [
          ...mergedDue,
          ...((await promotions?.applied(writes, undefined)) ?? []),
        ];
        const next: ObjectStatus = { ...base };
        if (tracked) next.pullRequest = tracked;
        else delete next.pullRequest;
        if (tracked?.state === 'closed' && !reopened) {
          return {
            status: markFailed(
              next,
              'PullRequestClosed',
              `pull request #${tracked.number} ${
                tracked.url
              } was closed without being merged (by a person, or because its branch was deleted): ${describeVersions(
                tracked.versions,
              )} held until a newer version is selected or a reconcile is requested`,
              now,
              generation,
            ),
            requeueAfterMs: run.intervalMs,
            events,
            dueNow,
          };
        }
        return {
          status: markReady(
            next,
            'Succeeded',
            'repository up-to-date',
            now,
            generation,
          ),
          requeueAfterMs: run.intervalMs,
          events,
          dueNow,
        };
      }

      // Closed by a person, without promotions to record it: the same versions stay held.
      if (
        !promotions &&
        tracked?.state === 'closed' &&
        !reopened &&
        sameVersions(versions, tracked.versions)
      ) {
        return {
          status: markFailed(
            { ...base, pullRequest: tracked },
            'PullRequestClosed',
            `pull request #${tracked.number} ${
              tracked.url
            } was closed without being merged (by a person, or because its branch was deleted): ${describeVersions(
              tracked.versions,
            )} held until a newer version is selected or a reconcile is requested`,
            now,
            generation,
          ),
          requeueAfterMs: run.intervalMs,
          events,
        };
      }

      // The open pull request already carries these versions and its branch is where it was left.
      if (
        tracked?.state === 'open' &&
        remoteHead &&
        remoteHead === tracked.head &&
        sameVersions(versions, tracked.versions)
      ) {
        if (!reviewsRead) {
          try {
            tracked = {
              ...tracked,
              ...(await host.reviews(tracked.number, tracked.head)),
            };
          } catch (error) {
            return await apiFailed(error);
          }
        }
        status = base;
        return await idle(tracked);
      }

      let message: string;
      try {
        message = automationCommitMessage(
          object,
          spec.git?.commit,
          result.fileChanges,
        );
      } catch (error) {
        if (error instanceof RemovedTemplateFieldError) {
          await promotions?.failed(writes, error.message);
          return fail('RemovedTemplateField', error.message);
        }
        return await gitFailed('failed to update source', error);
      }
      const author = spec.git!.commit.author;
      let commit: string;
      try {
        commit = await commitAll(checkout, {
          author: { name: author.name ?? '', email: author.email },
          message,
          signer: run.signer,
          now,
          paths: result.written,
        });
        signal?.throwIfAborted();
        // Force-push with a lease on the head the branch had when this run looked: a branch moved
        // by someone else meanwhile is not overwritten (the run starts again from a fresh read).
        await pushBranch(
          remote,
          {
            ...checkout,
            pushBranch: options.branch,
            pushBranchHead: remoteHead,
          },
          { switched: true },
        );
      } catch (error) {
        if (error instanceof PushRejectedError && attempt < PUSH_ATTEMPTS)
          continue;
        return await gitFailed(
          `failed to push the pull request branch '${options.branch}'`,
          error,
        );
      }

      const title =
        message.split('\n')[0].trim() ||
        `Update images (${object.namespace}/${object.name})`;
      const previous = tracked?.state === 'open' ? tracked.versions : undefined;
      const body = pullRequestBody(
        message,
        result.fileChanges,
        updateDir,
        run.tabUrl,
        previous,
        versions,
        `${object.namespace}/${object.name}`,
      );
      let ref: { number: number; url: string } | undefined;
      let opened = false;
      let autoMerge = tracked?.state === 'open' ? tracked.autoMerge : undefined;
      try {
        ref =
          tracked?.state === 'open'
            ? { number: tracked.number, url: tracked.url }
            : await host.findOpen(options.branch, options.base);
        if (ref) {
          await host.update(ref.number, { title, body });
        } else {
          const created = await host.open({
            head: options.branch,
            base: options.base,
            title,
            body,
            labels: options.labels,
            reviewers: options.reviewers,
            autoMerge: options.autoMerge,
          });
          ref = { number: created.number, url: created.url };
          opened = true;
          autoMerge = options.autoMerge
            ? created.autoMerge === true
            : undefined;
          if (created.autoMergeRefused) {
            events.push({
              type: 'Warning',
              reason: 'PullRequestAutoMergeRefused',
              message: `pull request #${created.number} ${created.url} is open without auto-merge, for a person to merge: ${created.autoMergeRefused}`,
            });
          }
        }
      } catch (error) {
        return await apiFailed(error);
      }
      signal?.throwIfAborted();
      let note = 'updated';
      if (opened) note = 'opened';
      else if (previous)
        note = `updated: ${describeVersions(previous)} → ${describeVersions(
          versions,
        )}`;
      tracked = {
        number: ref.number,
        url: ref.url,
        branch: options.branch,
        base: options.base,
        state: 'open',
        head: commit,
        versions,
        // Reviews and checks of the previous head do not carry over to the new one: read on the next run.
        promotions: writes.map(w => w.promotion.id),
        ...(autoMerge !== undefined ? { autoMerge } : {}),
        updatedAt: now.toISOString(),
      };
      for (const { promotion, diff } of writes) {
        await promotions!.planner.inPullRequest(
          promotion,
          ref,
          note,
          now,
          diff,
          recorded(tracked),
        );
      }
      events.push({
        type: 'Normal',
        reason: opened ? 'PullRequestOpened' : 'PullRequestUpdated',
        message: `pull request #${ref.number} ${
          ref.url
        } ${note} (${describeVersions(versions)}, commit ${commit.slice(
          0,
          12,
        )} on '${options.branch}')`,
        metadata: { revision: `${options.branch}@sha1:${commit}` },
      });
      return {
        status: markReady(
          {
            ...base,
            pullRequest: tracked,
            lastPushCommit: commit,
            lastPushTime: now.toISOString(),
          },
          'Succeeded',
          `pull request #${ref.number} ${opened ? 'opened' : 'updated'}: ${
            ref.url
          }`,
          now,
          generation,
        ),
        requeueAfterMs: run.intervalMs,
        events,
        ...(mergedDue.length ? { dueNow: mergedDue } : {}),
      };
    } finally {
      await checkout.remove();
    }
  }
}
