import { HistorySnapshot } from '@imageops/backstage-plugin-image-automation-common';
import { formatGoDuration } from '../golib/time';

/** How many snapshots `status.history` keeps (Flux Operator). @internal */
export const MAX_HISTORY = 5;

/**
 * Records one reconcile in `status.history` as the Flux Operator does: the snapshot with the same
 * digest and outcome is updated (count, last time, duration, metadata) and moved to the front,
 * otherwise a new one is added there; at most {@link MAX_HISTORY} are kept, newest first.
 * @internal
 */
export function recordHistory(
  history: HistorySnapshot[] | undefined,
  entry: {
    digest: string;
    status: string;
    now: Date;
    durationMs: number;
    metadata: Record<string, string>;
  },
): HistorySnapshot[] {
  const list = history ?? [];
  const same = list.find(
    s => s.digest === entry.digest && s.lastReconciledStatus === entry.status,
  );
  const time = entry.now.toISOString();
  const snapshot: HistorySnapshot = {
    digest: entry.digest,
    firstReconciled: same?.firstReconciled ?? time,
    lastReconciled: time,
    lastReconciledDuration: formatGoDuration(Math.round(entry.durationMs)),
    lastReconciledStatus: entry.status,
    totalReconciliations: (same?.totalReconciliations ?? 0) + 1,
    metadata: entry.metadata,
  };
  return [snapshot, ...list.filter(s => s !== same)].slice(0, MAX_HISTORY);
}
