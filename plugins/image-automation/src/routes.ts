import { createRouteRef } from '@backstage/core-plugin-api';

/** The route of the Image updates tab in apps on the legacy frontend system. @public */
export const rootRouteRef = createRouteRef({ id: 'image-automation' });

/** The route of the fleet page (`/image-automation`), on both frontend systems. @public */
export const fleetRouteRef = createRouteRef({ id: 'image-automation-fleet' });
