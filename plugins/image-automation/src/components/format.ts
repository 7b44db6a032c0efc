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
