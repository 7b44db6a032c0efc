import {
  ConflictError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  AutomationObjectView,
  EntityTimelineView,
  EntityVersionsView,
  FleetFilter,
  FleetObject,
  FleetPromotion,
  FleetView,
  formatObjectId,
  ObjectAction,
  ObjectEvent,
  Page,
  PolicyExplanation,
  PolicyPreviewRequest,
  PromotionPin,
  PromotionPreview,
  PromotionState,
  PromotionVersion,
  PromotionView,
  RepositoryTagView,
  ResourceSetInventoryView,
  ScanRecord,
  TargetVersionView,
  tryParseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ImageAutomationApi,
  ObjectRef,
  PromotionDecision,
} from '../api/ImageAutomationApi';

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
  private readonly events = new Map<string, ObjectEvent[]>();
  private readonly versions = new Map<string, TargetVersionView[]>();
  private readonly timelines = new Map<
    string,
    Omit<EntityTimelineView, 'entityRef' | 'nextCursor'>
  >();
  private readonly promotions = new Map<string, PromotionView>();
  private readonly previews = new Map<string, PromotionPreview>();
  private readonly pins: PromotionPin[] = [];
  private readonly explanations = new Map<string, PolicyExplanation>();
  private previewAnswer?: (request: PolicyPreviewRequest) => PolicyExplanation;
  private readonly tags = new Map<string, RepositoryTagView[]>();
  private readonly inventories = new Map<
    string,
    ResourceSetInventoryView['clusters']
  >();
  /** The fleet's promotions (their current state is in `promotions`) with their owners, and failing objects. */
  private readonly fleetOwners = new Map<string, string | undefined>();
  private fleetFailing: FleetObject[] = [];
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

  /** Records events of an object (by id); `getEvents` pages them newest first, as the backend does. */
  addEvents(objectId: string, events: ObjectEvent[]): void {
    this.events.set(objectId, [
      ...(this.events.get(objectId) ?? []),
      ...clone(events),
    ]);
  }

  /** Sets an entity's timeline (`kind:namespace/name`, lower case): its lanes and every event. */
  setTimeline(
    entityRef: string,
    timeline: Omit<EntityTimelineView, 'entityRef' | 'nextCursor'>,
  ): void {
    this.timelines.set(entityRef, clone(timeline));
  }

  /** Sets the versions view of an entity (`kind:namespace/name`, lower case). */
  setVersions(entityRef: string, items: TargetVersionView[]): void {
    this.versions.set(entityRef, clone(items));
  }

  /** Adds a promotion; `preview` is what previewPromotion answers for it. */
  addPromotion(
    promotion: PromotionView,
    preview?: Omit<PromotionPreview, 'promotionId' | 'computedAt'>,
  ): void {
    this.promotions.set(promotion.id, clone(promotion));
    if (preview) {
      this.previews.set(promotion.id, {
        ...clone(preview),
        promotionId: promotion.id,
        computedAt: this.options.now().toISOString(),
      });
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

  /** Pages by event id, newest first; the cursor is the last id returned, as in the backend's store. */
  async getEvents(
    object: ObjectRef,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<ObjectEvent>> {
    this.calls.push({ method: 'getEvents', args: [object, options] });
    const limit = options.limit ?? 50;
    const newestFirst = [...(this.events.get(this.find(object).id) ?? [])]
      .filter(e => !options.cursor || e.id < Number(options.cursor))
      .sort((a, b) => b.id - a.id);
    const items = newestFirst.slice(0, limit);
    return {
      items: clone(items),
      nextCursor:
        newestFirst.length > limit
          ? String(items[items.length - 1].id)
          : undefined,
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

  /** Filters by `since`/`until` and pages newest first as the backend does; the cursor is an offset. */
  async getTimeline(
    entity: ObjectRef,
    options: {
      since?: string;
      until?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<EntityTimelineView> {
    this.calls.push({ method: 'getTimeline', args: [entity, options] });
    if (this.loadError) throw this.loadError;
    const entityRef = refOf(entity);
    const { items: all = [], ...rest } = this.timelines.get(entityRef) ?? {
      lanes: [],
      items: [],
    };
    const since = options.since ? Date.parse(options.since) : -Infinity;
    const until = options.until ? Date.parse(options.until) : Infinity;
    const inRange = all
      .filter(e => Date.parse(e.time) >= since && Date.parse(e.time) <= until)
      .sort(
        (a, b) =>
          Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id),
      );
    const start = options.cursor ? Number(options.cursor) : 0;
    const end = start + (options.limit ?? 200);
    const before = new Map(
      all
        .filter(e => e.kind === 'applied' && Date.parse(e.time) < since)
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
        .map(e => [`${e.targetId}\n${e.objectId}`, e]),
    );
    return clone({
      entityRef,
      ...rest,
      items: inRange.slice(start, end),
      ...(end < inRange.length ? { nextCursor: String(end) } : {}),
      ...(options.since ? { appliedBefore: [...before.values()] } : {}),
    });
  }

  async getPromotions(
    entity: ObjectRef,
    options: {
      states?: PromotionState[];
      limit?: number;
      cursor?: string;
    } = {},
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
  async decidePromotion(
    id: string,
    decision: PromotionDecision,
  ): Promise<PromotionView | PromotionPin> {
    this.calls.push({ method: 'decidePromotion', args: [id, decision] });
    const promotion = this.promotions.get(id);
    if (!promotion) throw new NotFoundError(`no promotion ${id}`);
    if (this.actionError) throw this.actionError;
    const at = this.options.now().toISOString();
    if (decision.action === 'rollback') {
      if (promotion.state !== 'applied' || !promotion.from) {
        throw new ConflictError(
          `promotion ${id} is ${promotion.state}: only an applied promotion with an earlier version can be rolled back`,
        );
      }
      return this.pin({
        targetId: promotion.target.id,
        subject: promotion.subject,
        version: promotion.from,
        reason: `rollback of ${id}: ${decision.reason}`,
      });
    }
    const permission =
      promotion.actions[
        decision.action === 'promote' ? 'promoteNow' : decision.action
      ];
    if (!permission.allowed)
      throw new NotAllowedError(
        permission.reason ?? `${decision.action} is not allowed`,
      );
    const digest =
      promotion.to.digest ?? promotion.to.revision ?? promotion.to.tag;
    if (decision.action === 'approve') {
      promotion.votes.push({
        actor: this.options.user,
        decision: 'approve',
        digest,
        at,
        ...(decision.comment ? { reason: decision.comment } : {}),
      });
      promotion.actions.approve = {
        allowed: false,
        reason: 'You approved this version already',
      };
    } else if (decision.action === 'reject') {
      promotion.votes.push({
        actor: this.options.user,
        decision: 'reject',
        digest,
        at,
        reason: decision.reason,
      });
      promotion.state = 'rejected';
      promotion.closedAt = at;
      promotion.history.push({
        state: 'rejected',
        at,
        by: this.options.user,
        note: decision.reason,
      });
      promotion.actions = closedActions('rejected');
    } else {
      promotion.state = 'approved';
      promotion.bypassedGates = [
        ...new Set(
          promotion.gates.filter(g => g.state !== 'passed').map(g => g.gate),
        ),
      ];
      promotion.justification = decision.justification;
      promotion.history.push({
        state: 'approved',
        at,
        by: this.options.user,
        note: decision.justification,
      });
      promotion.actions = {
        ...closedActions('approved'),
        reject: promotion.actions.reject,
      };
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

  async pin(input: {
    targetId: string;
    subject: string;
    version: PromotionVersion;
    reason: string;
    expiresAt?: string;
  }): Promise<PromotionPin> {
    this.calls.push({ method: 'pin', args: [input] });
    if (this.actionError) throw this.actionError;
    const pin: PromotionPin = {
      ...clone(input),
      by: this.options.user,
      at: this.options.now().toISOString(),
    };
    const existing = this.pins.findIndex(
      p => p.targetId === pin.targetId && p.subject === pin.subject,
    );
    if (existing >= 0) this.pins.splice(existing, 1);
    this.pins.push(pin);
    for (const rows of this.versions.values()) {
      for (const row of rows)
        if (row.target.id === pin.targetId && row.subject === pin.subject)
          row.pin = clone(pin);
    }
    return clone(pin);
  }

  async unpin(targetId: string, subject: string): Promise<void> {
    this.calls.push({ method: 'unpin', args: [targetId, subject] });
    if (this.actionError) throw this.actionError;
    const existing = this.pins.findIndex(
      p => p.targetId === targetId && p.subject === subject,
    );
    if (existing < 0)
      throw new NotFoundError(`${subject} is not pinned on ${targetId}`);
    this.pins.splice(existing, 1);
    for (const rows of this.versions.values()) {
      for (const row of rows)
        if (row.target.id === targetId && row.subject === subject)
          delete row.pin;
    }
  }

  /** Sets the fleet; its promotions are added as promotions too, so decisions on them apply. */
  setFleet(fleet: Pick<FleetView, 'promotions' | 'failing'>): void {
    for (const { owner, ...promotion } of fleet.promotions) {
      this.addPromotion(promotion);
      this.fleetOwners.set(promotion.id, owner);
    }
    this.fleetFailing = clone(fleet.failing);
  }

  /**
   * The fleet as the backend builds it: promotions still open that the user may act on, the
   * failing objects, filtered by owner, kind (an object's; a promotion's subject or target) and
   * state, with the facets of everything before filtering.
   */
  async getFleet(filter: FleetFilter = {}): Promise<FleetView> {
    this.calls.push({ method: 'getFleet', args: [filter] });
    if (this.loadError) throw this.loadError;
    const promotions: FleetPromotion[] = [...this.fleetOwners]
      .map(([id, owner]) => ({ ...this.promotions.get(id)!, owner }))
      .filter(p => Object.values(p.actions).some(a => a.allowed));
    const kindOf = (id: string) => tryParseObjectId(id)?.kind ?? '';
    const kinds = (p: FleetPromotion) => [
      kindOf(p.subject),
      kindOf(p.target.objectId),
    ];
    const matches = (
      owner: string | undefined,
      itemKinds: string[],
      state: string,
    ) =>
      (!filter.owner || owner === filter.owner) &&
      (!filter.kind || itemKinds.includes(filter.kind)) &&
      (!filter.state || state === filter.state);
    const unique = (values: Array<string | undefined>) =>
      [...new Set(values.filter((v): v is string => Boolean(v)))].sort();
    return clone({
      promotions: promotions.filter(p => matches(p.owner, kinds(p), p.state)),
      failing: this.fleetFailing.filter(o =>
        matches(o.owner, [o.kind], o.health),
      ),
      facets: {
        owners: unique([...promotions, ...this.fleetFailing].map(i => i.owner)),
        kinds: unique([
          ...promotions.flatMap(kinds),
          ...this.fleetFailing.map(o => o.kind),
        ]),
        states: unique([
          ...promotions.map(p => p.state),
          ...this.fleetFailing.map(o => o.health),
        ]),
      },
    });
  }

  /** Sets what explainPolicy answers for a policy (by id). */
  setPolicyExplanation(policyId: string, explanation: PolicyExplanation): void {
    this.explanations.set(policyId, clone(explanation));
  }

  /**
   * Sets how previewPolicy answers: the fake has no policy engine, so a test says what the
   * backend would compute for a request (or throws the backend's error).
   */
  answerPolicyPreviews(
    answer: (request: PolicyPreviewRequest) => PolicyExplanation,
  ): void {
    this.previewAnswer = answer;
  }

  /** Sets what a ResourceSet (by id) applied, per cluster; one without is answered with no clusters. */
  setInventory(
    resourceSetId: string,
    clusters: ResourceSetInventoryView['clusters'],
  ): void {
    this.inventories.set(resourceSetId, clone(clusters));
  }

  /** As the backend: the ResourceSet must exist (NotFoundError); loads fail with `failLoadsWith`. */
  async getResourceSetInventory(resourceSet: {
    namespace: string;
    name: string;
  }): Promise<ResourceSetInventoryView> {
    this.calls.push({ method: 'getResourceSetInventory', args: [resourceSet] });
    if (this.loadError) throw this.loadError;
    const { id } = this.find({ kind: 'ResourceSet', ...resourceSet });
    return { id, clusters: clone(this.inventories.get(id) ?? []) };
  }

  /** Sets the tags an ImageRepository (by id) has seen. */
  setTags(repositoryId: string, tags: RepositoryTagView[]): void {
    this.tags.set(repositoryId, clone(tags));
  }

  async explainPolicy(policy: ObjectRef): Promise<PolicyExplanation> {
    this.calls.push({ method: 'explainPolicy', args: [policy] });
    if (this.loadError) throw this.loadError;
    const explanation = this.explanations.get(this.find(policy).id);
    if (!explanation)
      throw new NotFoundError(
        `no explanation for ${policy.kind} ${policy.namespace}/${policy.name}`,
      );
    return clone(explanation);
  }

  async previewPolicy(
    request: PolicyPreviewRequest,
  ): Promise<PolicyExplanation> {
    this.calls.push({ method: 'previewPolicy', args: [clone(request)] });
    if (!this.previewAnswer)
      throw new Error('the test did not say how to answer policy previews');
    return clone(this.previewAnswer(clone(request)));
  }

  /** Pages by tag name as the backend does: substring search, the cursor is the last tag returned. */
  async getTags(
    repository: ObjectRef,
    options: {
      search?: string;
      limit?: number;
      cursor?: string;
      includeGone?: boolean;
    } = {},
  ): Promise<Page<RepositoryTagView>> {
    this.calls.push({ method: 'getTags', args: [repository, options] });
    const limit = Math.min(options.limit ?? 100, 500);
    const matching = (this.tags.get(this.find(repository).id) ?? [])
      .filter(t => options.includeGone || !t.goneSince)
      .filter(t => !options.search || t.tag.includes(options.search))
      .filter(t => !options.cursor || t.tag > options.cursor)
      .sort((a, b) => (a.tag < b.tag ? -1 : 1));
    const items = matching.slice(0, limit);
    return {
      items: clone(items),
      nextCursor:
        matching.length > limit ? items[items.length - 1].tag : undefined,
    };
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
    const object = this.objects.get(formatObjectId(ref));
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
