import { ConflictError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AutomationObjectView,
  EntityVersionsView,
  ObjectAction,
  Page,
  PromotionPin,
  PromotionPreview,
  PromotionState,
  PromotionVersion,
  PromotionView,
  ScanRecord,
  TargetVersionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { ImageAutomationApi, ObjectRef, PromotionDecision } from '../api/ImageAutomationApi';

/**
 * An in-memory image-automation backend for component tests: it keeps objects and scans, applies
 * actions the way the backend does (suspend/resume flip `suspended` and record who; reconcile
 * records the request and, for an ImageRepository, a new scan) and refuses actions the object's
 * `actions` do not allow, with the backend's NotAllowedError.
 * @internal
 */
export class FakeImageAutomationApi implements ImageAutomationApi {
  /** Every call, in order, for assertions. */
  readonly calls: Array<{ method: keyof ImageAutomationApi; args: unknown[] }> =
    [];
  private readonly objects = new Map<string, AutomationObjectView>();
  private readonly scans = new Map<string, ScanRecord[]>();
  private nextScanId = 1000;
  private readonly versions = new Map<string, TargetVersionView[]>();
  private readonly promotions = new Map<string, PromotionView>();
  private readonly previews = new Map<string, PromotionPreview>();
  private readonly pins: PromotionPin[] = [];
  private actionError?: Error;
  private loadError?: Error;

  constructor(
    private readonly options: {
      /** The user the fake records as the actor, e.g. in `suspendedBy`. */
      user: string;
      /** A clock, so recorded times are predictable. */
      now: () => Date;
    },
  ) {}

  addObject(object: AutomationObjectView, scans: ScanRecord[] = []): void {
    this.objects.set(object.id, clone(object));
    this.scans.set(object.id, clone(scans));
  }

  /** Sets the versions view of an entity (`kind:namespace/name`, lower case). */
  setVersions(entityRef: string, items: TargetVersionView[]): void {
    this.versions.set(entityRef, clone(items));
  }

  /** Adds a promotion; `preview` is what previewPromotion answers for it. */
  addPromotion(promotion: PromotionView, preview?: Omit<PromotionPreview, 'promotionId' | 'computedAt'>): void {
    this.promotions.set(promotion.id, clone(promotion));
    if (preview) {
      this.previews.set(promotion.id, { ...clone(preview), promotionId: promotion.id, computedAt: this.options.now().toISOString() });
    }
  }

  /** Makes every following action fail with `error` (or succeed again with `undefined`). */
  failActionsWith(error: Error | undefined): void {
    this.actionError = error;
  }

  /** Makes every following object list fail with `error` (or succeed again with `undefined`). */
  failLoadsWith(error: Error | undefined): void {
    this.loadError = error;
  }

  countCalls(method: keyof ImageAutomationApi): number {
    return this.calls.filter(call => call.method === method).length;
  }

  async getEntityObjects(entity: ObjectRef): Promise<AutomationObjectView[]> {
    this.calls.push({ method: 'getEntityObjects', args: [entity] });
    if (this.loadError) throw this.loadError;
    const ref = refOf(entity);
    return clone([...this.objects.values()].filter(o => o.entityRef === ref));
  }

  async getScans(
    object: ObjectRef,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ScanRecord>> {
    this.calls.push({ method: 'getScans', args: [object, options] });
    const scans = this.scans.get(this.find(object).id) ?? [];
    const start = options.cursor ? Number(options.cursor) : 0;
    const end = start + (options.limit ?? 20);
    const newestFirst = [...scans].sort((a, b) =>
      b.startedAt.localeCompare(a.startedAt),
    );
    return {
      items: clone(newestFirst.slice(start, end)),
      nextCursor: end < scans.length ? String(end) : undefined,
    };
  }

  async runAction(
    ref: ObjectRef,
    action: ObjectAction,
  ): Promise<AutomationObjectView> {
    this.calls.push({ method: 'runAction', args: [ref, action] });
    const object = this.find(ref);
    if (this.actionError) throw this.actionError;
    const permission = object.actions[action];
    if (!permission.allowed) {
      throw new NotAllowedError(
        permission.reason ?? `${action} is not allowed`,
      );
    }
    const now = this.options.now().toISOString();
    if (action === 'suspend' || action === 'resume') {
      object.suspended = action === 'suspend';
      object.suspendedBy = this.options.user;
      object.suspendedAt = now;
    } else {
      object.reconcileRequestedAt = now;
      object.reconcileRequestedBy = this.options.user;
      if (object.kind === 'ImageRepository') this.recordScan(object, now);
    }
    return clone(object);
  }

  async getVersions(entity: ObjectRef): Promise<EntityVersionsView> {
    this.calls.push({ method: 'getVersions', args: [entity] });
    if (this.loadError) throw this.loadError;
    const entityRef = refOf(entity);
    return { entityRef, items: clone(this.versions.get(entityRef) ?? []) };
  }

  async getPromotions(
    entity: ObjectRef,
    options: { states?: PromotionState[]; limit?: number; cursor?: string } = {},
  ): Promise<Page<PromotionView>> {
    this.calls.push({ method: 'getPromotions', args: [entity, options] });
    if (this.loadError) throw this.loadError;
    const items = [...this.promotions.values()]
      .filter(p => p.entityRef === refOf(entity))
      .filter(p => !options.states || options.states.includes(p.state))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return { items: clone(items) };
  }

  /**
   * Applies a decision as the backend does, as far as a fake can: the promotion's `actions` decide
   * whether it is allowed (NotAllowedError with their reason), an approval is a vote (the engine
   * would approve on its next pass), a rejection and promote now change the state at once, a
   * rollback pins the target at the version the promotion replaced.
   */
  async decidePromotion(id: string, decision: PromotionDecision): Promise<PromotionView | PromotionPin> {
    this.calls.push({ method: 'decidePromotion', args: [id, decision] });
    const promotion = this.promotions.get(id);
    if (!promotion) throw new NotFoundError(`no promotion ${id}`);
    if (this.actionError) throw this.actionError;
    const at = this.options.now().toISOString();
    if (decision.action === 'rollback') {
      if (promotion.state !== 'applied' || !promotion.from) {
        throw new ConflictError(`promotion ${id} is ${promotion.state}: only an applied promotion with an earlier version can be rolled back`);
      }
      return this.pin({ targetId: promotion.target.id, subject: promotion.subject, version: promotion.from, reason: `rollback of ${id}: ${decision.reason}` });
    }
    const permission = promotion.actions[decision.action === 'promote' ? 'promoteNow' : decision.action];
    if (!permission.allowed) throw new NotAllowedError(permission.reason ?? `${decision.action} is not allowed`);
    const digest = promotion.to.digest ?? promotion.to.revision ?? promotion.to.tag;
    if (decision.action === 'approve') {
      promotion.votes.push({ actor: this.options.user, decision: 'approve', digest, at, ...(decision.comment ? { reason: decision.comment } : {}) });
      promotion.actions.approve = { allowed: false, reason: 'You approved this version already' };
    } else if (decision.action === 'reject') {
      promotion.votes.push({ actor: this.options.user, decision: 'reject', digest, at, reason: decision.reason });
      promotion.state = 'rejected';
      promotion.closedAt = at;
      promotion.history.push({ state: 'rejected', at, by: this.options.user, note: decision.reason });
      promotion.actions = closedActions('rejected');
    } else {
      promotion.state = 'approved';
      promotion.bypassedGates = [...new Set(promotion.gates.filter(g => g.state !== 'passed').map(g => g.gate))];
      promotion.justification = decision.justification;
      promotion.history.push({ state: 'approved', at, by: this.options.user, note: decision.justification });
      promotion.actions = { ...closedActions('approved'), reject: promotion.actions.reject };
    }
    promotion.updatedAt = at;
    return clone(promotion);
  }

  async previewPromotion(id: string): Promise<PromotionPreview> {
    this.calls.push({ method: 'previewPromotion', args: [id] });
    const preview = this.previews.get(id);
    if (!preview) throw new NotFoundError(`no preview for promotion ${id}`);
    return clone(preview);
  }

  async pin(input: { targetId: string; subject: string; version: PromotionVersion; reason: string; expiresAt?: string }): Promise<PromotionPin> {
    this.calls.push({ method: 'pin', args: [input] });
    if (this.actionError) throw this.actionError;
    const pin: PromotionPin = { ...clone(input), by: this.options.user, at: this.options.now().toISOString() };
    const existing = this.pins.findIndex(p => p.targetId === pin.targetId && p.subject === pin.subject);
    if (existing >= 0) this.pins.splice(existing, 1);
    this.pins.push(pin);
    for (const rows of this.versions.values()) {
      for (const row of rows) if (row.target.id === pin.targetId && row.subject === pin.subject) row.pin = clone(pin);
    }
    return clone(pin);
  }

  async unpin(targetId: string, subject: string): Promise<void> {
    this.calls.push({ method: 'unpin', args: [targetId, subject] });
    if (this.actionError) throw this.actionError;
    const existing = this.pins.findIndex(p => p.targetId === targetId && p.subject === subject);
    if (existing < 0) throw new NotFoundError(`${subject} is not pinned on ${targetId}`);
    this.pins.splice(existing, 1);
    for (const rows of this.versions.values()) {
      for (const row of rows) if (row.target.id === targetId && row.subject === subject) delete row.pin;
    }
  }

  private recordScan(object: AutomationObjectView, at: string): void {
    const tagCount = object.status.lastScanResult?.tagCount ?? 0;
    const scan: ScanRecord = {
      id: this.nextScanId++,
      objectId: object.id,
      canonicalImageName: object.status.canonicalImageName,
      startedAt: at,
      durationMs: 120,
      outcome: 'success',
      tagCount,
      revision: `sha256:${String(this.nextScanId).padStart(8, '0')}`,
      tagsAdded: [],
      tagsRemoved: [],
      requests: 1,
    };
    this.scans.get(object.id)?.push(scan);
    object.status.lastScanResult = {
      tagCount,
      scanTime: at,
      revision: scan.revision!,
    };
  }

  private find(ref: ObjectRef): AutomationObjectView {
    const object = this.objects.get(`${ref.kind}/${ref.namespace}/${ref.name}`);
    if (!object) {
      throw new NotFoundError(
        `${ref.kind} ${ref.namespace}/${ref.name} not found`,
      );
    }
    return object;
  }
}

function refOf(entity: ObjectRef): string {
  return `${entity.kind.toLowerCase()}:${entity.namespace}/${entity.name}`;
}

/** What may be done with a closed (or no longer pending) promotion. */
function closedActions(state: PromotionState): PromotionView['actions'] {
  const no = { allowed: false, reason: `The promotion is ${state}` };
  return { approve: no, reject: no, promoteNow: no };
}

/** The objects leave the fake as copies, as they would leave a server as JSON. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}
