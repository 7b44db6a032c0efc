import { truncateMessage } from '../util/truncateMessage';
import { Knex } from 'knex';
import {
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { ScanOutcome, ScanStore, TagRecord } from './ScanStore';
import { SCANS, ScanRow, TAGS, TagRow } from './tables';
import { applyMigrations } from './migrations';

function toRecord(row: ScanRow): ScanRecord {
  return {
    id: Number(row.id),
    objectId: row.object_id,
    canonicalImageName: row.canonical_image_name ?? undefined,
    startedAt: row.started_at,
    durationMs: Number(row.duration_ms),
    outcome: row.outcome as ScanRecord['outcome'],
    error: row.error ?? undefined,
    errorKind: (row.error_kind ?? undefined) as ScanRecord['errorKind'],
    errorStatus:
      row.error_status === null || row.error_status === undefined
        ? undefined
        : Number(row.error_status),
    tagCount: Number(row.tag_count),
    revision: row.revision ?? undefined,
    tagsAdded: JSON.parse(row.tags_added),
    tagsRemoved: JSON.parse(row.tags_removed),
    requests: Number(row.requests),
  };
}

/** A page size within 1..500, or the fallback. @internal */
export function clampLimit(
  limit: number | undefined,
  fallback: number,
): number {
  if (!limit || !Number.isFinite(limit) || limit < 1) return fallback;
  return Math.min(Math.floor(limit), 500);
}

function toTagRecord(row: TagRow): TagRecord {
  return {
    tag: row.tag,
    digest: row.digest ?? undefined,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    goneSince: row.gone_since ?? undefined,
  };
}

/** Knex implementation of {@link ScanStore}. @internal */
export class DatabaseScanStore implements ScanStore {
  static async create(options: {
    knex: Knex;
    skipMigrations?: boolean;
  }): Promise<DatabaseScanStore> {
    if (!options.skipMigrations) {
      await applyMigrations(options.knex);
    }
    return new DatabaseScanStore(options.knex);
  }

  private constructor(private readonly db: Knex) {}

  async recordScan(outcome: ScanOutcome): Promise<ScanRecord> {
    const startedAt = outcome.startedAt.toISOString();
    return this.db.transaction(async tx => {
      if (outcome.tags) {
        // The same listing recorded already (a run re-run after its outcome was lost): once.
        const recorded = await tx<ScanRow>(SCANS)
          .where({
            object_id: outcome.objectId,
            started_at: startedAt,
            outcome: 'success',
          })
          .first();
        if (recorded) return toRecord(recorded);
      }
      let added: string[] = [];
      let removed: string[] = [];
      if (outcome.tags) {
        const known: TagRow[] = await tx(TAGS).where({
          object_id: outcome.objectId,
        });
        const present = new Set(outcome.tags);
        const byTag = new Map(known.map(row => [row.tag, row]));
        added = outcome.tags.filter(tag => {
          const row = byTag.get(tag);
          return !row || row.gone_since !== null;
        });
        removed = known
          .filter(row => row.gone_since === null && !present.has(row.tag))
          .map(row => row.tag);
        const fresh = added.filter(tag => !byTag.has(tag));
        for (let i = 0; i < fresh.length; i += 500) {
          await tx(TAGS).insert(
            fresh.slice(i, i + 500).map(tag => ({
              object_id: outcome.objectId,
              tag,
              first_seen_at: startedAt,
              last_seen_at: startedAt,
            })),
          );
        }
        const returned = added.filter(tag => byTag.has(tag));
        const seen = outcome.tags.filter(tag => byTag.has(tag));
        for (let i = 0; i < seen.length; i += 500) {
          await tx(TAGS)
            .where({ object_id: outcome.objectId })
            .whereIn('tag', seen.slice(i, i + 500))
            .update({ last_seen_at: startedAt });
        }
        for (let i = 0; i < returned.length; i += 500) {
          await tx(TAGS)
            .where({ object_id: outcome.objectId })
            .whereIn('tag', returned.slice(i, i + 500))
            .update({ gone_since: null });
        }
        for (let i = 0; i < removed.length; i += 500) {
          await tx(TAGS)
            .where({ object_id: outcome.objectId })
            .whereIn('tag', removed.slice(i, i + 500))
            .update({ gone_since: startedAt });
        }
      }
      const row = {
        object_id: outcome.objectId,
        canonical_image_name: outcome.canonicalImageName ?? null,
        started_at: startedAt,
        duration_ms: Math.round(outcome.durationMs),
        outcome: outcome.tags ? 'success' : 'failure',
        error:
          outcome.error === undefined ? null : truncateMessage(outcome.error),
        error_kind: outcome.tags ? null : outcome.errorKind ?? null,
        error_status: outcome.tags ? null : outcome.errorStatus ?? null,
        tag_count: outcome.tags?.length ?? 0,
        revision: outcome.revision ?? null,
        tags_added: JSON.stringify(added),
        tags_removed: JSON.stringify(removed),
        requests: outcome.requests,
      };
      const [inserted] = await tx(SCANS).insert(row, ['id']);
      const id = typeof inserted === 'object' ? inserted.id : inserted;
      return toRecord({ ...row, id } as ScanRow);
    });
  }

  async listScans(
    objectId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ScanRecord>> {
    const limit = clampLimit(options.limit, 20);
    const query = this.db<ScanRow>(SCANS).where({ object_id: objectId });
    if (options.cursor) {
      query.andWhere('id', '<', Number(options.cursor));
    }
    const rows = await query.orderBy('id', 'desc').limit(limit + 1);
    const items = rows.slice(0, limit).map(toRecord);
    return {
      items,
      nextCursor:
        rows.length > limit ? String(items[items.length - 1].id) : undefined,
    };
  }

  async setDigest(
    objectId: string,
    tag: string,
    digest: string,
  ): Promise<void> {
    await this.db(TAGS).where({ object_id: objectId, tag }).update({ digest });
  }

  async currentTags(objectId: string): Promise<string[]> {
    const rows: Array<{ tag: string }> = await this.db(TAGS)
      .select('tag')
      .where({ object_id: objectId })
      .whereNull('gone_since');
    return rows.map(r => r.tag);
  }

  async presentTags(objectId: string): Promise<TagRecord[]> {
    const rows: TagRow[] = await this.db<TagRow>(TAGS)
      .where({ object_id: objectId })
      .whereNull('gone_since');
    return rows.map(toTagRecord);
  }

  async listTags(
    objectId: string,
    options: {
      limit?: number;
      cursor?: string;
      search?: string;
      includeGone?: boolean;
    } = {},
  ): Promise<Page<TagRecord>> {
    const limit = clampLimit(options.limit, 100);
    const query = this.db<TagRow>(TAGS).where({ object_id: objectId });
    if (!options.includeGone) query.whereNull('gone_since');
    if (options.search) {
      const escaped = options.search.replace(/[\\%_]/g, c => `\\${c}`);
      // SQLite has no default LIKE escape character; name one for both databases.
      query.andWhereRaw(`tag like ? escape '\\'`, [`%${escaped}%`]);
    }
    if (options.cursor) query.andWhere('tag', '>', options.cursor);
    const rows = await query.orderBy('tag').limit(limit + 1);
    const items = rows.slice(0, limit).map(toTagRecord);
    return {
      items,
      nextCursor: rows.length > limit ? items[items.length - 1].tag : undefined,
    };
  }

  async prune(options: {
    olderThan: Date;
    keepPerObject: number;
  }): Promise<number> {
    const keep = Math.max(1, Math.floor(options.keepPerObject));
    let deleted = await this.db(SCANS)
      .where('started_at', '<', options.olderThan.toISOString())
      .delete();
    const crowded: Array<{ object_id: string }> = await this.db(SCANS)
      .select('object_id')
      .groupBy('object_id')
      .havingRaw('count(*) > ?', [keep]);
    for (const { object_id } of crowded) {
      const boundary = await this.db(SCANS)
        .where({ object_id })
        .orderBy('id', 'desc')
        .offset(keep - 1)
        .first('id');
      if (boundary) {
        deleted += await this.db(SCANS)
          .where({ object_id })
          .andWhere('id', '<', boundary.id)
          .delete();
      }
    }
    return deleted;
  }

  async pruneGoneTags(options: {
    goneBefore: Date;
    keepPerObject: number;
  }): Promise<number> {
    const keep = Math.max(0, Math.floor(options.keepPerObject));
    let deleted = await this.db(TAGS)
      .whereNotNull('gone_since')
      .andWhere('gone_since', '<', options.goneBefore.toISOString())
      .delete();
    const crowded: Array<{ object_id: string }> = await this.db(TAGS)
      .select('object_id')
      .whereNotNull('gone_since')
      .groupBy('object_id')
      .havingRaw('count(*) > ?', [keep]);
    for (const { object_id } of crowded) {
      // The first gone tag past the ones kept (most recently gone first, then by tag).
      const boundary: Pick<TagRow, 'tag' | 'gone_since'> | undefined =
        await this.db(TAGS)
          .where({ object_id })
          .whereNotNull('gone_since')
          .orderBy([
            { column: 'gone_since', order: 'desc' },
            { column: 'tag', order: 'desc' },
          ])
          .offset(keep)
          .first('tag', 'gone_since');
      if (!boundary) continue;
      deleted += await this.db(TAGS)
        .where({ object_id })
        .whereNotNull('gone_since')
        .andWhere(q =>
          q
            .where('gone_since', '<', boundary.gone_since!)
            .orWhere(q2 =>
              q2
                .where('gone_since', boundary.gone_since!)
                .andWhere('tag', '<=', boundary.tag),
            ),
        )
        .delete();
    }
    return deleted;
  }
}
