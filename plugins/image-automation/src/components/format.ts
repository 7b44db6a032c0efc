/**
 * Formats a timestamp as UTC to the second, the same for every viewer, so times in the tab
 * line up with backend logs and registry events.
 * @internal
 */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Formats a duration in milliseconds for people: `850 ms`, `2.4 s`, `3 min 5 s`. @internal */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

/** A tag with its digest when the policy reflected one: `6.5.1@sha256:…`. @internal */
export function formatImageRef(
  ref: { tag: string; digest?: string } | undefined,
): string {
  if (!ref) return '—';
  return ref.digest ? `${ref.tag}@${ref.digest}` : ref.tag;
}

/** A list of tags, or a dash when there are none. @internal */
export function formatTags(tags: string[]): string {
  return tags.length > 0 ? tags.join(', ') : '—';
}

/**
 * A time relative to `now`, coarsely, for either direction: `just now`, `5m ago`, `3h ago`,
 * `3d ago`; `in under a minute`, `in 3m`, `in 2h`, `in 1d`.
 * @internal
 */
export function formatRelative(iso: string, now: Date): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const future = then > now.getTime();
  const minutes = Math.floor(Math.abs(now.getTime() - then) / 60_000);
  if (minutes < 1) return future ? 'in under a minute' : 'just now';
  const hours = Math.floor(minutes / 60);
  let span = `${Math.floor(hours / 24)}d`;
  if (minutes < 60) span = `${minutes}m`;
  else if (hours < 24) span = `${hours}h`;
  return future ? `in ${span}` : `${span} ago`;
}
