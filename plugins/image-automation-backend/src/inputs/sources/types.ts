import { ResourceSetInputProviderSpec } from '@imageops/backstage-plugin-image-automation-common';
import { Config } from '@backstage/config';
import { NamedCredentials } from '../../credentials/NamedCredentials';
import { ExportedInput } from '../exportedInputs';

/**
 * What a ResourceSetInputProvider type's source gets for one call: the provider (already past the
 * reconcile annotations, schedule and disabled checks), its entity, the credentials it may name,
 * the backend's configuration, and the call's deadline.
 * @internal
 */
export interface InputSourceContext {
  /** `namespace`, `name` and the owning entity (`undefined` for platform-owned locations). */
  provider: { namespace: string; name: string; entityRef?: string };
  spec: ResourceSetInputProviderSpec;
  /** The inputs exported last time (`status.exportedInputs`), for `spec.skip.labels`. */
  previous: ReadonlyArray<ExportedInput> | undefined;
  credentials: NamedCredentials;
  /** The whole backend configuration (allow-lists, integrations). */
  config: Config;
  /** `reconcileTimeout`: the whole call must end by then (epoch ms). */
  deadline: number;
  signal?: AbortSignal;
  now: Date;
}

/**
 * The outcome of a source call. A failure is `terminal` when only a change of the manifest or
 * the configuration can fix it (Stalled, `Reconciliation failed terminally due to configuration
 * error: ` + message); otherwise the provider is Ready=False and retried. `reason` is the
 * condition's reason (`ReconciliationFailed` for a failed call, `InvalidSpec`, `CredentialRefused`, …).
 * @internal
 */
export type InputSourceResult =
  | { ok: true; inputs: ExportedInput[] }
  | {
      ok: false;
      terminal: boolean;
      reason: string;
      message: string;
      /** A non-terminal failure's retry delay when the service asked callers to wait (rate limits). */
      retryAfterMs?: number;
    };

/** One `spec.type`'s way of getting its inputs. @internal */
export type InputSource = (
  context: InputSourceContext,
) => Promise<InputSourceResult>;
