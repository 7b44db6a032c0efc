import { randomUUID } from 'node:crypto';
import { LoggerService } from '@backstage/backend-plugin-api';
import { isSupportedKind } from '@imageops/backstage-plugin-image-automation-common';
import { ImageAutomationMetrics, ReconcileResultClass } from '../metrics/metrics';
import { ChangeNotifier } from '../service/ChangeNotifier';
import { OwnerNotifications } from '../notifications/OwnerNotifications';
import { EventStore } from '../store/EventStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import {
  MANIFEST_ERROR_ANNOTATION,
  MANIFEST_ERROR_KIND,
  MANIFEST_ERROR_REASON_ANNOTATION,
} from '../objects/parseManifests';
import { namespaceGranted } from '../objects/tenancy';
import {
  conversionMessage,
  CONVERTED_REASON,
  FIELDS_IGNORED_CONDITION,
  FIELDS_IGNORED_REASON,
  ignoredFieldsMessage,
  UNSUPPORTED_API_VERSION_REASON,
  unsupportedApiVersionMessage,
  unsupportedFields,
} from '../objects/fluxCompatibility';
import { markStalled } from './conditions';
import { beginReconcile, RECHECK_MS } from './preamble';
import { ReconcileResult, Reconciler } from './Reconciler';
import { readyEvent } from './readyEvent';

/** Settings of the reconcile loop. @internal */
export interface EngineOptions {
  objects: ObjectStore;
  /** Where Normal and Warning events go; none are kept without it. */
  events?: EventStore;
  reconcilers: Reconciler[];
  logger: LoggerService;
  /** How many objects one pass takes at most. */
  batchSize: number;
  /** How long a lease lasts; a reconcile that takes longer may be run again elsewhere. */
  leaseMs: number;
  /** Identifies this instance in leases. */
  instanceId?: string;
  /** How many objects of one pass run at the same time. */
  concurrency?: number;
  /** Told of every run stored (the object's status and schedule changed). */
  notifier?: ChangeNotifier;
  /** Tells the entity's owners when an object becomes Stalled or recovers (issue #15). */
  owners?: Pick<OwnerNotifications, 'objectChanged'>;
  /** Counts reconciles, lease losses and pass durations (docs/operations.md). */
  metrics?: ImageAutomationMetrics;
}

/** How an object's reconcile ended, from the status stored and the object's suspension. */
function resultClass(object: StoredObject, result: ReconcileResult): { result: ReconcileResultClass; reason?: string } {
  if (object.suspended) return { result: 'suspended' };
  const conditions = result.status.conditions ?? [];
  const stalled = conditions.find(c => c.type === 'Stalled' && c.status === 'True');
  if (stalled) return { result: 'stalled', reason: stalled.reason };
  const ready = conditions.find(c => c.type === 'Ready');
  if (ready?.status === 'True') return { result: 'ready' };
  return { result: 'failed', reason: ready?.reason };
}

/**
 * The reconcile loop: each pass leases the objects that are due, runs the reconciler of each
 * object's kind, stores the outcome and makes dependents due now. Several instances sharing
 * one database never run the same object at the same time (see ObjectStore.claimDue).
 * @internal
 */
export class Engine {
  readonly instanceId: string;
  private readonly byKind = new Map<string, Reconciler>();
  private lastPass?: Date;
  private lastProgress = new Date();

  /**
   * When the last pass completed (undefined before the first), and when the engine last showed
   * progress: a pass or a reconcile completed, or a lease renewed during a long reconcile (or
   * the engine was created). The readiness check reads them.
   */
  activity(): { lastPassAt?: Date; lastProgressAt: Date } {
    return { lastPassAt: this.lastPass, lastProgressAt: this.lastProgress };
  }

  private progressed() {
    this.lastProgress = new Date();
  }

  constructor(private readonly options: EngineOptions) {
    this.instanceId = options.instanceId ?? `image-automation-${randomUUID()}`;
    for (const reconciler of options.reconcilers) {
      this.byKind.set(`${reconciler.apiVersion}/${reconciler.kind}`, reconciler);
    }
  }

  /** Runs one pass; returns how many objects it reconciled. */
  async runPass(now: () => Date = () => new Date()): Promise<number> {
    const { objects, logger } = this.options;
    const started = Date.now();
    const claimed = await objects.claimDue({
      owner: this.instanceId,
      now: now(),
      limit: this.options.batchSize,
      leaseMs: this.options.leaseMs,
    });
    const queue = [...claimed];
    const workers = Array.from({ length: Math.min(this.options.concurrency ?? 4, queue.length) }, async () => {
      for (let object = queue.shift(); object; object = queue.shift()) {
        await this.reconcileOne(object, now());
      }
    });
    await Promise.all(workers);
    if (claimed.length > 0) {
      logger.debug(`Reconciled ${claimed.length} automation objects`);
    }
    this.options.metrics?.passCompleted(Date.now() - started);
    this.lastPass = new Date();
    this.progressed();
    return claimed.length;
  }

  private async reconcileOne(object: StoredObject, now: Date) {
    const { objects, logger } = this.options;
    let result: ReconcileResult;
    const started = Date.now();
    let renewalLost = false;
    // A reconcile may outlast the lease (ResourceSet health checks wait minutes): keep renewing it.
    const renewal = setInterval(() => {
      objects
        .renewLease(object.id, this.instanceId, new Date(Date.now() + this.options.leaseMs))
        .then(renewed => {
          if (renewed) this.progressed();
          else renewalLost = true;
        })
        .catch(error => logger.warn(`Could not renew the lease on ${object.id}: ${error}`));
    }, Math.max(1000, this.options.leaseMs / 3));
    try {
      result = compatibilityNotes(object, await this.reconcileKind(object, now), now);
    } catch (error) {
      // A bug or an unexpected failure in one object never stops the others.
      logger.error(`Reconciling ${object.id} failed unexpectedly`, error as Error);
      result = {
        status: markStalled(object.status, 'InternalError', `reconcile failed: ${(error as Error).message}`, now, object.generation),
        requeueAfterMs: 60_000,
      };
    } finally {
      clearInterval(renewal);
    }
    const stored = await objects.completeRun(object.id, this.instanceId, {
      status: result.status,
      nextRunAt: new Date(now.getTime() + result.requeueAfterMs),
      ranAt: now,
    });
    this.progressed();
    if (!stored) {
      logger.warn(`Lost the lease on ${object.id} while reconciling it; its result was discarded`);
      this.options.metrics?.leaseLost(object.kind);
      return;
    }
    if (renewalLost) {
      // Renewed again later, or stored because nobody else claimed it meanwhile: still a lost lease.
      this.options.metrics?.leaseLost(object.kind);
    }
    const outcome = resultClass(object, result);
    this.options.metrics?.reconciled(object.kind, outcome.result, Date.now() - started, outcome.reason);
    this.options.notifier?.changed('objects', object.entityRef);
    this.options.owners?.objectChanged(object, object.status, result.status);
    const event = readyEvent(object.status, result.status);
    if (this.options.events) {
      for (const e of [...(result.events ?? []), ...(event ? [event] : [])]) {
        await this.options.events.record({ objectId: object.id, time: now.toISOString(), ...e });
      }
    }
    if (result.dueNow?.length) {
      await objects.markDue(result.dueNow, new Date());
    }
  }

  private async reconcileKind(object: StoredObject, now: Date): Promise<ReconcileResult> {
    if (object.kind === MANIFEST_ERROR_KIND) {
      const message = object.manifest.metadata.annotations?.[MANIFEST_ERROR_ANNOTATION] ?? 'invalid manifest';
      const reason = object.manifest.metadata.annotations?.[MANIFEST_ERROR_REASON_ANNOTATION] ?? 'InvalidManifest';
      return { status: markStalled(object.status, reason, message, now, object.generation), requeueAfterMs: RECHECK_MS };
    }
    // Fail closed: an entity's object outside the namespaces granted to the entity (at the last
    // manifest sync) does nothing, whatever its kind (issue #13).
    if (object.source.type === 'catalog' && !namespaceGranted(object.grantedNamespaces, object.namespace)) {
      return {
        status: markStalled(
          object.status,
          'NamespaceNotGranted',
          `namespace '${object.namespace}' is not granted to ${object.entityRef ?? 'this object'} (imageAutomation.tenancy.namespaces)`,
          now,
          object.generation,
        ),
        requeueAfterMs: RECHECK_MS,
      };
    }
    const reconciler = this.byKind.get(`${object.apiVersion}/${object.kind}`);
    if (!reconciler) {
      // A kind this plugin reconciles, in an apiVersion Flux no longer serves: say what to change.
      const unsupported = unsupportedApiVersionMessage(object.manifest);
      if (unsupported) {
        return {
          status: markStalled(object.status, UNSUPPORTED_API_VERSION_REASON, unsupported, now, object.generation),
          requeueAfterMs: RECHECK_MS,
        };
      }
      const begun = beginReconcile(object, now);
      if ('done' in begun) return begun.done;
      return {
        status: markStalled(
          begun.start.status,
          'KindNotSupported',
          `${object.kind} (${object.apiVersion}) is not reconciled by this version of the image-automation plugin`,
          now,
          object.generation,
        ),
        requeueAfterMs: RECHECK_MS,
      };
    }
    return reconciler.reconcile(object, now);
  }
}

/**
 * What an object written for an older or fuller Flux gets besides its reconcile (issue #14): the
 * non-blocking `FieldsIgnored` condition while it sets fields without effect here, and, on the
 * first run that observes a generation, a Warning event for a converted apiVersion and one for
 * those fields.
 */
function compatibilityNotes(object: StoredObject, result: ReconcileResult, now: Date): ReconcileResult {
  if (!isSupportedKind(object.apiVersion, object.kind)) return result;
  const { ignored } = unsupportedFields(object.manifest);
  const message = ignored.length > 0 ? ignoredFieldsMessage(ignored) : undefined;
  const others = (result.status.conditions ?? []).filter(c => c.type !== FIELDS_IGNORED_CONDITION);
  const previous = (result.status.conditions ?? []).find(c => c.type === FIELDS_IGNORED_CONDITION);
  const conditions = message
    ? [
        ...others,
        {
          type: FIELDS_IGNORED_CONDITION,
          status: 'True' as const,
          reason: FIELDS_IGNORED_REASON,
          message,
          observedGeneration: object.generation,
          // As meta.SetStatusCondition: the time changes only when the status does.
          lastTransitionTime: previous?.status === 'True' ? previous.lastTransitionTime : now.toISOString(),
        },
      ]
    : others;
  const status = previous || message ? { ...result.status, conditions } : result.status;
  const events = [...(result.events ?? [])];
  const firstObservation =
    object.status.observedGeneration !== object.generation && result.status.observedGeneration === object.generation;
  if (firstObservation) {
    const converted = conversionMessage(object.manifest);
    if (converted) events.push({ type: 'Warning', reason: CONVERTED_REASON, message: converted });
    if (message) events.push({ type: 'Warning', reason: FIELDS_IGNORED_REASON, message });
  }
  return { ...result, status, ...(events.length > 0 ? { events } : {}) };
}
