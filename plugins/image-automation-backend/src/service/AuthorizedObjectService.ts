import { requireEntityRead } from './requireEntityRead';
import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { ConflictError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  ActionPermission,
  AutomationObjectView,
  imageAutomationObjectReadPermission,
  imageAutomationObjectUpdatePermission,
  ObjectAction,
  PolicyPreviewRequest,
} from '@imageops/backstage-plugin-image-automation-common';
import { DefaultObjectService } from './DefaultObjectService';
import { ObjectService } from './ObjectService';

const NO_ENTITY =
  'objects without an owning entity are managed through app-config only';

/**
 * An object's view with the actions the caller may take: none without the update permission,
 * and each only when the object's state allows it, with the reason when not.
 * @internal
 */
export function withObjectActions(
  view: AutomationObjectView,
  mayUpdate: boolean,
): AutomationObjectView {
  const denied: ActionPermission = {
    allowed: false,
    reason: view.entityRef
      ? `You lack the image-automation.object.update permission for ${view.entityRef}`
      : NO_ENTITY,
  };
  const action = (allowed: boolean, reason: string): ActionPermission => {
    if (!mayUpdate) return denied;
    return allowed ? { allowed: true } : { allowed: false, reason };
  };
  const suspendedInManifest = Boolean(
    (view.spec as { suspend?: boolean }).suspend,
  );
  return {
    ...view,
    actions: {
      suspend: action(!view.suspended, 'Already suspended'),
      resume: action(
        view.suspended && !suspendedInManifest,
        suspendedInManifest
          ? 'Suspended by spec.suspend in the manifest: change the manifest to resume'
          : 'Not suspended',
      ),
      reconcile: action(
        !view.suspended,
        'Suspended objects are not reconciled: resume first',
      ),
    },
  };
}

/**
 * Decorates the API's operations with Backstage permission checks: reading needs
 * `image-automation.object.read` and actions `image-automation.object.update`, both on the
 * owning entity. Each view also says which actions the caller may take, so the UI can
 * disable the others with the reason.
 * @internal
 */
export class AuthorizedObjectService implements ObjectService {
  constructor(
    private readonly inner: DefaultObjectService,
    private readonly permissions: PermissionsService,
  ) {}

  private async allowed(
    permission: typeof imageAutomationObjectReadPermission,
    entityRef: string | undefined,
    credentials: BackstageCredentials,
  ): Promise<boolean> {
    if (!entityRef) return false;
    const [decision] = await this.permissions.authorize(
      [{ permission, resourceRef: entityRef }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  private async requireRead(
    entityRef: string | undefined,
    credentials: BackstageCredentials,
  ) {
    await requireEntityRead(this.permissions, entityRef, credentials);
  }

  async listForEntity(entityRef: string, credentials: BackstageCredentials) {
    await this.requireRead(entityRef, credentials);
    const mayUpdate = await this.allowed(
      imageAutomationObjectUpdatePermission,
      entityRef,
      credentials,
    );
    const views = await this.inner.listForEntity(entityRef);
    return views.map(view => withObjectActions(view, mayUpdate));
  }

  async get(id: string, credentials: BackstageCredentials) {
    const object = await this.inner.find(id);
    await this.requireRead(object.entityRef, credentials);
    const mayUpdate = await this.allowed(
      imageAutomationObjectUpdatePermission,
      object.entityRef,
      credentials,
    );
    return withObjectActions(await this.inner.get(id), mayUpdate);
  }

  async listScans(
    id: string,
    page: { limit?: number; cursor?: string },
    credentials: BackstageCredentials,
  ) {
    await this.requireRead((await this.inner.find(id)).entityRef, credentials);
    return this.inner.listScans(id, page);
  }

  async listTags(
    id: string,
    page: {
      limit?: number;
      cursor?: string;
      search?: string;
      includeGone?: boolean;
    },
    credentials: BackstageCredentials,
  ) {
    await this.requireRead((await this.inner.find(id)).entityRef, credentials);
    return this.inner.listTags(id, page);
  }

  async listEvents(
    id: string,
    page: { limit?: number; cursor?: string },
    credentials: BackstageCredentials,
  ) {
    await this.requireRead((await this.inner.find(id)).entityRef, credentials);
    return this.inner.listEvents(id, page);
  }

  /** The same check as {@link AuthorizedObjectService.get}: 404 for no such object, 403 without read on its entity. */
  async resourceSetInventory(id: string, credentials: BackstageCredentials) {
    await this.requireRead((await this.inner.find(id)).entityRef, credentials);
    return this.inner.resourceSetInventory(id);
  }

  async explainPolicy(id: string, credentials: BackstageCredentials) {
    await this.requireRead((await this.inner.find(id)).entityRef, credentials);
    return this.inner.explainPolicy(id);
  }

  async previewPolicy(
    request: PolicyPreviewRequest,
    credentials: BackstageCredentials,
  ) {
    // A preview reads the repository's tags: the caller must be able to read that repository.
    const repository = await this.inner.repositoryOf(
      request.namespace,
      request.spec,
    );
    await this.requireRead(repository.entityRef, credentials);
    return this.inner.previewPolicy(request);
  }

  async act(
    id: string,
    action: ObjectAction,
    credentials: BackstageCredentials,
  ) {
    const object = await this.inner.find(id);
    await this.requireRead(object.entityRef, credentials);
    if (
      !(await this.allowed(
        imageAutomationObjectUpdatePermission,
        object.entityRef,
        credentials,
      ))
    ) {
      throw new NotAllowedError(
        object.entityRef
          ? `you may not ${action} the image automation of ${object.entityRef} (${imageAutomationObjectUpdatePermission.name})`
          : NO_ENTITY,
      );
    }
    const view = withObjectActions(await this.inner.get(id), true);
    if (!view.actions[action].allowed) {
      throw new ConflictError(
        `cannot ${action} ${id}: ${view.actions[action].reason}`,
      );
    }
    return withObjectActions(
      await this.inner.act(id, action, credentials),
      true,
    );
  }
}
