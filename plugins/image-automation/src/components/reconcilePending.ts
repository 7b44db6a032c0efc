import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';

/** How long after a reconcile request the tab keeps polling fast if the run never shows up. */
const FAST_POLL_WINDOW_MS = 60_000;

/**
 * Whether a reconcile was requested and the backend has not handled it yet: the backend runs it on
 * its next engine pass, a few seconds later, so the tab polls faster until the run that saw the
 * request records it in `status.lastHandledReconcileAt` (Flux's requestedAt ↔ lastHandledAt
 * handshake). `lastRunAt` is no proof: a run that claimed the object before the request may finish
 * after it without having seen it. The fast polling ends after a minute whatever happens, so a
 * stuck engine costs little.
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
  const handled = object.status.lastHandledReconcileAt
    ? Date.parse(object.status.lastHandledReconcileAt)
    : NaN;
  // A later request supersedes this one, so handling it acknowledges this one too.
  return Number.isNaN(handled) || handled < requested;
}
