import { createApiRef } from '@backstage/frontend-plugin-api';
import {
  AutomationObjectView,
  EntityTimelineView,
  EntityVersionsView,
  FleetFilter,
  FleetView,
  ObjectAction,
  ObjectEvent,
  Page,
  PolicyExplanation,
  PolicyPreviewRequest,
  PromotionPin,
  PromotionPreview,
  PromotionState,
  PromotionVersion,
  PromotionView,
  RepositoryTagView,
  ResourceSetInventoryView,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';

/** A decision on a promotion through the API. @public */
export type PromotionDecision =
  | { action: 'approve'; comment?: string }
  | { action: 'reject'; reason: string }
  | { action: 'promote'; justification: string }
  | { action: 'rollback'; reason: string };

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
  /** The events of an automation object, newest first. */
  getEvents(
    object: ObjectRef,
    options?: { limit?: number; cursor?: string },
  ): Promise<Page<ObjectEvent>>;
  /** Suspends, resumes or requests a reconcile of an object; resolves to the object afterwards. */
  runAction(
    object: ObjectRef,
    action: ObjectAction,
  ): Promise<AutomationObjectView>;
  /** Per target and image: what is deployed, selected, newest and how far behind. */
  getVersions(entity: ObjectRef): Promise<EntityVersionsView>;
  /** Every stored tag of an ImagePolicy's repository with its verdict under the policy. */
  explainPolicy(policy: ObjectRef): Promise<PolicyExplanation>;
  /** What a ResourceSet applied, per cluster: the objects by kind, namespace and name. */
  getResourceSetInventory(resourceSet: {
    namespace: string;
    name: string;
  }): Promise<ResourceSetInventoryView>;
  /** The same for an ImagePolicy spec that is not saved: nothing is stored. */
  previewPolicy(request: PolicyPreviewRequest): Promise<PolicyExplanation>;
  /** The tags an ImageRepository has seen, by tag name, a page at a time. */
  getTags(
    repository: ObjectRef,
    options?: {
      search?: string;
      limit?: number;
      cursor?: string;
      includeGone?: boolean;
    },
  ): Promise<Page<RepositoryTagView>>;
  /** The entity's timeline (tags seen, promotion steps, pins, suspends), newest first, a page at a time. */
  getTimeline(
    entity: ObjectRef,
    options?: {
      since?: string;
      until?: string;
      limit?: number;
      cursor?: string;
    },
  ): Promise<EntityTimelineView>;
  /** The entity's promotions, newest first, optionally only in some states. */
  getPromotions(
    entity: ObjectRef,
    options?: { states?: PromotionState[]; limit?: number; cursor?: string },
  ): Promise<Page<PromotionView>>;
  /** Approves, rejects, promotes now or rolls back; resolves to the promotion (a rollback: the pin). */
  decidePromotion(
    id: string,
    decision: PromotionDecision,
  ): Promise<PromotionView | PromotionPin>;
  /** The exact change a promotion would make, computed now. */
  previewPromotion(id: string): Promise<PromotionPreview>;
  /** Holds a target's subject at a version. */
  pin(pin: {
    targetId: string;
    subject: string;
    version: PromotionVersion;
    reason: string;
    expiresAt?: string;
  }): Promise<PromotionPin>;
  /** Lifts a pin. */
  unpin(targetId: string, subject: string): Promise<void>;
  /**
   * Across the catalog: the open promotions the user may act on and the automation objects that
   * are not Ready, optionally filtered by owner, kind and state.
   */
  getFleet(filter?: FleetFilter): Promise<FleetView>;
}

/**
 * The API ref of {@link ImageAutomationApi}; the same ref serves both frontend systems.
 * @public
 */
export const imageAutomationApiRef = createApiRef<ImageAutomationApi>().with({
  id: 'plugin.image-automation.service',
  pluginId: 'image-automation',
});
