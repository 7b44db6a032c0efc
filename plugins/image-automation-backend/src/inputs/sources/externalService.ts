import { CredentialRefusedError } from '../../credentials/NamedCredentials';
import { DEFAULT_PROVIDER_FILTER_LIMIT } from '../../policy';
import {
  RegistryCredentials,
  RegistryTls,
} from '../../registry/RegistryClient';
import { ExportedInput } from '../exportedInputs';
import {
  checkSourceUrl,
  createSourceHttp,
  SourceHttpError,
  SourceNotAllowedError,
  sourceCredential,
  sourceTls,
} from './http';
import { InputSource, InputSourceContext, InputSourceResult } from './types';

/**
 * The `ExternalService` ResourceSetInputProvider type: a GET of `spec.url` answering
 * `{"inputs": [{"id": "…", …}, …]}`, exported in the answer's order, at most `spec.filter.limit`.
 *
 * Requests go only to hosts in `imageAutomation.inputProviders.allowedHosts`, over `https://`,
 * or over `http://` when the manifest sets `spec.insecure` *and* the host is in
 * `imageAutomation.inputProviders.insecureHosts`. `spec.secretRef` names a credential granted to
 * the entity and bound to the URL (`token`: `Authorization: Bearer <token>`; `basic`: Basic
 * username and password), `spec.certSecretRef` a `tls` one. Redirects are not followed.
 */

/** Largest answer an external service may send (the Flux Operator's limit: 900 KiB). @internal */
export const EXTERNAL_SERVICE_MAX_BODY_BYTES = 900 * 1024;

/** Attempts of a call whose connection failed (a status or a bad answer is never retried). */
const NETWORK_ATTEMPTS = 3;
const NETWORK_RETRY_MS = 250;

/** The `Authorization` header for an external service: Bearer for a token, else Basic. @internal */
export function externalServiceAuthorization(
  credential: RegistryCredentials | undefined,
): Record<string, string> {
  if (!credential) return {};
  if (credential.type === 'token')
    return { authorization: `Bearer ${credential.token}` };
  if (credential.type === 'basic') {
    return {
      authorization: `Basic ${Buffer.from(
        `${credential.username}:${credential.password}`,
      ).toString('base64')}`,
    };
  }
  throw new CredentialRefusedError(
    'a dockerConfigJson credential cannot authenticate to an external service; use token or basic',
  );
}

/** A well-formed answer that breaks the contract (no `inputs`, an item without a string `id`, …). */
class InvalidAnswerError extends Error {}

/**
 * The inputs of an external service's answer, checked as the Flux Operator checks them: an
 * object with an `inputs` array of objects, each with a string `id` used once. Throws a message
 * naming the first problem.
 * @internal
 */
export function externalServiceInputs(
  body: unknown,
  shownUrl: string,
): ExportedInput[] {
  const prefix = `invalid response from external service '${shownUrl}'`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidAnswerError(
      `${prefix}: the response is not a JSON object with an 'inputs' array`,
    );
  }
  const inputs = (body as Record<string, unknown>).inputs;
  if (inputs === undefined) {
    // Worded as the Flux Operator words it (test/src/flux, scenario depends-not-ready).
    throw new InvalidAnswerError(
      `failed to call ExternalService provider: external service '${shownUrl}' response does not contain an 'inputs' field`,
    );
  }
  if (!Array.isArray(inputs))
    throw new InvalidAnswerError(`${prefix}: 'inputs' is not an array`);
  const seen = new Set<string>();
  return inputs.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidAnswerError(
        `${prefix}: input at index ${index} is not an object`,
      );
    }
    const id = (item as Record<string, unknown>).id;
    if (id === undefined || id === null) {
      throw new InvalidAnswerError(
        `${prefix}: input at index ${index} is missing the required 'id' field`,
      );
    }
    if (typeof id !== 'string') {
      throw new InvalidAnswerError(
        `${prefix}: input at index ${index} has a non-string 'id' (${
          Array.isArray(id) ? 'array' : typeof id
        })`,
      );
    }
    if (seen.has(id)) {
      throw new InvalidAnswerError(
        `${prefix}: input at index ${index} has a duplicate 'id' value '${id.slice(
          0,
          200,
        )}'`,
      );
    }
    seen.add(id);
    return item as ExportedInput;
  });
}

/**
 * A failed connection (no status; not a timeout, nor a certificate the client does not trust),
 * worth another attempt while the call's deadline allows.
 */
function isNetworkError(error: unknown, context: InputSourceContext): boolean {
  return (
    error instanceof SourceHttpError &&
    error.status === undefined &&
    !/timed out|timeout passed|larger than|certificate|self[- ]signed/i.test(
      error.message,
    ) &&
    !context.signal?.aborted &&
    Date.now() + NETWORK_RETRY_MS < context.deadline
  );
}

/** `ExternalService`: the inputs the service at `spec.url` answers with. @internal */
export const externalServiceSource: InputSource = async context => {
  const { spec } = context;
  const terminal = (reason: string, message: string): InputSourceResult => ({
    ok: false,
    terminal: true,
    reason,
    message,
  });
  const raw = spec.url ?? '';
  if (!raw)
    return terminal(
      'InvalidSpec',
      "spec.url is required for type 'ExternalService'",
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return terminal('InvalidSpec', `invalid spec.url '${raw}': not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return terminal(
      'InvalidSpec',
      "spec.url must start with 'http://' or 'https://' when spec.type is 'ExternalService'",
    );
  }
  if (url.protocol === 'http:' && spec.insecure !== true) {
    return terminal(
      'InvalidSpec',
      "spec.url must use 'https://' unless spec.insecure is true",
    );
  }
  if (url.hash)
    return terminal(
      'InvalidSpec',
      'invalid spec.url: a fragment is not allowed',
    );
  const shown = `${url.origin}${url.pathname}`;

  // Refusals decided before any request: the host and scheme, then the credentials.
  let headers: Record<string, string>;
  let tls: RegistryTls | undefined;
  try {
    checkSourceUrl(context, url.href);
    headers = externalServiceAuthorization(sourceCredential(context, url.href));
    tls = sourceTls(context, url.href);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof SourceNotAllowedError)
      return terminal('HostNotAllowed', message);
    if (error instanceof CredentialRefusedError) {
      const name = spec.secretRef?.name ?? spec.certSecretRef?.name;
      return terminal(
        'CredentialRefused',
        name
          ? `failed to read secret '${context.provider.namespace}/${name}': ${message}`
          : message,
      );
    }
    throw error;
  }

  const client = createSourceHttp(context, {
    what: 'external service',
    maxBodyBytes: EXTERNAL_SERVICE_MAX_BODY_BYTES,
    tls,
  });
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await client.getJson(url.href, {
        headers: { accept: 'application/json', ...headers },
      });
      const inputs = externalServiceInputs(response.body, shown);
      const limit =
        spec.filter?.limit && spec.filter.limit > 0
          ? spec.filter.limit
          : DEFAULT_PROVIDER_FILTER_LIMIT;
      return { ok: true, inputs: inputs.slice(0, limit) };
    } catch (error) {
      if (context.signal?.aborted) throw error;
      if (attempt < NETWORK_ATTEMPTS && isNetworkError(error, context)) {
        await new Promise(resolve =>
          setTimeout(resolve, NETWORK_RETRY_MS * attempt),
        );
        continue;
      }
      if (
        error instanceof SourceHttpError ||
        error instanceof InvalidAnswerError
      ) {
        const retryAfterMs =
          error instanceof SourceHttpError ? error.retryAfterMs : undefined;
        return {
          ok: false,
          terminal: false,
          reason: 'ReconciliationFailed',
          message: error.message,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        };
      }
      throw error;
    }
  }
};
