import { requireEntityRead } from './requireEntityRead';
import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import {
  EntityTimelineView,
  ImageUpdateAutomationSpec,
  PromotionTarget,
  TimelineEvent,
  TimelineEventKind,
  TimelineLane,
} from '@imageops/backstage-plugin-image-automation-common';
import { clusterTarget } from '../promotions/clusterTargets';
import { gitTarget } from '../promotions/gitTargets';
import { policyRepository } from '../objects/policyRepository';
import { EventStore } from '../store/EventStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { PromotionRecord, PromotionStore } from '../store/PromotionStore';
import { ScanStore } from '../store/ScanStore';
import { SUSPENSION_REASONS, suspensionOfEvent } from './ObjectService';

/** The lane of tags seen in the registry. @internal */
export const REGISTRY_LANE = 'registry';

/** Page size of the timeline when the caller names none, and the most it may ask for. @internal */
export const TIMELINE_LIMITS = { default: 200, max: 1000 } as const;

/** What the engine records as the actor of what it does by itself. */
const ENGINE = 'image-automation';

/** The rows read per query from the stores (their own maximum page size). */
const READ_PAGE = 500;

/** A validated timeline request. @internal */
export interface TimelineQuery {
  since?: Date;
  until?: Date;
  limit?: number;
  cursor?: string;
}

const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function timeOf(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const time =
    typeof value === 'string' && ISO_TIME.test(value)
      ? new Date(value)
      : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new InputError(
      `${name} must be an ISO 8601 time with a zone, e.g. 2030-01-01T00:00:00Z, got '${String(
        value,
      )}'`,
    );
  }
  return time;
}

/** The position after which a page starts: the time and id of the last event of the page before. */
function encodeCursor(event: TimelineEvent): string {
  return Buffer.from(JSON.stringify([event.time, event.id])).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): { time: number; id: string } {
  try {
    const [time, id] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    );
    if (
      typeof time === 'string' &&
      typeof id === 'string' &&
      !Number.isNaN(Date.parse(time))
    ) {
      return { time: Date.parse(time), id };
    }
  } catch {
    // reported below
  }
  throw new InputError(`cursor is not one this endpoint returned: '${cursor}'`);
}

/**
 * Validates the query of `GET …/timeline`: `since` and `until` are ISO 8601 times, `until` not
 * before `since`, `limit` an integer from 1 to 1000, `cursor` one the endpoint returned. Every
 * refusal is an InputError naming the parameter.
 * @internal
 */
export function parseTimelineQuery(
  query: Record<string, unknown>,
): TimelineQuery {
  const since = timeOf(query.since, 'since');
  const until = timeOf(query.until, 'until');
  if (since && until && until < since) {
    throw new InputError(
      `until (${until.toISOString()}) must not be before since (${since.toISOString()})`,
    );
  }
  let limit: number | undefined;
  if (query.limit !== undefined) {
    limit =
      typeof query.limit === 'string' && /^\d+$/.test(query.limit)
        ? Number(query.limit)
        : NaN;
    if (!(limit >= 1 && limit <= TIMELINE_LIMITS.max)) {
      throw new InputError(
        `limit must be an integer from 1 to ${
          TIMELINE_LIMITS.max
        }, got '${String(query.limit)}'`,
      );
    }
  }
  if (query.cursor !== undefined && typeof query.cursor !== 'string') {
    throw new InputError('cursor must be given once');
  }
  if (query.cursor !== undefined) decodeCursor(query.cursor);
  return { since, until, limit, cursor: query.cursor };
}

/** Newest first; events at the same time by id, so the order (and a cursor into it) is total. */
function newestFirst(a: TimelineEvent, b: TimelineEvent): number {
  const byTime = Date.parse(b.time) - Date.parse(a.time);
  if (byTime !== 0) return byTime;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

/** Whether an event comes after the cursor position in newest-first order. */
function isAfter(
  event: TimelineEvent,
  cursor: { time: number; id: string },
): boolean {
  const time = Date.parse(event.time);
  return time < cursor.time || (time === cursor.time && event.id < cursor.id);
}

function laneOf(target: PromotionTarget, object?: StoredObject): TimelineLane {
  if (target.type === 'git') {
    const path = (
      object?.manifest.spec as ImageUpdateAutomationSpec | undefined
    )?.update?.path;
    const name = object?.name ?? target.objectId;
    return {
      id: target.id,
      label: path
        ? `git: ${path.replace(/^\.\//, '')} (${name})`
        : `git: ${name}`,
    };
  }
  const name = object?.name ?? target.objectId;
  return {
    id: target.id,
    label: `cluster ${target.cluster ?? 'unknown'} (${name})`,
  };
}

const STEP_VERBS: Record<TimelineEventKind, string> = {
  'tag-seen': 'seen in',
  requested: 'requested for',
  approved: 'approved for',
  rejected: 'rejected for',
  applying: 'applying to',
  applied: 'applied to',
  failed: 'failed on',
  superseded: 'superseded on',
  pinned: 'pinned on',
  unpinned: 'unpinned on',
  suspended: 'suspended',
  resumed: 'resumed',
};

/**
 * The timeline of an entity: when each tag was first seen in its repositories (the scans'
 * `tagsAdded`), every step of its promotions (requested … applied, failed, superseded), its pins,
 * and every suspend and resume of its objects (the `Suspended` / `Resumed` events each one
 * records, with who did it; for a suspend or resume the events no longer hold — older than their
 * retention, or from before they were recorded — the object's own last one), newest first and one
 * page at a time, with one lane per promotion target. Reading needs `image-automation.object.read`
 * on the entity.
 *
 * Reads are bounded: one listing of the entity's objects, the scans of each repository in pages of
 * 500 that stop at `since`, the entity's promotions in pages of 500, one query for its pins and
 * one for the suspend and resume events in the range.
 * @internal
 */
export class TimelineService {
  constructor(
    private readonly deps: {
      objects: ObjectStore;
      scans: ScanStore;
      promotions: PromotionStore;
      /** Without it, only each object's last suspend or resume shows. */
      events?: Pick<EventStore, 'listByReason'>;
      permissions: PermissionsService;
      now?: () => Date;
    },
  ) {}

  async timeline(
    entityRef: string,
    query: TimelineQuery,
    credentials: BackstageCredentials,
  ): Promise<EntityTimelineView> {
    await requireEntityRead(this.deps.permissions, entityRef, credentials);
    const limit = query.limit ?? TIMELINE_LIMITS.default;
    const cursor =
      query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const since = query.since?.getTime() ?? -Infinity;
    const until = query.until?.getTime() ?? Infinity;
    const now = this.deps.now?.() ?? new Date();

    const objects = await this.deps.objects.list({ entityRef });
    const lanes = new Map<string, TimelineLane>();
    const targetsOf = new Map<string, string[]>();
    for (const object of objects) {
      let targets: PromotionTarget[] = [];
      if (object.kind === 'ImageUpdateAutomation')
        targets = [gitTarget(object.id)];
      else if (object.kind === 'ResourceSet') {
        targets = (object.status.appliedClusters ?? []).map(cluster =>
          clusterTarget(object.id, cluster),
        );
      }
      targetsOf.set(
        object.id,
        targets.map(t => t.id),
      );
      for (const target of targets)
        lanes.set(target.id, laneOf(target, object));
    }
    const repositories = await this.repositoriesOf(objects);

    const events: TimelineEvent[] = [];
    for (const repository of repositories) {
      events.push(...(await this.tagsSeen(repository, since)));
    }
    const promotions = await this.promotionsOf(entityRef);
    const byObject = new Map(objects.map(o => [o.id, o]));
    for (const promotion of promotions) {
      if (!lanes.has(promotion.target.id)) {
        lanes.set(
          promotion.target.id,
          laneOf(promotion.target, byObject.get(promotion.target.objectId)),
        );
      }
    }
    const label = (targetId: string) => lanes.get(targetId)?.label ?? targetId;
    for (const promotion of promotions) {
      promotion.history.forEach((step, index) => {
        const kind: TimelineEventKind =
          step.state === 'pending' ? 'requested' : step.state;
        events.push({
          id: `promotion:${promotion.id}:${index}`,
          time: step.at,
          kind,
          targetId: promotion.target.id,
          ...(promotion.to.image ? { image: promotion.to.image } : {}),
          objectId: promotion.subject,
          tag: promotion.to.tag,
          ...(promotion.from ? { fromTag: promotion.from.tag } : {}),
          ...(promotion.to.digest ? { digest: promotion.to.digest } : {}),
          actor: step.by,
          promotionId: promotion.id,
          message: `${promotion.to.tag} ${STEP_VERBS[kind]} ${label(
            promotion.target.id,
          )}${step.note ? `: ${step.note}` : ''}`,
        });
      });
    }
    for (const pin of await this.deps.promotions.listPins(
      [...lanes.keys()],
      now,
    )) {
      events.push({
        id: `pin:${pin.targetId}:${pin.subject}:${pin.at}`,
        time: pin.at,
        kind: 'pinned',
        targetId: pin.targetId,
        ...(pin.version.image ? { image: pin.version.image } : {}),
        objectId: pin.subject,
        tag: pin.version.tag,
        ...(pin.version.digest ? { digest: pin.version.digest } : {}),
        actor: pin.by,
        message: `${pin.version.tag} pinned on ${label(pin.targetId)}: ${
          pin.reason
        }${pin.expiresAt ? ` (until ${pin.expiresAt})` : ''}`,
      });
    }
    const suspensions = (
      id: string,
      kind: TimelineEventKind,
      time: string,
      actor?: string,
    ) => {
      const targets = targetsOf.get(id) ?? [];
      // An object with no lane of its own (a repository, a policy) shows on the registry lane.
      return (targets.length > 0 ? targets : [undefined]).map(
        (targetId): TimelineEvent => ({
          id: `${id}:${kind}${targetId ? `:${targetId}` : ''}`,
          time,
          kind,
          ...(targetId ? { targetId } : {}),
          objectId: id,
          ...(actor ? { actor } : {}),
          message: `${id} ${STEP_VERBS[kind]}`,
        }),
      );
    };
    const recorded = await this.deps.events?.listByReason({
      objectIds: objects.map(o => o.id),
      reasons: Object.values(SUSPENSION_REASONS),
      since: query.since,
      until: query.until,
    });
    /** `<object id>\n<kind>\n<time>` of every suspend or resume the events hold. */
    const seen = new Set<string>();
    for (const event of recorded ?? []) {
      const suspension = suspensionOfEvent(event);
      if (!suspension) continue;
      const kind: TimelineEventKind =
        suspension.action === 'suspend' ? 'suspended' : 'resumed';
      seen.add(`${event.objectId}\n${kind}\n${Date.parse(event.time)}`);
      for (const e of suspensions(
        event.objectId,
        kind,
        event.time,
        suspension.actor,
      )) {
        events.push({ ...e, id: `event:${event.id}:${e.id}` });
      }
    }
    // The object's last suspend or resume, unless an event holds it already: one from before the
    // events were recorded, or whose event is past retention, still shows.
    for (const object of objects) {
      if (!object.suspendedAt) continue;
      const kind: TimelineEventKind = object.suspended
        ? 'suspended'
        : 'resumed';
      if (seen.has(`${object.id}\n${kind}\n${Date.parse(object.suspendedAt)}`))
        continue;
      for (const e of suspensions(
        object.id,
        kind,
        object.suspendedAt,
        object.suspendedBy,
      )) {
        events.push({ ...e, id: `object:${e.id}` });
      }
    }

    const inRange = events
      .filter(e => {
        const time = Date.parse(e.time);
        return time >= since && time <= until;
      })
      .sort(newestFirst);
    const after = cursor ? inRange.filter(e => isAfter(e, cursor)) : inRange;
    const items = after.slice(0, limit);
    const scanned = repositories
      .map(r => r.status.lastScanResult?.scanTime)
      .filter((t): t is string => !!t)
      .sort();
    const due = repositories.map(r => r.nextRunAt).sort();
    return {
      entityRef,
      lanes: [
        ...(repositories.length > 0 || events.some(e => !e.targetId)
          ? [{ id: REGISTRY_LANE, label: 'registry' }]
          : []),
        ...lanes.values(),
      ],
      items,
      ...(after.length > limit
        ? { nextCursor: encodeCursor(items[items.length - 1]) }
        : {}),
      ...(query.since
        ? { appliedBefore: lastAppliedBefore(events, since) }
        : {}),
      ...(scanned.length > 0
        ? { lastScanAt: scanned[scanned.length - 1] }
        : {}),
      ...(due.length > 0 ? { nextScanAt: due[0] } : {}),
    };
  }

  /**
   * The entity's ImageRepositories and those its ImagePolicies scan (which another entity may
   * declare): one extra read per repository the entity does not declare itself.
   */
  private async repositoriesOf(
    objects: StoredObject[],
  ): Promise<StoredObject[]> {
    const repositories = new Map(
      objects.filter(o => o.kind === 'ImageRepository').map(o => [o.id, o]),
    );
    for (const policy of objects.filter(o => o.kind === 'ImagePolicy')) {
      // Only a repository the policy may refer to (issue #13: never another tenant's tags).
      const source = await policyRepository(
        this.deps.objects,
        policy,
        async id => repositories.get(id) ?? this.deps.objects.get(id),
      );
      if (!source?.repository || source.denied || repositories.has(source.id))
        continue;
      repositories.set(source.id, source.repository);
    }
    return [...repositories.values()];
  }

  /** The tags a repository's scans added, newest scan first, reading no further back than `since`. */
  private async tagsSeen(
    repository: StoredObject,
    since: number,
  ): Promise<TimelineEvent[]> {
    const events: TimelineEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.scans.listScans(repository.id, {
        limit: READ_PAGE,
        cursor,
      });
      for (const scan of page.items) {
        const image =
          scan.canonicalImageName ??
          (repository.manifest.spec as { image?: string }).image;
        for (const tag of scan.tagsAdded) {
          events.push({
            id: `scan:${scan.id}:${tag}`,
            time: scan.startedAt,
            kind: 'tag-seen',
            ...(image ? { image } : {}),
            objectId: repository.id,
            tag,
            actor: ENGINE,
            message: `${tag} ${STEP_VERBS['tag-seen']} ${
              image ?? repository.id
            }`,
          });
        }
      }
      const oldest = page.items[page.items.length - 1];
      // Scans are listed newest first: once one predates the range, the rest do too.
      cursor =
        oldest && Date.parse(oldest.startedAt) < since
          ? undefined
          : page.nextCursor;
    } while (cursor);
    return events;
  }

  /**
   * Every promotion of the entity, page by page. A promotion created before `since` may still
   * have steps inside the range, so all are read; an entity has few (one per selection change and
   * target), unlike scans.
   */
  private async promotionsOf(entityRef: string): Promise<PromotionRecord[]> {
    const promotions: PromotionRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.promotions.list({
        entityRef,
        limit: READ_PAGE,
        cursor,
      });
      promotions.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return promotions;
  }
}

/** The newest `applied` event of each lane and subject before `since`. */
function lastAppliedBefore(
  events: TimelineEvent[],
  since: number,
): TimelineEvent[] {
  const last = new Map<string, TimelineEvent>();
  for (const event of events) {
    if (event.kind !== 'applied' || Date.parse(event.time) >= since) continue;
    const key = `${event.targetId}\n${event.objectId}`;
    const current = last.get(key);
    if (!current || newestFirst(event, current) < 0) last.set(key, event);
  }
  return [...last.values()].sort(newestFirst);
}
