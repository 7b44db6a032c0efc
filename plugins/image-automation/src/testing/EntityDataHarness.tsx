import { ReactNode } from 'react';
import { ObjectRef } from '../api/ImageAutomationApi';
import {
  EntityAutomationData,
  useEntityAutomation,
} from '../hooks/useEntityAutomation';
import { LiveUpdatesContext } from '../hooks/useLiveUpdates';

function Load(props: {
  entityRef: ObjectRef;
  children: (data: EntityAutomationData) => ReactNode;
}) {
  return <>{props.children(useEntityAutomation(props.entityRef))}</>;
}

/**
 * Loads an entity's data as the tab does (from whatever API the test provides) and hands it to a
 * section under test, polling every `pollIntervalMs` (default: a minute, i.e. not during a test).
 * @internal
 */
export function EntityDataHarness(props: {
  entityRef: ObjectRef;
  pollIntervalMs?: number;
  children: (data: EntityAutomationData) => ReactNode;
}) {
  return (
    <LiveUpdatesContext.Provider
      value={{
        live: false,
        pollIntervalMs: props.pollIntervalMs ?? 60_000,
        version: 0,
      }}
    >
      <Load entityRef={props.entityRef}>{props.children}</Load>
    </LiveUpdatesContext.Provider>
  );
}
