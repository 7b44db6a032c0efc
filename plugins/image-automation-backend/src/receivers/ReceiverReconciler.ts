import { createHash } from 'node:crypto';
import {
  REASONS,
  RECEIVER_API_VERSION,
  ReceiverSpec,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { beginReconcile, failures, RECHECK_MS } from '../engine/preamble';
import { ReconcileResult, Reconciler } from '../engine/Reconciler';
import { StoredObject } from '../store/ObjectStore';
import { parseGoDuration } from '../golib/time';
import { VERIFIED_RECEIVER_TYPES } from './verifyWebhook';

/** Flux's default `spec.interval` of a Receiver. */
const DEFAULT_INTERVAL_MS = 10 * 60 * 1000;

/**
 * The kinds a Receiver may make due here, with the API group each is matched in (any version:
 * older ones are converted) and whether Flux needs `apiVersion` written (it has no default for
 * the Flux Operator's kinds).
 * @internal
 */
export const RECEIVER_TARGET_KINDS: Record<
  string,
  { group: string; apiVersionRequired?: boolean }
> = {
  ImageRepository: { group: 'image.toolkit.fluxcd.io' },
  ImagePolicy: { group: 'image.toolkit.fluxcd.io' },
  ImageUpdateAutomation: { group: 'image.toolkit.fluxcd.io' },
  GitRepository: { group: 'source.toolkit.fluxcd.io' },
  ResourceSetInputProvider: {
    group: 'fluxcd.controlplane.io',
    apiVersionRequired: true,
  },
};

/** Flux's webhook path of a Receiver: `/hook/` and the hex SHA-256 of token, name and namespace. @internal */
export function webhookPath(
  token: string,
  name: string,
  namespace: string,
): string {
  return `/hook/${createHash('sha256')
    .update(token + name + namespace)
    .digest('hex')}`;
}

/** Why a Receiver's spec cannot work here (a resource kind, a type, a filter), or undefined. */
function specProblem(
  spec: ReceiverSpec,
): { reason: string; message: string } | undefined {
  if (!(VERIFIED_RECEIVER_TYPES as readonly string[]).includes(spec.type)) {
    return {
      reason: REASONS.ReceiverTypeNotSupported,
      message: `receiver type '${
        spec.type
      }' is not supported by the image-automation plugin; supported: ${VERIFIED_RECEIVER_TYPES.join(
        ', ',
      )}`,
    };
  }
  if (spec.resourceFilter) {
    return {
      reason: REASONS.FieldNotSupported,
      message:
        'spec.resourceFilter (CEL) is not supported: without it more objects would be reconciled than the filter allows; remove it or list the resources by name',
    };
  }
  for (const [i, resource] of (spec.resources ?? []).entries()) {
    const target = RECEIVER_TARGET_KINDS[resource.kind];
    if (!target) {
      return {
        reason: REASONS.ResourceKindNotSupported,
        message: `spec.resources[${i}]: kind '${
          resource.kind
        }' is not reconciled by the image-automation plugin; it can make due ${Object.keys(
          RECEIVER_TARGET_KINDS,
        ).join(', ')}`,
      };
    }
    if (target.apiVersionRequired && !resource.apiVersion) {
      return {
        reason: REASONS.InvalidManifest,
        message: `spec.resources[${i}]: apiVersion must be specified for kind "${resource.kind}"`,
      };
    }
    if (
      resource.apiVersion &&
      !resource.apiVersion.startsWith(`${target.group}/`)
    ) {
      return {
        reason: REASONS.InvalidManifest,
        message: `spec.resources[${i}]: apiVersion '${resource.apiVersion}' is not a version of ${resource.kind} (${target.group})`,
      };
    }
    if (resource.name === '*' && !resource.matchLabels) {
      return {
        reason: REASONS.InvalidManifest,
        message: `spec.resources[${i}]: matchLabels field not set when using wildcard '*' as name`,
      };
    }
  }
  return undefined;
}

/**
 * A Receiver (`notification.toolkit.fluxcd.io/v1`) as Flux's notification-controller reconciles
 * it: the token (here the credential `spec.secretRef.name`, of type `token`, granted to the
 * receiver's entity) gives `status.webhookPath`, and Ready says `Receiver initialized for path: …`.
 * The calls themselves are served by {@link ReceiverHooks}.
 * @internal
 */
export class ReceiverReconciler implements Reconciler {
  readonly apiVersion = RECEIVER_API_VERSION;
  readonly kind = 'Receiver';

  constructor(
    private readonly deps: {
      credentials: NamedCredentials;
      /** Told after every reconcile, so this replica's hook index sees a new path at once. */
      changed?: () => void;
    },
  ) {}

  async reconcile(object: StoredObject, now: Date): Promise<ReconcileResult> {
    try {
      return this.reconcileReceiver(object, now);
    } finally {
      this.deps.changed?.();
    }
  }

  private reconcileReceiver(object: StoredObject, now: Date): ReconcileResult {
    const begun = beginReconcile<ReceiverSpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec } = begun.start;
    const { webhookPath: _previous, ...status } = begun.start.status;
    const outcomes = failures(begun.start, now, RECHECK_MS);
    // Without a usable spec and token there is no path.
    const stalled = (reason: string, message: string): ReconcileResult =>
      outcomes.stalled(reason, message, { status });
    const problem = specProblem(spec);
    if (problem) return stalled(problem.reason, problem.message);
    let token: string;
    try {
      token = this.deps.credentials.resolveWebhookToken(
        spec.secretRef.name,
        object.entityRef,
      );
    } catch (error) {
      return stalled(
        REASONS.TokenNotFound,
        `unable to read token from credential '${spec.secretRef.name}': ${
          (error as Error).message
        }`,
      );
    }
    const path = webhookPath(token, object.name, object.namespace);
    return outcomes.ready(
      REASONS.Succeeded,
      `Receiver initialized for path: ${path}`,
      spec.interval ? parseGoDuration(spec.interval) : DEFAULT_INTERVAL_MS,
      { status: { ...status, webhookPath: path } },
    );
  }
}
