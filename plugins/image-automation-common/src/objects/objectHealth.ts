import { Condition, ObjectStatus } from './status';

/** The readiness of an automation object, as a word a person can read. @public */
export type ObjectReadiness =
  | 'Ready'
  | 'Not ready'
  | 'Stalled'
  | 'Reconciling'
  | 'Unknown';

/** What an object's conditions say about it. @public */
export interface ObjectHealth {
  readiness: ObjectReadiness;
  /** True while a reconcile is in progress, also when it is retrying after a failure. */
  reconciling: boolean;
  /** Reason and message of the condition that decided {@link ObjectHealth.readiness}. */
  reason?: string;
  message?: string;
}

/**
 * Reads Flux's kstatus conditions: `Stalled=True` is a terminal failure and wins; otherwise
 * `Ready` decides, and `Reconciling=True` only speaks for itself while `Ready` is not yet known
 * (a failing object that retries has both `Ready=False` and `Reconciling=True`).
 * @public
 */
export function objectHealth(status: ObjectStatus): ObjectHealth {
  const conditions = status.conditions ?? [];
  const find = (type: string) => conditions.find(c => c.type === type);
  const ready = find('Ready');
  const stalled = find('Stalled');
  const reconcilingCondition = find('Reconciling');
  const reconciling = reconcilingCondition?.status === 'True';

  if (stalled?.status === 'True') {
    return { readiness: 'Stalled', reconciling, ...explain(stalled) };
  }
  if (ready?.status === 'True') {
    return { readiness: 'Ready', reconciling, ...explain(ready) };
  }
  if (ready?.status === 'False') {
    return { readiness: 'Not ready', reconciling, ...explain(ready) };
  }
  if (reconcilingCondition && reconciling) {
    return {
      readiness: 'Reconciling',
      reconciling,
      ...explain(reconcilingCondition),
    };
  }
  if (ready) {
    return { readiness: 'Unknown', reconciling, ...explain(ready) };
  }
  return { readiness: 'Unknown', reconciling };
}

function explain(condition: Condition): { reason?: string; message?: string } {
  return {
    reason: condition.reason || undefined,
    message: condition.message || undefined,
  };
}

/** An object's state in one word, as the tab and the fleet page show it. @public */
export type ObjectStateLabel =
  | 'Ready'
  | 'Stalled'
  | 'Failing'
  | 'Reconciling'
  | 'Suspended'
  | 'Unknown';

/**
 * The state of an automation object and the condition that decided it: Stalled wins (only a
 * manifest change fixes it, suspended or not), then Suspended (its conditions are frozen), then
 * what the kstatus conditions say, `Ready=False` being "Failing".
 * @public
 */
export function objectStateLabel(
  status: ObjectStatus,
  suspended: boolean,
): { label: ObjectStateLabel; condition?: Condition } {
  const health = objectHealth(status);
  const find = (type: string) =>
    (status.conditions ?? []).find(c => c.type === type);
  if (health.readiness === 'Stalled')
    return { label: 'Stalled', condition: find('Stalled') };
  if (suspended) return { label: 'Suspended', condition: find('Ready') };
  if (health.readiness === 'Not ready')
    return { label: 'Failing', condition: find('Ready') };
  if (health.readiness === 'Reconciling')
    return { label: 'Reconciling', condition: find('Reconciling') };
  return { label: health.readiness, condition: find('Ready') };
}
