import { createHash } from 'node:crypto';
import { Knex } from 'knex';
import {
  objectId,
  ObjectStatus,
  ObjectSource,
} from '@imageops/backstage-plugin-image-automation-common';
import { DeclaredObject, ObjectStore, StoredObject } from './ObjectStore';
import { OBJECTS, ObjectRow } from './tables';
import { applyMigrations } from './migrations';

/** The condition an object carries while other sources also declare it (set by the manifest sync). @internal */
export const DECLARATION_CONFLICT = 'DeclarationConflict';

/** `status` with the stored row's DeclarationConflict condition, which only the manifest sync sets. */
function keepDeclarationConflict(
  rowStatus: string,
  status: ObjectStatus,
): ObjectStatus {
  const stored = (JSON.parse(rowStatus) as ObjectStatus).conditions?.find(
    c => c.type === DECLARATION_CONFLICT,
  );
  if (!stored && !status.conditions?.some(c => c.type === DECLARATION_CONFLICT))
    return status;
  const conditions = (status.conditions ?? []).filter(
    c => c.type !== DECLARATION_CONFLICT,
  );
  if (stored) conditions.push(stored);
  return { ...status, conditions };
}

function grantsJson(grants: string[] | undefined): string | null {
  return grants ? JSON.stringify(grants) : null;
}

function iso(date: Date): string {
  return date.toISOString();
}

function toStored(row: ObjectRow): StoredObject {
  return {
    id: row.id,
    apiVersion: row.api_version,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    entityRef: row.entity_ref ?? undefined,
    sourceKey: row.source_key,
    source: {
      type: row.source_type as ObjectSource['type'],
      location: row.source_location,
    },
    ...(row.granted_namespaces
      ? { grantedNamespaces: JSON.parse(row.granted_namespaces) }
      : {}),
    manifest: JSON.parse(row.manifest),
    generation: Number(row.generation),
    status: JSON.parse(row.status),
    suspended: Boolean(row.suspended),
    suspendedBy: row.suspended_by ?? undefined,
    suspendedAt: row.suspended_at ?? undefined,
    reconcileRequestedAt: row.reconcile_requested_at ?? undefined,
    reconcileRequestedBy: row.reconcile_requested_by ?? undefined,
    nextRunAt: row.next_run_at,
    lastRunAt: row.last_run_at ?? undefined,
  };
}

/** Knex implementation of {@link ObjectStore}. @internal */
export class DatabaseObjectStore implements ObjectStore {
  static async create(options: {
    knex: Knex;
    skipMigrations?: boolean;
  }): Promise<DatabaseObjectStore> {
    if (!options.skipMigrations) {
      await applyMigrations(options.knex);
    }
    return new DatabaseObjectStore(options.knex);
  }

  private constructor(private readonly db: Knex) {}

  async syncSource(sourceKey: string, objects: DeclaredObject[]) {
    const now = iso(new Date());
    const conflicts: Array<{
      id: string;
      ownerSourceKey: string;
      ownerEntityRef?: string;
    }> = [];
    const takenOver: Array<{ id: string; fromSourceKey: string }> = [];
    await this.db.transaction(async tx => {
      const existing = new Map<string, ObjectRow>();
      const ids = objects.map(o =>
        objectId(
          o.manifest.kind,
          o.manifest.metadata.namespace ?? 'default',
          o.manifest.metadata.name,
        ),
      );
      for (let i = 0; i < ids.length; i += 500) {
        const rows: ObjectRow[] = await tx(OBJECTS).whereIn(
          'id',
          ids.slice(i, i + 500),
        );
        rows.forEach(row => existing.set(row.id, row));
      }
      const kept = new Set<string>();
      for (const [index, declared] of objects.entries()) {
        const id = ids[index];
        if (kept.has(id)) continue;
        const manifestJson = JSON.stringify(declared.manifest);
        const hash = createHash('sha256').update(manifestJson).digest('hex');
        const row = existing.get(id);
        const grants = grantsJson(declared.grantedNamespaces);
        if (row && row.source_key !== sourceKey) {
          if (
            declared.source.type === 'config' &&
            row.source_type === 'catalog'
          ) {
            // The platform's declaration wins over an entity's: an entity cannot squat an id a
            // platform location declares. The object starts over as the platform's.
            kept.add(id);
            takenOver.push({ id, fromSourceKey: row.source_key });
            await tx(OBJECTS)
              .where({ id })
              .update({
                api_version: declared.manifest.apiVersion,
                entity_ref: declared.entityRef ?? null,
                source_key: sourceKey,
                source_type: declared.source.type,
                source_location: declared.source.location,
                granted_namespaces: grants,
                manifest: manifestJson,
                manifest_hash: hash,
                generation: Number(row.generation) + 1,
                status: JSON.stringify({ observedGeneration: -1 }),
                suspended: false,
                suspended_by: null,
                suspended_at: null,
                next_run_at: now,
                updated_at: now,
              });
            continue;
          }
          conflicts.push({
            id,
            ownerSourceKey: row.source_key,
            ownerEntityRef: row.entity_ref ?? undefined,
          });
          continue;
        }
        kept.add(id);
        if (!row) {
          await tx(OBJECTS).insert({
            id,
            api_version: declared.manifest.apiVersion,
            kind: declared.manifest.kind,
            namespace: declared.manifest.metadata.namespace ?? 'default',
            name: declared.manifest.metadata.name,
            entity_ref: declared.entityRef ?? null,
            source_key: sourceKey,
            source_type: declared.source.type,
            source_location: declared.source.location,
            granted_namespaces: grants,
            manifest: manifestJson,
            manifest_hash: hash,
            generation: 1,
            status: JSON.stringify({ observedGeneration: -1 }),
            suspended: false,
            next_run_at: now,
            created_at: now,
            updated_at: now,
          });
        } else if (
          row.manifest_hash !== hash ||
          row.entity_ref !== (declared.entityRef ?? null) ||
          row.source_location !== declared.source.location ||
          (row.granted_namespaces ?? null) !== grants
        ) {
          const changed = row.manifest_hash !== hash;
          // New grants are checked at once (a reference denied before may be allowed now, or not).
          const regranted = (row.granted_namespaces ?? null) !== grants;
          await tx(OBJECTS)
            .where({ id })
            .update({
              api_version: declared.manifest.apiVersion,
              entity_ref: declared.entityRef ?? null,
              source_type: declared.source.type,
              source_location: declared.source.location,
              granted_namespaces: grants,
              manifest: manifestJson,
              manifest_hash: hash,
              generation: changed ? Number(row.generation) + 1 : row.generation,
              next_run_at: changed || regranted ? now : row.next_run_at,
              updated_at: now,
            });
        }
      }
      const stale = tx(OBJECTS).where({ source_key: sourceKey });
      if (kept.size > 0) {
        stale.whereNotIn('id', [...kept]);
      }
      await stale.delete();
    });
    return { conflicts, takenOver };
  }

  async setDeclarationConflict(
    id: string,
    message: string | undefined,
    now: Date,
  ): Promise<void> {
    await this.db.transaction(async tx => {
      const row = await tx<ObjectRow>(OBJECTS).where({ id }).first();
      if (!row) return;
      const status = JSON.parse(row.status) as ObjectStatus;
      const previous = status.conditions?.find(
        c => c.type === DECLARATION_CONFLICT,
      );
      if (!message && !previous) return;
      if (message && previous?.message === message) return;
      const conditions = (status.conditions ?? []).filter(
        c => c.type !== DECLARATION_CONFLICT,
      );
      if (message) {
        conditions.push({
          type: DECLARATION_CONFLICT,
          status: 'True',
          reason: 'AlsoDeclared',
          message,
          lastTransitionTime: previous?.lastTransitionTime ?? iso(now),
        });
      }
      await tx(OBJECTS)
        .where({ id })
        .update({
          status: JSON.stringify({ ...status, conditions }),
          updated_at: iso(now),
        });
    });
  }

  async listSourceKeys(): Promise<string[]> {
    const rows = await this.db(OBJECTS).distinct('source_key');
    return rows.map((r: { source_key: string }) => r.source_key);
  }

  async get(id: string): Promise<StoredObject | undefined> {
    const row = await this.db<ObjectRow>(OBJECTS).where({ id }).first();
    return row ? toStored(row) : undefined;
  }

  async list(
    filter: {
      entityRef?: string;
      kind?: string;
      namespace?: string;
      sourceKey?: string;
    } = {},
  ) {
    const query = this.db<ObjectRow>(OBJECTS);
    if (filter.entityRef) query.where('entity_ref', filter.entityRef);
    if (filter.kind) query.where('kind', filter.kind);
    if (filter.namespace) query.where('namespace', filter.namespace);
    if (filter.sourceKey) query.where('source_key', filter.sourceKey);
    const rows = await query.orderBy(['kind', 'namespace', 'name']);
    return rows.map(toStored);
  }

  async claimDue(options: {
    owner: string;
    now: Date;
    limit: number;
    leaseMs: number;
  }) {
    const now = iso(options.now);
    const candidates: Array<{ id: string }> = await this.db(OBJECTS)
      .select('id')
      .where('next_run_at', '<=', now)
      .andWhere(q =>
        q.whereNull('lease_expires_at').orWhere('lease_expires_at', '<', now),
      )
      .orderBy('next_run_at')
      // More candidates than the batch: another instance reading the same first rows takes
      // them, and this one goes on to the next instead of coming back empty-handed.
      .limit(options.limit * 4);
    const claimed: StoredObject[] = [];
    const expires = iso(new Date(options.now.getTime() + options.leaseMs));
    for (const { id } of candidates) {
      if (claimed.length >= options.limit) break;
      // Compare-and-set per row: of two instances racing for one object, exactly one updates it.
      const won = await this.db(OBJECTS)
        .where({ id })
        .andWhere('next_run_at', '<=', now)
        .andWhere(q =>
          q.whereNull('lease_expires_at').orWhere('lease_expires_at', '<', now),
        )
        // While leased, the object is next due when the lease expires: if this instance dies,
        // another one picks the object up then. Marking it due during the run moves next_run_at
        // earlier, which completeRun keeps.
        .update({
          lease_owner: options.owner,
          lease_expires_at: expires,
          next_run_at: expires,
        });
      if (won === 1) {
        const object = await this.get(id);
        if (object) claimed.push(object);
      }
    }
    return claimed;
  }

  async countDue(now: Date): Promise<number> {
    const at = iso(now);
    const [row] = await this.db(OBJECTS)
      .where('next_run_at', '<=', at)
      .andWhere(q =>
        q.whereNull('lease_expires_at').orWhere('lease_expires_at', '<', at),
      )
      .count({ count: '*' });
    return Number(row?.count ?? 0);
  }

  async renewLease(id: string, owner: string, until: Date): Promise<boolean> {
    const expires = iso(until);
    // next_run_at follows the lease unless the object was marked due during the run.
    const updated = await this.db(OBJECTS)
      .where({ id, lease_owner: owner })
      .update({
        next_run_at: this.db.raw(
          'CASE WHEN next_run_at = lease_expires_at THEN ? ELSE next_run_at END',
          [expires],
        ),
        lease_expires_at: expires,
      });
    return updated === 1;
  }

  async reportProgress(
    id: string,
    owner: string,
    status: ObjectStatus,
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const row = await tx<ObjectRow>(OBJECTS)
        .where({ id, lease_owner: owner })
        .first();
      if (!row) return false;
      const updated = await tx(OBJECTS)
        .where({ id, lease_owner: owner })
        .update({
          status: JSON.stringify(keepDeclarationConflict(row.status, status)),
          updated_at: iso(new Date()),
        });
      return updated === 1;
    });
  }

  async releaseLease(id: string, owner: string, now: Date): Promise<boolean> {
    const updated = await this.db(OBJECTS)
      .where({ id, lease_owner: owner })
      .update({
        lease_owner: null,
        lease_expires_at: null,
        next_run_at: iso(now),
        updated_at: iso(now),
      });
    return updated === 1;
  }

  async completeRun(
    id: string,
    owner: string,
    result: { status: ObjectStatus; nextRunAt: Date; ranAt: Date },
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const row = await tx<ObjectRow>(OBJECTS)
        .where({ id, lease_owner: owner })
        .first();
      if (!row) {
        return false;
      }
      let nextRunAt = iso(result.nextRunAt);
      const markedDueDuringRun = row.next_run_at !== row.lease_expires_at;
      if (markedDueDuringRun && row.next_run_at < nextRunAt) {
        nextRunAt = row.next_run_at;
      }
      await tx(OBJECTS)
        .where({ id, lease_owner: owner })
        .update({
          status: JSON.stringify(
            keepDeclarationConflict(row.status, result.status),
          ),
          next_run_at: nextRunAt,
          last_run_at: iso(result.ranAt),
          lease_owner: null,
          lease_expires_at: null,
          updated_at: iso(new Date()),
        });
      return true;
    });
  }

  async setSuspended(id: string, suspended: boolean, actor: string, now: Date) {
    await this.db(OBJECTS)
      .where({ id })
      .update({
        suspended,
        suspended_by: actor,
        suspended_at: iso(now),
        // Resuming reconciles at once, as `flux resume` does.
        ...(suspended ? {} : { next_run_at: iso(now) }),
        updated_at: iso(now),
      });
    return this.get(id);
  }

  async requestReconcile(id: string, actor: string, now: Date) {
    await this.db(OBJECTS)
      .where({ id })
      .update({
        reconcile_requested_at: iso(now),
        reconcile_requested_by: actor,
        next_run_at: iso(now),
        updated_at: iso(now),
      });
    return this.get(id);
  }

  async markDue(ids: string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    for (let i = 0; i < ids.length; i += 500) {
      await this.db(OBJECTS)
        .whereIn('id', ids.slice(i, i + 500))
        .andWhere('next_run_at', '>', iso(now))
        .update({ next_run_at: iso(now) });
    }
  }
}
