/*
 * The Backstage backend of this repository: catalog, guest auth, permissions with the demo
 * policy, events and signals (live updates), and the image-automation plugin.
 */
import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-catalog-backend'));
// Live updates: signals to browsers, carried between replicas by the events backend's bus.
backend.add(import('@backstage/plugin-events-backend'));
backend.add(import('@backstage/plugin-signals-backend'));
// Owners' notifications (approvals asked, promotions applied or failed, stalled automations).
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(import('./permissionPolicy'));
backend.add(import('@imageops/backstage-plugin-image-automation-backend'));

backend.start();
