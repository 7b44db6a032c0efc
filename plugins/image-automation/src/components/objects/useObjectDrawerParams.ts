import { useCallback } from 'react';
import { useLocation, useNavigate, useSearchParams } from 'react-router-dom';

/** The query parameter naming the object whose drawer is open. @internal */
export const OBJECT_PARAM = 'object';
/** The query parameter naming the drawer's tab; absent for the first tab. @internal */
export const OBJECT_TAB_PARAM = 'objectTab';

/** The tabs of the object drawer; `details` is the kind's own panel. @internal */
export const OBJECT_TABS = [
  'overview',
  'history',
  'events',
  'details',
  'yaml',
] as const;

/** One of {@link OBJECT_TABS}. @internal */
export type ObjectTab = (typeof OBJECT_TABS)[number];

/** Marks a history entry this section pushed, so closing can go back instead of pushing again. */
const OPENED_HERE = 'imageAutomationObjectDrawer';

/** The open drawer, in the URL. @internal */
export interface ObjectDrawerParams {
  objectId?: string;
  tab: ObjectTab;
  open(objectId: string): void;
  close(): void;
  setTab(tab: ObjectTab): void;
}

/**
 * The object drawer's state, kept in the URL query (`?object=<id>&objectTab=<tab>`) so every
 * drawer can be linked and Back closes it. Opening pushes a history entry; switching tabs
 * replaces it; closing goes back when this page opened the drawer (a linked drawer is closed by
 * replacing the entry). Every other query parameter is left alone.
 * @internal
 */
export function useObjectDrawerParams(): ObjectDrawerParams {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const objectId = params.get(OBJECT_PARAM) || undefined;
  const tabParam = params.get(OBJECT_TAB_PARAM);
  const tab = OBJECT_TABS.find(t => t === tabParam) ?? 'overview';
  const openedHere = Boolean(
    (location.state as Record<string, unknown> | null)?.[OPENED_HERE],
  );

  const open = useCallback(
    (id: string) =>
      setParams(
        previous => {
          const next = new URLSearchParams(previous);
          next.set(OBJECT_PARAM, id);
          next.delete(OBJECT_TAB_PARAM);
          return next;
        },
        { state: { [OPENED_HERE]: true } },
      ),
    [setParams],
  );

  const close = useCallback(() => {
    if (openedHere) {
      navigate(-1);
      return;
    }
    setParams(
      previous => {
        const next = new URLSearchParams(previous);
        next.delete(OBJECT_PARAM);
        next.delete(OBJECT_TAB_PARAM);
        return next;
      },
      { replace: true },
    );
  }, [openedHere, navigate, setParams]);

  const setTab = useCallback(
    (next: ObjectTab) =>
      setParams(
        previous => {
          const query = new URLSearchParams(previous);
          if (next === 'overview') query.delete(OBJECT_TAB_PARAM);
          else query.set(OBJECT_TAB_PARAM, next);
          return query;
        },
        { replace: true, state: location.state },
      ),
    [setParams, location.state],
  );

  return { objectId, tab, open, close, setTab };
}
