/**
 * The condition types Flux's controllers set and this plugin's reconcilers set the same way.
 * @public
 */
export const CONDITION_TYPES = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
} as const;

/**
 * The reasons of the conditions and events the reconcilers set: Flux's own (the same strings
 * as its controllers) and this plugin's additions. Compare a condition's `reason` with these
 * rather than with a literal.
 * @public
 */
export const REASONS = {
  // Shared by every kind.
  /** Ready=True of the Flux toolkit kinds (ImageRepository, ImagePolicy, GitRepository, ...). */
  Succeeded: 'Succeeded',
  /** Ready=True of the Flux Operator kinds (ResourceSet, ResourceSetInputProvider). */
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  ReconciliationFailed: 'ReconciliationFailed',
  /** Warning event of an object with `fluxcd.controlplane.io/reconcile: disabled`. */
  ReconciliationDisabled: 'ReconciliationDisabled',
  /** Reconciling while a retried failure waits. */
  ProgressingWithRetry: 'ProgressingWithRetry',
  /** Ready=Unknown / Reconciling while a ResourceSet's steps are applied. */
  Progressing: 'Progressing',
  DependencyNotReady: 'DependencyNotReady',
  AccessDenied: 'AccessDenied',
  InvalidManifest: 'InvalidManifest',
  IntervalTooShort: 'IntervalTooShort',
  FieldNotSupported: 'FieldNotSupported',
  KindNotSupported: 'KindNotSupported',
  NamespaceNotGranted: 'NamespaceNotGranted',
  InternalError: 'InternalError',
  ReconcileTimeout: 'ReconcileTimeout',
  Failure: 'Failure',
  Failed: 'Failed',
  // Sources and registries.
  GitOperationFailed: 'GitOperationFailed',
  URLInvalid: 'URLInvalid',
  InvalidGitArgument: 'InvalidGitArgument',
  IntegrationReadNotAllowed: 'IntegrationReadNotAllowed',
  ImageURLInvalid: 'ImageURLInvalid',
  ProviderNotSupported: 'ProviderNotSupported',
  AuthenticationFailed: 'AuthenticationFailed',
  ReadOperationFailed: 'ReadOperationFailed',
  RegistryNotAllowed: 'RegistryNotAllowed',
  TagLimitExceeded: 'TagLimitExceeded',
  InvalidPolicy: 'InvalidPolicy',
  // ImageUpdateAutomation.
  InvalidUpdateStrategy: 'InvalidUpdateStrategy',
  InvalidPolicySelector: 'InvalidPolicySelector',
  SourceManagerFailed: 'SourceManagerFailed',
  InvalidSourceConfiguration: 'InvalidSourceConfiguration',
  IntegrationPushNotAllowed: 'IntegrationPushNotAllowed',
  PullRequestHostNotAllowed: 'PullRequestHostNotAllowed',
  InvalidPullRequestConfiguration: 'InvalidPullRequestConfiguration',
  UpdateFailed: 'UpdateFailed',
  RemovedTemplateField: 'RemovedTemplateField',
  SetterNotApplied: 'SetterNotApplied',
  // ResourceSet and ResourceSetInputProvider.
  NoTargetCluster: 'NoTargetCluster',
  ClusterNotAllowed: 'ClusterNotAllowed',
  InvalidCELExpression: 'InvalidCELExpression',
  DependencyRefused: 'DependencyRefused',
  BuildFailed: 'BuildFailed',
  EmptyInputs: 'EmptyInputs',
  ApplySucceeded: 'ApplySucceeded',
  PruneRefused: 'PruneRefused',
  InvalidSchedule: 'InvalidSchedule',
  InvalidSpec: 'InvalidSpec',
  SkippedDueToSchedule: 'SkippedDueToSchedule',
  NewestTagMissing: 'NewestTagMissing',
  // Notifications and receivers.
  InvalidConfig: 'InvalidConfig',
  TokenNotFound: 'TokenNotFound',
  ReceiverTypeNotSupported: 'ReceiverTypeNotSupported',
  ResourceKindNotSupported: 'ResourceKindNotSupported',
} as const;

/**
 * The annotations the reconcilers read on automation objects (and, where noted, on catalog
 * entities): Flux's and this plugin's.
 * @public
 */
export const OBJECT_ANNOTATIONS = {
  /** Flux's on-demand reconcile request (`flux reconcile`). */
  requestedAt: 'reconcile.fluxcd.io/requestedAt',
  /** Flux's forced reconcile request (ResourceSetInputProvider). */
  forceAt: 'reconcile.fluxcd.io/forceAt',
  /** `disabled` stops a Flux Operator object's reconciliation. */
  reconcile: 'fluxcd.controlplane.io/reconcile',
  /** A Flux Operator object's interval (Go duration). */
  reconcileEvery: 'fluxcd.controlplane.io/reconcileEvery',
  /** A Flux Operator object's timeout (Go duration). */
  reconcileTimeout: 'fluxcd.controlplane.io/reconcileTimeout',
  /** `enabled` re-creates objects whose immutable fields changed (ResourceSet). */
  force: 'fluxcd.controlplane.io/force',
  /** Comma-separated clusters a ResourceSet applies to (on the ResourceSet or its entity). */
  clusters: 'image-automation.io/clusters',
  /** `enabled` lets a ResourceSet apply an empty input set from `inputsFrom` (and prune). */
  allowEmptyInputs: 'image-automation.io/allow-empty-inputs',
  /** `enabled` holds a ResourceSetInputProvider's inputs when its newest tag disappears. */
  downgradeGuard: 'image-automation.io/downgrade-guard',
  /** On an entity: `disabled` turns off telling its owners when its objects become Stalled or recover. */
  notifications: 'image-automation.io/notifications',
} as const;
