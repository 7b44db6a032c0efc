/**
 * What went wrong talking to a registry, for choosing a condition reason:
 * - `unauthorized`: 401/403 or a refused token request (wrong or missing credentials);
 * - `notFound`: the repository or tag does not exist;
 * - `hostNotAllowed`: the registry or its token realm is not allow-listed (a configuration matter);
 * - `tagLimit`: the repository has more tags than the configured cap;
 * - `rateLimited`: 429 still after the allowed retries;
 * - `budgetExceeded`: the per-registry request budget would not allow the request before the deadline;
 * - `timeout`, `aborted`, `network`, `tls`: the connection failed, slowly or not;
 * - `server`: 5xx still after the allowed retries;
 * - `rejected`: another 4xx answer (a bad request, a method not allowed);
 * - `invalidResponse`: malformed JSON, an oversized body, an unusable header, a page link to another
 *   host (Flux's SSRF guard), a token realm over plain HTTP for an HTTPS registry;
 * - `invalidReference`: the image name cannot be parsed.
 * @public
 */
export type RegistryErrorKind =
  | 'unauthorized'
  | 'notFound'
  | 'hostNotAllowed'
  | 'tagLimit'
  | 'rateLimited'
  | 'budgetExceeded'
  | 'timeout'
  | 'aborted'
  | 'network'
  | 'tls'
  | 'server'
  | 'rejected'
  | 'invalidResponse'
  | 'invalidReference';

/**
 * An error from {@link RegistryClient}. Its message reads like Flux's (go-containerregistry's)
 * `GET <url>: <CODE>: <message>` and never contains a credential.
 * @public
 */
export class RegistryError extends Error {
  readonly kind: RegistryErrorKind;
  /** HTTP status of the failing response, when there was one. */
  readonly status?: number;
  /** HTTP requests the failed call made before failing (set by {@link RegistryClient}). */
  requests?: number;

  constructor(
    kind: RegistryErrorKind,
    message: string,
    options: { status?: number } = {},
  ) {
    super(message);
    this.name = 'RegistryError';
    this.kind = kind;
    this.status = options.status;
  }
}
