import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { imageAutomationObjectReadPermission } from '@imageops/backstage-plugin-image-automation-common';

/**
 * Refuses, with a message naming the permission, a caller who may not read an entity's image
 * automation (`image-automation.object.read` on the entity); an object without an owning entity
 * (`entityRef` undefined) is never readable through the API.
 * @internal
 */
export async function requireEntityRead(
  permissions: PermissionsService,
  entityRef: string | undefined,
  credentials: BackstageCredentials,
): Promise<void> {
  const [decision] = entityRef
    ? await permissions.authorize(
        [
          {
            permission: imageAutomationObjectReadPermission,
            resourceRef: entityRef,
          },
        ],
        {
          credentials,
        },
      )
    : [{ result: AuthorizeResult.DENY }];
  if (decision.result !== AuthorizeResult.ALLOW) {
    throw new NotAllowedError(
      entityRef
        ? `you may not read the image automation of ${entityRef} (${imageAutomationObjectReadPermission.name})`
        : 'objects without an owning entity are managed through app-config only',
    );
  }
}
