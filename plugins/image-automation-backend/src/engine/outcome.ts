import {
  ObjectEvent,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { markFailed, markReady, markStalled } from './conditions';
import { ReconcileResult } from './Reconciler';

/** How long a suspended or stalled object waits before it is looked at again. @internal */
export const RECHECK_MS = 60 * 60 * 1000;

/**
 * How one reconcile ended, the model every reconciler shares:
 *
 * - `ready`: Ready=True with the reason and message; due again after `requeueAfterMs`.
 * - `retry`: a failure retried after `afterMs` (Ready=False, Reconciling=True/ProgressingWithRetry,
 *   which carries `progressMessage` when given, else the failure's message).
 * - `stalled`: a failure only a change fixes (Ready=False, Stalled=True); looked at again after
 *   {@link RECHECK_MS}.
 * - `waiting`: no condition changes (suspended, disabled, waiting for a schedule or a first scan);
 *   due again after `requeueAfterMs`.
 *
 * Each may carry the status the conditions are set on (else the reconcile's starting status),
 * events, the objects made due now and the Ready event's metadata.
 * @internal
 */
export type Outcome = (
  | { type: 'ready'; reason: string; message: string; requeueAfterMs: number }
  | {
      type: 'retry';
      reason: string;
      message: string;
      afterMs: number;
      progressMessage?: string;
    }
  | { type: 'stalled'; reason: string; message: string }
  | { type: 'waiting'; requeueAfterMs: number }
) &
  OutcomeExtras;

/** What any outcome may carry besides its conditions. @internal */
export interface OutcomeExtras {
  /** The status the conditions are set on; default: the reconcile's starting status. */
  status?: ObjectStatus;
  events?: Array<Pick<ObjectEvent, 'type' | 'reason' | 'message' | 'metadata'>>;
  /** Ids of objects due now because this one produced something new (see `dependents.ts`). */
  dueNow?: string[];
  readyEventMetadata?: Record<string, string>;
  /** The Ready transition event's type when not the usual one (see `ReconcileResult`). */
  readyEventType?: ObjectEvent['type'];
  /** The Ready transition event's message when it says more than the condition. */
  readyEventMessage?: string;
}

/** The object a reconcile started from: its status and the generation it observes. @internal */
export interface OutcomeSubject {
  status: ObjectStatus;
  generation: number;
}

/**
 * The one place an outcome becomes what the engine stores: the conditions (see conditions.ts),
 * when the object is due again, its events, the objects due now. Extras are copied only when
 * given (`dueNow: []` stays `[]`, an absent one stays absent).
 * @internal
 */
export function resultOf(
  subject: OutcomeSubject,
  outcome: Outcome,
  now: Date,
): ReconcileResult {
  const base = outcome.status ?? subject.status;
  const { generation } = subject;
  let result: ReconcileResult;
  switch (outcome.type) {
    case 'ready':
      result = {
        status: markReady(
          base,
          outcome.reason,
          outcome.message,
          now,
          generation,
        ),
        requeueAfterMs: outcome.requeueAfterMs,
      };
      break;
    case 'retry':
      result = {
        status: markFailed(
          base,
          outcome.reason,
          outcome.message,
          now,
          generation,
          outcome.progressMessage,
        ),
        requeueAfterMs: outcome.afterMs,
      };
      break;
    case 'stalled':
      result = {
        status: markStalled(
          base,
          outcome.reason,
          outcome.message,
          now,
          generation,
        ),
        requeueAfterMs: RECHECK_MS,
      };
      break;
    case 'waiting':
      result = { status: base, requeueAfterMs: outcome.requeueAfterMs };
      break;
    default:
      throw new Error(
        `unknown reconcile outcome ${JSON.stringify(
          (outcome as { type?: unknown }).type,
        )}`,
      );
  }
  if (outcome.events !== undefined) result.events = outcome.events;
  if (outcome.dueNow !== undefined) result.dueNow = outcome.dueNow;
  if (outcome.readyEventMetadata !== undefined)
    result.readyEventMetadata = outcome.readyEventMetadata;
  if (outcome.readyEventType !== undefined)
    result.readyEventType = outcome.readyEventType;
  if (outcome.readyEventMessage !== undefined)
    result.readyEventMessage = outcome.readyEventMessage;
  return result;
}

/**
 * The outcomes of one reconcile, bound to its subject and time: `retry` waits `defaultRetryMs`
 * unless told otherwise and, with `progress`, leaves what it returns on Reconciling; `base`
 * overrides the status the conditions are set on, `events` are attached to every result.
 * @internal
 */
export function outcomes(
  subject: OutcomeSubject,
  now: Date,
  options: {
    defaultRetryMs: number;
    progress?: () => string;
    base?: () => ObjectStatus;
    events?: OutcomeExtras['events'];
  },
) {
  const extras = (more?: OutcomeExtras): OutcomeExtras => ({
    ...(options.base ? { status: options.base() } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...more,
  });
  return {
    ready: (
      reason: string,
      message: string,
      requeueAfterMs: number,
      more?: OutcomeExtras,
    ): ReconcileResult =>
      resultOf(
        subject,
        { type: 'ready', reason, message, requeueAfterMs, ...extras(more) },
        now,
      ),
    failed: (
      reason: string,
      message: string,
      retryMs = options.defaultRetryMs,
      more?: OutcomeExtras,
    ): ReconcileResult =>
      resultOf(
        subject,
        {
          type: 'retry',
          reason,
          message,
          afterMs: retryMs,
          progressMessage: options.progress?.(),
          ...extras(more),
        },
        now,
      ),
    stalled: (
      reason: string,
      message: string,
      more?: OutcomeExtras,
    ): ReconcileResult =>
      resultOf(
        subject,
        { type: 'stalled', reason, message, ...extras(more) },
        now,
      ),
    waiting: (requeueAfterMs: number, more?: OutcomeExtras): ReconcileResult =>
      resultOf(
        subject,
        { type: 'waiting', requeueAfterMs, ...extras(more) },
        now,
      ),
  };
}

/** The functions {@link outcomes} returns. @internal */
export type Outcomes = ReturnType<typeof outcomes>;
