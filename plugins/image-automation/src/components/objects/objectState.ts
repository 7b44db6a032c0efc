import {
  AutomationObjectView,
  Condition,
  objectHealth,
  objectStateLabel,
  ObjectStateLabel,
} from '@imageops/backstage-plugin-image-automation-common';

export type { ObjectStateLabel } from '@imageops/backstage-plugin-image-automation-common';

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
  Suspended: { color: 'warning', glyph: '‖' },
  Unknown: { color: 'secondary', glyph: '?' },
};

/** The state of an automation object ({@link objectStateLabel}) with its colour and glyph. @internal */
export function objectState(object: AutomationObjectView): ObjectState {
  const { label, condition } = objectStateLabel(
    object.status,
    object.suspended,
  );
  return {
    label,
    ...looks[label],
    reconciling: objectHealth(object.status).reconciling,
    condition,
  };
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
