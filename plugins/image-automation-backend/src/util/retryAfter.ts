/**
 * How long a rate-limited answer asks callers to wait, in ms, if it says: `Retry-After` (seconds
 * or an HTTP date), else a primary rate limit's reset (`X-RateLimit-Remaining: 0` with
 * `X-RateLimit-Reset` in epoch seconds, as GitHub and Gitea send). `header` reads a response
 * header by its lower-case name.
 * @internal
 */
export function rateLimitWaitMs(
  header: (name: string) => string | null | undefined,
  now = Date.now(),
): number | undefined {
  const raw = header('retry-after');
  if (raw && raw.trim() !== '') {
    const seconds = Number(raw);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(raw);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = header('x-ratelimit-reset');
  if (header('x-ratelimit-remaining') === '0' && reset && /^\d+$/.test(reset)) {
    return Math.max(0, Number(reset) * 1000 - now);
  }
  return undefined;
}

/**
 * Whether an answer is a rate limit: a 429, or a 403 that says so (`X-RateLimit-Remaining: 0`,
 * or GitHub's secondary limits with `Retry-After`). A plain 403 is a refusal.
 * @internal
 */
export function isRateLimited(
  status: number,
  header: (name: string) => string | null | undefined,
): boolean {
  return (
    status === 429 ||
    (status === 403 &&
      (header('x-ratelimit-remaining') === '0' || !!header('retry-after')))
  );
}
