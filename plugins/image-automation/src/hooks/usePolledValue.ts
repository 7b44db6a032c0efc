import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

/** The state of a value that is loaded and then refreshed on a timer. @internal */
export interface PolledValue<T> {
  /** The last value loaded; kept while a refresh runs so the page does not flicker. */
  value?: T;
  /** The error of the last load, if it failed. */
  error?: Error;
  /** True until the first load has finished. */
  loading: boolean;
  /** Loads again now, e.g. after an action changed the data. */
  refresh: () => Promise<void>;
}

/**
 * Loads a value, then reloads it every `interval` milliseconds while the document is visible: a
 * hidden browser tab costs the backend nothing, and coming back to it refreshes at once. The
 * interval may depend on the value, e.g. to poll faster while something is about to change.
 * Loading starts again from scratch when `key` changes; a response that arrives after a newer
 * load has started is dropped, so a slow poll cannot overwrite the result of an action.
 * @internal
 */
export function usePolledValue<T>(
  key: string,
  load: () => Promise<T>,
  interval: number | ((value: T | undefined) => number),
  options: {
    /** Reloads (keeping the value shown) whenever this changes, e.g. on a live-update signal. */
    refreshOn?: unknown;
  } = {},
): PolledValue<T> {
  const [state, setState] = useState<{
    value?: T;
    error?: Error;
    loading: boolean;
  }>({
    loading: true,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const latestLoad = useRef(0);
  const mounted = useRef(true);

  const refresh = useCallback(async () => {
    const id = ++latestLoad.current;
    try {
      const value = await loadRef.current();
      if (mounted.current && id === latestLoad.current) {
        setState({ value, loading: false });
      }
    } catch (e) {
      if (mounted.current && id === latestLoad.current) {
        setState(previous => ({
          value: previous.value,
          error: e instanceof Error ? e : new Error(String(e)),
          loading: false,
        }));
      }
    }
  }, []);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    setState({ loading: true });
    refresh();
  }, [key, refresh]);

  const firstRefreshOn = useRef(options.refreshOn);
  useEffect(() => {
    if (options.refreshOn !== firstRefreshOn.current) refresh();
  }, [options.refreshOn, refresh]);

  const intervalMs =
    typeof interval === 'function' ? interval(state.value) : interval;

  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      if (timer === undefined) timer = setInterval(refresh, intervalMs);
    };
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    const onVisibilityChange = () => {
      if (document.visibilityState === 'visible') {
        refresh();
        start();
      } else {
        stop();
      }
    };
    if (document.visibilityState === 'visible') start();
    document.addEventListener('visibilitychange', onVisibilityChange);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibilityChange);
    };
  }, [key, refresh, intervalMs]);

  // The same object until something changes, so memoised sections skip renders of their parents.
  return useMemo(() => ({ ...state, refresh }), [state, refresh]);
}
