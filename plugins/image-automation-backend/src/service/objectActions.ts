import {
  ActionPermission,
  AutomationObjectView,
  ObjectAction,
} from '@imageops/backstage-plugin-image-automation-common';

/**
 * Which actions an automation object's state allows, whoever asks, with the reason when not:
 * suspend only a running object; resume only an object suspended by an action (one suspended by
 * `spec.suspend` in its manifest resumes when the manifest changes); reconcile only a running object.
 * `suspended` is the view's: suspended by an action or by the manifest.
 * @internal
 */
export function actionsForState(
  view: Pick<AutomationObjectView, 'suspended' | 'spec'>,
): Record<ObjectAction, ActionPermission> {
  const suspendedInManifest = Boolean(
    (view.spec as { suspend?: boolean }).suspend,
  );
  const rule = (allowed: boolean, reason: string): ActionPermission =>
    allowed ? { allowed: true } : { allowed: false, reason };
  return {
    suspend: rule(!view.suspended, 'Already suspended'),
    resume: rule(
      view.suspended && !suspendedInManifest,
      suspendedInManifest
        ? 'Suspended by spec.suspend in the manifest: change the manifest to resume'
        : 'Not suspended',
    ),
    reconcile: rule(
      !view.suspended,
      'Suspended objects are not reconciled: resume first',
    ),
  };
}

/** Why nobody may act on an object through the API: it has no owning entity. @internal */
export const NO_OWNING_ENTITY =
  'objects without an owning entity are managed through app-config only';

/**
 * An object's view with the actions a caller may take: none without the update permission (with
 * the permission, or that the object has no owning entity, as the reason), otherwise those its
 * state allows ({@link actionsForState}).
 * @internal
 */
export function withObjectActions(
  view: AutomationObjectView,
  mayUpdate: boolean,
): AutomationObjectView {
  if (mayUpdate) return { ...view, actions: actionsForState(view) };
  const denied: ActionPermission = {
    allowed: false,
    reason: view.entityRef
      ? `You lack the image-automation.object.update permission for ${view.entityRef}`
      : NO_OWNING_ENTITY,
  };
  return {
    ...view,
    actions: { suspend: denied, resume: denied, reconcile: denied },
  };
}
