import { useId, useMemo, useRef, useState } from 'react';
import { TooltipTriggerStateContext } from 'react-aria-components';
import { Button, Tooltip, VisuallyHidden } from '@backstage/ui';
import { ActionPermission } from '@imageops/backstage-plugin-image-automation-common';

/** Props of {@link ActionButton}. @internal */
export interface ActionButtonProps {
  /** The visible text, e.g. `Suspend`. */
  label: string;
  /** The accessible name, which also names the object, e.g. `Suspend ImageRepository default/podinfo`. */
  accessibleName: string;
  permission: ActionPermission;
  isPending: boolean;
  /** Disables the button without a reason of its own, e.g. while another action runs. */
  isBusy: boolean;
  onPress: () => void;
}

/**
 * A button for an object action. When the backend says the action is not allowed the button is
 * disabled and says why: in a tooltip while the pointer rests on it, and as the button's
 * accessible description for screen readers.
 *
 * A disabled button gets no hover events, and `TooltipTrigger` wants a focusable trigger, so the
 * tooltip is driven by hand from a wrapper the pointer can rest on; the button itself lets
 * pointer events through to that wrapper.
 * @internal
 */
export function ActionButton(props: ActionButtonProps) {
  const { label, accessibleName, permission, isPending, isBusy, onPress } =
    props;
  const reasonId = useId();
  const wrapperRef = useRef<HTMLSpanElement>(null);
  const [tooltipOpen, setTooltipOpen] = useState(false);
  const tooltipState = useMemo(
    () => ({
      isOpen: tooltipOpen,
      open: () => setTooltipOpen(true),
      close: () => setTooltipOpen(false),
    }),
    [tooltipOpen],
  );

  if (permission.allowed) {
    return (
      <Button
        size="small"
        variant="secondary"
        aria-label={accessibleName}
        isDisabled={isBusy}
        isPending={isPending}
        onPress={onPress}
      >
        {label}
      </Button>
    );
  }
  const reason = permission.reason ?? 'You are not allowed to do this.';
  return (
    <span
      ref={wrapperRef}
      style={{ display: 'inline-flex', cursor: 'not-allowed' }}
      onPointerEnter={tooltipState.open}
      onPointerLeave={tooltipState.close}
    >
      <Button
        size="small"
        variant="secondary"
        aria-label={accessibleName}
        aria-describedby={reasonId}
        isDisabled
        style={{ pointerEvents: 'none' }}
      >
        {label}
      </Button>
      <VisuallyHidden id={reasonId}>{reason}</VisuallyHidden>
      <TooltipTriggerStateContext.Provider value={tooltipState}>
        <Tooltip triggerRef={wrapperRef}>{reason}</Tooltip>
      </TooltipTriggerStateContext.Provider>
    </span>
  );
}
