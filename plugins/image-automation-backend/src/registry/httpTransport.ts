import http from 'node:http';
import https from 'node:https';
import { RegistryError } from './RegistryError';

/** A buffered response. @internal */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request. @internal */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  agent: http.Agent;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: AbortSignal;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'EPROTO',
]);

/**
 * The most of an error response's body (status ≥ 400) read: the rest is dropped unread and
 * the connection closed. Such bodies only end up quoted (shortened) in error messages.
 * @internal
 */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** `GET https://host/v2/…` — the prefix of every error message, as go-containerregistry writes it. */
export function describeRequest(method: string, url: URL): string {
  return `${method} ${url.toString()}`;
}

/**
 * Sends one request and buffers the body up to `maxBodyBytes`. Connection failures become
 * {@link RegistryError}s of kind `network`, `tls`, `timeout` or `aborted`.
 * @internal
 */
export function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  const transport = request.url.protocol === 'https:' ? https : http;
  const what = describeRequest(request.method, request.url);
  return new Promise((resolve, reject) => {
    if (request.signal?.aborted) {
      reject(new RegistryError('aborted', `${what}: request aborted`));
      return;
    }
    let settled = false;
    const req = transport.request(request.url, {
      method: request.method,
      headers: request.headers,
      agent: request.agent,
    });
    const fail = (error: RegistryError) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
      req.destroy();
    };
    const timer = setTimeout(
      () =>
        fail(
          new RegistryError(
            'timeout',
            `${what}: no response within ${request.timeoutMs} ms`,
          ),
        ),
      request.timeoutMs,
    );
    const onAbort = () =>
      fail(new RegistryError('aborted', `${what}: request aborted`));
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    };
    req.on('response', res => {
      const chunks: Buffer[] = [];
      let size = 0;
      const isError = (res.statusCode ?? 0) >= 400;
      res.on('data', (chunk: Buffer) => {
        if (isError && size + chunk.length > MAX_ERROR_BODY_BYTES) {
          // An error answer is only quoted in a message: its head is enough (issue #13).
          chunks.push(chunk.subarray(0, MAX_ERROR_BODY_BYTES - size));
          done();
          if (!settled) {
            settled = true;
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            });
          }
          req.destroy();
          return;
        }
        size += chunk.length;
        if (size > request.maxBodyBytes) {
          done();
          fail(
            new RegistryError(
              'invalidResponse',
              `${what}: response body exceeds ${request.maxBodyBytes} bytes`,
              {
                status: res.statusCode,
              },
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        done();
        if (!settled) {
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        }
      });
      res.on('error', error => {
        done();
        fail(
          new RegistryError(
            'network',
            `${what}: ${describeNetworkError(error)}`,
          ),
        );
      });
      res.on('aborted', () => {
        done();
        fail(
          new RegistryError(
            'network',
            `${what}: connection closed before the response ended`,
          ),
        );
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      done();
      const code = error.code ?? '';
      const kind =
        TLS_CODES.has(code) || /certificate|ssl|tls/i.test(error.message)
          ? 'tls'
          : 'network';
      fail(new RegistryError(kind, `${what}: ${describeNetworkError(error)}`));
    });
    req.end(request.body);
  });
}

function describeNetworkError(error: NodeJS.ErrnoException): string {
  const message = error.message || String(error);
  return error.code && !message.includes(error.code)
    ? `${error.code}: ${message}`
    : message;
}
