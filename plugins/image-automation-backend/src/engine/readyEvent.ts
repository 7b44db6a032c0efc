import {
  ObjectEvent,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { readyCondition } from './conditions';

/**
 * The event a reconcile emits, as Flux's controllers do: Normal when the object becomes ready
 * or its ready message changes, Warning when it is not ready. A failure that repeats with the
 * same reason and message is not repeated (Flux's event recorder rate-limits it too).
 * @internal
 */
export function readyEvent(
  before: ObjectStatus,
  after: ObjectStatus,
): Pick<ObjectEvent, 'type' | 'reason' | 'message'> | undefined {
  const previous = readyCondition(before);
  const ready = readyCondition(after);
  if (!ready || ready.status === 'Unknown') return undefined;
  const same =
    previous?.status === ready.status &&
    previous.reason === ready.reason &&
    previous.message === ready.message;
  if (same) return undefined;
  return {
    type: ready.status === 'True' ? 'Normal' : 'Warning',
    reason: ready.reason,
    message: ready.message,
  };
}
