import { randomUUID } from 'node:crypto';
import { LoggerService } from '@backstage/backend-plugin-api';
import {
  isSupportedKind,
  REASONS,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ImageAutomationMetrics,
  ReconcileResultClass,
} from '../metrics/metrics';
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
import { formatGoDuration } from '../golib/time';
import { resultOf } from './outcome';
import { beginReconcile, MAX_RETRY_MS } from './preamble';
import {
  ReconcileAborted,
  ReconcileContext,
  ReconcileResult,
  Reconciler,
} from './Reconciler';

/** The timeout of a reconcile whose kind names none. */
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** How long past its timeout a reconcile may run before the engine aborts it. */
const DEADLINE_GRACE_MS = 60_000;
/** The Ready reason of a reconcile the engine aborted at its deadline. @internal */
export const RECONCILE_TIMEOUT_REASON = REASONS.ReconcileTimeout;
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
  /** The timeout of a reconcile whose reconciler names none (default five minutes). */
  defaultTimeoutMs?: number;
  /** How long past its timeout a reconcile may run before it is aborted (default one minute). */
  deadlineGraceMs?: number;
}

/** How an object's reconcile ended, from the status stored and the object's suspension. */
function resultClass(
  object: StoredObject,
  result: ReconcileResult,
): { result: ReconcileResultClass; reason?: string } {
  if (object.suspended) return { result: 'suspended' };
  const conditions = result.status.conditions ?? [];
  const stalled = conditions.find(
    c => c.type === 'Stalled' && c.status === 'True',
  );
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
      this.byKind.set(
        `${reconciler.apiVersion}/${reconciler.kind}`,
        reconciler,
      );
    }
  }

  /**
   * Runs one pass; returns how many objects it reconciled. A worker claims an object only when it
   * starts it, so no claimed object waits while its lease runs down. Once `signal` aborts (the
   * scheduler's timeout, or shutdown) nothing more is claimed and running reconciles are stopped,
   * their leases released.
   */
  async runPass(
    now: () => Date = () => new Date(),
    signal?: AbortSignal,
  ): Promise<number> {
    const { objects, logger, batchSize } = this.options;
    const started = Date.now();
    const claim = (limit: number) =>
      signal?.aborted
        ? Promise.resolve([])
        : objects.claimDue({
            owner: this.instanceId,
            now: now(),
            limit,
            leaseMs: this.options.leaseMs,
          });
    const workers = Math.min(
      Math.max(1, this.options.concurrency ?? 4),
      batchSize,
    );
    const first = await claim(workers);
    let claimed = first.length;
    // Fewer due than workers: nothing else is due now (what this pass makes due, the next one runs).
    let drained = first.length < workers;
    const work = async (start: StoredObject | undefined) => {
      let object = start;
      while (object) {
        const current = object;
        await this.reconcileOne(current, now(), signal).catch(error =>
          // The database went away while the outcome was stored: the object runs again when its
          // lease runs out; this worker goes on.
          logger.error(
            `Could not store the reconcile of ${current.id}: ${error}`,
          ),
        );
        object = undefined;
        if (drained || claimed >= batchSize || signal?.aborted) return;
        claimed++;
        try {
          [object] = await claim(1);
        } catch (error) {
          logger.warn(`Could not claim due automation objects: ${error}`);
        }
        if (!object) {
          claimed--;
          drained = true;
        }
      }
    };
    await Promise.all(first.map(work));
    if (claimed > 0) {
      logger.debug(`Reconciled ${claimed} automation objects`);
    }
    this.options.metrics?.passCompleted(Date.now() - started);
    this.lastPass = new Date();
    this.progressed();
    return claimed;
  }

  /**
   * Runs one object's reconcile under its lease. The lease is renewed every third of its length;
   * the run is aborted (see {@link ReconcileContext.signal}) when a renewal finds it taken, when no
   * renewal succeeded by a sixth of its length before it runs out (so a replica whose clock runs
   * that much ahead still cannot claim it while this one writes), at the reconcile's deadline, or
   * when the pass is stopped. An aborted run stores nothing: after a lost lease the object is due
   * when the lease runs out; after a stop it is released to run again at once; after the deadline
   * it is Ready=False with reason ReconcileTimeout.
   */
  private async reconcileOne(
    object: StoredObject,
    now: Date,
    passSignal?: AbortSignal,
  ) {
    const { objects, logger } = this.options;
    const started = Date.now();
    const guard = await this.guard(object, now, passSignal);
    let result: ReconcileResult | undefined;
    try {
      result = await this.runReconciler(object, now, guard.signal);
    } finally {
      guard.release();
    }
    const aborted = guard.signal.aborted
      ? (guard.signal.reason as ReconcileAborted)
      : undefined;
    if (aborted?.why === 'lease') {
      // Whatever it produced is dropped: another instance may be running the object already.
      logger.warn(
        `Stopped reconciling ${object.id}: ${aborted.message}; nothing of this run was stored`,
      );
      this.options.metrics?.leaseLost(object.kind);
      return;
    }
    if (aborted?.why === 'shutdown') {
      await objects
        .releaseLease(object.id, this.instanceId, new Date())
        .catch(() => false);
      logger.info(
        `Stopped reconciling ${object.id} (the engine is stopping); it is due again at once`,
      );
      return;
    }
    // No result: the deadline passed and the reconcile gave up.
    await this.store(
      object,
      now,
      result ??
        resultOf(
          object,
          {
            type: 'retry',
            reason: RECONCILE_TIMEOUT_REASON,
            message: aborted!.message,
            afterMs: MAX_RETRY_MS,
          },
          now,
        ),
      started,
    );
  }

  /**
   * The signal a run acts under: aborted when the lease is taken or not renewed in time (it is
   * renewed every third of its length), at the deadline (the reconciler's timeout plus grace), or
   * when the pass stops. `release` ends the renewal and the timers.
   */
  private async guard(
    object: StoredObject,
    now: Date,
    passSignal?: AbortSignal,
  ): Promise<{ signal: AbortSignal; release: () => void }> {
    const { objects, logger, leaseMs } = this.options;
    const control = new AbortController();
    const abort = (why: ReconcileAborted['why'], message: string) => {
      if (!control.signal.aborted)
        control.abort(new ReconcileAborted(why, message));
    };
    const margin = leaseMs / 6;
    let expiry: NodeJS.Timeout | undefined;
    const holdUntil = (until: number) => {
      clearTimeout(expiry);
      expiry = setTimeout(
        () =>
          abort(
            'lease',
            `the lease on ${object.id} was not renewed in time (is the database reachable?)`,
          ),
        Math.max(0, until - margin - Date.now()),
      );
    };
    holdUntil(now.getTime() + leaseMs);
    const renewal = setInterval(() => {
      const until = Date.now() + leaseMs;
      objects
        .renewLease(object.id, this.instanceId, new Date(until))
        .then(renewed => {
          if (control.signal.aborted) return;
          if (renewed) {
            holdUntil(until);
            this.progressed();
          } else
            abort(
              'lease',
              `the lease on ${object.id} was taken by another instance`,
            );
        })
        .catch(error =>
          logger.warn(`Could not renew the lease on ${object.id}: ${error}`),
        );
    }, Math.max(250, leaseMs / 3));
    const reconciler = this.byKind.get(`${object.apiVersion}/${object.kind}`);
    const timeoutMs =
      (await Promise.resolve(reconciler?.timeoutMs?.(object)).catch(
        () => undefined,
      )) ??
      this.options.defaultTimeoutMs ??
      DEFAULT_TIMEOUT_MS;
    const graceMs = this.options.deadlineGraceMs ?? DEADLINE_GRACE_MS;
    const deadline = setTimeout(
      () =>
        abort(
          'deadline',
          `reconcile aborted after ${formatGoDuration(
            timeoutMs + graceMs,
          )}: its timeout is ${formatGoDuration(
            timeoutMs,
          )}, and ${formatGoDuration(graceMs)} more passed`,
        ),
      timeoutMs + graceMs,
    );
    const stop = () =>
      abort(
        'shutdown',
        `the reconcile of ${object.id} was stopped: the engine is stopping`,
      );
    passSignal?.addEventListener('abort', stop);
    if (passSignal?.aborted) stop();
    return {
      signal: control.signal,
      release: () => {
        clearInterval(renewal);
        clearTimeout(expiry);
        clearTimeout(deadline);
        passSignal?.removeEventListener('abort', stop);
      },
    };
  }

  /**
   * The reconciler's result with the notes for older manifests; a throw is Stalled `InternalError`
   * (a bug or an unexpected failure in one object never stops the others), unless the run was
   * aborted: then undefined.
   */
  private async runReconciler(
    object: StoredObject,
    now: Date,
    signal: AbortSignal,
  ): Promise<ReconcileResult | undefined> {
    try {
      return compatibilityNotes(
        object,
        await this.reconcileKind(object, now, { signal }),
        now,
      );
    } catch (error) {
      if (signal.aborted) return undefined;
      this.options.logger.error(
        `Reconciling ${object.id} failed unexpectedly`,
        error as Error,
      );
      return {
        ...resultOf(
          object,
          {
            type: 'stalled',
            reason: REASONS.InternalError,
            message: `reconcile failed: ${(error as Error).message}`,
          },
          now,
        ),
        requeueAfterMs: 60_000,
      };
    }
  }

  /**
   * Stores the result under the lease (dropped when the lease was lost meanwhile), then tells
   * metrics, the frontend and the owners, records the events and makes the dependents due.
   */
  private async store(
    object: StoredObject,
    now: Date,
    result: ReconcileResult,
    started: number,
  ) {
    const { objects, logger } = this.options;
    const stored = await objects.completeRun(object.id, this.instanceId, {
      status: result.status,
      nextRunAt: new Date(now.getTime() + result.requeueAfterMs),
      ranAt: now,
    });
    this.progressed();
    if (!stored) {
      logger.warn(
        `Lost the lease on ${object.id} while reconciling it; its result was discarded`,
      );
      this.options.metrics?.leaseLost(object.kind);
      return;
    }
    const outcome = resultClass(object, result);
    this.options.metrics?.reconciled(
      object.kind,
      outcome.result,
      Date.now() - started,
      outcome.reason,
    );
    this.options.notifier?.changed('objects', object.entityRef);
    this.options.owners?.objectChanged(object, object.status, result.status);
    if (this.options.events) {
      for (const e of eventsOf(object, result)) {
        await this.options.events.record({
          objectId: object.id,
          time: now.toISOString(),
          ...e,
        });
      }
    }
    if (result.dueNow?.length) {
      await objects.markDue(result.dueNow, new Date());
    }
  }

  private async reconcileKind(
    object: StoredObject,
    now: Date,
    context: ReconcileContext,
  ): Promise<ReconcileResult> {
    if (object.kind === MANIFEST_ERROR_KIND) {
      const message =
        object.manifest.metadata.annotations?.[MANIFEST_ERROR_ANNOTATION] ??
        'invalid manifest';
      const reason =
        object.manifest.metadata.annotations?.[
          MANIFEST_ERROR_REASON_ANNOTATION
        ] ?? REASONS.InvalidManifest;
      return resultOf(object, { type: 'stalled', reason, message }, now);
    }
    // Fail closed: an entity's object outside the namespaces granted to the entity (at the last
    // manifest sync) does nothing, whatever its kind (issue #13).
    if (
      object.source.type === 'catalog' &&
      !namespaceGranted(object.grantedNamespaces, object.namespace)
    ) {
      return resultOf(
        object,
        {
          type: 'stalled',
          reason: REASONS.NamespaceNotGranted,
          message: `namespace '${object.namespace}' is not granted to ${
            object.entityRef ?? 'this object'
          } (imageAutomation.tenancy.namespaces)`,
        },
        now,
      );
    }
    const reconciler = this.byKind.get(`${object.apiVersion}/${object.kind}`);
    if (!reconciler) {
      // A kind this plugin reconciles, in an apiVersion Flux no longer serves: say what to change.
      const unsupported = unsupportedApiVersionMessage(object.manifest);
      if (unsupported) {
        return resultOf(
          object,
          {
            type: 'stalled',
            reason: UNSUPPORTED_API_VERSION_REASON,
            message: unsupported,
          },
          now,
        );
      }
      const begun = beginReconcile(object, now);
      if ('done' in begun) return begun.done;
      return resultOf(
        begun.start,
        {
          type: 'stalled',
          reason: REASONS.KindNotSupported,
          message: `${object.kind} (${object.apiVersion}) is not reconciled by this version of the image-automation plugin`,
        },
        now,
      );
    }
    return reconciler.reconcile(object, now, context);
  }
}

/**
 * The events a stored result records: the reconciler's own, then the Ready transition's (with the
 * type, message and, when Normal, the metadata the reconciler asked for).
 */
function eventsOf(
  object: StoredObject,
  result: ReconcileResult,
): NonNullable<ReconcileResult['events']> {
  const transition = readyEvent(object.status, result.status);
  const ready = transition && {
    ...transition,
    type: result.readyEventType ?? transition.type,
    message: result.readyEventMessage ?? transition.message,
  };
  const event =
    ready && ready.type === 'Normal' && result.readyEventMetadata
      ? { ...ready, metadata: result.readyEventMetadata }
      : ready;
  return [...(result.events ?? []), ...(event ? [event] : [])];
}

/**
 * What an object written for an older or fuller Flux gets besides its reconcile (issue #14): the
 * non-blocking `FieldsIgnored` condition while it sets fields without effect here, and, on the
 * first run that observes a generation, a Warning event for a converted apiVersion and one for
 * those fields.
 */
function compatibilityNotes(
  object: StoredObject,
  result: ReconcileResult,
  now: Date,
): ReconcileResult {
  if (!isSupportedKind(object.apiVersion, object.kind)) return result;
  const { ignored } = unsupportedFields(object.manifest);
  const message =
    ignored.length > 0 ? ignoredFieldsMessage(ignored) : undefined;
  const others = (result.status.conditions ?? []).filter(
    c => c.type !== FIELDS_IGNORED_CONDITION,
  );
  const previous = (result.status.conditions ?? []).find(
    c => c.type === FIELDS_IGNORED_CONDITION,
  );
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
          lastTransitionTime:
            previous?.status === 'True'
              ? previous.lastTransitionTime
              : now.toISOString(),
        },
      ]
    : others;
  const status =
    previous || message ? { ...result.status, conditions } : result.status;
  const events = [...(result.events ?? [])];
  const firstObservation =
    object.status.observedGeneration !== object.generation &&
    result.status.observedGeneration === object.generation;
  if (firstObservation) {
    const converted = conversionMessage(object.manifest);
    if (converted)
      events.push({
        type: 'Warning',
        reason: CONVERTED_REASON,
        message: converted,
      });
    if (message)
      events.push({ type: 'Warning', reason: FIELDS_IGNORED_REASON, message });
  }
  return { ...result, status, ...(events.length > 0 ? { events } : {}) };
}
