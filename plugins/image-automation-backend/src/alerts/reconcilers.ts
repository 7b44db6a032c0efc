import {
  NOTIFICATION_API_VERSION,
  objectId,
  ObjectStatus,
  REASONS,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { readyCondition } from '../engine/conditions';
import { dependentsOf } from '../engine/dependents';
import { beginReconcile, failures, RECHECK_MS } from '../engine/preamble';
import { ReconcileResult, Reconciler } from '../engine/Reconciler';
import { EventStore } from '../store/EventStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import {
  NOTIFICATION_FAILED_REASON,
  NOTIFICATION_SENT_REASON,
} from './AlertDispatcher';
import { AlertSpec, invalidPattern } from './fluxEvent';
import {
  NotificationSettings,
  ProviderRefusedError,
  ProviderSpec,
  resolveProviderTarget,
} from './providerTarget';

/** The message of a ready Provider or Alert, as Flux's v1beta2 controllers wrote it. */
const INITIALIZED = 'Initialized';
/** A retry when an Alert's Provider is missing or not ready (a Provider change also makes it due). */
const ALERT_RETRY_MS = 60_000;
/** A recheck while the Alert's Provider has not been reconciled yet (its reconcile also makes the Alert due). */
const PROVIDER_PENDING_RETRY_MS = 5_000;

/**
 * A Provider: checked as Flux's notifier factory checks it — an address (its own, or its
 * credential's), a known type, a credential granted to the entity and bound to the address's host,
 * the host in `imageAutomation.notifications.allowedHosts` — before any notification is sent.
 * Problems are Stalled (only a manifest or app-config change fixes them). The status carries the
 * outcome of the last delivery (`lastDelivery`), read from the Provider's events.
 * @internal
 */
export class ProviderReconciler implements Reconciler {
  readonly apiVersion = NOTIFICATION_API_VERSION;
  readonly kind = 'Provider';

  constructor(
    private readonly deps: {
      objects: Pick<ObjectStore, 'list'>;
      events: Pick<EventStore, 'listByReason'>;
      credentials: NamedCredentials;
      settings: NotificationSettings;
    },
  ) {}

  async reconcile(object: StoredObject, now: Date): Promise<ReconcileResult> {
    const begun = beginReconcile<ProviderSpec>(object, now);
    if ('done' in begun) return this.withAlerts(object, begun.done);
    const { status } = begun.start;
    const { ready, stalled } = failures(begun.start, now, RECHECK_MS);
    const [last] = await this.deps.events.listByReason({
      objectIds: [object.id],
      reasons: [NOTIFICATION_SENT_REASON, NOTIFICATION_FAILED_REASON],
    });
    const next: ObjectStatus = last
      ? {
          ...status,
          lastDelivery: {
            time: last.time,
            result:
              last.reason === NOTIFICATION_SENT_REASON ? 'Sent' : 'Failed',
            message: last.message,
          },
        }
      : status;
    try {
      resolveProviderTarget(object, this.deps.credentials, this.deps.settings);
    } catch (error) {
      if (!(error instanceof ProviderRefusedError)) throw error;
      return this.withAlerts(
        object,
        stalled(error.reason, error.message, { status: next }),
      );
    }
    return this.withAlerts(
      object,
      ready(REASONS.Succeeded, INITIALIZED, RECHECK_MS, { status: next }),
    );
  }

  /** When the Provider's readiness changes, its Alerts (same entity) are reconciled now (see dependents.ts). */
  private async withAlerts(
    object: StoredObject,
    result: ReconcileResult,
  ): Promise<ReconcileResult> {
    const before = readyCondition(object.status);
    const after = readyCondition(result.status);
    if (before?.status === after?.status) return result;
    const alerts = await dependentsOf(object, this.deps.objects);
    return alerts.length > 0
      ? { ...result, dueNow: [...(result.dueNow ?? []), ...alerts] }
      : result;
  }
}

/**
 * An Alert: Ready once its `inclusionList`/`exclusionList` compile (Go syntax, linear engine) and
 * its Provider — in its namespace, declared by the same entity — exists and is Ready; otherwise
 * not Ready with Flux's message ("failed to get provider …", "provider … is not ready"), retried.
 * Only Ready Alerts receive events (see AlertDispatcher).
 * @internal
 */
export class AlertReconciler implements Reconciler {
  readonly apiVersion = NOTIFICATION_API_VERSION;
  readonly kind = 'Alert';

  constructor(private readonly deps: { objects: Pick<ObjectStore, 'get'> }) {}

  async reconcile(object: StoredObject, now: Date): Promise<ReconcileResult> {
    const begun = beginReconcile<AlertSpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec } = begun.start;
    const { ready, failed, stalled, waiting } = failures(
      begun.start,
      now,
      ALERT_RETRY_MS,
    );
    const invalid = invalidPattern(spec);
    if (invalid) return stalled(REASONS.InvalidConfig, invalid);
    const name = spec.providerRef.name;
    const provider = await this.deps.objects.get(
      objectId('Provider', object.namespace, name),
    );
    // A Provider another entity declares is as good as absent: its credentials are not this entity's.
    if (
      !provider ||
      provider.apiVersion !== NOTIFICATION_API_VERSION ||
      provider.entityRef !== object.entityRef
    ) {
      return failed(
        REASONS.Failed,
        `failed to get provider '${
          object.namespace
        }/${name}': providers.notification.toolkit.fluxcd.io "${name}" not found${
          provider
            ? ` among the objects of ${
                object.entityRef ?? 'the platform locations'
              }`
            : ''
        }`,
      );
    }
    // A Provider declared together with the Alert and not reconciled yet: no verdict (no
    // transient "not ready" Warning); the Provider's first reconcile makes this Alert due.
    const providerSuspended =
      provider.suspended ||
      !!(provider.manifest.spec as { suspend?: boolean } | undefined)?.suspend;
    if (!readyCondition(provider.status) && !providerSuspended) {
      return waiting(PROVIDER_PENDING_RETRY_MS);
    }
    if (readyCondition(provider.status)?.status !== 'True') {
      return failed(
        REASONS.Failed,
        `provider ${object.namespace}/${name} is not ready`,
      );
    }
    return ready(REASONS.Succeeded, INITIALIZED, RECHECK_MS);
  }
}
