import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';

/** How long after a reconcile request the tab keeps polling fast if the run never shows up. */
const FAST_POLL_WINDOW_MS = 60_000;

/**
 * Whether a reconcile was requested and has not run yet: the backend runs it on its next engine
 * pass, a few seconds later, so the tab polls faster until `lastRunAt` passes the request. The
 * fast polling ends after a minute whatever happens, so a stuck engine costs little.
 * @internal
 */
export function reconcilePending(
  object: AutomationObjectView,
  now: Date,
): boolean {
  if (!object.reconcileRequestedAt) return false;
  const requested = Date.parse(object.reconcileRequestedAt);
  if (
    Number.isNaN(requested) ||
    now.getTime() - requested > FAST_POLL_WINDOW_MS
  ) {
    return false;
  }
  const lastRun = object.lastRunAt ? Date.parse(object.lastRunAt) : NaN;
  return Number.isNaN(lastRun) || lastRun < requested;
}
