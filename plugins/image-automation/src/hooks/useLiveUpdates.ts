import { createContext, useContext, useEffect, useMemo, useState } from 'react';
import { useSignal } from '@backstage/plugin-signals-react';
import { ImageAutomationSignal } from '@imageops/backstage-plugin-image-automation-common';
import { PolledValue, usePolledValue } from './usePolledValue';

/** How often sections reload while signals are not installed: scans run on minute intervals. @public */
export const DEFAULT_POLL_INTERVAL_MS = 10_000;

/** With signals, a slow safety poll still runs, in case a message was lost while reconnecting. @internal */
export const LIVE_SAFETY_POLL_INTERVAL_MS = 60_000;

/** How the tab stays up to date, for the sections and the summary strip. @internal */
export interface LiveUpdates {
  /** True when the app has the signals plugin: changes arrive as they happen. */
  live: boolean;
  /** How often sections reload by themselves. */
  pollIntervalMs: number;
  /** Increases with every signal received; sections reload when it changes. */
  version: number;
  /** The last signal received, if any. */
  lastSignal?: ImageAutomationSignal;
}

/** @internal */
export const LiveUpdatesContext = createContext<LiveUpdates>({
  live: false,
  pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
  version: 0,
});

/**
 * Subscribes to a signal channel (the entity's, or the fleet's) when the app has the signals
 * plugin, and otherwise falls back to polling every `pollIntervalMs`.
 * @internal
 */
export function useLiveUpdates(
  channel: string,
  pollIntervalMs = DEFAULT_POLL_INTERVAL_MS,
): LiveUpdates {
  const { lastSignal, isSignalsAvailable } =
    useSignal<ImageAutomationSignal>(channel);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (lastSignal) setVersion(v => v + 1);
  }, [lastSignal]);
  // One object per change: it is a context value, and every section reads it.
  return useMemo(
    () => ({
      live: isSignalsAvailable,
      pollIntervalMs: isSignalsAvailable
        ? Math.max(pollIntervalMs, LIVE_SAFETY_POLL_INTERVAL_MS)
        : pollIntervalMs,
      version,
      lastSignal: lastSignal ?? undefined,
    }),
    [isSignalsAvailable, pollIntervalMs, version, lastSignal],
  );
}

/**
 * {@link usePolledValue} at the pace of the surrounding {@link LiveUpdatesContext}: reloads on
 * every signal, and polls at the context's interval unless `interval` asks for faster (e.g. while
 * an action waits for the backend).
 * @internal
 */
export function useLivePolledValue<T>(
  key: string,
  load: () => Promise<T>,
  interval?: (value: T | undefined) => number | undefined,
): PolledValue<T> {
  const live = useContext(LiveUpdatesContext);
  return usePolledValue(
    key,
    load,
    value => interval?.(value) ?? live.pollIntervalMs,
    { refreshOn: live.version },
  );
}
