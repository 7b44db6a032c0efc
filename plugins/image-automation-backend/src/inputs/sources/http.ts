import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { isHostAllowed } from '../../registry/allowedHosts';
import {
  RegistryCredentials,
  RegistryTls,
} from '../../registry/RegistryClient';
import { rateLimitWaitMs } from '../../util/retryAfter';
import { InputSourceContext } from './types';

/** Largest JSON answer a Git provider may send (the Flux Operator's limit). @internal */
export const GIT_PROVIDER_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * A request of an input source that did not give a usable answer: an HTTP status other than
 * 2xx (`status`), a body over the limit, malformed JSON, a refused or failed connection.
 * `retryAfterMs` is set when the service asked callers to wait (429, or GitHub's 403 secondary
 * limit, with `Retry-After` or a rate-limit reset time).
 * @internal
 */
export class SourceHttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SourceHttpError';
  }
}

/** A refusal decided before any request: the host or scheme is not allowed. @internal */
export class SourceNotAllowedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceNotAllowedError';
  }
}

/** An answer of {@link SourceHttp.getJson}. @internal */
export interface SourceResponse<T = unknown> {
  status: number;
  /** Lower-case header names. */
  headers: http.IncomingHttpHeaders;
  body: T;
}

/** @internal */
export interface SourceHttp {
  /** GET `url` as JSON; any status but 2xx, an oversized body or malformed JSON throws {@link SourceHttpError}. */
  getJson<T = unknown>(
    url: string,
    options?: { headers?: Record<string, string> },
  ): Promise<SourceResponse<T>>;
  /** POST `body` (JSON, or nothing) to `url` and read a JSON answer, as {@link SourceHttp.getJson}. */
  postJson<T = unknown>(
    url: string,
    options?: { headers?: Record<string, string>; body?: unknown },
  ): Promise<SourceResponse<T>>;
}

/** `imageAutomation.inputProviders.allowedHosts`, and whether plain HTTP may go to `host`. */
function hostSettings(context: InputSourceContext) {
  const section = context.config.getOptionalConfig(
    'imageAutomation.inputProviders',
  );
  return {
    allowed: section?.getOptionalStringArray('allowedHosts') ?? [],
    insecure: section?.getOptionalStringArray('insecureHosts') ?? [],
  };
}

/**
 * Throws {@link SourceNotAllowedError} unless requests may go to `url`: an `https://` (or, for a
 * host in `insecureHosts`, `http://`) URL whose host is in `imageAutomation.inputProviders.allowedHosts`.
 * Both lists fail closed. Sources call it before resolving credentials, so a refused host never
 * costs a lookup, and {@link createSourceHttp} calls it for every request (page links too).
 * @internal
 */
export function checkSourceUrl(context: InputSourceContext, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SourceNotAllowedError(`'${url}' is not a valid URL`);
  }
  const { allowed, insecure } = hostSettings(context);
  if (parsed.username || parsed.password) {
    throw new SourceNotAllowedError(
      `'${parsed.host}': credentials in the URL are not allowed; use spec.secretRef`,
    );
  }
  if (parsed.protocol === 'http:') {
    if (!isHostAllowed(parsed.host, insecure)) {
      throw new SourceNotAllowedError(
        `plain HTTP to ${parsed.host} is not allowed: use https, or list the host in imageAutomation.inputProviders.insecureHosts`,
      );
    }
  } else if (parsed.protocol !== 'https:') {
    throw new SourceNotAllowedError(
      `scheme '${parsed.protocol.replace(/:$/, '')}' is not allowed for ${
        parsed.host || url
      }: use https`,
    );
  }
  if (!isHostAllowed(parsed.host, allowed)) {
    throw new SourceNotAllowedError(
      `host ${parsed.host} is not in imageAutomation.inputProviders.allowedHosts, the hosts input providers may call`,
    );
  }
  return parsed;
}

/**
 * The credential a provider's `spec.secretRef` names, for requests about `repositoryUrl` (the
 * repository or service the provider reads): granted to the provider's entity and bound to that
 * URL's host and path (`hosts` of the credential), else a CredentialRefusedError naming why.
 * The source decides where the requests go (e.g. GitHub's API host for a github.com repository),
 * always from the repository URL, never from anything else the manifest says. `undefined` without
 * a `secretRef`.
 * @internal
 */
export function sourceCredential(
  context: InputSourceContext,
  repositoryUrl: string,
): RegistryCredentials | undefined {
  const name = context.spec.secretRef?.name;
  if (!name) return undefined;
  return context.credentials.resolve(name, context.provider.entityRef, {
    kind: 'git',
    url: repositoryUrl,
  });
}

/** The TLS material `spec.certSecretRef` names, checked as {@link sourceCredential}. @internal */
export function sourceTls(
  context: InputSourceContext,
  repositoryUrl: string,
): RegistryTls | undefined {
  const name = context.spec.certSecretRef?.name;
  if (!name) return undefined;
  return context.credentials.resolveTls(name, context.provider.entityRef, {
    kind: 'git',
    url: repositoryUrl,
  });
}

/**
 * An HTTP client for one call of an input source (`what` names the service in messages, e.g.
 * `Gitea`): every request is checked with {@link checkSourceUrl}, bounded by the call's deadline
 * and abort signal, uses the `certSecretRef` TLS material when given, and reads at most
 * `maxBodyBytes`. Nothing of a credential appears in its messages.
 * @internal
 */
export function createSourceHttp(
  context: InputSourceContext,
  options: { what: string; maxBodyBytes?: number; tls?: RegistryTls },
): SourceHttp {
  const maxBodyBytes = options.maxBodyBytes ?? GIT_PROVIDER_MAX_BODY_BYTES;
  const secureContext = options.tls
    ? {
        ca: options.tls.ca
          ? [...tls.rootCertificates, options.tls.ca]
          : undefined,
        cert: options.tls.cert,
        key: options.tls.key,
      }
    : {};
  const call = async <T>(
    method: 'GET' | 'POST',
    url: string,
    request: { headers?: Record<string, string>; body?: unknown },
  ): Promise<SourceResponse<T>> => {
    const target = checkSourceUrl(context, url);
    const shown = `${target.origin}${target.pathname}`;
    const remaining = context.deadline - Date.now();
    if (remaining <= 0)
      throw new SourceHttpError(
        `${options.what}: ${method} ${shown}: the call's timeout passed`,
      );
    const payload =
      request.body === undefined
        ? undefined
        : Buffer.from(JSON.stringify(request.body));
    context.signal?.throwIfAborted();
    const { status, headers, body } = await new Promise<{
      status: number;
      headers: http.IncomingHttpHeaders;
      body: Buffer;
    }>((resolve, reject) => {
      const send = target.protocol === 'https:' ? https.request : http.request;
      const req = send(
        target,
        {
          method,
          headers: {
            accept: 'application/json',
            'user-agent': 'backstage-image-automation',
            ...(payload
              ? {
                  'content-type': 'application/json',
                  'content-length': String(payload.length),
                }
              : {}),
            ...request.headers,
          },
          timeout: remaining,
          signal: context.signal,
          ...secureContext,
        },
        res => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBodyBytes) {
              reject(
                new SourceHttpError(
                  `${options.what}: ${method} ${shown}: the response is larger than ${maxBodyBytes} bytes`,
                  res.statusCode,
                ),
              );
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
          res.on('error', reject);
        },
      );
      const timer = setTimeout(
        () =>
          req.destroy(
            new SourceHttpError(
              `${options.what}: ${method} ${shown}: timed out`,
            ),
          ),
        remaining,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('timeout', () =>
        req.destroy(
          new SourceHttpError(`${options.what}: ${method} ${shown}: timed out`),
        ),
      );
      req.on('error', error =>
        reject(
          error instanceof SourceHttpError || context.signal?.aborted
            ? error
            : new SourceHttpError(
                `${options.what}: ${method} ${shown}: ${
                  (error as Error).message
                }`,
              ),
        ),
      );
      req.end(payload);
    });
    if (status < 200 || status >= 300) {
      const header = (name: string) => {
        const value = headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const wait =
        status === 429 || status === 403 ? rateLimitWaitMs(header) : undefined;
      throw new SourceHttpError(
        `${options.what} '${shown}' returned HTTP ${status}${
          wait !== undefined
            ? `; rate limited, retry after ${Math.ceil(wait / 1000)}s`
            : ''
        }`,
        status,
        wait,
      );
    }
    let parsed: T;
    try {
      parsed = JSON.parse(body.toString('utf8')) as T;
    } catch (error) {
      throw new SourceHttpError(
        `${options.what}: ${method} ${shown}: the response is not JSON: ${
          (error as Error).message
        }`,
        status,
      );
    }
    return { status, headers, body: parsed };
  };
  return {
    getJson: (url, request = {}) => call('GET', url, request),
    postJson: (url, request = {}) => call('POST', url, request),
  };
}
