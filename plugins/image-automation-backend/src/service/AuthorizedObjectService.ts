import { requireEntityRead } from './requireEntityRead';
import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  imageAutomationObjectReadPermission,
  imageAutomationObjectUpdatePermission,
  ObjectAction,
  PolicyPreviewRequest,
} from '@imageops/backstage-plugin-image-automation-common';
import { NO_OWNING_ENTITY, withObjectActions } from './objectActions';
import { ObjectOperations, ObjectService } from './ObjectService';

/**
 * Decorates the API's operations with Backstage permission checks: reading needs
 * `image-automation.object.read` and actions `image-automation.object.update`, both on the
 * owning entity. Each view also says which actions the caller may take (see withObjectActions), so
 * the UI can disable the others with the reason; what an object's state allows is the inner
 * service's to decide and enforce.
 * @internal
 */
export class AuthorizedObjectService implements ObjectService {
  constructor(
    private readonly inner: ObjectOperations,
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
          : NO_OWNING_ENTITY,
      );
    }
    return withObjectActions(
      await this.inner.act(id, action, credentials),
      true,
    );
  }
}
