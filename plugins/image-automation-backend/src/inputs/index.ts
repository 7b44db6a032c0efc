/**
 * ResourceSetInputProvider domain logic (pure): exported inputs and their revision, default
 * values, skip rules, the downgrade guard, reconcile annotations and cron schedules.
 *
 * @packageDocumentation
 */

export {
  artifactTagInputs,
  inputId,
  staticInput,
  withDefaultValues,
} from './exportedInputs';
export type { ExportedInput } from './exportedInputs';
export { exportedRevision } from './exportedRevision';
export { applySkipRules } from './skipInputs';
export { checkDowngrade, DOWNGRADE_GUARD_ANNOTATION } from './downgradeGuard';
export type { DowngradeCheck } from './downgradeGuard';
export {
  FORCE_AT_ANNOTATION,
  RECONCILE_ANNOTATION,
  RECONCILE_EVERY_ANNOTATION,
  RECONCILE_TIMEOUT_ANNOTATION,
  reconcileSettings,
} from './reconcileSettings';
export type { ReconcileSettings } from './reconcileSettings';
export { parseCronSchedule } from './cronSchedule';
export type { CronSchedule } from './cronSchedule';
export {
  createInputScheduler,
  formatRfc3339,
  InputScheduler,
  nextScheduleStatus,
  previousActivation,
} from './inputScheduler';
export type { NextSchedule } from './inputScheduler';
