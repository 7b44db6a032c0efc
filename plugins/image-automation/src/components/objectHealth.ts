/**
 * The kstatus reading of an object's conditions lives in the common package, so the backend (the
 * fleet page) and the tab judge health the same way; the tab imports it from here.
 * @internal
 */
export { objectHealth } from '@imageops/backstage-plugin-image-automation-common';
export type {
  ObjectHealth,
  ObjectReadiness as Readiness,
} from '@imageops/backstage-plugin-image-automation-common';
