import { isRateLimited, rateLimitWaitMs } from './retryAfter';

const headers = (values: Record<string, string>) => (name: string) =>
  values[name];
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);

describe('rate limit answers', () => {
  it('reads Retry-After in seconds or as an HTTP date, else the reset of an exhausted limit', () => {
    expect(rateLimitWaitMs(headers({ 'retry-after': '7' }), NOW)).toBe(7000);
    expect(
      rateLimitWaitMs(
        headers({ 'retry-after': new Date(NOW + 90_000).toUTCString() }),
        NOW,
      ),
    ).toBe(90_000);
    expect(
      rateLimitWaitMs(
        headers({ 'retry-after': new Date(NOW - 5_000).toUTCString() }),
        NOW,
      ),
    ).toBe(0);
    expect(
      rateLimitWaitMs(
        headers({
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(NOW / 1000 + 120),
        }),
        NOW,
      ),
    ).toBe(120_000);
    // A limit not exhausted, a malformed value or nothing at all: no wait is known.
    expect(
      rateLimitWaitMs(
        headers({
          'x-ratelimit-remaining': '3',
          'x-ratelimit-reset': String(NOW / 1000 + 120),
        }),
        NOW,
      ),
    ).toBeUndefined();
    expect(
      rateLimitWaitMs(headers({ 'retry-after': 'soon' }), NOW),
    ).toBeUndefined();
    expect(rateLimitWaitMs(headers({}), NOW)).toBeUndefined();
  });

  it('tells a rate limit from a refusal', () => {
    expect(isRateLimited(429, headers({}))).toBe(true);
    expect(isRateLimited(403, headers({ 'x-ratelimit-remaining': '0' }))).toBe(
      true,
    );
    expect(isRateLimited(403, headers({ 'retry-after': '60' }))).toBe(true);
    expect(isRateLimited(403, headers({ 'x-ratelimit-remaining': '10' }))).toBe(
      false,
    );
    expect(isRateLimited(401, headers({ 'retry-after': '60' }))).toBe(false);
  });
});
