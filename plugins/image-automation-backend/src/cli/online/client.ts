/**
 * The HTTP client of the online commands: talks to a running backend's image-automation API
 * (and, for `-A`, the catalog's) with a Backstage token, and turns every failure into one
 * sentence that names its cause.
 */

import { CliIO } from '../types';

/** The backend a command talks to when neither `--backend-url` nor the environment names one. */
export const DEFAULT_BACKEND_URL = 'http://localhost:7007';

/** How long one request may take before the command gives up. */
const REQUEST_TIMEOUT_MS = 30_000;

/** A failure of an online command: the message is what the user sees after `✗ `. @internal */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** Where and as whom the online commands talk. @internal */
export interface ClientOptions {
  baseUrl: string;
  token?: string;
  /** Replaced in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** The network error code (`ECONNREFUSED`, `ENOTFOUND`, …) under a failed fetch, or its message. */
function networkCause(error: unknown): string {
  let current: any = error;
  let message = (error as Error)?.message ?? String(error);
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === 'string' && /^E[A-Z_]+$/.test(current.code))
      return current.code;
    if (typeof current.message === 'string' && current.message)
      message = current.message;
    current =
      Array.isArray(current.errors) && current.errors[0]
        ? current.errors[0]
        : current.cause;
  }
  return message;
}

/** The `error.message` of a Backstage error body, or the start of a body that is not one. */
function errorMessageOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text);
    const message = body?.error?.message;
    if (typeof message === 'string' && message) return message;
  } catch {
    // not JSON: a proxy's page or a route that is not Backstage's
  }
  const trimmed = text.replace(/\s+/g, ' ').trim();
  return trimmed ? trimmed.slice(0, 200) : undefined;
}

/** A permission name the API put in a refusal, e.g. `(image-automation.object.update)`. @internal */
export function permissionOf(message: string | undefined): string | undefined {
  return message?.match(
    /\b(image-automation\.[a-z]+\.[a-z-]+|catalog\.[a-z.-]+)\b/,
  )?.[1];
}

/**
 * The sentence for a non-2xx answer. `what` names the object the request was about
 * (`ImageRepository/flux-system/podinfo`, `promotion 123`) for a 404.
 * @internal
 */
export function describeFailure(options: {
  status: number;
  message?: string;
  what: string;
  baseUrl: string;
  hasToken: boolean;
}): string {
  const { status, message, what, baseUrl, hasToken } = options;
  const detail = message ? `: ${message}` : '';
  switch (status) {
    case 401:
      return hasToken
        ? `not signed in: the backend at ${baseUrl} rejected the token (401${detail}); get a new Backstage token and set BACKSTAGE_TOKEN or --token`
        : `not signed in: set BACKSTAGE_TOKEN (or --token) to a Backstage token for ${baseUrl} (401${detail})`;
    case 403: {
      const permission = permissionOf(message);
      return `forbidden${
        permission ? ` (needs permission ${permission})` : ''
      }${detail || ': the backend refused the request (403)'}`;
    }
    case 404:
      return `not found: ${what}${detail}`;
    case 409:
      return `conflict${detail}`;
    case 400:
      return `invalid request${detail}`;
    default:
      return `the backend at ${baseUrl} answered ${status}${detail}`;
  }
}

/** A thin client of the backend's HTTP API. @internal */
export class BackendClient {
  readonly baseUrl: string;
  readonly #token?: string;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** `GET`/`POST`/`DELETE` under `/api/image-automation` (or another plugin's `/api/<plugin>`). */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; what: string; plugin?: string },
  ): Promise<T> {
    const url = `${this.baseUrl}/api/${
      options.plugin ?? 'image-automation'
    }${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (options.body !== undefined)
      headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body:
          options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause =
        (error as Error)?.name === 'TimeoutError'
          ? `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`
          : networkCause(error);
      throw new CliError(
        `cannot reach the backend at ${this.baseUrl}: ${cause}`,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new CliError(
        describeFailure({
          status: response.status,
          message: errorMessageOf(text),
          what: options.what,
          baseUrl: this.baseUrl,
          hasToken: Boolean(this.#token),
        }),
      );
    }
    if (response.status === 204 || !text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(
        `the backend at ${this.baseUrl} answered ${url} with something that is not JSON (is --backend-url the backend's address?)`,
      );
    }
  }

  get<T>(path: string, what: string): Promise<T> {
    return this.request<T>('GET', path, { what });
  }

  post<T>(path: string, what: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, { what, body });
  }
}

/** The options every online command takes. @internal */
export const CONNECTION_OPTIONS = {
  'backend-url': { type: 'string' },
  token: { type: 'string' },
} as const;

/** Usage lines of {@link CONNECTION_OPTIONS}. @internal */
export const CONNECTION_USAGE =
  `      --backend-url URL   the Backstage backend (default $BACKSTAGE_BACKEND_URL or ${DEFAULT_BACKEND_URL})\n` +
  '      --token TOKEN       a Backstage token (default $BACKSTAGE_TOKEN)\n';

/** The client for a command's `--backend-url` / `--token`, falling back to the environment. @internal */
export function clientFor(
  values: { 'backend-url'?: string; token?: string },
  io: CliIO,
): BackendClient {
  const env = io.env ?? process.env;
  const baseUrl =
    values['backend-url'] || env.BACKSTAGE_BACKEND_URL || DEFAULT_BACKEND_URL;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error('not http(s)');
  } catch {
    throw new CliError(
      `invalid --backend-url '${baseUrl}': expected an http:// or https:// URL`,
      2,
    );
  }
  return new BackendClient({
    baseUrl,
    token: values.token || env.BACKSTAGE_TOKEN || undefined,
    fetch: io.fetch,
  });
}
