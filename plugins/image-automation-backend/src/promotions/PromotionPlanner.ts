import { isError } from '@backstage/errors';
import {
  ObjectEvent,
  OPEN_PROMOTION_STATES,
  PROMOTION_ANNOTATIONS,
  PromotionPullRequest,
  PromotionTarget,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { readyCondition } from '../engine/conditions';
import { ObjectStore } from '../store/ObjectStore';
import {
  NewPromotion,
  PromotionRecord,
  PromotionStore,
} from '../store/PromotionStore';
import { evaluateGates, GateEvidence } from './evaluateGates';
import { GateConfig, hasGates, readGateConfig } from './gateConfig';

/** Who the engine's own decisions are recorded as. @internal */
export const ENGINE_ACTOR = 'image-automation';

/**
 * How long a promotion may stay `applying` before it counts as abandoned (its instance died
 * before reporting the outcome) and is taken again. Until then another pass is carrying it out.
 * @internal
 */
export const ABANDONED_APPLYING_MS = 60 * 60_000;

/** Whether another pass is carrying the promotion out now. */
function beingApplied(
  promotion: PromotionRecord | undefined,
  now: Date,
): boolean {
  return (
    promotion?.state === 'applying' &&
    now.getTime() - Date.parse(promotion.updatedAt) < ABANDONED_APPLYING_MS
  );
}

/** A create lost to a concurrent one (see PromotionStore.create's `expectedOpen`). */
function isConflict(error: unknown): boolean {
  return isError(error) && error.name === 'ConflictError';
}

/**
 * How many times one decision is made: after a compare-and-set it lost, it is made again from a
 * fresh read (PromotionStore's contract: the loser re-reads).
 */
const DECIDE_ATTEMPTS = 3;

/**
 * A compare-and-set of this decision lost: the promotion changed after it was read, by another
 * instance's pass, a person's decision, or a write that decides nothing (a stored preview). Whatever
 * this decision concluded may be stale, so it is made again from a fresh read; giving up instead
 * would leave, say, an approval the gates just accepted untouched until the object's next interval.
 */
class LostRace extends Error {
  constructor(readonly promotion?: PromotionRecord) {
    super('the promotion changed while it was being decided on');
    this.name = 'LostRace';
  }
}

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message'>;

/** One image (or provider) of one target, as a reconciler sees it during a pass. @internal */
export interface TargetSelection {
  entityRef?: string;
  target: PromotionTarget;
  /** `ImagePolicy/<ns>/<name>` or `ResourceSetInputProvider/<ns>/<name>`. */
  subject: string;
  /** What the target carries now; undefined when nothing was ever carried. */
  carried?: PromotionVersion;
  /** What the policy or provider selected. */
  selected: PromotionVersion;
  /** When the selected tag was first seen in scan history. */
  firstSeenAt?: Date;
  /** The annotations of the automation object (gate annotations). */
  annotations?: Record<string, string>;
}

/**
 * What a reconciler should do with one target's subject in this pass: nothing (it carries what
 * it should), write a version (then report the outcome with {@link PromotionPlanner.applied} or
 * {@link PromotionPlanner.failed}), or hold what it carries.
 * @internal
 */
export type TargetDecision =
  | { action: 'none' }
  | { action: 'write'; version: PromotionVersion; promotion: PromotionRecord }
  | { action: 'hold'; promotion?: PromotionRecord };

/**
 * What {@link PromotionPlanner.preview} expects a decision to be, nothing written: write `version`,
 * hold (with the gates a new promotion would wait for), or nothing to do.
 * @internal
 */
export type PromotionPreview =
  | { action: 'none' }
  | {
      action: 'write' | 'hold';
      version?: PromotionVersion;
      gates: PromotionRecord['gates'];
      eta?: string;
    };

/** Two versions are the same when their provider revisions match, else their tag and digest. @internal */
export function sameVersion(
  a: PromotionVersion | undefined,
  b: PromotionVersion | undefined,
): boolean {
  if (!a || !b) return false;
  if (a.revision !== undefined || b.revision !== undefined)
    return a.revision === b.revision;
  return a.tag === b.tag && (a.digest ?? '') === (b.digest ?? '');
}

/** The value votes and the upstream gate are bound to: the digest, else the tag. @internal */
export function voteDigest(version: PromotionVersion): string {
  return version.digest ?? version.revision ?? version.tag;
}

function delta(
  from: PromotionVersion | undefined,
  to: PromotionVersion,
): string {
  return `${from ? from.tag : '(nothing)'} → ${to.tag}`;
}

/**
 * Decides, for each image of each target in a reconcile pass, which version the target should
 * carry: creates a promotion when the selection moves away from what the target carries,
 * supersedes the older open one, evaluates its gates, and approves it when they pass. Without
 * gates a promotion is approved at once, so existing Flux manifests behave as in Flux; every
 * decision is kept in the promotion's history and returned as an event.
 *
 * The state changes are compare-and-set on the promotion's revision, and a reconciler runs
 * under the object's lease: two backend instances never carry out one promotion twice.
 * @internal
 */
export class PromotionPlanner {
  constructor(
    private readonly deps: {
      promotions: PromotionStore;
      objects: ObjectStore;
      /** The annotations of a catalog entity (undefined when it does not exist). */
      entityAnnotations?: (
        entityRef: string,
      ) => Promise<Record<string, string> | undefined>;
    },
  ) {}

  /** The gate configuration of a target: the object's annotations over its entity's. */
  async gateConfig(
    entityRef: string | undefined,
    annotations: Record<string, string> | undefined,
  ) {
    const lookup = this.deps.entityAnnotations;
    const entity = entityRef && lookup ? await lookup(entityRef) : undefined;
    const read = readGateConfig(annotations, entity);
    const after = read.config.after;
    if (after && lookup && !(await lookup(after.entityRef))) {
      read.problems.push({
        field: PROMOTION_ANNOTATIONS.after,
        message: `${PROMOTION_ANNOTATIONS.after}: the upstream entity '${after.entityRef}' does not exist in the catalog`,
      });
    } else if (after?.target) {
      const upstream = await this.deps.objects.list({
        entityRef: after.entityRef,
      });
      const known = upstream.some(
        o =>
          o.id === after.target ||
          (o.kind === 'ResourceSet' &&
            (o.status.appliedClusters ?? []).includes(after.target!)),
      );
      if (!known) {
        read.problems.push({
          field: PROMOTION_ANNOTATIONS.afterTarget,
          message: `${PROMOTION_ANNOTATIONS.afterTarget}: '${after.target}' is neither an automation object of ${after.entityRef} nor a cluster its ResourceSets apply to`,
        });
      }
    }
    return read;
  }

  /** The pin of a target's subject, if one is in force. */
  pin(targetId: string, subject: string, now: Date) {
    return this.deps.promotions.getPin(targetId, subject, now);
  }

  /** Whether a target must be looked at even when nothing it reads changed: a promotion is open or a pin holds it. */
  async needsRun(targetId: string, now: Date): Promise<boolean> {
    const open = await this.deps.promotions.list({
      targetId,
      states: [...OPEN_PROMOTION_STATES],
      limit: 1,
    });
    return (
      open.items.length > 0 ||
      (await this.deps.promotions.listPins([targetId], now)).length > 0
    );
  }

  /** What a target's subject carries according to the promotions applied to it. */
  async carried(
    targetId: string,
    subject: string,
  ): Promise<PromotionVersion | undefined> {
    return (await this.deps.promotions.lastApplied(targetId, subject))?.to;
  }

  /**
   * A target that never carried anything (a ResourceSet's first apply to a cluster): there is no
   * version to hold, so the selection is carried out at once, and recorded.
   */
  async firstApply(
    selection: Omit<TargetSelection, 'carried'>,
    now: Date,
  ): Promise<TargetDecision> {
    return this.decidedFromFreshReads(() =>
      this.firstApplyOnce(selection, now),
    );
  }

  private async firstApplyOnce(
    selection: Omit<TargetSelection, 'carried'>,
    now: Date,
  ): Promise<TargetDecision> {
    const open = await this.deps.promotions.findOpen(
      selection.target.id,
      selection.subject,
    );
    if (beingApplied(open, now)) return { action: 'hold', promotion: open };
    const note =
      'first apply to this target: nothing carried before, so nothing to hold';
    const promotion =
      open && sameVersion(open.to, selection.selected)
        ? open
        : await this.create({
            entityRef: selection.entityRef,
            target: selection.target,
            subject: selection.subject,
            to: selection.selected,
            by: ENGINE_ACTOR,
            note,
            now,
            expectedOpen: open?.id ?? null,
          });
    if (!promotion) throw new LostRace(open);
    return this.write(promotion, ENGINE_ACTOR, note, now);
  }

  /**
   * Runs `decideOnce` until it does not lose a compare-and-set, at most {@link DECIDE_ATTEMPTS}
   * times; after the last lost one it holds (the promotion is decided again on the next pass).
   */
  private async decidedFromFreshReads(
    decideOnce: () => Promise<TargetDecision>,
  ): Promise<TargetDecision> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await decideOnce();
      } catch (error) {
        if (!(error instanceof LostRace)) throw error;
        if (attempt >= DECIDE_ATTEMPTS) {
          return error.promotion
            ? { action: 'hold', promotion: error.promotion }
            : { action: 'hold' };
        }
      }
    }
  }

  /**
   * What a target's subject should do in this pass (see {@link TargetDecision}). A decision whose
   * compare-and-set loses to a concurrent change of the promotion is made again from a fresh read.
   */
  async decide(
    selection: TargetSelection,
    now: Date,
    events: Event[],
  ): Promise<TargetDecision> {
    return this.decidedFromFreshReads(() =>
      this.decideOnce(selection, now, events),
    );
  }

  private async decideOnce(
    selection: TargetSelection,
    now: Date,
    events: Event[],
  ): Promise<TargetDecision> {
    const { promotions } = this.deps;
    const { target, subject, carried, selected } = selection;
    const pin = await promotions.getPin(target.id, subject, now);
    const desired = pin?.version ?? selected;
    let open = await promotions.findOpen(target.id, subject);

    if (sameVersion(carried, desired)) {
      if (open && sameVersion(open.to, desired)) {
        await this.close(
          open,
          'applied',
          `${target.id} carries ${desired.tag}`,
          now,
          events,
          ENGINE_ACTOR,
        );
        open = undefined;
      }
      // Held by a pin: the newer selection waits, visibly, for the pin to be lifted.
      if (
        pin &&
        !sameVersion(selected, pin.version) &&
        !beingApplied(open, now)
      ) {
        await this.pending({ ...selection, carried }, open, now, events);
      }
      return { action: 'none' };
    }

    // Another pass is carrying out the open promotion: it is left to that pass.
    if (beingApplied(open, now)) return { action: 'hold', promotion: open };

    if (pin) {
      // Rolling back or holding at the pinned version: the pin is the decision.
      const promotion =
        open && sameVersion(open.to, pin.version)
          ? open
          : await this.create({
              entityRef: selection.entityRef,
              target,
              subject,
              from: carried,
              to: pin.version,
              by: pin.by,
              note: `pinned at ${pin.version.tag}: ${pin.reason}`,
              now,
              expectedOpen: open?.id ?? null,
            });
      if (!promotion) throw new LostRace(open);
      return this.write(
        promotion,
        pin.by,
        `pinned at ${pin.version.tag}: ${pin.reason}`,
        now,
      );
    }

    const promotion = await this.pending(selection, open, now, events);
    if (!promotion) return { action: 'hold' };
    if (promotion.state === 'pending') return { action: 'hold', promotion };
    return this.write(promotion, ENGINE_ACTOR, undefined, now);
  }

  /**
   * Pull-request mode: whether the open pull request's promotions (`ids`) are the only open ones of
   * the target and no pin holds it, so that a run with nothing new has nothing to decide.
   */
  async onlyOpen(
    targetId: string,
    ids: ReadonlySet<string>,
    now: Date,
  ): Promise<boolean> {
    const open = await this.deps.promotions.list({
      targetId,
      states: [...OPEN_PROMOTION_STATES],
      limit: ids.size + 1,
    });
    if (open.items.some(p => !ids.has(p.id) || p.state !== 'applying'))
      return false;
    return (await this.deps.promotions.listPins([targetId], now)).length === 0;
  }

  /** The open promotion of a target's subject (pull-request mode: to tell whether its pull request carries it). */
  openPromotion(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined> {
    return this.deps.promotions.findOpen(targetId, subject);
  }

  /**
   * Pull-request mode, before the host has answered: what {@link decide} would conclude once the
   * open promotion the pull request carries is released (superseded in the pull request, or applied
   * when the target carries it), computed without writing anything. The writes are made after the
   * update of the pull request, once the host said it is still open (see releaseFromPullRequest and
   * decide); a pull request merged or closed meanwhile is recorded as such instead.
   */
  async preview(
    selection: TargetSelection,
    now: Date,
  ): Promise<PromotionPreview> {
    const { promotions } = this.deps;
    const { target, subject, carried, selected } = selection;
    const pin = await promotions.getPin(target.id, subject, now);
    const desired = pin?.version ?? selected;
    if (sameVersion(carried, desired)) return { action: 'none' };
    if (pin) return { action: 'write', version: pin.version, gates: [] };
    const latest = await promotions.latest(target.id, subject);
    if (latest?.state === 'rejected' && sameVersion(latest.to, selected))
      return { action: 'hold', gates: [] };
    const evaluation = await this.evaluate(selection, selected, [], now, now);
    return evaluation.passed
      ? { action: 'write', version: selected, gates: evaluation.gates }
      : {
          action: 'hold',
          version: selected,
          gates: evaluation.gates,
          ...(evaluation.eta ? { eta: evaluation.eta } : {}),
        };
  }

  /** The gates of a promotion of `selection` to `to`, with the votes it has. */
  private async evaluate(
    selection: TargetSelection,
    to: PromotionVersion,
    votes: Awaited<ReturnType<PromotionStore['votes']>>,
    createdAt: Date,
    now: Date,
  ) {
    const { config, problems } = await this.gateConfig(
      selection.entityRef,
      selection.annotations,
    );
    const evaluation = evaluateGates(config, problems, {
      now,
      digest: voteDigest(to),
      toTag: to.tag,
      votes,
      firstSeenAt: selection.firstSeenAt ?? createdAt,
      upstream: await this.upstream(config, { to }),
      pin: await this.deps.promotions.getPin(
        selection.target.id,
        selection.subject,
        now,
      ),
    } satisfies GateEvidence);
    return { ...evaluation, config, problems };
  }

  /** A promotion by id (pull-request mode keeps the ids of the promotions its pull request carries). */
  get(id: string): Promise<PromotionRecord | undefined> {
    return this.deps.promotions.get(id);
  }

  /**
   * Pull-request mode: a promotion carried out by a pull request stays `applying` while the pull
   * request is open (until it is merged, closed or superseded). A decision that holds it because it
   * is being applied is, for the pass that owns the pull request, a write of the same version; a
   * promotion the pull request carries whose version is no longer the one to write is superseded in
   * the pull request, so that the newer selection is decided at once instead of being held.
   */
  async releaseFromPullRequest(
    targetId: string,
    subject: string,
    desired: PromotionVersion,
    carriedIds: ReadonlySet<string>,
    now: Date,
    events: Event[],
  ): Promise<void> {
    const open = await this.deps.promotions.findOpen(targetId, subject);
    if (!open || !carriedIds.has(open.id) || sameVersion(open.to, desired))
      return;
    const note = `superseded in the pull request by ${desired.tag}`;
    const done = await this.deps.promotions.update(
      open.id,
      open.revision,
      {
        state: 'superseded',
        closedAt: now.toISOString(),
        step: {
          state: 'superseded',
          at: now.toISOString(),
          by: ENGINE_ACTOR,
          note,
        },
      },
      now,
      ['applying', 'failed', 'approved', 'pending'],
    );
    if (done) {
      events.push({
        type: 'Normal',
        reason: 'PromotionSuperseded',
        message: `${subject} on ${targetId}: ${delta(
          open.from,
          open.to,
        )} ${note}`,
      });
    }
  }

  /**
   * Pull-request mode, where the host's reviews count as approvals: the latest review of each
   * reviewer of the pull request becomes a vote on the promotion it carries (approve, or reject for
   * "changes requested"), cast as `review:<host>/<login>` for the version the pull request carries.
   */
  async reviewVotes(
    promotion: PromotionRecord,
    review: {
      host: string;
      number: number;
      approvedBy: string[];
      changesRequestedBy: string[];
    },
    now: Date,
  ): Promise<void> {
    const current = (await this.deps.promotions.get(promotion.id)) ?? promotion;
    if (current.state !== 'pending') return;
    const digest = voteDigest(current.to);
    const existing = await this.deps.promotions.votes(current.id);
    const cast = async (login: string, decision: 'approve' | 'reject') => {
      const actor = `review:${review.host}/${login}`;
      if (
        existing.some(
          v =>
            v.actor === actor && v.digest === digest && v.decision === decision,
        )
      )
        return;
      await this.deps.promotions.vote(current.id, {
        actor,
        decision,
        digest,
        at: now.toISOString(),
        reason: `${
          decision === 'approve' ? 'approved' : 'requested changes on'
        } pull request #${review.number}`,
      });
    };
    for (const login of review.approvedBy) await cast(login, 'approve');
    for (const login of review.changesRequestedBy) await cast(login, 'reject');
  }

  /**
   * Pull-request mode: records on an `applying` promotion the pull request that carries it out (it
   * stays `applying`); `recorded` is the pull request as the promotion shows it.
   */
  async inPullRequest(
    promotion: PromotionRecord,
    pullRequest: { number: number; url: string },
    note: string,
    now: Date,
    diff?: string,
    recorded?: PromotionPullRequest,
  ): Promise<void> {
    const current = (await this.deps.promotions.get(promotion.id)) ?? promotion;
    await this.deps.promotions.update(
      current.id,
      current.revision,
      {
        error: undefined,
        ...(diff !== undefined ? { diff } : {}),
        ...(recorded ? { pullRequest: recorded } : {}),
        step: {
          state: current.state,
          at: now.toISOString(),
          by: ENGINE_ACTOR,
          note: `pull request #${pullRequest.number} ${pullRequest.url}: ${note}`,
        },
      },
      now,
      // Pending: waiting for its approval, which a review of the pull request may give.
      ['applying', 'pending'],
    );
  }

  /**
   * Pull-request mode: records on a promotion its pull request as last read from the host (state,
   * reviews, checks, auto-merge, merge commit), in whatever state the promotion is. No history step
   * (the host's state is not a decision), and no write when nothing but the time changed.
   */
  async recordPullRequest(
    promotion: PromotionRecord,
    pullRequest: PromotionPullRequest,
    now: Date,
  ): Promise<void> {
    const { updatedAt: _at, ...wanted } = pullRequest;
    for (let attempt = 1; attempt <= DECIDE_ATTEMPTS; attempt++) {
      const current = await this.deps.promotions.get(promotion.id);
      if (!current) return;
      const { updatedAt: _stored, ...stored } =
        current.pullRequest ?? ({} as Partial<PromotionPullRequest>);
      if (
        current.pullRequest &&
        JSON.stringify(stored) === JSON.stringify(wanted)
      )
        return;
      if (
        await this.deps.promotions.update(
          current.id,
          current.revision,
          { pullRequest },
          now,
        )
      )
        return;
    }
  }

  /**
   * Pull-request mode: the pull request that carries the promotion was merged: the promotion is
   * applied, its commit the merge commit. A promotion still open in any state counts (a person may
   * merge before the gates in Backstage passed, or after a failed API call): the base carries it.
   * Returns the automation objects waiting for this entity upstream.
   */
  async mergedInPullRequest(
    promotion: PromotionRecord,
    pullRequest: PromotionPullRequest,
    now: Date,
    events: Event[],
  ): Promise<string[]> {
    for (let attempt = 1; attempt <= DECIDE_ATTEMPTS; attempt++) {
      const current = await this.deps.promotions.get(promotion.id);
      if (!current) return [];
      if (!OPEN_PROMOTION_STATES.includes(current.state)) {
        await this.recordPullRequest(current, pullRequest, now);
        return [];
      }
      const commit = pullRequest.mergeCommit;
      const early =
        current.state === 'pending' || current.state === 'approved'
          ? ` (merged on the host while it was ${current.state} here)`
          : '';
      const done = await this.deps.promotions.update(
        current.id,
        current.revision,
        {
          state: 'applied',
          pullRequest,
          ...(commit ? { commit } : {}),
          error: undefined,
          closedAt: now.toISOString(),
          step: {
            state: 'applied',
            at: now.toISOString(),
            by: ENGINE_ACTOR,
            note: `pull request #${pullRequest.number} ${
              pullRequest.url
            } merged${commit ? ` as commit ${commit}` : ''}${early}`,
          },
        },
        now,
        [...OPEN_PROMOTION_STATES],
      );
      if (!done) continue;
      events.push({
        type: 'Normal',
        reason: 'PromotionApplied',
        message: `${current.subject} on ${current.target.id}: ${delta(
          current.from,
          current.to,
        )} by pull request #${pullRequest.number}${
          commit ? ` in commit ${commit.slice(0, 12)}` : ''
        }`,
      });
      return current.entityRef ? this.downstreamOf(current.entityRef) : [];
    }
    return [];
  }

  /**
   * Pull-request mode: the pull request was closed without being merged. The promotion is rejected
   * (a selection rejected is not proposed again: the target is held until a newer version is
   * selected, or a reconcile is requested, see {@link reopen}).
   */
  async closedWithoutMerge(
    promotion: PromotionRecord,
    note: string,
    now: Date,
    events: Event[],
    pullRequest?: PromotionPullRequest,
  ): Promise<void> {
    const current = (await this.deps.promotions.get(promotion.id)) ?? promotion;
    const done = await this.deps.promotions.update(
      current.id,
      current.revision,
      {
        state: 'rejected',
        closedAt: now.toISOString(),
        ...(pullRequest ? { pullRequest } : {}),
        step: {
          state: 'rejected',
          at: now.toISOString(),
          by: ENGINE_ACTOR,
          note,
        },
      },
      now,
      ['applying', 'failed', 'approved', 'pending'],
    );
    if (done) {
      events.push({
        type: 'Warning',
        reason: 'PromotionRejected',
        message: `${current.subject} on ${current.target.id}: ${delta(
          current.from,
          current.to,
        )}: ${note}`,
      });
    }
  }

  /**
   * Pull-request mode: a reconcile was requested after the pull request was closed: the rejected
   * promotion is proposed again (a new promotion, which its gates decide as any other).
   */
  async reopen(
    promotion: PromotionRecord,
    note: string,
    now: Date,
    events: Event[],
  ): Promise<void> {
    const current = (await this.deps.promotions.get(promotion.id)) ?? promotion;
    if (current.state !== 'rejected') return;
    const open = await this.deps.promotions.findOpen(
      current.target.id,
      current.subject,
    );
    if (open) return;
    const created = await this.create({
      entityRef: current.entityRef,
      target: current.target,
      subject: current.subject,
      from: current.from,
      to: current.to,
      by: ENGINE_ACTOR,
      note,
      now,
      expectedOpen: null,
    });
    if (created) {
      events.push({
        type: 'Normal',
        reason: 'PromotionCreated',
        message: `${current.subject} on ${current.target.id}: ${delta(
          current.from,
          current.to,
        )}: ${note}`,
      });
    }
  }

  /**
   * Records that the target now carries the promotion's version. With the selection of the pass,
   * what follows is decided at once: a selection held back by a pin (a rollback was just written)
   * is shown pending with its pin gate, rather than only on the next pass. Returns the automation
   * objects that wait for this entity upstream, to be reconciled now.
   */
  async applied(
    promotion: PromotionRecord,
    outcome: { commit?: string; appliedRevision?: string; diff?: string },
    now: Date,
    events: Event[],
    selection?: TargetSelection,
  ): Promise<string[]> {
    const current = (await this.deps.promotions.get(promotion.id)) ?? promotion;
    let note: string | undefined;
    if (outcome.commit) note = `commit ${outcome.commit}`;
    else if (outcome.appliedRevision)
      note = `revision ${outcome.appliedRevision}`;
    const done = await this.deps.promotions.update(
      current.id,
      current.revision,
      {
        state: 'applied',
        ...outcome,
        error: undefined,
        closedAt: now.toISOString(),
        step: {
          state: 'applied',
          at: now.toISOString(),
          by: ENGINE_ACTOR,
          note,
        },
      },
      now,
      ['applying'],
    );
    if (done) {
      events.push({
        type: 'Normal',
        reason: 'PromotionApplied',
        message: `${current.subject} on ${current.target.id}: ${delta(
          current.from,
          current.to,
        )}${outcome.commit ? ` in commit ${outcome.commit.slice(0, 12)}` : ''}`,
      });
      // Decided after the apply, so recorded a moment later: a promotion it creates must be newer
      // than the one just applied (created at `now` in this pass), or "newest first" — and with it
      // the check that a rejected selection is not proposed again — could not tell them apart.
      if (selection)
        await this.decide(
          { ...selection, carried: current.to },
          new Date(now.getTime() + 1),
          events,
        );
      return current.entityRef ? this.downstreamOf(current.entityRef) : [];
    }
    return [];
  }

  /**
   * The automation objects whose pending promotions wait for `entityRef` to run their version (an
   * upstream gate): made due when that entity's target carries a new one, not at their interval.
   */
  private async downstreamOf(entityRef: string): Promise<string[]> {
    const ids = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.deps.promotions.list({
        states: ['pending'],
        limit: 500,
        cursor,
      });
      for (const promotion of page.items) {
        const waits = promotion.gates.some(
          g =>
            g.gate === 'upstream' &&
            g.state === 'waiting' &&
            g.evidence.entityRef === entityRef,
        );
        if (waits) ids.add(promotion.target.objectId);
      }
      cursor = page.nextCursor;
    } while (cursor);
    return [...ids];
  }

  /** Records a failed attempt; the promotion stays open and is retried on the next pass. */
  async failed(
    promotion: PromotionRecord,
    error: string,
    now: Date,
    events: Event[],
  ): Promise<void> {
    const current = (await this.deps.promotions.get(promotion.id)) ?? promotion;
    const done = await this.deps.promotions.update(
      current.id,
      current.revision,
      {
        state: 'failed',
        error,
        step: {
          state: 'failed',
          at: now.toISOString(),
          by: ENGINE_ACTOR,
          note: error,
        },
      },
      now,
      ['applying'],
    );
    if (done) {
      events.push({
        type: 'Warning',
        reason: 'PromotionFailed',
        message: `${current.subject} on ${current.target.id}: ${delta(
          current.from,
          current.to,
        )} failed: ${error}`,
      });
    }
  }

  /**
   * The open promotion to the selection, created (superseding an older one) or updated (a re-pushed
   * tag resets the votes), with its gates evaluated; approved when they pass. Undefined when the
   * selection was rejected: it is not proposed again.
   */
  private async pending(
    selection: TargetSelection,
    open: PromotionRecord | undefined,
    now: Date,
    events: Event[],
  ): Promise<PromotionRecord | undefined> {
    const { promotions } = this.deps;
    const { target, subject, carried, selected } = selection;
    let promotion = open;
    if (
      promotion &&
      promotion.to.tag === selected.tag &&
      !sameVersion(promotion.to, selected)
    ) {
      // The tag was re-pushed: votes were cast for the old digest and no longer count.
      promotion = await promotions.update(
        promotion.id,
        promotion.revision,
        {
          to: selected,
          state: 'pending',
          step: {
            state: 'pending',
            at: now.toISOString(),
            by: ENGINE_ACTOR,
            note: `${selected.tag} now points at ${voteDigest(
              selected,
            )} (was ${voteDigest(
              promotion.to,
            )}): earlier votes no longer count`,
          },
        },
        now,
      );
      if (!promotion) throw new LostRace(open);
    } else if (!promotion || !sameVersion(promotion.to, selected)) {
      const latest = await promotions.latest(target.id, subject);
      if (latest?.state === 'rejected' && sameVersion(latest.to, selected))
        return undefined;
      promotion = await this.create({
        entityRef: selection.entityRef,
        target,
        subject,
        from: carried,
        to: selected,
        by: ENGINE_ACTOR,
        note: `${subject} selected ${selected.tag}`,
        now,
        expectedOpen: open?.id ?? null,
      });
      if (!promotion) throw new LostRace(open);
      events.push({
        type: 'Normal',
        reason: 'PromotionCreated',
        message: `${subject} on ${target.id}: ${delta(carried, selected)}`,
      });
    }
    if (promotion.state !== 'pending') return promotion;

    const evaluation = await this.evaluate(
      selection,
      promotion.to,
      await promotions.votes(promotion.id),
      new Date(promotion.createdAt),
      now,
    );
    const { config, problems } = evaluation;
    if (evaluation.passed) {
      const note = hasGates(config)
        ? 'every gate passed'
        : 'no gates: carried out on the next pass, as Flux does';
      const approved = await promotions.update(
        promotion.id,
        promotion.revision,
        {
          state: 'approved',
          gates: evaluation.gates,
          eta: undefined,
          step: {
            state: 'approved',
            at: now.toISOString(),
            by: ENGINE_ACTOR,
            note,
          },
        },
        now,
        ['pending'],
      );
      // Lost: a vote counted here may be for a promotion rejected, superseded or re-bound since.
      if (!approved) throw new LostRace(promotion);
      events.push({
        type: 'Normal',
        reason: 'PromotionApproved',
        message: `${subject} on ${target.id}: ${delta(
          approved.from,
          approved.to,
        )}: ${note}`,
      });
      return approved;
    }
    if (
      JSON.stringify(evaluation.gates) !== JSON.stringify(promotion.gates) ||
      evaluation.eta !== promotion.eta
    ) {
      const waiting = evaluation.gates
        .filter(g => g.state !== 'passed')
        .map(g => g.summary);
      const updated = await promotions.update(
        promotion.id,
        promotion.revision,
        { gates: evaluation.gates, eta: evaluation.eta },
        now,
      );
      if (!updated) throw new LostRace(promotion);
      for (const problem of problems) {
        events.push({
          type: 'Warning',
          reason: 'InvalidPromotionGate',
          // The message names the annotation (see GateConfigProblem).
          message: problem.message,
        });
      }
      if (waiting.length > 0 && problems.length === 0) {
        events.push({
          type: 'Normal',
          reason: 'PromotionWaiting',
          message: `${subject} on ${target.id}: ${delta(
            promotion.from,
            promotion.to,
          )} waits: ${waiting.join(' · ')}`,
        });
      }
      return updated;
    }
    return promotion;
  }

  /**
   * Creates a promotion, superseding `expectedOpen` (the open promotion this pass read);
   * undefined when a concurrent pass changed the open promotion first (it may be carrying it out).
   */
  private async create(
    input: NewPromotion & { expectedOpen: string | null },
  ): Promise<PromotionRecord | undefined> {
    try {
      return await this.deps.promotions.create(input);
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  /** Takes the promotion into `applying` (compare-and-set: one instance wins). */
  private async write(
    promotion: PromotionRecord,
    by: string,
    note: string | undefined,
    now: Date,
  ): Promise<TargetDecision> {
    let current: PromotionRecord | undefined = promotion;
    if (current.state === 'pending') {
      current = await this.deps.promotions.update(
        current.id,
        current.revision,
        {
          state: 'approved',
          step: { state: 'approved', at: now.toISOString(), by, note },
        },
        now,
        ['pending'],
      );
      if (!current) throw new LostRace(promotion);
    }
    const applying = await this.deps.promotions.update(
      current.id,
      current.revision,
      {
        state: 'applying',
        step: { state: 'applying', at: now.toISOString(), by: ENGINE_ACTOR },
      },
      now,
      ['approved', 'failed', 'applying'],
    );
    // Lost to another pass (it is carrying the promotion out: the fresh read holds) or to a change
    // of the record since it was read (then the fresh read takes it).
    if (!applying) throw new LostRace(current);
    return { action: 'write', version: applying.to, promotion: applying };
  }

  private async close(
    promotion: PromotionRecord,
    state: 'applied',
    note: string,
    now: Date,
    events: Event[],
    by: string,
  ) {
    const closed = await this.deps.promotions.update(
      promotion.id,
      promotion.revision,
      {
        state,
        closedAt: now.toISOString(),
        step: { state, at: now.toISOString(), by, note },
      },
      now,
    );
    if (closed) {
      events.push({
        type: 'Normal',
        reason: 'PromotionApplied',
        message: `${promotion.subject} on ${promotion.target.id}: ${note}`,
      });
    }
  }

  /**
   * The upstream gate's evidence: the newest applied promotion of the upstream entity with the same
   * digest (on the named target, when one is), and whether that target's object is Ready now.
   */
  private async upstream(
    config: GateConfig,
    promotion: Pick<PromotionRecord, 'to'>,
  ): Promise<GateEvidence['upstream']> {
    const after = config.after;
    if (!after) return undefined;
    const { digest, revision } = promotion.to;
    // Records are found by digest, else by tag (PromotionStore.findApplied); a provider's version
    // without a digest is bound to its revision, which its tags alone do not pin down.
    const records = await this.deps.promotions.findApplied({
      entityRef: after.entityRef,
      digest,
      tag: digest ? undefined : promotion.to.tag,
    });
    const match = records.find(
      r =>
        (digest !== undefined ||
          revision === undefined ||
          r.to.revision === revision) &&
        (!after.target ||
          r.target.id === after.target ||
          r.target.objectId === after.target ||
          r.target.cluster === after.target),
    );
    if (!match?.closedAt) return undefined;
    const object = await this.deps.objects.get(match.target.objectId);
    const ready = object ? readyCondition(object.status) : undefined;
    return {
      targetId: match.target.id,
      appliedAt: new Date(match.closedAt),
      ready: ready?.status === 'True',
      readyMessage:
        ready?.message ??
        (object
          ? 'no Ready condition yet'
          : `${match.target.objectId} no longer exists`),
    };
  }
}
