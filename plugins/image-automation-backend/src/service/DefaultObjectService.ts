import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  NotImplementedError,
} from '@backstage/errors';
import {
  AutomationObjectView,
  ClusterInventoryView,
  ImagePolicySpec,
  InventoryObjectRef,
  ObjectAction,
  objectId,
  PolicyPreviewRequest,
  ResourceSetInventoryView,
} from '@imageops/backstage-plugin-image-automation-common';
import { parseInventoryEntry } from '../kubernetes/inventoryId';
import { InventoryEntry } from '../kubernetes/types';
import { ChangeNotifier } from './ChangeNotifier';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { EventStore } from '../store/EventStore';
import { InventoryRecord, InventoryStore } from '../store/InventoryStore';
import { ScanStore } from '../store/ScanStore';
import {
  explainPolicy,
  referencedRepository,
  validatePreviewSpec,
} from './explainPolicy';
import { referenceDenied } from '../objects/tenancy';
import { actionsForState } from './objectActions';
import { actorOf, ObjectOperations, suspensionEvent } from './ObjectService';

/** The view of a stored object that the API returns, with the actions its state allows. @internal */
export function toView(object: StoredObject): AutomationObjectView {
  const view: Omit<AutomationObjectView, 'actions'> = {
    id: object.id,
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    entityRef: object.entityRef,
    source: object.source,
    generation: object.generation,
    spec: object.manifest.spec ?? {},
    status: object.status,
    suspended:
      object.suspended ||
      Boolean((object.manifest.spec as { suspend?: boolean })?.suspend),
    suspendedBy: object.suspendedBy,
    suspendedAt: object.suspendedAt,
    reconcileRequestedAt: object.reconcileRequestedAt,
    reconcileRequestedBy: object.reconcileRequestedBy,
    lastRunAt: object.lastRunAt,
    nextRunAt: object.nextRunAt,
  };
  return { ...view, actions: actionsForState(view) };
}

/** The objects of an inventory as references, by kind, namespace and name; an unreadable id is left out. */
function inventoryRefs(entries: InventoryEntry[]): InventoryObjectRef[] {
  const refs: InventoryObjectRef[] = [];
  for (const entry of entries) {
    try {
      const { apiVersion, kind, namespace, name } = parseInventoryEntry(entry);
      refs.push({
        apiVersion,
        kind,
        ...(namespace ? { namespace } : {}),
        name,
      });
    } catch {
      // Only ids the applier wrote are stored; a malformed one names nothing to show.
    }
  }
  const key = (r: InventoryObjectRef) => [r.kind, r.namespace ?? '', r.name];
  return refs.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < x.length; i++)
      if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  });
}

/**
 * One cluster's inventory as the API returns it: object references, the state and revision of the
 * apply. The failure message is left out: the object's Ready condition carries it.
 */
function toClusterInventory(record: InventoryRecord): ClusterInventoryView {
  return {
    cluster: record.cluster,
    state: record.state,
    ...(record.lastAppliedRevision
      ? { lastAppliedRevision: record.lastAppliedRevision }
      : {}),
    updatedAt: record.updatedAt.toISOString(),
    entries: inventoryRefs(record.entries),
  };
}

/** The API's operations without permission checks (see AuthorizedObjectService). @internal */
export class DefaultObjectService implements ObjectOperations {
  constructor(
    private readonly deps: {
      objects: ObjectStore;
      scans: ScanStore;
      events: EventStore;
      /** The per-cluster inventories of ResourceSets; without it, reading one is not implemented. */
      inventories?: Pick<InventoryStore, 'list'>;
      now?: () => Date;
      /** Called after an action changed an object. */
      afterAction?: () => void;
      /** Told of every object an action changed. */
      notifier?: ChangeNotifier;
    },
  ) {}

  private now() {
    return this.deps.now?.() ?? new Date();
  }

  async find(id: string): Promise<StoredObject> {
    const object = await this.deps.objects.get(id);
    if (!object) throw new NotFoundError(`no automation object ${id}`);
    return object;
  }

  /** The repository a policy spec refers to (for permission checks on previews). */
  async repositoryOf(namespace: string, spec: unknown): Promise<StoredObject> {
    return referencedRepository(
      this.deps.objects,
      namespace,
      validatePreviewSpec(namespace, spec) as ImagePolicySpec,
    );
  }

  async listForEntity(entityRef: string) {
    return (await this.deps.objects.list({ entityRef })).map(toView);
  }

  async get(id: string) {
    return toView(await this.find(id));
  }

  async listScans(id: string, page: { limit?: number; cursor?: string }) {
    await this.find(id);
    return this.deps.scans.listScans(id, page);
  }

  async listTags(
    id: string,
    page: {
      limit?: number;
      cursor?: string;
      search?: string;
      includeGone?: boolean;
    },
  ) {
    await this.find(id);
    return this.deps.scans.listTags(id, page);
  }

  async listEvents(id: string, page: { limit?: number; cursor?: string }) {
    await this.find(id);
    return this.deps.events.list(id, page);
  }

  /** What a ResourceSet applied, per cluster (its inventories are keyed by its object id). */
  async resourceSetInventory(id: string): Promise<ResourceSetInventoryView> {
    const object = await this.find(id);
    if (object.kind !== 'ResourceSet')
      throw new InputError(`${id} is not a ResourceSet`);
    if (!this.deps.inventories)
      throw new NotImplementedError(
        'ResourceSet inventories are not available',
      );
    const records = await this.deps.inventories.list({ owner: object.id });
    return { id: object.id, clusters: records.map(toClusterInventory) };
  }

  async explainPolicy(id: string) {
    const policy = await this.find(id);
    if (policy.kind !== 'ImagePolicy')
      throw new InputError(`${id} is not an ImagePolicy`);
    const spec = validatePreviewSpec(policy.namespace, policy.manifest.spec);
    // The policy's reconciler refuses a reference its entity may not make; so does the explanation
    // (it would show another tenant's tags).
    const repoNamespace = spec.imageRepositoryRef.namespace ?? policy.namespace;
    const repository = await this.deps.objects.get(
      objectId('ImageRepository', repoNamespace, spec.imageRepositoryRef.name),
    );
    const denied = referenceDenied(
      policy,
      'spec.imageRepositoryRef',
      {
        kind: 'ImageRepository',
        namespace: repoNamespace,
        name: spec.imageRepositoryRef.name,
      },
      (
        repository?.manifest.spec as
          | { accessFrom?: Parameters<typeof referenceDenied>[3] }
          | undefined
      )?.accessFrom,
      true,
    );
    if (denied) throw new NotAllowedError(denied);
    return explainPolicy(this.deps, policy.namespace, spec);
  }

  async previewPolicy(request: PolicyPreviewRequest) {
    return explainPolicy(
      this.deps,
      request.namespace,
      validatePreviewSpec(request.namespace, request.spec),
    );
  }

  async act(
    id: string,
    action: ObjectAction,
    credentials: BackstageCredentials,
  ) {
    const allowed = toView(await this.find(id)).actions[action];
    if (!allowed.allowed)
      throw new ConflictError(`cannot ${action} ${id}: ${allowed.reason}`);
    const actor = actorOf(credentials);
    const now = this.now();
    const updated =
      action === 'reconcile'
        ? await this.deps.objects.requestReconcile(id, actor, now)
        : await this.deps.objects.setSuspended(
            id,
            action === 'suspend',
            actor,
            now,
          );
    if (!updated) throw new NotFoundError(`no automation object ${id}`);
    // The object keeps only the last suspend or resume; the events keep each one (the timeline's history).
    if (action !== 'reconcile')
      await this.deps.events.record(suspensionEvent(id, action, actor, now));
    this.deps.afterAction?.();
    this.deps.notifier?.changed('objects', updated.entityRef);
    return toView(updated);
  }
}
