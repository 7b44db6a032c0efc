import {
  AutomationObjectView,
  Condition,
} from '@imageops/backstage-plugin-image-automation-common';
import { objectHealth } from '../objectHealth';

/** What the objects table calls an object's state. @internal */
export type ObjectStateLabel =
  | 'Ready'
  | 'Stalled'
  | 'Failing'
  | 'Reconciling'
  | 'Suspended'
  | 'Unknown';

/** An object's state in a word, with the colour and glyph shown beside it (never instead of it). @internal */
export interface ObjectState {
  label: ObjectStateLabel;
  color: 'success' | 'danger' | 'warning' | 'info' | 'secondary';
  /** A glyph for sighted users; hidden from screen readers, the label says it all. */
  glyph: string;
  /** True while a reconcile runs, also when it retries after a failure. */
  reconciling: boolean;
  /** The condition that decided the state, if any. */
  condition?: Condition;
}

const looks: Record<ObjectStateLabel, Pick<ObjectState, 'color' | 'glyph'>> = {
  Ready: { color: 'success', glyph: '✓' },
  Stalled: { color: 'danger', glyph: '✕' },
  Failing: { color: 'danger', glyph: '!' },
  Reconciling: { color: 'info', glyph: '↻' },
  Suspended: { color: 'warning', glyph: '⏸' },
  Unknown: { color: 'secondary', glyph: '?' },
};

/**
 * The state of an automation object: Stalled wins (it needs a manifest change, suspended or not),
 * then Suspended (its conditions are frozen), then what the kstatus conditions say, Ready=False
 * being "Failing".
 * @internal
 */
export function objectState(object: AutomationObjectView): ObjectState {
  const health = objectHealth(object.status);
  const conditions = object.status.conditions ?? [];
  const find = (type: string) => conditions.find(c => c.type === type);
  let label: ObjectStateLabel;
  let condition: Condition | undefined;
  if (health.readiness === 'Stalled') {
    label = 'Stalled';
    condition = find('Stalled');
  } else if (object.suspended) {
    label = 'Suspended';
    condition = find('Ready');
  } else if (health.readiness === 'Not ready') {
    label = 'Failing';
    condition = find('Ready');
  } else if (health.readiness === 'Reconciling') {
    label = 'Reconciling';
    condition = find('Reconciling');
  } else {
    label = health.readiness;
    condition = find('Ready');
  }
  return { label, ...looks[label], reconciling: health.reconciling, condition };
}

/**
 * Whether the backend has handled the object's last reconcile request (Flux's requestedAt ↔
 * lastHandledReconcileAt handshake).
 * @internal
 */
export function reconcileHandled(object: AutomationObjectView): boolean {
  if (!object.reconcileRequestedAt || !object.status.lastHandledReconcileAt) {
    return false;
  }
  return (
    Date.parse(object.status.lastHandledReconcileAt) >=
    Date.parse(object.reconcileRequestedAt)
  );
}

/** `Kind namespace/name`, as the tab names objects everywhere (buttons, dialogs, tables). @internal */
export function objectTitle(object: {
  kind: string;
  namespace: string;
  name: string;
}): string {
  return `${object.kind} ${object.namespace}/${object.name}`;
}
