import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  imageAutomationObjectUpdatePermission,
  imageAutomationPromotionApprovePermission,
  imageAutomationPromotionForcePermission,
} from '@imageops/backstage-plugin-image-automation-common';

/** What only an entity's owners may do under the restrictive policy. */
const OWNERS_ONLY = new Set([
  imageAutomationObjectUpdatePermission.name,
  imageAutomationPromotionApprovePermission.name,
  imageAutomationPromotionForcePermission.name,
]);

/**
 * The demo permission policy, chosen with `permissionDemo.policy` in app-config:
 * - `allow-all` (default): everyone may do everything;
 * - `restrictive`: everyone may read; suspend / resume / reconcile, pins, approving, rejecting and
 *   promoting now only on entities the user owns (a catalog condition, so the guest user, who owns
 *   nothing, sees disabled buttons).
 */
class DemoPermissionPolicy implements PermissionPolicy {
  constructor(private readonly mode: 'allow-all' | 'restrictive') {}

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    if (this.mode === 'allow-all') {
      return { result: AuthorizeResult.ALLOW };
    }
    if (
      OWNERS_ONLY.has(request.permission.name) &&
      isResourcePermission(request.permission, 'catalog-entity')
    ) {
      return createCatalogConditionalDecision(
        request.permission,
        catalogConditions.isEntityOwner({
          claims: user?.info.ownershipEntityRefs ?? [],
        }),
      );
    }
    return { result: AuthorizeResult.ALLOW };
  }
}

function policyMode(config: Config): 'allow-all' | 'restrictive' {
  const mode = config.getOptionalString('permissionDemo.policy') ?? 'allow-all';
  if (mode !== 'allow-all' && mode !== 'restrictive') {
    throw new Error(
      `permissionDemo.policy must be 'allow-all' or 'restrictive', got '${mode}'`,
    );
  }
  return mode;
}

/** Installs the demo permission policy. */
export default createBackendModule({
  pluginId: 'permission',
  moduleId: 'demo-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint, config: coreServices.rootConfig },
      async init({ policy, config }) {
        policy.setPolicy(new DemoPermissionPolicy(policyMode(config)));
      },
    });
  },
});
