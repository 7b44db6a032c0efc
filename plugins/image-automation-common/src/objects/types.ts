/**
 * Automation objects, in the same YAML as Flux (`image.toolkit.fluxcd.io/v1`) and the Flux
 * Operator (`fluxcd.controlplane.io/v1`).
 */

/** Kubernetes-style object metadata, as written in a manifest. @public */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Any automation object read from a manifest. @public */
export interface AutomationObject<Spec = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
}

/** A reference to a named object or credential in the same namespace. @public */
export interface LocalObjectReference {
  name: string;
}

/** `image.toolkit.fluxcd.io/v1` ImageRepository spec (Flux's fields, Flux's defaults). @public */
export interface ImageRepositorySpec {
  image: string;
  interval: string;
  timeout?: string;
  secretRef?: LocalObjectReference;
  proxySecretRef?: LocalObjectReference;
  certSecretRef?: LocalObjectReference;
  serviceAccountName?: string;
  suspend?: boolean;
  accessFrom?: {
    namespaceSelectors: Array<{ matchLabels?: Record<string, string> }>;
  };
  exclusionList?: string[];
  provider?: 'generic' | 'aws' | 'azure' | 'gcp';
  insecure?: boolean;
}

/** `image.toolkit.fluxcd.io/v1` ImagePolicy spec. @public */
export interface ImagePolicySpec {
  imageRepositoryRef: { name: string; namespace?: string };
  policy: {
    semver?: { range: string };
    alphabetical?: { order?: 'asc' | 'desc' };
    numerical?: { order?: 'asc' | 'desc' };
  };
  filterTags?: { pattern?: string; extract?: string };
  digestReflectionPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  interval?: string;
  suspend?: boolean;
}

/** The apiVersion of Flux's image automation kinds. @public */
export const IMAGE_API_VERSION = 'image.toolkit.fluxcd.io/v1';

/** Flux's default exclusion list, used when `exclusionList` is absent or empty. @public */
export const DEFAULT_EXCLUSION_LIST = ['^.*\\.sig$'];

/** A Git reference: `spec.ref` of a GitRepository, `git.checkout.ref` of an automation. @public */
export interface GitRepositoryRef {
  branch?: string;
  tag?: string;
  semver?: string;
  name?: string;
  commit?: string;
}

/** `source.toolkit.fluxcd.io/v1` GitRepository spec (the fields an automation uses). @public */
export interface GitRepositorySpec {
  url: string;
  ref?: GitRepositoryRef;
  secretRef?: LocalObjectReference;
  interval: string;
  timeout?: string;
  suspend?: boolean;
  provider?: 'generic' | 'azure' | 'github';
  proxySecretRef?: LocalObjectReference;
  ignore?: string;
  recurseSubmodules?: boolean;
  include?: Array<{
    repository: LocalObjectReference;
    fromPath?: string;
    toPath?: string;
  }>;
  sparseCheckout?: string[];
  verify?: {
    mode?: 'head' | 'HEAD' | 'Tag' | 'TagAndHEAD';
    secretRef?: LocalObjectReference;
  };
}

/** `image.toolkit.fluxcd.io/v1` ImageUpdateAutomation spec. @public */
export interface ImageUpdateAutomationSpec {
  sourceRef: {
    apiVersion?: string;
    kind: 'GitRepository';
    name: string;
    namespace?: string;
  };
  git?: {
    checkout?: { ref: GitRepositoryRef };
    commit: {
      author: { name?: string; email: string };
      signingKey?: { secretRef?: LocalObjectReference; type?: 'gpg' | 'ssh' };
      messageTemplate?: string;
      messageTemplateValues?: Record<string, string>;
    };
    push?: {
      branch?: string;
      refspec?: string;
      options?: Record<string, string>;
    };
  };
  interval: string;
  policySelector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: LabelSelectorRequirement[];
  };
  update?: { strategy?: 'Setters'; path?: string };
  suspend?: boolean;
}

/** A label selector requirement (`matchExpressions` item). @public */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** The apiVersion of Flux's source kinds. @public */
export const SOURCE_API_VERSION = 'source.toolkit.fluxcd.io/v1';

/** The apiVersion of the Flux Operator's kinds (ResourceSet, ResourceSetInputProvider). @public */
export const FLUX_OPERATOR_API_VERSION = 'fluxcd.controlplane.io/v1';

/** The apiVersion of Flux's `Provider` and `Alert` (notification-controller v1beta3). @public */
export const NOTIFICATION_API_VERSION =
  'notification.toolkit.fluxcd.io/v1beta3';

/** Provider `spec.type`s Flux accepts (v1beta3). @public */
export const NOTIFICATION_PROVIDER_TYPES = [
  'slack',
  'discord',
  'msteams',
  'rocket',
  'generic',
  'generic-hmac',
  'github',
  'gitlab',
  'gitea',
  'bitbucketserver',
  'bitbucket',
  'azuredevops',
  'googlechat',
  'googlepubsub',
  'webex',
  'sentry',
  'azureeventhub',
  'telegram',
  'lark',
  'matrix',
  'opsgenie',
  'alertmanager',
  'grafana',
  'githubdispatch',
  'pagerduty',
  'datadog',
  'nats',
] as const;

/** Provider `spec.type`s this plugin delivers to; the others are Stalled `ProviderNotSupported`. @public */
export const DELIVERED_PROVIDER_TYPES = [
  'slack',
  'discord',
  'msteams',
  'googlechat',
  'generic',
  'generic-hmac',
  'githubdispatch',
  'gitlab',
] as const;

/** The apiVersion of Flux's `Receiver` (notification-controller v1). @public */
export const RECEIVER_API_VERSION = 'notification.toolkit.fluxcd.io/v1';

/**
 * `spec.type` of a Receiver: Flux's types this plugin verifies, plus `distribution` (the CNCF
 * distribution registry's notification envelope, not a Flux type). @public
 */
export const RECEIVER_TYPES = [
  'generic',
  'generic-hmac',
  'github',
  'gitlab',
  'bitbucket',
  'harbor',
  'dockerhub',
  'quay',
  'gcr',
  'nexus',
  'acr',
  'cdevents',
  'distribution',
] as const;

/** `notification.toolkit.fluxcd.io/v1` Receiver spec. @public */
export interface ReceiverSpec {
  type: (typeof RECEIVER_TYPES)[number];
  interval?: string;
  events?: string[];
  resources: Array<{
    apiVersion?: string;
    kind: string;
    name: string;
    namespace?: string;
    matchLabels?: Record<string, string>;
  }>;
  resourceFilter?: string;
  secretRef: LocalObjectReference;
  suspend?: boolean;
}

/** `spec.type` of a ResourceSetInputProvider, spelled exactly as the Flux Operator's enum. @public */
export const RESOURCE_SET_INPUT_PROVIDER_TYPES = [
  'Static',
  'GitHubBranch',
  'GitHubTag',
  'GitHubPullRequest',
  'GitLabBranch',
  'GitLabTag',
  'GitLabMergeRequest',
  'GitLabEnvironment',
  'AzureDevOpsBranch',
  'AzureDevOpsTag',
  'AzureDevOpsPullRequest',
  'AWSCodeCommitBranch',
  'AWSCodeCommitTag',
  'AWSCodeCommitPullRequest',
  'GiteaBranch',
  'GiteaTag',
  'GiteaPullRequest',
  'OCIArtifactTag',
  'ACRArtifactTag',
  'ECRArtifactTag',
  'GARArtifactTag',
  'ExternalService',
  'ExternalArtifact',
] as const;

/** One of {@link RESOURCE_SET_INPUT_PROVIDER_TYPES}. @public */
export type ResourceSetInputProviderType =
  (typeof RESOURCE_SET_INPUT_PROVIDER_TYPES)[number];

/** `spec.schedule[]` of a ResourceSetInputProvider. @public */
export interface InputProviderSchedule {
  cron: string;
  /** IANA time zone; default `UTC`. */
  timeZone?: string;
  /** Go duration; default `0s` (no window). */
  window?: string;
}

/** `fluxcd.controlplane.io/v1` ResourceSetInputProvider spec. @public */
export interface ResourceSetInputProviderSpec {
  type: ResourceSetInputProviderType;
  url?: string;
  secretRef?: LocalObjectReference;
  certSecretRef?: LocalObjectReference;
  serviceAccountName?: string;
  insecure?: boolean;
  defaultValues?: Record<string, unknown>;
  filter?: {
    includeBranch?: string;
    excludeBranch?: string;
    includeTag?: string;
    excludeTag?: string;
    includeEnvironment?: string;
    excludeEnvironment?: string;
    labels?: string[];
    limit?: number;
    semver?: string;
  };
  skip?: { labels?: string[] };
  schedule?: InputProviderSchedule[];
  selectors?: Array<{
    matchLabels?: Record<string, string>;
    matchExpressions?: LabelSelectorRequirement[];
    name?: string;
    namespace?: string;
  }>;
}

/** `spec.dependsOn[]` of a ResourceSet. @public */
export interface ResourceSetDependency {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  ready?: boolean;
  readyExpr?: string;
}

/** `fluxcd.controlplane.io/v1` ResourceSet spec, as its CRD defines it; templates are arbitrary JSON. @public */
export interface ResourceSetSpec {
  inputs?: Array<Record<string, unknown>>;
  inputsFrom?: Array<{
    apiVersion?: string;
    kind?: string;
    name?: string;
    selector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: LabelSelectorRequirement[];
    };
  }>;
  inputStrategy?: {
    name?: 'Flatten' | 'Permute';
    includeEmptyProviders?: boolean;
  };
  resources?: Array<Record<string, unknown>>;
  resourcesTemplate?: string;
  steps?: Array<{
    name: string;
    resources?: Array<Record<string, unknown>>;
    resourcesTemplate?: string;
    timeout?: string;
  }>;
  dependsOn?: ResourceSetDependency[];
  serviceAccountName?: string;
  wait?: boolean;
  commonMetadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}
