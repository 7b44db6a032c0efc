import { createApiRef } from '@backstage/frontend-plugin-api';
import {
  AutomationObjectView,
  ObjectAction,
  Page,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';

/** Identifies a catalog entity or an automation object by kind, namespace and name. @public */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * What the Image updates tab needs from the image-automation backend.
 * @public
 */
export interface ImageAutomationApi {
  /** The automation objects that belong to a catalog entity, with their status and allowed actions. */
  getEntityObjects(entity: ObjectRef): Promise<AutomationObjectView[]>;
  /** The recent scans of an ImageRepository, newest first. */
  getScans(
    object: ObjectRef,
    options?: { limit?: number; cursor?: string },
  ): Promise<Page<ScanRecord>>;
  /** Suspends, resumes or requests a reconcile of an object; resolves to the object afterwards. */
  runAction(
    object: ObjectRef,
    action: ObjectAction,
  ): Promise<AutomationObjectView>;
}

/**
 * The API ref of {@link ImageAutomationApi}; the same ref serves both frontend systems.
 * @public
 */
export const imageAutomationApiRef = createApiRef<ImageAutomationApi>().with({
  id: 'plugin.image-automation.service',
  pluginId: 'image-automation',
});
