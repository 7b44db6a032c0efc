import { truncateMessage } from '../util/truncateMessage';
import http from 'node:http';
import { describeRequest, HttpResponse } from './httpTransport';
import { RegistryError, RegistryErrorKind } from './RegistryError';

const MAX_BODY_IN_MESSAGE = 512;

function kindOf(status: number): RegistryErrorKind {
  if (status === 401 || status === 403) {
    return 'unauthorized';
  }
  if (status === 404) {
    return 'notFound';
  }
  if (status === 429) {
    return 'rateLimited';
  }
  if (status >= 500) {
    return 'server';
  }
  return 'rejected';
}

interface Diagnostic {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
}

/** Formats a decoded JSON value as Go's `%v` does, so details read as in Flux's messages. */
function goValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '<nil>';
  }
  if (Array.isArray(value)) {
    return `[${value.map(goValue).join(' ')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(
      ([a], [b]) => Number(a > b) - Number(a < b),
    );
    return `map[${entries.map(([k, v]) => `${k}:${goValue(v)}`).join(' ')}]`;
  }
  return String(value);
}

function describeDiagnostic(d: Diagnostic): string {
  let text = `${String(d.code ?? '')}: ${String(d.message ?? '')}`;
  // Go's decoder leaves Detail nil only when the field is absent or null.
  if (d.detail !== undefined && d.detail !== null) {
    text += `; ${goValue(d.detail)}`;
  }
  return text;
}

/**
 * The error for a non-success answer, worded as go-containerregistry's `transport.Error`:
 * `GET <url>: NAME_UNKNOWN: repository name not known to registry`, or
 * `GET <url>: unexpected status code 404 Not Found[: <body>]`.
 * Every string in `secrets` is masked, whatever the server echoed.
 * @internal
 */
export function responseError(
  method: string,
  url: URL,
  response: HttpResponse,
  secrets: string[],
): RegistryError {
  const status = response.status;
  const statusText = `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
  let detail: string;
  let diagnostics: Diagnostic[] = [];
  try {
    const parsed = JSON.parse(response.body.toString('utf8'));
    if (Array.isArray(parsed?.errors)) {
      diagnostics = parsed.errors.filter(
        (d: unknown) => d && typeof d === 'object',
      );
    }
  } catch {
    // Not JSON: the raw body is quoted below.
  }
  if (diagnostics.length === 1) {
    detail = describeDiagnostic(diagnostics[0]);
  } else if (diagnostics.length > 1) {
    detail = `multiple errors returned: ${diagnostics
      .map(describeDiagnostic)
      .join('; ')}`;
  } else if (response.body.length === 0) {
    detail =
      method === 'HEAD'
        ? `unexpected status code ${statusText} (HEAD responses have no body, use GET for details)`
        : `unexpected status code ${statusText}`;
  } else {
    const raw = response.body
      .toString('utf8')
      // Control characters become spaces.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim();
    detail = `unexpected status code ${statusText}: ${
      raw.length > MAX_BODY_IN_MESSAGE
        ? `${raw.slice(0, MAX_BODY_IN_MESSAGE)}…`
        : raw
    }`;
  }
  return new RegistryError(
    kindOf(status),
    truncateMessage(
      redact(`${describeRequest(method, url)}: ${detail}`, secrets),
    ),
    {
      status,
      ...(status === 429
        ? { retryAfterMs: retryAfterMs(response.headers['retry-after']) }
        : {}),
    },
  );
}

/** A `Retry-After` header (seconds or an HTTP date) in milliseconds; undefined without one. @internal */
export function retryAfterMs(
  header: string | string[] | undefined,
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) {
    return undefined;
  }
  if (/^\d+$/.test(value.trim())) {
    return Number(value.trim()) * 1000;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Masks every secret (and its base64 forms) in `text`. @internal */
export function redact(text: string, secrets: string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 3) {
      result = result.split(secret).join('***');
    }
  }
  return result;
}
