import {
  createApiFactory,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { imageAutomationApiRef } from './api/ImageAutomationApi';
import { ImageAutomationClient } from './api/ImageAutomationClient';
import { fleetRouteRef, rootRouteRef } from './routes';
import type { EntityImageAutomationContentProps } from './components/EntityImageAutomationContent';
import type { FleetPageProps } from './components/fleet/FleetPage';

/**
 * The image-automation plugin for apps on the legacy frontend system. Apps on the new system
 * use the default export of `@imageops/backstage-plugin-image-automation/alpha` instead.
 * @public
 */
export const imageAutomationPlugin = createPlugin({
  id: 'image-automation',
  apis: [
    createApiFactory({
      api: imageAutomationApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new ImageAutomationClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: { root: rootRouteRef, fleet: fleetRouteRef },
});

/**
 * The Image updates tab for the legacy entity page; show it for entities where
 * `isImageAutomationAvailable` holds, e.g.
 * `<EntityLayout.Route path="/image-updates" title="Image updates" if={isImageAutomationAvailable}>`.
 * @public
 */
export const EntityImageAutomationContent: (
  props: EntityImageAutomationContentProps,
) => JSX.Element = imageAutomationPlugin.provide(
  createRoutableExtension({
    name: 'EntityImageAutomationContent',
    component: () =>
      import('./components/EntityImageAutomationContent').then(
        m => m.EntityImageAutomationContent,
      ),
    mountPoint: rootRouteRef,
  }),
);

/**
 * The fleet page for legacy apps: across the catalog, the promotions the user may act on and the
 * automation objects that are not Ready, e.g.
 * `<Route path="/image-automation" element={<ImageAutomationPage />} />` with a sidebar item
 * linking to it.
 * @public
 */
export const ImageAutomationPage: (props: FleetPageProps) => JSX.Element =
  imageAutomationPlugin.provide(
    createRoutableExtension({
      name: 'ImageAutomationPage',
      component: () =>
        import('./components/fleet/FleetPage').then(m => m.FleetPage),
      mountPoint: fleetRouteRef,
    }),
  );
