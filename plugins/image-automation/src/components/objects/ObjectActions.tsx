import { useEffect, useRef, useState } from 'react';
import { Flex, Text } from '@backstage/ui';
import {
  AutomationObjectView,
  ObjectAction,
} from '@imageops/backstage-plugin-image-automation-common';
import { ActionButton } from '../ActionButton';
import { reconcilePending } from '../reconcilePending';
import { objectTitle, reconcileHandled } from './objectState';

/** How long a finished action shows its ✓. @internal */
export const DONE_VISIBLE_MS = 2_000;

const DONE_TEXT: Record<ObjectAction, string> = {
  suspend: 'Suspended',
  resume: 'Resumed',
  reconcile: 'Reconciled',
};

/** `Suspend`, `Resume`, `Reconcile`. @internal */
export function actionLabel(action: ObjectAction): string {
  return action.charAt(0).toUpperCase() + action.slice(1);
}

/** Props of {@link ObjectActions}. @internal */
export interface ObjectActionsProps {
  object: AutomationObjectView;
  /** The action whose request is in flight for this object, if any. */
  running?: ObjectAction;
  /** Runs an action; resolves to whether the backend accepted it. */
  onRun: (action: ObjectAction) => Promise<boolean>;
}

/**
 * Suspend or Resume, and Reconcile, for one object. Each is disabled with the backend's reason when
 * not allowed. A reconcile stays pending until the backend has handled the request, not just
 * until it was accepted; every action then shows ✓ for two seconds.
 * @internal
 */
export function ObjectActions(props: ObjectActionsProps) {
  const { object, running, onRun } = props;
  const title = objectTitle(object);
  const reconciling =
    running === 'reconcile' || reconcilePending(object, new Date());
  const [done, setDone] = useState<ObjectAction>();
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const wasReconciling = useRef(reconciling);

  const flash = (action: ObjectAction) => {
    clearTimeout(timer.current);
    setDone(action);
    timer.current = setTimeout(() => setDone(undefined), DONE_VISIBLE_MS);
  };
  useEffect(() => () => clearTimeout(timer.current), []);
  useEffect(() => {
    if (wasReconciling.current && !reconciling && reconcileHandled(object)) {
      flash('reconcile');
    }
    wasReconciling.current = reconciling;
  });

  const run = async (action: ObjectAction) => {
    const ok = await onRun(action);
    if (ok && action !== 'reconcile') flash(action);
  };

  const button = (action: ObjectAction) => (
    <ActionButton
      key={action}
      label={actionLabel(action)}
      accessibleName={`${actionLabel(action)} ${title}`}
      permission={object.actions[action]}
      isPending={action === 'reconcile' ? reconciling : running === action}
      isBusy={running !== undefined && running !== action}
      onPress={() => run(action)}
    />
  );

  return (
    <Flex gap="2" align="center" style={{ flexWrap: 'wrap' }}>
      {button('reconcile')}
      {button(object.suspended ? 'resume' : 'suspend')}
      <span role="status">
        {done && (
          <Text variant="body-small" color="success">
            ✓ {DONE_TEXT[done]}
          </Text>
        )}
      </span>
    </Flex>
  );
}
