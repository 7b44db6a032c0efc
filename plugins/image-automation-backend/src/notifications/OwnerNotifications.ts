import { LoggerService } from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { NotificationPayload } from '@backstage/plugin-notifications-common';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  Condition,
  OBJECT_ANNOTATIONS,
  ObjectStatus,
  PromotionTarget,
  tryParseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { PromotionRecord, PromotionStore } from '../store/PromotionStore';
import { truncateMessage } from '../util/truncateMessage';

/**
 * The entity annotation that turns the owners' notifications off for one entity:
 * `image-automation.io/notifications: disabled`. Notifications are on by default.
 * @internal
 */
export const NOTIFICATIONS_ANNOTATION = OBJECT_ANNOTATIONS.notifications;

/** The notification topics, as the notifications page and its settings show them. @internal */
export const NOTIFICATION_TOPICS = {
  promotions: 'image-automation.promotions',
  stalled: 'image-automation.stalled',
} as const;

/** The entity tab's path under the entity page (the frontend plugin's default). @internal */
export const ENTITY_TAB_PATH = 'image-updates';

/** The longest description sent (condition messages are bounded already; this is shorter). */
const MAX_DESCRIPTION = 500;

/** How many notifications may wait for delivery; more are dropped (and logged) rather than queued. */
const MAX_QUEUED = 1000;

/** How long one delivery may take before it counts as failed. */
const SEND_TIMEOUT_MS = 10_000;

/** What an owner notification says and where it goes. @internal */
export interface OwnerNotice {
  /** The entity whose owners are told (the notifications backend resolves them). */
  entityRef: string;
  payload: NotificationPayload;
}

/**
 * The relative link to an entity's Image updates tab, as the catalog's entity routes spell it
 * (kind and namespace lower-cased), with an optional query.
 * @internal
 */
export function entityTabLink(
  entityRef: string,
  query?: Record<string, string>,
): string {
  const ref = parseEntityRef(entityRef);
  const path = [ref.namespace, ref.kind, ref.name].map((part, i) =>
    encodeURIComponent(i < 2 ? part.toLocaleLowerCase('en-US') : part),
  );
  const search = query ? `?${new URLSearchParams(query).toString()}` : '';
  return `/catalog/${path.join('/')}/${ENTITY_TAB_PATH}${search}`;
}

/** `podinfo` for `ghcr.io/stefanprodan/podinfo`; the subject's name without an image. */
function subjectLabel(promotion: PromotionRecord): string {
  const image = promotion.to.image ?? promotion.from?.image;
  if (image) return image.split('/').pop()!;
  return tryParseObjectId(promotion.subject)?.name ?? promotion.subject;
}

function targetLabel(target: PromotionTarget): string {
  return target.cluster
    ? `${target.objectId} in cluster ${target.cluster}`
    : target.objectId;
}

function change(promotion: PromotionRecord): string {
  const from = promotion.from?.tag;
  return from ? `${from} → ${promotion.to.tag}` : promotion.to.tag;
}

function describe(text: string): string {
  return truncateMessage(text, MAX_DESCRIPTION);
}

function approvalWaiting(promotion: PromotionRecord | undefined): boolean {
  return Boolean(
    promotion?.state === 'pending' &&
      promotion.gates.some(g => g.gate === 'approval' && g.state === 'waiting'),
  );
}

/** Whether two records name the same version (tag and digest, or provider revision). */
function sameTo(a: PromotionRecord, b: PromotionRecord): boolean {
  return (
    a.to.tag === b.to.tag &&
    a.to.digest === b.to.digest &&
    a.to.revision === b.to.revision
  );
}

/**
 * The scope of a promotion's notification: one per target and subject, so the "approve" notice
 * is updated in place when the promotion is applied, fails or a newer one replaces it.
 * @internal
 */
export function promotionScope(
  promotion: Pick<PromotionRecord, 'target' | 'subject'>,
): string {
  return `${NOTIFICATION_TOPICS.promotions}:${promotion.target.id}:${promotion.subject}`;
}

/** The scope of an object's stalled notification. @internal */
export function stalledScope(objectId: string): string {
  return `${NOTIFICATION_TOPICS.stalled}:${objectId}`;
}

/**
 * What a promotion's change (`before` → `after`; `before` undefined for a new one) tells the
 * entity's owners, if anything: that it waits for their approval (when the approval gate starts
 * waiting, or the version it waits with changes), that it was applied, that it failed (the first
 * failure and each different error, not every retry) or was rejected. Nothing for other changes.
 * @internal
 */
export function promotionNotice(
  before: PromotionRecord | undefined,
  after: PromotionRecord,
): OwnerNotice | undefined {
  if (!after.entityRef) return undefined;
  const base = {
    topic: NOTIFICATION_TOPICS.promotions,
    scope: promotionScope(after),
    link: entityTabLink(after.entityRef),
  };
  const what = `${subjectLabel(after)} ${change(after)}`;
  const where = targetLabel(after.target);
  let payload: NotificationPayload | undefined;
  if (
    approvalWaiting(after) &&
    !(approvalWaiting(before) && before && sameTo(before, after))
  ) {
    const waiting = after.gates
      .filter(g => g.state !== 'passed')
      .map(g => g.summary);
    payload = {
      ...base,
      title: `Approve ${what} for ${where}`,
      description: describe(
        `${after.subject} waits for approval on ${
          after.target.id
        } (${waiting.join(
          ' · ',
        )}). Approve or reject it on the Image updates tab.`,
      ),
      severity: 'normal',
    };
  } else if (after.state === 'applied' && before?.state !== 'applied') {
    let carried = '';
    if (after.commit) carried = ` in commit ${after.commit.slice(0, 12)}`;
    else if (after.appliedRevision)
      carried = ` (revision ${after.appliedRevision})`;
    payload = {
      ...base,
      title: `Applied ${what} to ${where}`,
      description: describe(
        `${after.subject} on ${after.target.id} now carries ${after.to.tag}${carried}.`,
      ),
      severity: 'low',
    };
  } else if (after.state === 'failed' && !repeatedFailure(after)) {
    payload = {
      ...base,
      title: `Failed to apply ${what} to ${where}`,
      description: describe(
        `${
          after.error ?? 'the write failed'
        } (retried on every pass while the promotion is open)`,
      ),
      severity: 'high',
    };
  } else if (after.state === 'rejected' && before?.state !== 'rejected') {
    const step = after.history[after.history.length - 1];
    payload = {
      ...base,
      title: `Rejected ${what} for ${where}`,
      description: describe(
        `${step?.by ?? 'someone'} rejected it${
          step?.note ? `: ${step.note}` : ''
        }`,
      ),
      severity: 'low',
    };
  }
  return payload && { entityRef: after.entityRef, payload };
}

/** Whether a failure repeats the previous attempt's (the same error, with only a retry between). */
function repeatedFailure(promotion: PromotionRecord): boolean {
  const earlier = promotion.history
    .slice(0, -1)
    .filter(step => step.state !== 'applying');
  const previous = earlier[earlier.length - 1];
  return (
    previous?.state === 'failed' &&
    (previous.note ?? '') === (promotion.error ?? '')
  );
}

function stalled(status: ObjectStatus): Condition | undefined {
  return status.conditions?.find(
    c => c.type === 'Stalled' && c.status === 'True',
  );
}

/**
 * What an object's reconcile (`before` → `after` status) tells its entity's owners: that it
 * became Stalled (or stalled for another reason), or that it is no longer Stalled. Both use the
 * object's scope, so the recovery updates the stalled notice instead of adding one.
 * @internal
 */
export function objectNotice(
  object: {
    id: string;
    kind: string;
    namespace: string;
    name: string;
    entityRef?: string;
  },
  before: ObjectStatus,
  after: ObjectStatus,
): OwnerNotice | undefined {
  if (!object.entityRef) return undefined;
  const was = stalled(before);
  const now = stalled(after);
  const base = {
    topic: NOTIFICATION_TOPICS.stalled,
    scope: stalledScope(object.id),
    link: entityTabLink(object.entityRef, { object: object.id }),
  };
  const name = `${object.kind} ${object.namespace}/${object.name}`;
  if (now && (!was || was.reason !== now.reason)) {
    return {
      entityRef: object.entityRef,
      payload: {
        ...base,
        title: `${name} is stalled: ${now.reason}`,
        description: describe(now.message),
        severity: 'high',
      },
    };
  }
  if (was && !now) {
    const ready = after.conditions?.find(c => c.type === 'Ready');
    const state =
      ready?.status === 'True' ? 'is ready again' : 'is no longer stalled';
    return {
      entityRef: object.entityRef,
      payload: {
        ...base,
        title: `${name} recovered`,
        description: describe(
          `${name} ${state}${
            ready?.message ? `: ${ready.message}` : ''
          } (was stalled: ${was.reason})`,
        ),
        severity: 'low',
      },
    };
  }
  return undefined;
}

/** Whether an entity's annotations turn its notifications off. @internal */
export function notificationsDisabled(
  annotations: Record<string, string> | undefined,
): boolean {
  const value = annotations?.[NOTIFICATIONS_ANNOTATION];
  return typeof value === 'string' && value.trim().toLowerCase() === 'disabled';
}

/**
 * Tells entities' owners, through Backstage's notification service, what needs them: a promotion
 * to approve, one applied, failed or rejected, an automation object stalled or recovered. Only
 * transitions are reported (the callers compare before and after), each topic and target has
 * one notification that later ones update (the payload's `scope`), and entities annotated
 * `image-automation.io/notifications: disabled` get none.
 *
 * Delivery never blocks or fails the engine: notices are queued (bounded) and sent one at a time
 * in order (so a later notice of a scope lands after an earlier one); a failure is logged once
 * until a delivery succeeds again (e.g. while the notifications backend is not installed).
 * @internal
 */
export class OwnerNotifications {
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private failing = false;
  private dropping = false;
  private readonly warnedValues = new Set<string>();

  constructor(
    private readonly deps: {
      notifications: NotificationService;
      logger: LoggerService;
      /** The annotations of a catalog entity (undefined when it does not exist). */
      entityAnnotations: (
        entityRef: string,
      ) => Promise<Record<string, string> | undefined>;
      sendTimeoutMs?: number;
    },
  ) {}

  /** Reports a promotion's change. Never throws and never waits. */
  promotionChanged(
    before: PromotionRecord | undefined,
    after: PromotionRecord,
  ): void {
    this.enqueue(() => promotionNotice(before, after));
  }

  /** Reports an object's reconcile. Never throws and never waits. */
  objectChanged(
    object: {
      id: string;
      kind: string;
      namespace: string;
      name: string;
      entityRef?: string;
    },
    before: ObjectStatus,
    after: ObjectStatus,
  ): void {
    this.enqueue(() => objectNotice(object, before, after));
  }

  /** Resolves when every notice queued so far was delivered or given up (for tests and shutdown). */
  async idle(): Promise<void> {
    await this.chain;
  }

  private enqueue(notice: () => OwnerNotice | undefined) {
    let next: OwnerNotice | undefined;
    try {
      next = notice();
    } catch (error) {
      this.deps.logger.warn(`Could not build an owner notification: ${error}`);
      return;
    }
    if (!next) return;
    if (this.queued >= MAX_QUEUED) {
      if (!this.dropping) {
        this.deps.logger.warn(
          `Owner notifications are not delivered fast enough: dropping new ones (${MAX_QUEUED} waiting)`,
        );
        this.dropping = true;
      }
      return;
    }
    this.dropping = false;
    this.queued++;
    const ready = next;
    this.chain = this.chain
      .then(() => this.deliver(ready))
      .catch(error =>
        this.deps.logger.warn(
          `Owner notification failed unexpectedly: ${error}`,
        ),
      )
      .finally(() => {
        this.queued--;
      });
  }

  private async deliver(notice: OwnerNotice) {
    let annotations: Record<string, string> | undefined;
    try {
      annotations = await this.deps.entityAnnotations(notice.entityRef);
    } catch (error) {
      this.deps.logger.warn(
        `Could not read ${notice.entityRef} to notify its owners: ${error}`,
      );
      return;
    }
    // The entity is gone, or its owners turned notifications off.
    if (!annotations || notificationsDisabled(annotations)) return;
    this.warnUnknownValue(
      notice.entityRef,
      annotations[NOTIFICATIONS_ANNOTATION],
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.deps.notifications.send({
          recipients: { type: 'entity', entityRef: notice.entityRef },
          payload: notice.payload,
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('timed out')),
            this.deps.sendTimeoutMs ?? SEND_TIMEOUT_MS,
          );
          timer.unref?.();
        }),
      ]);
      if (this.failing) {
        this.deps.logger.info('Owner notifications are delivered again');
        this.failing = false;
      }
    } catch (error) {
      if (!this.failing) {
        this.deps.logger.warn(
          `Could not notify the owners of ${notice.entityRef} (${notice.payload.topic}); further failures are not logged until a delivery succeeds. Is @backstage/plugin-notifications-backend installed? ${error}`,
        );
        this.failing = true;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A value other than `disabled`/`enabled` leaves notifications on; said once per entity and value. */
  private warnUnknownValue(entityRef: string, value: string | undefined) {
    if (
      value === undefined ||
      ['enabled', 'disabled'].includes(value.trim().toLowerCase())
    )
      return;
    const key = `${entityRef}\n${value}`;
    if (this.warnedValues.has(key)) return;
    this.warnedValues.add(key);
    this.deps.logger.warn(
      `${entityRef}: annotation ${NOTIFICATIONS_ANNOTATION} is '${truncateMessage(
        value,
        80,
      )}'; only 'disabled' turns notifications off (they stay on)`,
    );
  }
}

/**
 * The promotion store, telling owners of every promotion state change it writes (see
 * {@link OwnerNotifications.promotionChanged}). An update that changes the state, the gates or
 * the version reads the record first, to compare.
 * @internal
 */
export function ownerNotifyingPromotionStore(
  store: PromotionStore,
  owners: OwnerNotifications,
): PromotionStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'create') {
        return async (...args: Parameters<PromotionStore['create']>) => {
          const created = await target.create(...args);
          owners.promotionChanged(undefined, created);
          return created;
        };
      }
      if (key === 'update') {
        return async (...args: Parameters<PromotionStore['update']>) => {
          const [id, , patch] = args;
          const relevant =
            patch.state !== undefined ||
            patch.gates !== undefined ||
            patch.to !== undefined;
          const before = relevant
            ? await target.get(id).catch(() => undefined)
            : undefined;
          const updated = await target.update(...args);
          if (updated && relevant) owners.promotionChanged(before, updated);
          return updated;
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
