import { memo, useCallback, useMemo } from 'react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Flex } from '@backstage/ui';
import { entitySignalChannel } from '@imageops/backstage-plugin-image-automation-common';
import {
  PENDING_RECONCILE_POLL_INTERVAL_MS,
  useEntityAutomation,
} from '../hooks/useEntityAutomation';
import {
  DEFAULT_POLL_INTERVAL_MS,
  LiveUpdates,
  LiveUpdatesContext,
  useLiveUpdates,
} from '../hooks/useLiveUpdates';
import { AutomationObjectsSection } from './objects/AutomationObjectsSection';
import { PendingPromotionsSection } from './PendingPromotionsSection';
import { SummaryStrip } from './summary/SummaryStrip';
import { VersionsSection } from './VersionsSection';
import { PAGE_CLASS } from './pageClass';
import { TimelineSection } from './timeline/TimelineSection';

export { DEFAULT_POLL_INTERVAL_MS } from '../hooks/useLiveUpdates';

/** Props of {@link EntityImageAutomationContent}. @public */
export interface EntityImageAutomationContentProps {
  /** How often to reload while the tab is visible and signals are not installed; defaults to {@link DEFAULT_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
  /** How often to reload while a reconcile is pending; defaults to 2,000 ms. */
  pendingPollIntervalMs?: number;
}

// A change of the URL (a drawer or a filter) re-renders the entity page; sections whose data did
// not change skip that render.
const Summary = memo(SummaryStrip);
const Versions = memo(VersionsSection);
const PendingPromotions = memo(PendingPromotionsSection);
const Timeline = memo(TimelineSection);

function Sections(props: { pendingPollIntervalMs: number; live: LiveUpdates }) {
  const { entity } = useEntity();
  const namespace = entity.metadata.namespace ?? 'default';
  const entityRef = useMemo(
    () => ({ kind: entity.kind, namespace, name: entity.metadata.name }),
    [entity.kind, namespace, entity.metadata.name],
  );
  const { objects, versions, promotions } = useEntityAutomation(
    entityRef,
    props.pendingPollIntervalMs,
  );
  const refreshAll = useCallback(() => {
    objects.refresh();
    versions.refresh();
    promotions.refresh();
  }, [objects, versions, promotions]);
  return (
    <Flex direction="column" gap="4" className={PAGE_CLASS}>
      <Summary
        objects={objects}
        versions={versions}
        promotions={promotions}
        live={props.live}
        onChanged={refreshAll}
      />
      <Versions versions={versions} promotions={promotions} />
      <PendingPromotions promotions={promotions} />
      <Timeline entityRef={entityRef} />
      <AutomationObjectsSection entityRef={entityRef} objects={objects} />
    </Flex>
  );
}

/**
 * The "Image updates" tab of a catalog entity: a summary, the versions per target and image, the
 * pending promotions with their gates and decisions, the timeline and the automation objects with
 * their status and controls. Each section loads on its own, so one failing never blanks the
 * others; everything refreshes on the entity's signals, or by polling where signals are not
 * installed.
 * @public
 */
export function EntityImageAutomationContent(
  props: EntityImageAutomationContentProps,
) {
  const { entity } = useEntity();
  const live = useLiveUpdates(
    entitySignalChannel(stringifyEntityRef(entity)),
    props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
  );
  return (
    <LiveUpdatesContext.Provider value={live}>
      <Sections
        live={live}
        pendingPollIntervalMs={
          props.pendingPollIntervalMs ?? PENDING_RECONCILE_POLL_INTERVAL_MS
        }
      />
    </LiveUpdatesContext.Provider>
  );
}
