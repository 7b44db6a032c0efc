import type { RegistryErrorKind } from '@imageops/backstage-plugin-image-automation-common';

/**
 * What went wrong talking to a registry, for choosing a condition reason; recorded with a failed
 * scan. The kinds and what each means are documented where the type is defined, in the common
 * package (scans carry it to the frontend).
 * @internal
 */
export type { RegistryErrorKind };

/**
 * An error from {@link RegistryClient}. Its message reads like Flux's (go-containerregistry's)
 * `GET <url>: <CODE>: <message>` and never contains a credential.
 * @internal
 */
export class RegistryError extends Error {
  readonly kind: RegistryErrorKind;
  /** HTTP status of the failing response, when there was one. */
  readonly status?: number;
  /** HTTP requests the failed call made before failing (set by {@link RegistryClient}). */
  requests?: number;
  /** A 429's `Retry-After`: how long the registry asked callers to wait. */
  readonly retryAfterMs?: number;

  constructor(
    kind: RegistryErrorKind,
    message: string,
    options: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'RegistryError';
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
