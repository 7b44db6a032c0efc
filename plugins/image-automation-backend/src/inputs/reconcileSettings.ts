/**
 * The Flux Operator's reconcile annotations on a ResourceSetInputProvider.
 */

import { OBJECT_ANNOTATIONS } from '@imageops/backstage-plugin-image-automation-common';
import { parseGoDuration } from '../golib/time';

/** `fluxcd.controlplane.io/reconcile`: `disabled` (any case) pauses reconciliation. @internal */
export const RECONCILE_ANNOTATION = OBJECT_ANNOTATIONS.reconcile;
/** `fluxcd.controlplane.io/reconcileEvery`: Go duration, default 10m for providers. @internal */
export const RECONCILE_EVERY_ANNOTATION = OBJECT_ANNOTATIONS.reconcileEvery;
/** `fluxcd.controlplane.io/reconcileTimeout`: Go duration, default 2m for providers. @internal */
export const RECONCILE_TIMEOUT_ANNOTATION = OBJECT_ANNOTATIONS.reconcileTimeout;
/** `reconcile.fluxcd.io/forceAt`: with the same value as `requestedAt`, bypasses the schedule. @internal */
export const FORCE_AT_ANNOTATION = OBJECT_ANNOTATIONS.forceAt;

const DEFAULT_INTERVAL_MS = 10 * 60_000;
const DEFAULT_TIMEOUT_MS = 2 * 60_000;

/** How a provider is reconciled, from its annotations. @internal */
export interface ReconcileSettings {
  disabled: boolean;
  intervalMs: number;
  timeoutMs: number;
  /** A pending force request: `forceAt` equal to the request being handled. */
  forceAt?: string;
}

function durationOr(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  try {
    return parseGoDuration(text);
  } catch {
    // The Flux Operator falls back to the default on an unparsable duration.
    return fallback;
  }
}

/**
 * Reads the reconcile annotations. `requestedAt` is the reconcile request being handled (from
 * the annotation or a request made in Backstage); a `forceAt` annotation counts only when it
 * carries the same value and was not handled before.
 * @internal
 */
export function reconcileSettings(
  annotations: Record<string, string> | undefined,
  requestedAt: string | undefined,
  lastHandledForceAt: string | undefined,
): ReconcileSettings {
  const a = annotations ?? {};
  const forceAt = a[FORCE_AT_ANNOTATION];
  return {
    disabled: (a[RECONCILE_ANNOTATION] ?? '').toLowerCase() === 'disabled',
    intervalMs: durationOr(a[RECONCILE_EVERY_ANNOTATION], DEFAULT_INTERVAL_MS),
    timeoutMs: durationOr(a[RECONCILE_TIMEOUT_ANNOTATION], DEFAULT_TIMEOUT_MS),
    ...(forceAt && forceAt === requestedAt && forceAt !== lastHandledForceAt
      ? { forceAt }
      : {}),
  };
}
