/**
 * The Image updates entity tab of the image-automation plugins, for apps on the legacy frontend
 * system; apps on the new frontend system import `@imageops/backstage-plugin-image-automation/alpha`.
 *
 * @packageDocumentation
 */

export {
  imageAutomationPlugin,
  EntityImageAutomationContent,
  ImageAutomationPage,
} from './plugin';
export { fleetRouteRef, rootRouteRef } from './routes';
export { isImageAutomationAvailable } from './isImageAutomationAvailable';
export { imageAutomationApiRef } from './api/ImageAutomationApi';
export type {
  ImageAutomationApi,
  ObjectRef,
  PromotionDecision,
} from './api/ImageAutomationApi';
export { ImageAutomationClient } from './api/ImageAutomationClient';
export type { FleetPageProps } from './components/fleet/FleetPage';
export { ImageAutomationIcon } from './components/fleet/ImageAutomationIcon';
export {
  DEFAULT_POLL_INTERVAL_MS,
  type EntityImageAutomationContentProps,
} from './components/EntityImageAutomationContent';
export type {
  AutomationObjectView,
  ObjectAction,
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
