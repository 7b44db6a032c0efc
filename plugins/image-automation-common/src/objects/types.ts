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
  accessFrom?: { namespaceSelectors: Array<{ matchLabels?: Record<string, string> }> };
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
