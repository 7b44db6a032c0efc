import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  Page,
  PromotionPin,
  PromotionState,
  PromotionVersion,
  PromotionView,
  tryParseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { voteDigest } from '../promotions/PromotionPlanner';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { EventStore } from '../store/EventStore';
import { PromotionRecord, PromotionStore } from '../store/PromotionStore';
import { ChangeNotifier } from './ChangeNotifier';
import {
  PROMOTION_DECISION_STATES,
  PromotionOperations,
} from './PromotionOperations';

const MAX_TEXT = 2000;

/** A required free-text field (reason, justification), trimmed and bounded. @internal */
export function requiredText(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.trim())
    throw new InputError(`${field} is required`);
  if (value.length > MAX_TEXT)
    throw new InputError(`${field} is longer than ${MAX_TEXT} characters`);
  return value.trim();
}

/** The view of a promotion, before the caller's actions are known. @internal */
export function toPromotionView(
  record: PromotionRecord,
  votes: PromotionView['votes'],
): PromotionView {
  const { revision: _revision, preview: _preview, ...rest } = record;
  const denied = { allowed: false, reason: 'not evaluated' };
  return {
    ...rest,
    votes,
    actions: { approve: denied, reject: denied, promoteNow: denied },
  };
}

/**
 * Promotions through the API, without permission checks (see AuthorizedPromotionService): votes,
 * rejections, "promote now", pins and rollbacks. Every decision is recorded in the promotion's
 * history and as an event of the automation object, and makes the object due now so the engine
 * acts on it in the next pass.
 * @internal
 */
export class DefaultPromotionService implements PromotionOperations {
  constructor(
    private readonly deps: {
      promotions: PromotionStore;
      objects: ObjectStore;
      events?: EventStore;
      now?: () => Date;
      /** Called after a decision that the engine should act on now. */
      afterAction?: () => void;
      /** Told of every decision and pin (see ChangeNotifier). */
      notifier?: ChangeNotifier;
    },
  ) {}

  private now() {
    return this.deps.now?.() ?? new Date();
  }

  async find(id: string): Promise<PromotionRecord> {
    const record = await this.deps.promotions.get(id);
    if (!record) throw new NotFoundError(`no promotion ${id}`);
    return record;
  }

  /** The entity a promotion belongs to now: its automation object's, else the one recorded. */
  async ownerOf(
    record: Pick<PromotionRecord, 'target' | 'entityRef'>,
  ): Promise<string | undefined> {
    const object = await this.deps.objects.get(record.target.objectId);
    return object ? object.entityRef : record.entityRef;
  }

  /** The automation object of a target id (`git:<id>` or `cluster:<id>@<cluster>`). */
  async targetObject(targetId: string): Promise<StoredObject> {
    const match = /^(?:git:(.+)|cluster:(.+)@[^@]+)$/.exec(targetId);
    const object = match
      ? await this.deps.objects.get(match[1] ?? match[2])
      : undefined;
    if (!object) throw new NotFoundError(`no promotion target ${targetId}`);
    return object;
  }

  async view(record: PromotionRecord): Promise<PromotionView> {
    return toPromotionView(record, await this.deps.promotions.votes(record.id));
  }

  async list(filter: {
    entityRef: string;
    states?: PromotionState[];
    limit?: number;
    cursor?: string;
  }): Promise<Page<PromotionRecord>> {
    return this.deps.promotions.list(filter);
  }

  /** A vote for the promotion's current digest; the engine counts it on its next pass. */
  async approve(
    id: string,
    actor: string,
    comment?: string,
  ): Promise<PromotionRecord> {
    const record = await this.find(id);
    this.requireOpen(record, 'approve', PROMOTION_DECISION_STATES.approve);
    const now = this.now();
    await this.deps.promotions.vote(record.id, {
      actor,
      decision: 'approve',
      digest: voteDigest(record.to),
      at: now.toISOString(),
      ...(comment ? { reason: comment } : {}),
    });
    await this.record(
      record,
      'Normal',
      'PromotionVote',
      `${actor} approved ${this.describe(record)}`,
      now,
    );
    return this.find(id);
  }

  async reject(
    id: string,
    actor: string,
    reason: string,
  ): Promise<PromotionRecord> {
    const record = await this.find(id);
    this.requireOpen(record, 'reject', PROMOTION_DECISION_STATES.reject);
    const now = this.now();
    await this.deps.promotions.vote(record.id, {
      actor,
      decision: 'reject',
      digest: voteDigest(record.to),
      at: now.toISOString(),
      reason,
    });
    const rejected = await this.deps.promotions.update(
      record.id,
      record.revision,
      {
        state: 'rejected',
        closedAt: now.toISOString(),
        step: {
          state: 'rejected',
          at: now.toISOString(),
          by: actor,
          note: reason,
        },
      },
      now,
      PROMOTION_DECISION_STATES.reject,
    );
    if (!rejected) throw this.raced(id);
    await this.record(
      record,
      'Normal',
      'PromotionRejected',
      `${actor} rejected ${this.describe(record)}: ${reason}`,
      now,
    );
    return rejected;
  }

  /** Approves a promotion whose gates have not passed; the record lists the gates bypassed. */
  async promoteNow(
    id: string,
    actor: string,
    justification: string,
  ): Promise<PromotionRecord> {
    const record = await this.find(id);
    this.requireOpen(record, 'promote', PROMOTION_DECISION_STATES.promoteNow);
    const now = this.now();
    // A pin is an explicit hold, not a gate: it is lifted by unpinning, never bypassed.
    const pin = await this.deps.promotions.getPin(
      record.target.id,
      record.subject,
      now,
    );
    if (pin) {
      throw new ConflictError(
        `cannot promote ${record.id} now: ${record.subject} is pinned at ${pin.version.tag} on ${record.target.id} by ${pin.by} (${pin.reason}); unpin it first`,
      );
    }
    // The gates that had not passed when they were last evaluated.
    const bypassed = [
      ...new Set(
        record.gates
          .filter(g => g.state !== 'passed' && g.gate !== 'pin')
          .map(g => g.gate),
      ),
    ];
    const approved = await this.deps.promotions.update(
      record.id,
      record.revision,
      {
        state: 'approved',
        bypassedGates: bypassed,
        justification,
        step: {
          state: 'approved',
          at: now.toISOString(),
          by: actor,
          note: `promoted now${
            bypassed.length ? `, bypassing ${bypassed.join(', ')}` : ''
          }: ${justification}`,
        },
      },
      now,
      PROMOTION_DECISION_STATES.promoteNow,
    );
    if (!approved) throw this.raced(id);
    await this.record(
      record,
      'Normal',
      'PromotionForced',
      `${actor} promoted ${this.describe(record)} now${
        bypassed.length ? `, bypassing ${bypassed.join(', ')}` : ''
      }: ${justification}`,
      now,
    );
    return approved;
  }

  /** Holds a target's subject at a version; the engine writes it on its next pass. */
  async pin(input: {
    targetId: string;
    subject: string;
    version: PromotionVersion;
    reason: string;
    actor: string;
    expiresAt?: string;
  }): Promise<PromotionPin> {
    const object = await this.targetObject(input.targetId);
    await this.requireSubject(object, input.subject);
    if (
      input.expiresAt !== undefined &&
      Number.isNaN(Date.parse(input.expiresAt))
    ) {
      throw new InputError(
        `expiresAt must be an RFC 3339 time, got '${input.expiresAt}'`,
      );
    }
    const now = this.now();
    if (
      input.expiresAt !== undefined &&
      Date.parse(input.expiresAt) <= now.getTime()
    ) {
      throw new InputError(`expiresAt '${input.expiresAt}' is in the past`);
    }
    const pin: PromotionPin = {
      targetId: input.targetId,
      subject: input.subject,
      version: input.version,
      reason: input.reason,
      by: input.actor,
      at: now.toISOString(),
      ...(input.expiresAt
        ? { expiresAt: new Date(input.expiresAt).toISOString() }
        : {}),
    };
    await this.deps.promotions.pin(pin);
    await this.recordOn(
      object,
      'Normal',
      'PromotionPinned',
      `${input.actor} pinned ${input.subject} on ${input.targetId} at ${input.version.tag}: ${input.reason}`,
      now,
    );
    return pin;
  }

  /** Pins a target's subject to the version an applied promotion moved it from. */
  async rollback(
    id: string,
    actor: string,
    reason: string,
  ): Promise<PromotionPin> {
    const record = await this.find(id);
    if (record.state !== 'applied' || !record.from) {
      throw new ConflictError(
        `promotion ${id} is ${record.state}${
          record.from ? '' : ' and has no earlier version'
        }: only an applied promotion with an earlier version can be rolled back`,
      );
    }
    return this.pin({
      targetId: record.target.id,
      subject: record.subject,
      version: record.from,
      reason: `rollback of ${id}: ${reason}`,
      actor,
    });
  }

  async unpin(targetId: string, subject: string, actor: string): Promise<void> {
    const object = await this.targetObject(targetId);
    if (!(await this.deps.promotions.unpin(targetId, subject))) {
      throw new NotFoundError(`${subject} is not pinned on ${targetId}`);
    }
    await this.recordOn(
      object,
      'Normal',
      'PromotionUnpinned',
      `${actor} unpinned ${subject} on ${targetId}`,
      this.now(),
    );
  }

  private async requireSubject(object: StoredObject, subject: string) {
    const ref = tryParseObjectId(subject);
    const expected =
      object.kind === 'ImageUpdateAutomation'
        ? 'ImagePolicy'
        : 'ResourceSetInputProvider';
    if (!ref || ref.kind !== expected || ref.namespace !== object.namespace) {
      throw new InputError(
        `subject must be ${expected}/${object.namespace}/<name> for ${object.id}, got '${subject}'`,
      );
    }
    if (!(await this.deps.objects.get(subject)))
      throw new NotFoundError(`no ${subject}`);
  }

  private requireOpen(
    record: PromotionRecord,
    verb: string,
    states: PromotionState[],
  ) {
    if (states.includes(record.state)) return;
    const hint =
      record.state === 'superseded' ? ': a newer promotion replaced it' : '';
    throw new ConflictError(
      `cannot ${verb} promotion ${record.id}: it is ${record.state}${hint}`,
    );
  }

  private raced(id: string) {
    return new ConflictError(
      `promotion ${id} changed while you acted on it; reload and try again`,
    );
  }

  private describe(record: PromotionRecord) {
    return `${record.subject} on ${record.target.id} (${
      record.from?.tag ?? '(nothing)'
    } → ${record.to.tag})`;
  }

  private async record(
    record: PromotionRecord,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    now: Date,
  ) {
    const object = await this.deps.objects.get(record.target.objectId);
    if (object) await this.recordOn(object, type, reason, message, now);
  }

  private async recordOn(
    object: StoredObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    now: Date,
  ) {
    await this.deps.events?.record({
      objectId: object.id,
      time: now.toISOString(),
      type,
      reason,
      message,
    });
    await this.deps.objects.markDue([object.id], now);
    this.deps.afterAction?.();
    this.deps.notifier?.changed('promotions', object.entityRef);
  }
}
