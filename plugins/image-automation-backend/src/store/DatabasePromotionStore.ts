import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { ConflictError, InputError } from '@backstage/errors';
import {
  OPEN_PROMOTION_STATES,
  Page,
  PromotionPin,
  PromotionState,
  PromotionStep,
  PromotionVersion,
  PromotionVote,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  NewPromotion,
  PromotionPatch,
  PromotionRecord,
  PromotionStore,
} from './PromotionStore';
import { applyMigrations } from './migrations';
import { clampLimit } from './DatabaseScanStore';

const PROMOTIONS = 'image_automation_promotions';
const VOTES = 'image_automation_promotion_votes';
const PINS = 'image_automation_promotion_pins';

/** How often `create` starts over when a concurrent create or update got in first. */
const CREATE_ATTEMPTS = 5;

interface PromotionRow {
  id: string;
  entity_ref: string | null;
  target_id: string;
  target: string;
  subject: string;
  from: string | null;
  to: string;
  to_digest: string;
  state: string;
  gates: string;
  eta: string | null;
  history: string;
  bypassed_gates: string | null;
  justification: string | null;
  commit: string | null;
  applied_revision: string | null;
  pull_request: string | null;
  diff: string | null;
  preview: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  revision: number;
}

interface VoteRow {
  promotion_id: string;
  actor: string;
  decision: string;
  digest: string;
  at: string;
  reason: string | null;
}

interface PinRow {
  target_id: string;
  subject: string;
  version: string;
  reason: string;
  by: string;
  at: string;
  expires_at: string | null;
}

/** Thrown inside `create`'s transaction to roll it back and start over. */
class CreateRaced extends Error {}

/** Thrown inside `create`'s transaction when the open promotion is not the one the caller expected. */
class OpenChanged extends Error {}

function versionKey(version: PromotionVersion): string {
  return version.digest ?? version.tag;
}

function toRecord(row: PromotionRow): PromotionRecord {
  return {
    id: row.id,
    entityRef: row.entity_ref ?? undefined,
    target: JSON.parse(row.target),
    subject: row.subject,
    from: row.from ? JSON.parse(row.from) : undefined,
    to: JSON.parse(row.to),
    state: row.state as PromotionState,
    gates: JSON.parse(row.gates),
    eta: row.eta ?? undefined,
    history: JSON.parse(row.history),
    bypassedGates: row.bypassed_gates
      ? JSON.parse(row.bypassed_gates)
      : undefined,
    justification: row.justification ?? undefined,
    commit: row.commit ?? undefined,
    appliedRevision: row.applied_revision ?? undefined,
    pullRequest: row.pull_request ? JSON.parse(row.pull_request) : undefined,
    diff: row.diff ?? undefined,
    preview: row.preview ?? undefined,
    error: row.error ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    closedAt: row.closed_at ?? undefined,
    revision: Number(row.revision),
  };
}

function toVote(row: VoteRow): PromotionVote {
  return {
    actor: row.actor,
    decision: row.decision as PromotionVote['decision'],
    digest: row.digest,
    at: row.at,
    reason: row.reason ?? undefined,
  };
}

function toPin(row: PinRow): PromotionPin {
  return {
    targetId: row.target_id,
    subject: row.subject,
    version: JSON.parse(row.version),
    reason: row.reason,
    by: row.by,
    at: row.at,
    expiresAt: row.expires_at ?? undefined,
  };
}

/** The columns a patch sets. A key present with `undefined` clears an optional field. */
function patchColumns(patch: PromotionPatch): Partial<PromotionRow> {
  const has = (key: keyof PromotionPatch) =>
    Object.prototype.hasOwnProperty.call(patch, key);
  const columns: Partial<PromotionRow> = {};
  if (patch.to) {
    columns.to = JSON.stringify(patch.to);
    columns.to_digest = versionKey(patch.to);
  }
  if (patch.state) columns.state = patch.state;
  if (patch.gates) columns.gates = JSON.stringify(patch.gates);
  if (has('eta')) columns.eta = patch.eta ?? null;
  if (has('bypassedGates')) {
    columns.bypassed_gates = patch.bypassedGates
      ? JSON.stringify(patch.bypassedGates)
      : null;
  }
  if (has('justification')) columns.justification = patch.justification ?? null;
  if (has('commit')) columns.commit = patch.commit ?? null;
  if (has('appliedRevision'))
    columns.applied_revision = patch.appliedRevision ?? null;
  if (has('pullRequest'))
    columns.pull_request = patch.pullRequest
      ? JSON.stringify(patch.pullRequest)
      : null;
  if (has('diff')) columns.diff = patch.diff ?? null;
  if (has('preview')) columns.preview = patch.preview ?? null;
  if (has('error')) columns.error = patch.error ?? null;
  if (has('closedAt')) columns.closed_at = patch.closedAt ?? null;
  return columns;
}

function encodeCursor(row: { created_at: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    );
    if (typeof createdAt === 'string' && typeof id === 'string')
      return { createdAt, id };
  } catch {
    // reported below
  }
  throw new InputError('Invalid cursor');
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  // PostgreSQL's unique_violation and better-sqlite3's name for it.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Knex implementation of {@link PromotionStore}. @internal */
export class DatabasePromotionStore implements PromotionStore {
  static async create(options: {
    knex: Knex;
    skipMigrations?: boolean;
  }): Promise<DatabasePromotionStore> {
    if (!options.skipMigrations) {
      await applyMigrations(options.knex);
    }
    return new DatabasePromotionStore(options.knex);
  }

  private constructor(private readonly db: Knex) {}

  async create(input: NewPromotion): Promise<PromotionRecord> {
    const now = input.now.toISOString();
    const id = randomUUID();
    const step: PromotionStep = { state: 'pending', at: now, by: input.by };
    if (input.note !== undefined) step.note = input.note;
    const row: PromotionRow = {
      id,
      entity_ref: input.entityRef ?? null,
      target_id: input.target.id,
      target: JSON.stringify(input.target),
      subject: input.subject,
      from: input.from ? JSON.stringify(input.from) : null,
      to: JSON.stringify(input.to),
      to_digest: versionKey(input.to),
      state: 'pending',
      gates: '[]',
      eta: null,
      history: JSON.stringify([step]),
      bypassed_gates: null,
      justification: null,
      commit: null,
      applied_revision: null,
      pull_request: null,
      diff: null,
      preview: null,
      error: null,
      created_at: now,
      updated_at: now,
      closed_at: null,
      revision: 1,
    };
    const superseded: PromotionStep = {
      state: 'superseded',
      at: now,
      by: input.by,
      note: `superseded by ${id}`,
    };

    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.transaction(async tx => {
          const open: PromotionRow[] = await tx(PROMOTIONS)
            .where({ target_id: input.target.id, subject: input.subject })
            .whereIn('state', OPEN_PROMOTION_STATES);
          if (
            input.expectedOpen !== undefined &&
            open.map(p => p.id).join() !== (input.expectedOpen ?? '')
          ) {
            throw new OpenChanged();
          }
          for (const previous of open) {
            const history: PromotionStep[] = JSON.parse(previous.history);
            const changed = await tx(PROMOTIONS)
              .where({ id: previous.id, revision: previous.revision })
              .whereIn('state', OPEN_PROMOTION_STATES)
              .update({
                state: 'superseded',
                history: JSON.stringify([...history, superseded]),
                closed_at: now,
                updated_at: now,
                revision: Number(previous.revision) + 1,
              });
            if (changed !== 1) throw new CreateRaced();
          }
          await tx(PROMOTIONS).insert(row);
        });
        return toRecord(row);
      } catch (error) {
        if (error instanceof OpenChanged) {
          throw new ConflictError(
            `Could not create a promotion of ${input.subject} on ${input.target.id}: its open promotion changed concurrently`,
          );
        }
        // The partial unique index refuses a second open promotion that a concurrent create
        // inserted after this transaction looked; the next attempt supersedes it.
        const raced = error instanceof CreateRaced || isUniqueViolation(error);
        if (!raced) throw error;
        if (attempt >= CREATE_ATTEMPTS) {
          throw new ConflictError(
            `Could not create a promotion of ${input.subject} on ${input.target.id}: it kept changing concurrently`,
          );
        }
      }
    }
  }

  async get(id: string): Promise<PromotionRecord | undefined> {
    const row = await this.db<PromotionRow>(PROMOTIONS).where({ id }).first();
    return row ? toRecord(row) : undefined;
  }

  async findOpen(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined> {
    const row = await this.db<PromotionRow>(PROMOTIONS)
      .where({ target_id: targetId, subject })
      .whereIn('state', OPEN_PROMOTION_STATES)
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .first();
    return row ? toRecord(row) : undefined;
  }

  async latest(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined> {
    const row = await this.db<PromotionRow>(PROMOTIONS)
      .where({ target_id: targetId, subject })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .first();
    return row ? toRecord(row) : undefined;
  }

  async lastApplied(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined> {
    const query = this.db<PromotionRow>(PROMOTIONS).where({
      target_id: targetId,
      subject,
      state: 'applied',
    });
    const row = await this.newestApplied(query).first();
    return row ? toRecord(row) : undefined;
  }

  async findApplied(filter: {
    entityRef: string;
    digest?: string;
    tag?: string;
  }): Promise<PromotionRecord[]> {
    // `to_digest` holds a digest when one was known and the tag otherwise; a tag never looks
    // like a digest, so matching either finds both kinds of record without mixing them up.
    const keys = [filter.digest, filter.tag].filter(
      (key): key is string => !!key,
    );
    if (keys.length === 0) return [];
    const query = this.db<PromotionRow>(PROMOTIONS)
      .where({ entity_ref: filter.entityRef, state: 'applied' })
      .whereIn('to_digest', keys);
    const rows: PromotionRow[] = await this.newestApplied(query);
    return rows.map(toRecord);
  }

  async list(filter: {
    entityRef?: string;
    targetId?: string;
    states?: PromotionState[];
    limit?: number;
    cursor?: string;
  }): Promise<Page<PromotionRecord>> {
    const limit = clampLimit(filter.limit, 50);
    const query = this.db<PromotionRow>(PROMOTIONS);
    if (filter.entityRef !== undefined)
      query.where('entity_ref', filter.entityRef);
    if (filter.targetId !== undefined)
      query.where('target_id', filter.targetId);
    if (filter.states) query.whereIn('state', filter.states);
    if (filter.cursor) {
      const after = decodeCursor(filter.cursor);
      query.andWhere(q =>
        q
          .where('created_at', '<', after.createdAt)
          .orWhere(q2 =>
            q2
              .where('created_at', after.createdAt)
              .andWhere('id', '<', after.id),
          ),
      );
    }
    const rows: PromotionRow[] = await query
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toRecord),
      nextCursor:
        rows.length > limit ? encodeCursor(page[page.length - 1]) : undefined,
    };
  }

  async update(
    id: string,
    expectedRevision: number,
    patch: PromotionPatch,
    now: Date,
    expectedStates?: PromotionState[],
  ): Promise<PromotionRecord | undefined> {
    const current = await this.db<PromotionRow>(PROMOTIONS)
      .where({ id })
      .first();
    if (!current || Number(current.revision) !== expectedRevision)
      return undefined;
    if (
      expectedStates &&
      !expectedStates.includes(current.state as PromotionState)
    )
      return undefined;

    // The history read above is the one stored at `expectedRevision`: the compare-and-set below
    // fails if anyone changed the row (and so its history) since.
    const history: PromotionStep[] = JSON.parse(current.history);
    const columns: Partial<PromotionRow> = {
      ...patchColumns(patch),
      updated_at: now.toISOString(),
      revision: expectedRevision + 1,
    };
    if (patch.step) columns.history = JSON.stringify([...history, patch.step]);

    const query = this.db(PROMOTIONS).where({ id, revision: expectedRevision });
    if (expectedStates) query.whereIn('state', expectedStates);
    let changed: number;
    try {
      changed = await query.update(columns);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ConflictError(
        `Promotion ${id} cannot reopen: ${current.subject} on ${current.target_id} has an open promotion`,
      );
    }
    if (changed !== 1) return undefined;
    return toRecord({ ...current, ...columns } as PromotionRow);
  }

  async vote(
    promotionId: string,
    vote: PromotionVote,
  ): Promise<PromotionVote[]> {
    await this.db(VOTES)
      .insert({
        promotion_id: promotionId,
        actor: vote.actor,
        decision: vote.decision,
        digest: vote.digest,
        at: vote.at,
        reason: vote.reason ?? null,
      })
      .onConflict(['promotion_id', 'actor', 'digest'])
      .merge(['decision', 'at', 'reason']);
    return this.votes(promotionId);
  }

  async votes(promotionId: string): Promise<PromotionVote[]> {
    const rows: VoteRow[] = await this.db(VOTES)
      .where({ promotion_id: promotionId })
      .orderBy(['at', 'actor', 'digest']);
    return rows.map(toVote);
  }

  async pin(pin: PromotionPin): Promise<void> {
    await this.db(PINS)
      .insert({
        target_id: pin.targetId,
        subject: pin.subject,
        version: JSON.stringify(pin.version),
        reason: pin.reason,
        by: pin.by,
        at: pin.at,
        expires_at: pin.expiresAt ?? null,
      })
      .onConflict(['target_id', 'subject'])
      .merge(['version', 'reason', 'by', 'at', 'expires_at']);
  }

  async unpin(targetId: string, subject: string): Promise<boolean> {
    const deleted = await this.db(PINS)
      .where({ target_id: targetId, subject })
      .delete();
    return deleted > 0;
  }

  async getPin(
    targetId: string,
    subject: string,
    now: Date,
  ): Promise<PromotionPin | undefined> {
    const row: PinRow | undefined = await this.unexpired(this.db(PINS), now)
      .where({ target_id: targetId, subject })
      .first();
    return row ? toPin(row) : undefined;
  }

  async listPins(targetIds: string[], now: Date): Promise<PromotionPin[]> {
    const pins: PromotionPin[] = [];
    const unique = [...new Set(targetIds)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows: PinRow[] = await this.unexpired(this.db(PINS), now).whereIn(
        'target_id',
        unique.slice(i, i + 500),
      );
      pins.push(...rows.map(toPin));
    }
    return pins.sort(
      (a, b) =>
        compare(a.targetId, b.targetId) || compare(a.subject, b.subject),
    );
  }

  async countByState(): Promise<Partial<Record<PromotionState, number>>> {
    const rows: Array<{ state: string; count: string | number }> =
      await this.db(PROMOTIONS)
        .select('state')
        .count({ count: '*' })
        .groupBy('state');
    return Object.fromEntries(rows.map(row => [row.state, Number(row.count)]));
  }

  private unexpired(query: Knex.QueryBuilder, now: Date): Knex.QueryBuilder {
    return query.where(q =>
      q.whereNull('expires_at').orWhere('expires_at', '>', now.toISOString()),
    );
  }

  /** Newest applied first: by when it closed (the apply), falling back to its last change. */
  private newestApplied<T extends Knex.QueryBuilder>(query: T): T {
    return query.orderByRaw('coalesce(closed_at, updated_at) desc').orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]) as T;
  }
}
