import { Knex } from 'knex';
import {
  InventoryRecord,
  InventoryState,
  InventoryStore,
} from './InventoryStore';
import { applyMigrations } from './migrations';

const TABLE = 'image_automation_inventories';

interface InventoryRow {
  owner: string;
  cluster: string;
  entries: string;
  state: string;
  last_applied_revision: string | null;
  message: string | null;
  applied_versions?: string | null;
  orphaned_at?: string | null;
  updated_at: Date | string;
}

function toRecord(row: InventoryRow): InventoryRecord {
  return {
    owner: row.owner,
    cluster: row.cluster,
    entries: JSON.parse(row.entries),
    state: row.state as InventoryState,
    lastAppliedRevision: row.last_applied_revision ?? undefined,
    message: row.message ?? undefined,
    appliedVersions: row.applied_versions
      ? JSON.parse(row.applied_versions)
      : undefined,
    orphanedAt: row.orphaned_at ? new Date(row.orphaned_at) : undefined,
    // SQLite returns timestamps as text or epoch milliseconds, PostgreSQL as Date.
    updatedAt:
      row.updated_at instanceof Date
        ? row.updated_at
        : new Date(row.updated_at),
  };
}

/**
 * Knex implementation of {@link InventoryStore} (SQLite and PostgreSQL).
 * @internal
 */
export class DatabaseInventoryStore implements InventoryStore {
  private constructor(private readonly db: Knex) {}

  static async create(options: {
    knex: Knex;
    skipMigrations?: boolean;
  }): Promise<DatabaseInventoryStore> {
    if (!options.skipMigrations) {
      await applyMigrations(options.knex);
    }
    return new DatabaseInventoryStore(options.knex);
  }

  async get(
    owner: string,
    cluster: string,
  ): Promise<InventoryRecord | undefined> {
    const row = await this.db<InventoryRow>(TABLE)
      .where({ owner, cluster })
      .first();
    return row ? toRecord(row) : undefined;
  }

  async list(
    filter: { owner?: string; cluster?: string } = {},
  ): Promise<InventoryRecord[]> {
    const query = this.db<InventoryRow>(TABLE).orderBy([
      { column: 'owner' },
      { column: 'cluster' },
    ]);
    if (filter.owner !== undefined) {
      query.where('owner', filter.owner);
    }
    if (filter.cluster !== undefined) {
      query.where('cluster', filter.cluster);
    }
    return (await query).map(toRecord);
  }

  async put(
    record: Omit<InventoryRecord, 'updatedAt' | 'orphanedAt'>,
  ): Promise<void> {
    await this.db<InventoryRow>(TABLE)
      .insert({
        owner: record.owner,
        cluster: record.cluster,
        entries: JSON.stringify(record.entries),
        state: record.state,
        last_applied_revision: record.lastAppliedRevision ?? null,
        message: record.message ?? null,
        // Versions only describe a finished apply: any other state forgets them.
        applied_versions:
          record.state === 'applied' && record.appliedVersions
            ? JSON.stringify(record.appliedVersions)
            : null,
        orphaned_at: null,
        updated_at: new Date(),
      })
      .onConflict(['owner', 'cluster'])
      .merge();
  }

  async setOrphaned(
    owner: string,
    cluster: string,
    since: Date | undefined,
  ): Promise<void> {
    await this.db<InventoryRow>(TABLE)
      .where({ owner, cluster })
      .update({ orphaned_at: since ? since.toISOString() : null });
  }

  async delete(owner: string, cluster: string): Promise<void> {
    await this.db(TABLE).where({ owner, cluster }).delete();
  }
}
