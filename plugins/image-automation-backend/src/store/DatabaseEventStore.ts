import { truncateMessage } from '../util/truncateMessage';
import { Knex } from 'knex';
import {
  ObjectEvent,
  Page,
} from '@imageops/backstage-plugin-image-automation-common';
import { EventStore } from './EventStore';
import { applyMigrations } from './migrations';
import { clampLimit } from './DatabaseScanStore';

const EVENTS = 'image_automation_events';

interface EventRow {
  id: number;
  object_id: string;
  time: string;
  type: string;
  reason: string;
  message: string;
}

function toEvent(row: EventRow): ObjectEvent {
  return {
    id: Number(row.id),
    objectId: row.object_id,
    time: row.time,
    type: row.type as ObjectEvent['type'],
    reason: row.reason,
    message: row.message,
  };
}

/** Knex implementation of {@link EventStore}. @internal */
export class DatabaseEventStore implements EventStore {
  static async create(options: {
    knex: Knex;
    skipMigrations?: boolean;
  }): Promise<DatabaseEventStore> {
    if (!options.skipMigrations) {
      await applyMigrations(options.knex);
    }
    return new DatabaseEventStore(options.knex);
  }

  private constructor(private readonly db: Knex) {}

  async record(event: Omit<ObjectEvent, 'id'>): Promise<void> {
    await this.db(EVENTS).insert({
      object_id: event.objectId,
      time: event.time,
      type: event.type,
      reason: truncateMessage(event.reason, 128),
      message: truncateMessage(event.message),
    });
  }

  async list(
    objectId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ObjectEvent>> {
    const limit = clampLimit(options.limit, 50);
    const query = this.db<EventRow>(EVENTS).where({ object_id: objectId });
    if (options.cursor) query.andWhere('id', '<', Number(options.cursor));
    const rows = await query.orderBy('id', 'desc').limit(limit + 1);
    const items = rows.slice(0, limit).map(toEvent);
    return {
      items,
      nextCursor:
        rows.length > limit ? String(items[items.length - 1].id) : undefined,
    };
  }

  async listByReason(filter: {
    objectIds: string[];
    reasons: string[];
    since?: Date;
    until?: Date;
  }): Promise<ObjectEvent[]> {
    if (filter.objectIds.length === 0 || filter.reasons.length === 0) return [];
    const query = this.db<EventRow>(EVENTS)
      .whereIn('object_id', filter.objectIds)
      .whereIn('reason', filter.reasons);
    // Times are stored as ISO 8601 UTC text (toISOString), which orders as the times do.
    if (filter.since) query.andWhere('time', '>=', filter.since.toISOString());
    if (filter.until) query.andWhere('time', '<=', filter.until.toISOString());
    const rows = await query.orderBy('id', 'desc');
    return rows.map(toEvent);
  }

  async prune(options: {
    olderThan: Date;
    keepPerObject?: number;
  }): Promise<number> {
    let deleted = await this.db(EVENTS)
      .where('time', '<', options.olderThan.toISOString())
      .delete();
    if (options.keepPerObject === undefined) return deleted;
    const keep = Math.max(1, Math.floor(options.keepPerObject));
    const crowded: Array<{ object_id: string }> = await this.db(EVENTS)
      .select('object_id')
      .groupBy('object_id')
      .havingRaw('count(*) > ?', [keep]);
    for (const { object_id } of crowded) {
      const boundary = await this.db(EVENTS)
        .where({ object_id })
        .orderBy('id', 'desc')
        .offset(keep - 1)
        .first('id');
      if (boundary) {
        deleted += await this.db(EVENTS)
          .where({ object_id })
          .andWhere('id', '<', boundary.id)
          .delete();
      }
    }
    return deleted;
  }
}
