import { useApi } from '@backstage/core-plugin-api';
import {
  AutomationObjectView,
  EntityVersionsView,
  Page,
  PromotionState,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef, ObjectRef } from '../api/ImageAutomationApi';
import { reconcilePending } from '../components/reconcilePending';
import { useLivePolledValue } from './useLiveUpdates';
import { PolledValue } from './usePolledValue';

/** How often the objects reload while a requested reconcile has not run yet. @internal */
export const PENDING_RECONCILE_POLL_INTERVAL_MS = 2_000;

/** The states the tab lists as pending promotions: every open promotion. @internal */
export const PENDING_PROMOTION_STATES: PromotionState[] = [
  'pending',
  'approved',
  'applying',
  'failed',
];

/** What the tab's summary and sections share, each loaded on its own so one failing never blanks the others. @internal */
export interface EntityAutomationData {
  objects: PolledValue<AutomationObjectView[]>;
  versions: PolledValue<EntityVersionsView>;
  promotions: PolledValue<Page<PromotionView>>;
}

/** A stable key of an entity ref. @internal */
export function entityKey(entity: ObjectRef): string {
  return `${entity.kind}:${entity.namespace}/${entity.name}`.toLocaleLowerCase(
    'en-US',
  );
}

/**
 * Loads an entity's automation objects, versions and open promotions, at the pace of the
 * surrounding live updates; the objects reload every `pendingPollIntervalMs` while a requested
 * reconcile has not run yet.
 * @internal
 */
export function useEntityAutomation(
  entity: ObjectRef,
  pendingPollIntervalMs = PENDING_RECONCILE_POLL_INTERVAL_MS,
): EntityAutomationData {
  const api = useApi(imageAutomationApiRef);
  const key = entityKey(entity);
  const objects = useLivePolledValue(
    key,
    () => api.getEntityObjects(entity),
    items =>
      items?.some(o => reconcilePending(o, new Date()))
        ? pendingPollIntervalMs
        : undefined,
  );
  const versions = useLivePolledValue(key, () => api.getVersions(entity));
  const promotions = useLivePolledValue(key, () =>
    api.getPromotions(entity, { states: PENDING_PROMOTION_STATES }),
  );
  return { objects, versions, promotions };
}
