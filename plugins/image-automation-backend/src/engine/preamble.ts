import {
  formatFieldErrors,
  ObjectStatus,
  validateAutomationObject,
} from '@imageops/backstage-plugin-image-automation-common';
import { unsupportedFields } from '../objects/fluxCompatibility';
import { StoredObject } from '../store/ObjectStore';
import { formatGoDuration, parseGoDuration } from '../golib/time';
import { markFailed, markStalled } from './conditions';
import { ReconcileResult } from './Reconciler';

/** How long a suspended or stalled object waits before it is looked at again. @internal */
export const RECHECK_MS = 60 * 60 * 1000;
/** The longest wait before a retried failure is retried. @internal */
export const MAX_RETRY_MS = 60 * 1000;

/** Flux's annotation for on-demand reconciles (`flux reconcile`). @internal */
export const REQUESTED_AT_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';

/** The state every reconciler starts from. @internal */
export interface ReconcileStart<Spec> {
  spec: Spec;
  status: ObjectStatus;
  generation: number;
  /** The pending reconcile request, if one has not been handled yet. */
  pendingRequest?: string;
}

/**
 * What every kind does first, as the Flux controllers do: validate (an invalid object is
 * Stalled with a message naming the field), honour suspension (nothing but
 * `lastHandledReconcileAt` changes), refuse a field this plugin does not implement and must not
 * ignore (Stalled `FieldNotSupported`, see fluxCompatibility), and note a pending reconcile request.
 * @internal
 */
export function beginReconcile<Spec>(
  object: StoredObject,
  now: Date,
): { done: ReconcileResult } | { start: ReconcileStart<Spec> } {
  const requestedAt =
    object.reconcileRequestedAt ??
    object.manifest.metadata.annotations?.[REQUESTED_AT_ANNOTATION];
  const status: ObjectStatus = { ...object.status };
  const pendingRequest =
    requestedAt && requestedAt !== status.lastHandledReconcileAt
      ? requestedAt
      : undefined;
  if (requestedAt) {
    status.lastHandledReconcileAt = requestedAt;
  }
  const errors = validateAutomationObject(object.manifest);
  if (errors.length > 0) {
    const message = formatFieldErrors(object.kind, object.name, errors);
    return {
      done: {
        status: markStalled(
          status,
          'InvalidManifest',
          message,
          now,
          object.generation,
        ),
        requeueAfterMs: RECHECK_MS,
      },
    };
  }
  const spec = object.manifest.spec as Spec & { suspend?: boolean };
  if (object.suspended || spec.suspend) {
    return { done: { status, requeueAfterMs: RECHECK_MS } };
  }
  // A field Flux implements and this plugin does not, whose absence would change what is trusted,
  // which credentials are used or where traffic goes: refused, never silently ignored (issue #14).
  const blocking = unsupportedFields(object.manifest).blocking;
  if (blocking) {
    return {
      done: {
        status: markStalled(
          status,
          blocking.reason,
          blocking.message,
          now,
          object.generation,
        ),
        requeueAfterMs: RECHECK_MS,
      },
    };
  }
  const tooShort = scheduleProblem(object);
  if (tooShort) {
    return {
      done: {
        status: markStalled(
          status,
          'IntervalTooShort',
          tooShort,
          now,
          object.generation,
        ),
        requeueAfterMs: RECHECK_MS,
      },
    };
  }
  return {
    start: { spec, status, generation: object.generation, pendingRequest },
  };
}

/**
 * The shortest interval and timeout an object may ask for (issue #13: a catalog author could
 * otherwise make the backend scan a registry, fetch a repository or apply to a cluster at every
 * engine pass). Set from `imageAutomation.engine.minIntervalSeconds` / `minTimeoutSeconds`.
 * @internal
 */
export interface ScheduleLimits {
  minIntervalMs: number;
  minTimeoutMs: number;
}

/** Defaults: intervals of at least 1m (Flux's examples use 1m–1h), timeouts of at least 1s. @internal */
export const DEFAULT_SCHEDULE_LIMITS: ScheduleLimits = Object.freeze({
  minIntervalMs: 60_000,
  minTimeoutMs: 1_000,
});

let scheduleLimits: ScheduleLimits = DEFAULT_SCHEDULE_LIMITS;

/** Sets the limits every reconciler applies (plugin start, tests); returns a function restoring the previous ones. @internal */
export function setScheduleLimits(limits: Partial<ScheduleLimits>): () => void {
  const previous = scheduleLimits;
  scheduleLimits = { ...previous, ...limits };
  return () => {
    scheduleLimits = previous;
  };
}

const RECONCILE_EVERY = 'fluxcd.controlplane.io/reconcileEvery';
const RECONCILE_TIMEOUT = 'fluxcd.controlplane.io/reconcileTimeout';

/**
 * Why an object's interval or timeout is refused, naming the field and the minimum; undefined
 * when it is fine. Unparsable values are left to the kind's own validation.
 * @internal
 */
export function scheduleProblem(
  object: StoredObject,
  limits: ScheduleLimits = scheduleLimits,
): string | undefined {
  const spec = (object.manifest.spec ?? {}) as Record<string, unknown>;
  const annotations = object.manifest.metadata.annotations ?? {};
  const checks: Array<[string, unknown, 'interval' | 'timeout']> = [
    ['spec.interval', spec.interval, 'interval'],
    ['spec.timeout', spec.timeout, 'timeout'],
    [
      `metadata.annotations[${RECONCILE_EVERY}]`,
      annotations[RECONCILE_EVERY],
      'interval',
    ],
    [
      `metadata.annotations[${RECONCILE_TIMEOUT}]`,
      annotations[RECONCILE_TIMEOUT],
      'timeout',
    ],
  ];
  if (Array.isArray(spec.steps)) {
    spec.steps.forEach((step: any, i: number) =>
      checks.push([`spec.steps[${i}].timeout`, step?.timeout, 'timeout']),
    );
  }
  for (const [field, value, what] of checks) {
    if (typeof value !== 'string') continue;
    let ms: number;
    try {
      ms = parseGoDuration(value);
    } catch {
      continue;
    }
    const min =
      what === 'interval' ? limits.minIntervalMs : limits.minTimeoutMs;
    if (ms < min) {
      const key =
        what === 'interval' ? 'minIntervalSeconds' : 'minTimeoutSeconds';
      return `${field} ${JSON.stringify(
        value,
      )} is shorter than the minimum ${what} of ${formatGoDuration(
        min,
      )} (imageAutomation.engine.${key})`;
    }
  }
  return undefined;
}

/** The wait before retrying a failure: at most a minute, never longer than the interval. @internal */
export function retryAfter(intervalMs: number): number {
  return Math.max(1000, Math.min(intervalMs, MAX_RETRY_MS));
}

/**
 * The progress message image-reflector-controller sets on Reconciling when a reconcile starts
 * (`processing object: new generation <observed> -> <generation>` for a changed object, else
 * `reconciliation in progress`); a failure leaves it there, with reason ProgressingWithRetry.
 * @internal
 */
export function fluxProgressMessage(start: ReconcileStart<unknown>): string {
  const observed = start.status.observedGeneration ?? -1;
  return observed !== start.generation
    ? `processing object: new generation ${observed} -> ${start.generation}`
    : 'reconciliation in progress';
}

/**
 * The two ways a reconcile of the object that `start` describes can fail: retried after
 * `retryMs` (or the default given here), or Stalled until the object changes. With `progress`,
 * a retried failure's Reconciling condition carries what it returns (see `markFailed`).
 * @internal
 */
export function failures(
  start: ReconcileStart<unknown>,
  now: Date,
  defaultRetryMs: number,
  progress?: () => string,
) {
  return {
    failed: (
      reason: string,
      message: string,
      retryMs = defaultRetryMs,
    ): ReconcileResult => ({
      status: markFailed(
        start.status,
        reason,
        message,
        now,
        start.generation,
        progress?.(),
      ),
      requeueAfterMs: retryMs,
    }),
    stalled: (reason: string, message: string): ReconcileResult => ({
      status: markStalled(start.status, reason, message, now, start.generation),
      requeueAfterMs: RECHECK_MS,
    }),
  };
}
