import { truncateMessage } from '../util/truncateMessage';
import {
  Condition,
  CONDITION_TYPES,
  ObjectStatus,
  REASONS,
} from '@imageops/backstage-plugin-image-automation-common';

/** Flux's condition types and the reasons shared by every kind. @internal */
export const ConditionType = CONDITION_TYPES;

/**
 * Sets a condition, keeping `lastTransitionTime` when the status does not change (as
 * Kubernetes' `meta.SetStatusCondition` does).
 */
function setCondition(
  conditions: Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const previous = conditions.find(c => c.type === next.type);
  const condition: Condition = {
    ...next,
    // Messages carry text from registries, git, API servers and templates: bounded (issue #13).
    message: truncateMessage(next.message),
    lastTransitionTime:
      previous && previous.status === next.status
        ? previous.lastTransitionTime
        : now.toISOString(),
  };
  return [...conditions.filter(c => c.type !== next.type), condition].sort(
    (a, b) => conditionOrder(a.type) - conditionOrder(b.type),
  );
}

function conditionOrder(type: string): number {
  const index = ['Ready', 'Reconciling', 'Stalled'].indexOf(type);
  return index === -1 ? 3 : index;
}

function without(conditions: Condition[], ...types: string[]): Condition[] {
  return conditions.filter(c => !types.includes(c.type));
}

/** Ready=True with Flux's reason and message; Reconciling and Stalled removed. @internal */
export function markReady(
  status: ObjectStatus,
  reason: string,
  message: string,
  now: Date,
  generation: number,
): ObjectStatus {
  const conditions = without(
    status.conditions ?? [],
    ConditionType.Reconciling,
    ConditionType.Stalled,
  );
  return {
    ...status,
    observedGeneration: generation,
    conditions: setCondition(
      conditions,
      {
        type: ConditionType.Ready,
        status: 'True',
        reason,
        message,
        observedGeneration: generation,
      },
      now,
    ),
  };
}

/**
 * A failure that is retried with backoff: Ready=False, Reconciling=True/ProgressingWithRetry,
 * no Stalled. Reconciling carries `progressMessage` when given (the kinds whose controller keeps
 * the last progress message there, as image-reflector-controller does), else the failure's.
 * @internal
 */
export function markFailed(
  status: ObjectStatus,
  reason: string,
  message: string,
  now: Date,
  generation: number,
  progressMessage?: string,
): ObjectStatus {
  let conditions = without(status.conditions ?? [], ConditionType.Stalled);
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Ready,
      status: 'False',
      reason,
      message,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Reconciling,
      status: 'True',
      reason: REASONS.ProgressingWithRetry,
      message: progressMessage ?? message,
      observedGeneration: generation,
    },
    now,
  );
  return { ...status, conditions };
}

/**
 * A terminal failure that retrying cannot fix (a configuration error): Ready=False and
 * Stalled=True with the same reason and message; not retried until the object changes or a
 * reconcile is requested.
 * @internal
 */
export function markStalled(
  status: ObjectStatus,
  reason: string,
  message: string,
  now: Date,
  generation: number,
): ObjectStatus {
  let conditions = without(status.conditions ?? [], ConditionType.Reconciling);
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Ready,
      status: 'False',
      reason,
      message,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: ConditionType.Stalled,
      status: 'True',
      reason,
      message,
      observedGeneration: generation,
    },
    now,
  );
  return { ...status, observedGeneration: generation, conditions };
}

/** The Ready condition, if any. @internal */
export function readyCondition(status: ObjectStatus): Condition | undefined {
  return status.conditions?.find(c => c.type === 'Ready');
}
