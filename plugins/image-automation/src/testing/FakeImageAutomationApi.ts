import { NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AutomationObjectView,
  ObjectAction,
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { ImageAutomationApi, ObjectRef } from '../api/ImageAutomationApi';

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
    const ref = `${entity.kind.toLowerCase()}:${entity.namespace}/${
      entity.name
    }`;
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

/** The objects leave the fake as copies, as they would leave a server as JSON. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}
