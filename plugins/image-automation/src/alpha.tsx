import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { imageAutomationApiRef } from './api/ImageAutomationApi';
import { ImageAutomationClient } from './api/ImageAutomationClient';
import { ImageAutomationIcon } from './components/fleet/ImageAutomationIcon';
import { isImageAutomationAvailable } from './isImageAutomationAvailable';
import { fleetRouteRef } from './routes';

/** The HTTP client of the image-automation backend. @alpha */
export const imageAutomationApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: imageAutomationApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new ImageAutomationClient({ discoveryApi, fetchApi }),
    }),
});

/**
 * The "Image updates" entity tab, on entities that carry the `image-automation.io/manifests`
 * annotation.
 * @alpha
 */
export const entityImageAutomationContent = EntityContentBlueprint.make({
  params: {
    path: 'image-updates',
    title: 'Image updates',
    filter: isImageAutomationAvailable,
    loader: () =>
      import('./components/EntityImageAutomationContent').then(m => (
        <m.EntityImageAutomationContent />
      )),
  },
});

/**
 * The fleet page at `/image-automation`: what needs the user across the catalog. Its title and
 * icon also make it the plugin's item in the app's navigation.
 * @alpha
 */
export const imageAutomationFleetPage = PageBlueprint.make({
  params: {
    path: '/image-automation',
    routeRef: fleetRouteRef,
    title: 'Image automation',
    icon: <ImageAutomationIcon />,
    loader: () =>
      import('./components/fleet/FleetPage').then(m => (
        <m.FleetPage noHeader />
      )),
  },
});

/**
 * The image-automation plugin for apps on the new frontend system.
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'image-automation',
  info: { packageJson: () => import('../package.json') },
  routes: { fleet: fleetRouteRef },
  extensions: [
    imageAutomationApi,
    entityImageAutomationContent,
    imageAutomationFleetPage,
  ],
});

export { imageAutomationApiRef } from './api/ImageAutomationApi';
export type {
  ImageAutomationApi,
  ObjectRef,
  PromotionDecision,
} from './api/ImageAutomationApi';
