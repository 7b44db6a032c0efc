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
import { WarmClones } from '../git/warmClones';
import { markFailed, markReady } from '../engine/conditions';
import { retryAfter } from '../engine/preamble';
import { ReconcileResult } from '../engine/Reconciler';
import { PromotionPlanner } from '../promotions/PromotionPlanner';
import { gitTarget } from '../promotions/gitTargets';
import { PromotionRecord } from '../store/PromotionStore';
import { StoredObject } from '../store/ObjectStore';
import { ImageUpdateAutomationSpec } from '@imageops/backstage-plugin-image-automation-common';
import {
  PullRequestApiError,
  PullRequestHost,
  PullRequestState,
} from './PullRequestHost';
import { PullRequestOptions } from './pullRequestMode';

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message' | 'metadata'>;

const PUSH_ATTEMPTS = 5;

/** HTTP statuses of a host refusing to edit a pull request that is no longer open. */
const REFUSED_EDIT = [400, 405, 409, 410, 412, 422];

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
  /**
   * Warm clones, as direct pushes use them: the base branch's clone is reset and fetched instead of
   * cloned afresh (keyed by repository, base branch and `credentialScope`).
   */
  clones?: WarmClones;
  /** Which warm clone the run may use: see credentialScope. */
  credentialScope?: string;
  /** A reconcile was requested (it proposes again what a closed pull request held). */
  requested: boolean;
  /** The entity's Image updates tab, linked from the pull request. */
  tabUrl?: string;
  /** Promotions, when configured. */
  promotions?: {
    planner: PromotionPlanner;
    /**
     * The planner's decisions for this pass; `carried` are the ids the open pull request carries.
     * With `defer` (the pull request is open as far as this pass knows, and the host was not read),
     * decisions that would close a carried promotion (superseded by a newer selection, or applied
     * because the base carries it) are not written: `deferred` names their policies, and
     * {@link settle} writes them once the host answered that the pull request is still open.
     */
    plan(
      tree: { repoRoot: string; updatePath: string; namespace: string },
      carried: ReadonlySet<string>,
      defer: boolean,
    ): Promise<{
      policies: Map<string, ImageRef | undefined>;
      held: Set<string>;
      markers: NonNullable<ObjectStatus['markers']>;
      writes: Array<{ promotion: PromotionRecord; diff: string }>;
      deferred: string[];
      /** The policies whose selection waits for its gates, with the tag that waits. */
      waiting: Map<string, string>;
    }>;
    /** Writes the decisions the last {@link plan} deferred; returns the promotions the pull request now carries out. */
    settle(
      carried: ReadonlySet<string>,
    ): Promise<Array<{ promotion: PromotionRecord; diff: string }>>;
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
type Write = { promotion: PromotionRecord; diff: string };
type Checkout = Awaited<ReturnType<typeof cloneForUpdate>>;

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

/** The pass starts again from a fresh read of the branches (a push lost, or the pull request was merged or closed meanwhile). */
const AGAIN = Symbol('again');
type Step = ReconcileResult | typeof AGAIN;

/** What the plan wrote into the tree for the pull request. */
interface Planned {
  result: Awaited<ReturnType<typeof applyPoliciesToTree>>;
  versions: Record<string, string>;
  /** The update path relative to the repository root. */
  updateDir: string;
}

/** The steps of one run: poll, plan, push, open or update, supersede (close), record. */
class PullRequestPass {
  private status: ObjectStatus;
  private tracked: Tracked | undefined;
  private writes: Write[] = [];
  /** Automations waiting upstream for promotions a merge applied. */
  private readonly mergedDue: string[] = [];
  /** The host told this pass the pull request's state (read, or the answer of an update). */
  private known = false;
  private reviewsRead = false;
  private reopened = false;
  /** Decisions the plan left for after the host's answer (see PullRequestRun.promotions.plan). */
  private deferred = 0;
  /** What the last plan held for its gates (see PullRequestRun.promotions.plan). */
  private waiting = new Map<string, string>();

  constructor(
    private readonly ctx: PullRequestRun,
    private readonly signal?: AbortSignal,
  ) {
    this.status = ctx.status;
    this.tracked =
      ctx.status.pullRequest?.branch === ctx.options.branch
        ? ctx.status.pullRequest
        : undefined;
  }

  async execute(): Promise<ReconcileResult> {
    const { ctx } = this;
    for (let attempt = 1; ; attempt++) {
      let state;
      try {
        state = await readRemoteState(ctx.remote, ctx.checkoutRef);
      } catch (error) {
        return await this.gitFailed('failed to checkout source', error);
      }
      const remoteHead = state.refs.get(`refs/heads/${ctx.options.branch}`);
      const failed = await this.poll(remoteHead);
      if (failed) return failed;
      await this.reopenIfRequested();
      const tracked = this.tracked;
      // Nothing new since the last run (same base, same selections, the branch where it was left, no
      // other open promotion, no pin, no request): no clone, and no call beyond the poll.
      if (
        attempt === 1 &&
        tracked?.state === 'open' &&
        this.known &&
        !ctx.requested &&
        !this.reviewsRead &&
        state.head &&
        remoteHead === tracked.head &&
        formatRevision(state.resolved, state.head) ===
          this.status.observedSourceRevision &&
        samePolicies(this.status.observedPolicies, ctx.observedPolicies) &&
        (!ctx.promotions ||
          (await ctx.promotions.planner.onlyOpen(
            gitTargetId(ctx.object.id),
            new Set(tracked.promotions),
            ctx.now,
          )))
      )
        return await this.idle(tracked);
      if (attempt > PUSH_ATTEMPTS + 1)
        return await this.gitFailed(
          `failed to push the pull request branch '${ctx.options.branch}'`,
          new Error(`the branch kept moving (${attempt - 1} attempts)`),
        );
      let checkout;
      try {
        checkout =
          ctx.clones && ctx.credentialScope !== undefined
            ? await ctx.clones.checkout(
                ctx.remote,
                state,
                ctx.options.base,
                ctx.credentialScope,
              )
            : await cloneForUpdate(ctx.remote, state, ctx.options.base);
      } catch (error) {
        return await this.gitFailed('failed to checkout source', error);
      }
      try {
        const step = await this.update(checkout, remoteHead, attempt);
        if (step !== AGAIN) return step;
      } finally {
        await checkout.remove();
      }
    }
  }

  /**
   * Poll: reads the open pull request (one call) when this run has no new selection to push (a
   * requested reconcile included), or its branch is not where it was left (deleted with a merge, say). A run with a new selection
   * reads nothing: the update's answer tells. Its reviews (and head checks) are read when a
   * promotion it carries waits for them (`reviewsApprove`: they are its votes), else only when the
   * host says the pull request changed since they were last read (GitHub moves `updated_at` on a
   * review), or does not say (Gitea, GitLab). Returns a result only on failure.
   */
  private async poll(
    remoteHead: string | undefined,
  ): Promise<ReconcileResult | undefined> {
    const { ctx, tracked } = this;
    if (this.known || tracked?.state !== 'open') return undefined;
    // A requested reconcile polls too: whoever asked wants the reviews read now, not at the interval.
    const newSelection = !samePolicies(
      this.status.observedPolicies,
      ctx.observedPolicies,
    );
    if (newSelection && remoteHead === tracked.head) return undefined;
    let pr;
    try {
      pr = await ctx.host.get(tracked.number);
    } catch (error) {
      return await this.apiFailed(error);
    }
    this.signal?.throwIfAborted();
    await this.record(pr);
    if (pr.state !== 'open') return undefined;
    const waiting = ctx.reviewsApprove
      ? (await this.trackedPromotions()).filter(p => p.state === 'pending')
      : [];
    if (
      waiting.length === 0 &&
      pr.changedAt !== undefined &&
      pr.changedAt === tracked.hostChangedAt
    )
      return undefined;
    let reviews;
    try {
      reviews = await ctx.host.reviews(pr.number, pr.headSha);
    } catch (error) {
      return await this.apiFailed(error);
    }
    this.tracked = {
      ...this.tracked!,
      ...reviews,
      ...(pr.changedAt ? { hostChangedAt: pr.changedAt } : {}),
    };
    for (const promotion of waiting) {
      await ctx.promotions!.planner.reviewVotes(
        promotion,
        { host: ctx.host.host, number: pr.number, ...reviews },
        ctx.now,
      );
    }
    // Votes cast: the gates are decided again (a plan), not left for the next interval.
    if (waiting.length > 0) this.reviewsRead = true;
    await this.recordOnPromotions(this.tracked);
    this.status = { ...this.status, pullRequest: this.tracked };
    return undefined;
  }

  /**
   * Record: what the host said of the tracked pull request (read, or answered to an update). Merged:
   * its promotions are applied with the merge commit, whatever state they were left in here (see
   * mergedInPullRequest). Closed by a person: they are rejected, the versions held.
   */
  private async record(pr: PullRequestState): Promise<void> {
    const { ctx } = this;
    const { options, now } = ctx;
    this.known = true;
    if (pr.state === 'open' || !this.tracked) return;
    const carried = await this.trackedPromotions();
    if (pr.state === 'merged') {
      const merged: Tracked = {
        ...this.tracked,
        state: 'merged',
        ...(pr.mergeCommit ? { mergeCommit: pr.mergeCommit } : {}),
        updatedAt: now.toISOString(),
      };
      this.tracked = merged;
      ctx.events.push({
        type: 'Normal',
        reason: 'PullRequestMerged',
        message: `pull request #${pr.number} ${pr.url} was merged into '${
          options.base
        }'${pr.mergeCommit ? ` as ${pr.mergeCommit}` : ''}`,
        ...(pr.mergeCommit
          ? { metadata: { revision: `${options.base}@sha1:${pr.mergeCommit}` } }
          : {}),
      });
      for (const promotion of carried) {
        this.mergedDue.push(
          ...(await ctx.promotions!.planner.mergedInPullRequest(
            promotion,
            this.recorded(merged),
            now,
            ctx.events,
          )),
        );
      }
    } else {
      const closed: Tracked = {
        ...this.tracked,
        state: 'closed',
        updatedAt: now.toISOString(),
      };
      this.tracked = closed;
      const note = closedNote(closed);
      ctx.events.push({
        type: 'Warning',
        reason: 'PullRequestClosed',
        message: note,
      });
      for (const promotion of carried) {
        const planner = ctx.promotions!.planner;
        await planner.closedWithoutMerge(
          promotion,
          note,
          now,
          ctx.events,
          this.recorded(closed),
        );
        await planner.recordPullRequest(promotion, this.recorded(closed), now);
      }
    }
    this.status = { ...this.status, pullRequest: this.tracked };
  }

  /** A reconcile requested after the pull request was closed proposes again what it held. */
  private async reopenIfRequested(): Promise<void> {
    const { tracked, ctx } = this;
    if (this.reopened || tracked?.state !== 'closed' || !ctx.requested) return;
    this.reopened = true;
    for (const promotion of await this.trackedPromotions()) {
      await ctx.promotions!.planner.reopen(
        promotion,
        `reconcile requested after pull request #${tracked.number} was closed`,
        ctx.now,
        ctx.events,
      );
    }
  }

  /**
   * Update: plans on the clone of the base, then closes the pull request (the base carries it all),
   * holds (closed by a person), leaves it (it carries these versions), or commits, pushes and opens
   * or updates it.
   */
  private async update(
    checkout: Checkout,
    remoteHead: string | undefined,
    attempt: number,
  ): Promise<Step> {
    const { ctx } = this;
    const planned = await this.plan(checkout, attempt);
    if (!('versions' in planned)) return planned;
    const { result, versions } = planned;
    const base: ObjectStatus = {
      ...this.status,
      observedSourceRevision: checkout.checkoutRevision,
      observedPolicies: ctx.observedPolicies,
    };
    if (result.fileChanges.size === 0) return await this.supersede(base);
    const tracked = this.tracked;
    // Closed by a person, without promotions to record it: the same versions stay held.
    if (
      !ctx.promotions &&
      tracked?.state === 'closed' &&
      !this.reopened &&
      sameVersions(versions, tracked.versions)
    )
      return this.heldClosed(base, tracked);
    // The open pull request already carries these versions and its branch is where it was left.
    if (
      tracked?.state === 'open' &&
      remoteHead &&
      remoteHead === tracked.head &&
      sameVersions(versions, tracked.versions)
    ) {
      const confirmed = await this.confirmOpen(false);
      if (confirmed) return confirmed;
      this.status = base;
      return await this.idle(this.tracked!);
    }
    const pushed = await this.push(checkout, planned, remoteHead, attempt);
    if (pushed === 'again') return AGAIN;
    if ('status' in pushed) return pushed;
    return await this.openOrUpdate(base, planned, pushed);
  }

  /**
   * Plan: the planner's decisions (deferred where they depend on the host's answer) applied to the
   * clone of the base. Returns what was written, or the failed result.
   */
  private async plan(
    checkout: Checkout,
    attempt: number,
  ): Promise<Planned | ReconcileResult> {
    const { ctx } = this;
    const { spec, object, promotions } = ctx;
    let policies = ctx.policies;
    let held: Set<string> | undefined;
    let result;
    try {
      const updatePath = await secureJoin(
        checkout.dir,
        spec.update?.path ?? '',
      );
      const tree = {
        repoRoot: checkout.dir,
        updatePath,
        namespace: object.namespace,
      };
      if (promotions) {
        this.signal?.throwIfAborted();
        const open = this.tracked?.state === 'open';
        // What this pass took into `applying` before it planned again (a push lost, or the pull
        // request merged or closed meanwhile) stays taken: it is written again.
        const carried = new Set([
          ...(open ? this.tracked!.promotions : []),
          ...this.writes.map(w => w.promotion.id),
        ]);
        const plan = await promotions.plan(tree, carried, open && !this.known);
        this.writes = plan.writes;
        this.deferred = plan.deferred.length;
        this.waiting = plan.waiting;
        policies = plan.policies;
        held = plan.held;
        this.status = { ...this.status, markers: plan.markers };
      }
      result = await applyPoliciesToTree({ ...tree, policies, held });
    } catch (error) {
      this.signal?.throwIfAborted();
      const message = `failed to apply policies: ${(error as Error).message}`;
      await promotions?.failed(this.writes, message);
      return this.fail('UpdateFailed', message);
    }
    if (attempt === 1) {
      for (const w of result.warnings) {
        ctx.events.push({
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
    const updateDir = path.posix
      .normalize(`/${spec.update?.path ?? ''}`)
      .slice(1);
    return { result, versions, updateDir };
  }

  /**
   * Before anything is done with an open pull request without pushing (closing it, or leaving it
   * as it is with decisions deferred) while its state is not known in this pass: reads it (one
   * call), then writes the deferred decisions when it is still open. AGAIN when it was merged or
   * closed meanwhile (recorded; the pass plans again), a result when the read failed. `always`:
   * read even without deferred decisions (closing a merged pull request would lose its merge).
   */
  private async confirmOpen(always: boolean): Promise<Step | undefined> {
    const { ctx, tracked } = this;
    if (
      tracked?.state === 'open' &&
      !this.known &&
      (always || this.deferred > 0)
    ) {
      let pr;
      try {
        pr = await ctx.host.get(tracked.number);
      } catch (error) {
        return await this.apiFailed(error);
      }
      this.signal?.throwIfAborted();
      await this.record(pr);
      if (pr.state !== 'open') return AGAIN;
    }
    await this.settle();
    return undefined;
  }

  /** The deferred decisions, written now that the host said the pull request is still open. */
  private async settle(): Promise<void> {
    if (!this.deferred || !this.ctx.promotions) return;
    this.deferred = 0;
    this.writes = [
      ...this.writes,
      ...(await this.ctx.promotions.settle(
        new Set(this.tracked?.promotions ?? []),
      )),
    ];
  }

  /**
   * Supersede: the base carries every version to write, so an open pull request has nothing left
   * to do: it is closed with a comment (once its state is known: merged meanwhile, it is recorded).
   */
  private async supersede(base: ObjectStatus): Promise<Step> {
    const { ctx } = this;
    const { options } = ctx;
    const confirmed = await this.confirmOpen(true);
    if (confirmed) return confirmed;
    let tracked = this.tracked;
    if (tracked?.state === 'open') {
      this.signal?.throwIfAborted();
      // A newer selection of a policy it carries may wait for its gates: then that is why.
      const waiting = Object.keys(tracked.versions)
        .filter(policy => this.waiting.has(policy))
        .map(policy => `${policy} ${this.waiting.get(policy)}`)
        .join(', ');
      try {
        await ctx.host.closeWithComment(
          tracked.number,
          waiting
            ? `Closed by image automation: what this pull request proposed (${describeVersions(
                tracked.versions,
              )}) was superseded by ${waiting}, which waits for its promotion gates; a new pull request proposes it once they pass.`
            : `Closed by image automation: \`${
                options.base
              }\` already carries what this pull request proposed (${describeVersions(
                tracked.versions,
              )}), or the selection moved back to what it carries.`,
        );
      } catch (error) {
        return await this.apiFailed(error);
      }
      ctx.events.push({
        type: 'Normal',
        reason: 'PullRequestSuperseded',
        message: `pull request #${tracked.number} ${tracked.url} closed: ${
          waiting
            ? `superseded by ${waiting}, which waits for its promotion gates`
            : `'${options.base}' already carries its versions`
        }`,
      });
      await this.recordOnPromotions({ ...tracked, state: 'closed' });
      tracked = undefined;
    }
    this.signal?.throwIfAborted();
    const dueNow = [
      ...this.mergedDue,
      ...((await ctx.promotions?.applied(this.writes, undefined)) ?? []),
    ];
    const next: ObjectStatus = { ...base };
    if (tracked) next.pullRequest = tracked;
    else delete next.pullRequest;
    if (tracked?.state === 'closed' && !this.reopened)
      return { ...this.heldClosed(next, tracked), dueNow };
    return {
      status: markReady(
        next,
        'Succeeded',
        'repository up-to-date',
        ctx.now,
        ctx.generation,
      ),
      requeueAfterMs: ctx.intervalMs,
      events: ctx.events,
      dueNow,
    };
  }

  /** Failed: the pull request was closed by a person; its versions are held. */
  private heldClosed(next: ObjectStatus, tracked: Tracked): ReconcileResult {
    return {
      status: markFailed(
        { ...next, pullRequest: tracked },
        'PullRequestClosed',
        closedNote(tracked),
        this.ctx.now,
        this.ctx.generation,
      ),
      requeueAfterMs: this.ctx.intervalMs,
      events: this.ctx.events,
    };
  }

  /**
   * Push: commits what the plan wrote and force-pushes it with a lease on the head the branch had
   * when this run looked (a branch moved by someone else meanwhile is not overwritten: 'again').
   */
  private async push(
    checkout: Checkout,
    planned: Planned,
    remoteHead: string | undefined,
    attempt: number,
  ): Promise<{ commit: string; message: string } | ReconcileResult | 'again'> {
    const { ctx } = this;
    let message: string;
    try {
      message = automationCommitMessage(
        ctx.object,
        ctx.spec.git?.commit,
        planned.result.fileChanges,
      );
    } catch (error) {
      if (error instanceof RemovedTemplateFieldError) {
        await ctx.promotions?.failed(this.writes, error.message);
        return this.fail('RemovedTemplateField', error.message);
      }
      return await this.gitFailed('failed to update source', error);
    }
    const author = ctx.spec.git!.commit.author;
    try {
      const commit = await commitAll(checkout, {
        author: { name: author.name ?? '', email: author.email },
        message,
        signer: ctx.signer,
        now: ctx.now,
        paths: planned.result.written,
      });
      this.signal?.throwIfAborted();
      await pushBranch(
        ctx.remote,
        {
          ...checkout,
          pushBranch: ctx.options.branch,
          pushBranchHead: remoteHead,
        },
        { switched: true },
      );
      return { commit, message };
    } catch (error) {
      if (error instanceof PushRejectedError && attempt < PUSH_ATTEMPTS)
        return 'again';
      return await this.gitFailed(
        `failed to push the pull request branch '${ctx.options.branch}'`,
        error,
      );
    }
  }

  /**
   * Open or update: the tracked open pull request is updated (one call, whose answer says whether
   * it is still open: merged or closed meanwhile, that is recorded and the pass plans again, to
   * open a new one); otherwise the open one of the branch is found, or one is opened.
   */
  private async openOrUpdate(
    base: ObjectStatus,
    planned: Planned,
    pushed: { commit: string; message: string },
  ): Promise<Step> {
    const { ctx } = this;
    const { options, object } = ctx;
    const tracked = this.tracked;
    const title =
      pushed.message.split('\n')[0].trim() ||
      `Update images (${object.namespace}/${object.name})`;
    const previous = tracked?.state === 'open' ? tracked.versions : undefined;
    const body = pullRequestBody(
      pushed.message,
      planned.result.fileChanges,
      planned.updateDir,
      ctx.tabUrl,
      previous,
      planned.versions,
      `${object.namespace}/${object.name}`,
    );
    try {
      if (tracked?.state === 'open') {
        const answer = await this.updateTracked(tracked.number, title, body);
        this.signal?.throwIfAborted();
        await this.record(answer);
        if (answer.state !== 'open') return AGAIN;
        await this.settle();
        return await this.recordPushed(base, planned, pushed, {
          ref: { number: tracked.number, url: tracked.url },
          opened: false,
          previous,
          autoMerge: tracked.autoMerge,
          changedAt: answer.changedAt,
        });
      }
      const found = await ctx.host.findOpen(options.branch, options.base);
      if (found) {
        await ctx.host.update(found.number, { title, body });
        return await this.recordPushed(base, planned, pushed, {
          ref: found,
          opened: false,
        });
      }
      const created = await ctx.host.open({
        head: options.branch,
        base: options.base,
        title,
        body,
        labels: options.labels,
        reviewers: options.reviewers,
        autoMerge: options.autoMerge,
      });
      if (created.autoMergeRefused) {
        ctx.events.push({
          type: 'Warning',
          reason: 'PullRequestAutoMergeRefused',
          message: `pull request #${created.number} ${created.url} is open without auto-merge, for a person to merge: ${created.autoMergeRefused}`,
        });
      }
      return await this.recordPushed(base, planned, pushed, {
        ref: { number: created.number, url: created.url },
        opened: true,
        autoMerge: options.autoMerge ? created.autoMerge === true : undefined,
      });
    } catch (error) {
      return await this.apiFailed(error);
    }
  }

  /**
   * The update of the tracked pull request, whose answer is its state. A host that refuses to edit
   * a merged or closed pull request (GitHub: 422; Azure DevOps: 409) is asked once what became of
   * it; still open, the refusal stands.
   */
  private async updateTracked(
    number: number,
    title: string,
    body: string,
  ): Promise<PullRequestState> {
    try {
      return await this.ctx.host.update(number, { title, body });
    } catch (error) {
      if (
        !(error instanceof PullRequestApiError) ||
        !REFUSED_EDIT.includes(error.status ?? 0)
      )
        throw error;
      const pr = await this.ctx.host.get(number);
      if (pr.state === 'open') throw error;
      return pr;
    }
  }

  /** Record: the pull request now carries the pushed commit; its promotions say so. */
  private async recordPushed(
    base: ObjectStatus,
    planned: Planned,
    pushed: { commit: string },
    outcome: {
      ref: { number: number; url: string };
      opened: boolean;
      previous?: Record<string, string>;
      autoMerge?: boolean;
      /** The host's time of the pull request in its answer to the update (our own edit). */
      changedAt?: string;
    },
  ): Promise<ReconcileResult> {
    const { ctx } = this;
    const { ref, opened, previous, autoMerge, changedAt } = outcome;
    const { versions } = planned;
    const { commit } = pushed;
    let note = 'updated';
    if (opened) note = 'opened';
    else if (previous)
      note = `updated: ${describeVersions(previous)} → ${describeVersions(
        versions,
      )}`;
    const tracked: Tracked = {
      number: ref.number,
      url: ref.url,
      branch: ctx.options.branch,
      base: ctx.options.base,
      state: 'open',
      head: commit,
      versions,
      // Reviews and checks of the previous head do not carry over to the new one: read on the next run.
      promotions: this.writes.map(w => w.promotion.id),
      ...(autoMerge !== undefined ? { autoMerge } : {}),
      ...(changedAt ? { hostChangedAt: changedAt } : {}),
      updatedAt: ctx.now.toISOString(),
    };
    this.tracked = tracked;
    for (const { promotion, diff } of this.writes) {
      await ctx.promotions!.planner.inPullRequest(
        promotion,
        ref,
        note,
        ctx.now,
        diff,
        this.recorded(tracked),
      );
    }
    ctx.events.push({
      type: 'Normal',
      reason: opened ? 'PullRequestOpened' : 'PullRequestUpdated',
      message: `pull request #${ref.number} ${
        ref.url
      } ${note} (${describeVersions(versions)}, commit ${commit.slice(
        0,
        12,
      )} on '${ctx.options.branch}')`,
      metadata: { revision: `${ctx.options.branch}@sha1:${commit}` },
    });
    return {
      status: markReady(
        {
          ...base,
          pullRequest: tracked,
          lastPushCommit: commit,
          lastPushTime: ctx.now.toISOString(),
        },
        'Succeeded',
        `pull request #${ref.number} ${opened ? 'opened' : 'updated'}: ${
          ref.url
        }`,
        ctx.now,
        ctx.generation,
      ),
      requeueAfterMs: ctx.intervalMs,
      events: ctx.events,
      ...(this.mergedDue.length ? { dueNow: this.mergedDue } : {}),
    };
  }

  /** Ready, waiting for the open pull request: what it waits for, from its reviews and checks as last read. */
  private async idle(pr: Tracked): Promise<ReconcileResult> {
    await this.recordOnPromotions(pr);
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
        { ...this.status, pullRequest: pr },
        'Succeeded',
        `pull request #${pr.number} open (${waiting.join(', ')}): ${pr.url}`,
        this.ctx.now,
        this.ctx.generation,
      ),
      requeueAfterMs: this.ctx.intervalMs,
      events: this.ctx.events,
      ...(this.mergedDue.length ? { dueNow: this.mergedDue } : {}),
    };
  }

  /** The pull request as its promotions show it (the host from its web address). */
  private recorded(pr: Tracked): PromotionPullRequest {
    let webHost = this.ctx.host.host;
    try {
      webHost = new URL(pr.url).host || webHost;
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
      updatedAt: this.ctx.now.toISOString(),
    };
  }

  private async trackedPromotions(pr = this.tracked) {
    const promotions = this.ctx.promotions;
    if (!promotions || !pr) return [];
    const found = await Promise.all(
      pr.promotions.map(id => promotions.planner.get(id)),
    );
    return found.filter((p): p is PromotionRecord => p !== undefined);
  }

  /** Records the pull request, as last read, on the promotions it carries. */
  private async recordOnPromotions(pr: Tracked): Promise<void> {
    if (!this.ctx.promotions) return;
    for (const promotion of await this.trackedPromotions(pr))
      await this.ctx.promotions.planner.recordPullRequest(
        promotion,
        this.recorded(pr),
        this.ctx.now,
      );
  }

  private fail(
    reason: string,
    message: string,
    retryMs = retryAfter(this.ctx.intervalMs),
  ): ReconcileResult {
    const { tracked } = this;
    return {
      status: markFailed(
        { ...this.status, ...(tracked ? { pullRequest: tracked } : {}) },
        reason,
        message,
        this.ctx.now,
        this.ctx.generation,
      ),
      requeueAfterMs: retryMs,
      events: this.ctx.events,
    };
  }

  private async apiFailed(error: unknown): Promise<ReconcileResult> {
    this.signal?.throwIfAborted();
    const message =
      error instanceof PullRequestApiError
        ? error.message
        : `${this.ctx.host.host}: ${(error as Error).message}`;
    await this.ctx.promotions?.failed(this.writes, message);
    // A host that asked callers to wait (a rate limit too long to sit out in the call) is asked
    // again when it said, at least a second and at most an hour from now.
    const wait =
      error instanceof PullRequestApiError ? error.retryAfterMs : undefined;
    return wait === undefined
      ? this.fail('PullRequestFailed', message)
      : this.fail(
          'PullRequestFailed',
          message,
          Math.min(Math.max(1000, wait), 3_600_000),
        );
  }

  private async gitFailed(
    prefix: string,
    error: unknown,
  ): Promise<ReconcileResult> {
    this.signal?.throwIfAborted();
    const message = `${prefix}: ${(error as Error).message}`;
    await this.ctx.promotions?.failed(this.writes, message);
    return this.fail('GitOperationFailed', message);
  }
}

/** Why the versions of a pull request closed by a person are held. */
function closedNote(tracked: Tracked): string {
  return `pull request #${tracked.number} ${
    tracked.url
  } was closed without being merged (by a person, or because its branch was deleted): ${describeVersions(
    tracked.versions,
  )} held until a newer version is selected or a reconcile is requested`;
}

/**
 * One run of an automation in pull-request mode, from a fresh clone of the base branch: the
 * planned versions are committed and force-pushed, with a lease on the head the branch had, to the
 * per-target branch, and the one pull request of the target is opened or updated (closed with a
 * comment when the base carries everything already).
 *
 * What an update costs on the host: one call (the update itself). Nothing is read before it: its
 * answer says whether the pull request was merged or closed meanwhile (merged: its promotions are
 * applied with the merge commit; closed by a person: they are rejected and the versions held until a
 * newer one is selected or a reconcile is requested), and the decisions that would close the
 * promotions it carries are written only after that answer (see PromotionPlanner.preview). A run
 * with no new selection reads the pull request once (the poll that learns a merge, a close and,
 * when reviews approve, the reviews a gate waits for), and does nothing else when nothing changed.
 * @internal
 */
export async function runPullRequest(
  run: PullRequestRun,
  signal?: AbortSignal,
): Promise<ReconcileResult> {
  return new PullRequestPass(run, signal).execute();
}
