import { isRateLimited, rateLimitWaitMs } from '../util/retryAfter';
import { PullRequestApiError } from './PullRequestHost';

/** The longest rate-limit wait sat out in a call; a longer one fails the call, naming it. */
const MAX_RETRY_WAIT_MS = 30_000;
const TIMEOUT_MS = 30_000;

/**
 * One JSON call to a pull-request host's API, as every adapter makes it: no redirects followed,
 * a 30 s timeout (and the caller's abort signal), a rate limit (429, or a 403 that says so) sat
 * out once when it asks for at most 30 s, and every failure a {@link PullRequestApiError}
 * naming the host, the call (`what`) and the status, with the host's own message. `notFound`
 * is the answer to a 404 when the caller expects one.
 * @internal
 */
export async function callHostApi<T>(request: {
  host: string;
  url: string;
  method: string;
  what: string;
  headers: Record<string, string>;
  body?: unknown;
  notFound?: T;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Told of every request sent (adapters count their API calls). */
  counted: () => void;
}): Promise<T> {
  const doFetch = request.fetch ?? fetch;
  for (let attempt = 1; ; attempt++) {
    request.counted();
    let response: Response;
    try {
      response = await doFetch(request.url, {
        method: request.method,
        redirect: 'error',
        headers: {
          accept: 'application/json',
          ...(request.body !== undefined
            ? { 'content-type': 'application/json' }
            : {}),
          ...request.headers,
        },
        body:
          request.body !== undefined ? JSON.stringify(request.body) : undefined,
        signal: request.signal
          ? AbortSignal.any([request.signal, AbortSignal.timeout(TIMEOUT_MS)])
          : AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new PullRequestApiError(
        request.host,
        undefined,
        request.what,
        (error as Error).message,
      );
    }
    if (response.status === 404 && request.notFound !== undefined)
      return request.notFound;
    if (response.ok) {
      const text = await response.text();
      try {
        return (text ? JSON.parse(text) : undefined) as T;
      } catch {
        // Azure DevOps answers a credential it does not accept with 203 and its sign-in page.
        const why =
          response.status === 203
            ? ': a sign-in page, the credential was not accepted'
            : '';
        throw new PullRequestApiError(
          request.host,
          response.status,
          request.what,
          `the answer is not JSON${why}`,
        );
      }
    }
    const header = (name: string) => response.headers.get(name);
    const wait = isRateLimited(response.status, header)
      ? rateLimitWaitMs(header) ?? 1000
      : undefined;
    const detail = (await response.text().catch(() => '')).slice(0, 300);
    if (wait !== undefined && attempt === 1 && wait <= MAX_RETRY_WAIT_MS) {
      await new Promise(resolve => setTimeout(resolve, wait));
      continue;
    }
    let message = detail;
    try {
      // `message` (GitHub, Gitea, GitLab; GitLab's may be an object of field errors) or `error`.
      const parsed = JSON.parse(detail) as {
        message?: unknown;
        error?: unknown;
      };
      const said = parsed?.message ?? parsed?.error;
      if (said !== undefined && said !== null)
        message =
          typeof said === 'string' ? said : JSON.stringify(said).slice(0, 300);
    } catch {
      // not JSON: the text as it came
    }
    if (wait !== undefined)
      message = `rate limited, retry after ${Math.ceil(wait / 1000)}s${
        message ? `: ${message}` : ''
      }`;
    throw new PullRequestApiError(
      request.host,
      response.status,
      request.what,
      message.trim() || response.statusText,
      wait,
    );
  }
}
