import {
  OBJECT_ANNOTATIONS,
  REASONS,
  formatFieldErrors,
  ObjectStatus,
  validateAutomationObject,
} from '@imageops/backstage-plugin-image-automation-common';
import { unsupportedFields } from '../objects/fluxCompatibility';
import { StoredObject } from '../store/ObjectStore';
import { formatGoDuration, parseGoDuration } from '../golib/time';
import { outcomes, RECHECK_MS, resultOf } from './outcome';
import { ReconcileResult } from './Reconciler';

export { RECHECK_MS };
/** The longest wait before a retried failure is retried. @internal */
export const MAX_RETRY_MS = 60 * 1000;

/** Flux's annotation for on-demand reconciles (`flux reconcile`). @internal */
export const REQUESTED_AT_ANNOTATION = OBJECT_ANNOTATIONS.requestedAt;

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
  const subject = { status, generation: object.generation };
  const stalled = (reason: string, message: string) =>
    resultOf(subject, { type: 'stalled', reason, message }, now);
  const errors = validateAutomationObject(object.manifest);
  if (errors.length > 0) {
    const message = formatFieldErrors(object.kind, object.name, errors);
    return { done: stalled(REASONS.InvalidManifest, message) };
  }
  const spec = object.manifest.spec as Spec & { suspend?: boolean };
  if (object.suspended || spec.suspend) {
    return {
      done: resultOf(
        subject,
        { type: 'waiting', requeueAfterMs: RECHECK_MS },
        now,
      ),
    };
  }
  // A field Flux implements and this plugin does not, whose absence would change what is trusted,
  // which credentials are used or where traffic goes: refused, never silently ignored (issue #14).
  const blocking = unsupportedFields(object.manifest).blocking;
  if (blocking) {
    return { done: stalled(blocking.reason, blocking.message) };
  }
  const tooShort = scheduleProblem(object);
  if (tooShort) {
    return { done: stalled(REASONS.IntervalTooShort, tooShort) };
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

const RECONCILE_EVERY = OBJECT_ANNOTATIONS.reconcileEvery;
const RECONCILE_TIMEOUT = OBJECT_ANNOTATIONS.reconcileTimeout;

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
 * The Flux Operator's Reconciling message while a ResourceSet or input provider reconciles; a
 * retried failure leaves it there (reason ProgressingWithRetry) rather than repeating Ready's.
 * @internal
 */
export const FLUX_OPERATOR_IN_PROGRESS = 'Reconciliation in progress';

/**
 * The {@link outcomes} of the reconcile that `start` describes: `failed` (retried after `retryMs`, or
 * the default given here), `stalled` (until the object changes), `ready` and `waiting`. With
 * `progress`, a retried failure's Reconciling condition carries what it returns (see `markFailed`).
 * @internal
 */
export function failures(
  start: ReconcileStart<unknown>,
  now: Date,
  defaultRetryMs: number,
  progress?: () => string,
) {
  return outcomes(start, now, { defaultRetryMs, progress });
}
