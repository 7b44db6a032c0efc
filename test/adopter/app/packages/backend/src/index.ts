/*
 * An adopter's backend: the defaults, the catalog, guest sign-in, permissions with an allow-all
 * policy, the app served by the app backend, and the image-automation plugin from its package.
 */
import { createBackend } from '@backstage/backend-defaults';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';

const allowAllPolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'allow-all-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy({
          async handle() {
            return { result: AuthorizeResult.ALLOW };
          },
        });
      },
    });
  },
});

const backend = createBackend();
backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(allowAllPolicy);
backend.add(import('@imageops/backstage-plugin-image-automation-backend'));
backend.start();
