import { useApi } from '@backstage/core-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Alert, Flex, Text } from '@backstage/ui';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { usePolledValue } from '../hooks/usePolledValue';
import { AutomationObjectCard } from './AutomationObjectCard';
import { PendingPromotionsSection } from './PendingPromotionsSection';
import { VersionsSection } from './VersionsSection';
import { errorMessage } from './errorMessage';
import { reconcilePending } from './reconcilePending';

/** How often the tab reloads while it is visible: slow, the backend's scans run on minute intervals. @public */
export const DEFAULT_POLL_INTERVAL_MS = 10_000;

/** How often the tab reloads while a requested reconcile has not run yet. @public */
export const PENDING_RECONCILE_POLL_INTERVAL_MS = 2_000;

/** Props of {@link EntityImageAutomationContent}. @public */
export interface EntityImageAutomationContentProps {
  /** How often to reload while the tab is visible; defaults to {@link DEFAULT_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
  /** How often to reload while a reconcile is pending; defaults to {@link PENDING_RECONCILE_POLL_INTERVAL_MS}. */
  pendingPollIntervalMs?: number;
}

/**
 * The "Image updates" tab of a catalog entity: the versions per target and image, the pending
 * promotions with their gates and decisions, and the automation objects with their status and
 * controls. Each section loads on its own, so one failing never blanks the others.
 * @public
 */
export function EntityImageAutomationContent(
  props: EntityImageAutomationContentProps,
) {
  const slowPollMs = props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const fastPollMs =
    props.pendingPollIntervalMs ?? PENDING_RECONCILE_POLL_INTERVAL_MS;
  const { entity } = useEntity();
  const api = useApi(imageAutomationApiRef);
  const entityRef = {
    kind: entity.kind,
    namespace: entity.metadata.namespace ?? 'default',
    name: entity.metadata.name,
  };
  const objects = usePolledValue(
    stringifyEntityRef(entity),
    () => api.getEntityObjects(entityRef),
    items =>
      items?.some(o => reconcilePending(o, new Date()))
        ? fastPollMs
        : slowPollMs,
  );
  const now = new Date();
  const pending = new Set(
    (objects.value ?? []).filter(o => reconcilePending(o, now)).map(o => o.id),
  );

  return (
    <Flex direction="column" gap="4">
      <VersionsSection entityRef={entityRef} pollIntervalMs={slowPollMs} />
      <PendingPromotionsSection entityRef={entityRef} pollIntervalMs={slowPollMs} />
      <Text as="h2" variant="title-small">
        Automation objects
      </Text>
      {objects.error && (
        <Alert
          status="danger"
          title="Could not load the automation objects"
          description={errorMessage(objects.error)}
        />
      )}
      {objects.loading && (
        <Text color="secondary">Loading automation objects…</Text>
      )}
      {objects.value?.length === 0 && (
        <Text>
          No automation objects belong to this entity. Check the manifests named
          in its image-automation.io/manifests annotation.
        </Text>
      )}
      {objects.value?.map(object => (
        <AutomationObjectCard
          key={object.id}
          object={object}
          onChanged={objects.refresh}
          pollIntervalMs={pending.has(object.id) ? fastPollMs : slowPollMs}
        />
      ))}
    </Flex>
  );
}
