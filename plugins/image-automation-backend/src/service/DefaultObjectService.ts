import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  AutomationObjectView,
  ImagePolicySpec,
  ObjectAction,
  PolicyPreviewRequest,
} from '@imageops/backstage-plugin-image-automation-common';
import { ChangeNotifier } from './ChangeNotifier';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { EventStore } from '../store/EventStore';
import { ScanStore } from '../store/ScanStore';
import { explainPolicy, referencedRepository, validatePreviewSpec } from './explainPolicy';
import { actorOf, allActionsAllowed, ObjectService } from './ObjectService';

/** The view of a stored object that the API returns. @internal */
export function toView(object: StoredObject): AutomationObjectView {
  return {
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
    suspended: object.suspended || Boolean((object.manifest.spec as { suspend?: boolean })?.suspend),
    suspendedBy: object.suspendedBy,
    suspendedAt: object.suspendedAt,
    reconcileRequestedAt: object.reconcileRequestedAt,
    reconcileRequestedBy: object.reconcileRequestedBy,
    lastRunAt: object.lastRunAt,
    nextRunAt: object.nextRunAt,
    actions: allActionsAllowed,
  };
}

/** The API's operations without permission checks (see AuthorizedObjectService). @internal */
export class DefaultObjectService implements ObjectService {
  constructor(
    private readonly deps: {
      objects: ObjectStore;
      scans: ScanStore;
      events: EventStore;
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
    return referencedRepository(this.deps.objects, namespace, validatePreviewSpec(namespace, spec) as ImagePolicySpec);
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

  async listTags(id: string, page: { limit?: number; cursor?: string; search?: string; includeGone?: boolean }) {
    await this.find(id);
    return this.deps.scans.listTags(id, page);
  }

  async listEvents(id: string, page: { limit?: number; cursor?: string }) {
    await this.find(id);
    return this.deps.events.list(id, page);
  }

  async explainPolicy(id: string) {
    const policy = await this.find(id);
    if (policy.kind !== 'ImagePolicy') throw new InputError(`${id} is not an ImagePolicy`);
    const spec = validatePreviewSpec(policy.namespace, policy.manifest.spec);
    return explainPolicy(this.deps, policy.namespace, spec);
  }

  async previewPolicy(request: PolicyPreviewRequest) {
    return explainPolicy(this.deps, request.namespace, validatePreviewSpec(request.namespace, request.spec));
  }

  async act(id: string, action: ObjectAction, credentials: BackstageCredentials) {
    await this.find(id);
    const actor = actorOf(credentials);
    const updated =
      action === 'reconcile'
        ? await this.deps.objects.requestReconcile(id, actor, this.now())
        : await this.deps.objects.setSuspended(id, action === 'suspend', actor, this.now());
    if (!updated) throw new NotFoundError(`no automation object ${id}`);
    this.deps.afterAction?.();
    this.deps.notifier?.changed('objects', updated.entityRef);
    return toView(updated);
  }
}
