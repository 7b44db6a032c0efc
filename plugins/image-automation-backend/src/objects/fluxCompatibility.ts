import {
  AutomationObject,
  DELIVERED_PROVIDER_TYPES,
  FLUX_OPERATOR_API_VERSION,
  IMAGE_API_VERSION,
  NOTIFICATION_API_VERSION,
  RECEIVER_API_VERSION,
  SOURCE_API_VERSION,
} from '@imageops/backstage-plugin-image-automation-common';

/**
 * Older Flux API versions and the spec fields this plugin accepts but does not implement
 * (issue #14): what is converted, what is refused with a message saying what to change, and
 * what is reported. docs/flux-compatibility.md lists the same.
 */

/** Annotation a converted manifest carries: the apiVersion it was written in. @internal */
export const CONVERTED_FROM_ANNOTATION = 'image-automation.io/converted-from';
/** Annotation a converted manifest carries: the spec fields the conversion dropped (comma-separated). @internal */
export const CONVERSION_DROPPED_ANNOTATION =
  'image-automation.io/conversion-dropped';

/** Reason of the Warning event a converted object emits. @internal */
export const CONVERTED_REASON = 'APIVersionConverted';
/** Reason of the Stalled condition of an object in an apiVersion that is not converted. @internal */
export const UNSUPPORTED_API_VERSION_REASON = 'UnsupportedAPIVersion';
/** Reason of the Stalled condition of an object that sets a field whose absence would change what is trusted or sent. @internal */
export const FIELD_NOT_SUPPORTED_REASON = 'FieldNotSupported';
/** Type of the condition (status True, not blocking) that names fields without effect here. @internal */
export const FIELDS_IGNORED_CONDITION = 'FieldsIgnored';
/** Reason of the {@link FIELDS_IGNORED_CONDITION} condition and of its Warning event. @internal */
export const FIELDS_IGNORED_REASON = 'FieldHasNoEffect';

/** The apiVersion each kind is reconciled in. */
const CURRENT: Record<string, string> = {
  ImageRepository: IMAGE_API_VERSION,
  ImagePolicy: IMAGE_API_VERSION,
  ImageUpdateAutomation: IMAGE_API_VERSION,
  GitRepository: SOURCE_API_VERSION,
  ResourceSetInputProvider: FLUX_OPERATOR_API_VERSION,
  ResourceSet: FLUX_OPERATOR_API_VERSION,
  Provider: NOTIFICATION_API_VERSION,
  Alert: NOTIFICATION_API_VERSION,
  Receiver: RECEIVER_API_VERSION,
};

/** Why a field Flux's v1 no longer has is dropped by the conversion. */
const DROPPED_WHY: Record<string, string> = {
  'spec.gitImplementation':
    'deprecated in v1beta2 and without effect; removed in v1',
  'spec.accessFrom':
    'never implemented by Flux for GitRepository; removed in v1',
};

/**
 * The apiVersions converted to v1 as Flux's API server did while it served them (the schemas
 * are the same but for the fields dropped here): `image.toolkit.fluxcd.io/v1beta2`
 * ImageRepository, ImagePolicy and ImageUpdateAutomation (identical specs), and
 * `source.toolkit.fluxcd.io/v1beta2` GitRepository (v1 removed `gitImplementation` and
 * `accessFrom`).
 */
const CONVERSIONS: Record<string, { to: string; drop: string[] }> = {
  'image.toolkit.fluxcd.io/v1beta2/ImageRepository': {
    to: IMAGE_API_VERSION,
    drop: [],
  },
  'image.toolkit.fluxcd.io/v1beta2/ImagePolicy': {
    to: IMAGE_API_VERSION,
    drop: [],
  },
  'image.toolkit.fluxcd.io/v1beta2/ImageUpdateAutomation': {
    to: IMAGE_API_VERSION,
    drop: [],
  },
  'source.toolkit.fluxcd.io/v1beta2/GitRepository': {
    to: SOURCE_API_VERSION,
    drop: ['spec.gitImplementation', 'spec.accessFrom'],
  },
};

/**
 * The manifest in the apiVersion it is reconciled in: a convertible older version becomes v1,
 * with {@link CONVERTED_FROM_ANNOTATION} (and {@link CONVERSION_DROPPED_ANNOTATION}) saying so.
 * Anything else is returned as it is. The input is not modified.
 * @internal
 */
export function convertManifest(manifest: AutomationObject): AutomationObject {
  const conversion = CONVERSIONS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!conversion) return manifest;
  const spec = isRecord(manifest.spec) ? { ...manifest.spec } : manifest.spec;
  const dropped: string[] = [];
  if (isRecord(spec)) {
    for (const field of conversion.drop) {
      const key = field.slice('spec.'.length);
      if (key in spec) {
        delete spec[key];
        dropped.push(field);
      }
    }
  }
  const annotations: Record<string, string> = {
    ...(isRecord(manifest.metadata.annotations)
      ? manifest.metadata.annotations
      : {}),
    [CONVERTED_FROM_ANNOTATION]: manifest.apiVersion,
  };
  if (dropped.length > 0)
    annotations[CONVERSION_DROPPED_ANNOTATION] = dropped.join(',');
  else delete annotations[CONVERSION_DROPPED_ANNOTATION];
  return {
    ...manifest,
    apiVersion: conversion.to,
    metadata: { ...manifest.metadata, annotations },
    ...(spec !== undefined ? { spec } : {}),
  };
}

/**
 * The Warning event's message for a converted manifest (undefined when it was not converted):
 * `converted from image.toolkit.fluxcd.io/v1beta2 to v1; update apiVersion to image.toolkit.fluxcd.io/v1`,
 * plus the fields dropped and why.
 * @internal
 */
export function conversionMessage(
  manifest: AutomationObject,
): string | undefined {
  const from = manifest.metadata.annotations?.[CONVERTED_FROM_ANNOTATION];
  // Only a conversion this plugin makes (an annotation written by hand on a v1 manifest says nothing).
  if (
    !from ||
    CONVERSIONS[`${from}/${manifest.kind}`]?.to !== manifest.apiVersion
  )
    return undefined;
  const to = manifest.apiVersion;
  const version = to.slice(to.indexOf('/') + 1);
  let message = `converted from ${from} to ${version}; update apiVersion to ${to}`;
  const dropped = (
    manifest.metadata.annotations?.[CONVERSION_DROPPED_ANNOTATION] ?? ''
  )
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (dropped.length > 0) {
    message += `; dropped ${dropped
      .map(field =>
        DROPPED_WHY[field] ? `${field} (${DROPPED_WHY[field]})` : field,
      )
      .join(', ')}`;
  }
  return message;
}

function isRecord(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function has(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '')
    return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** `spec.git.commit.messageTemplate` (or v1alpha1's `spec.commit.messageTemplate`) uses v1beta1's `.Updated`. */
function usesUpdated(template: unknown): boolean {
  return typeof template === 'string' && /\.Updated\b/.test(template);
}

const UPDATED_TO_CHANGED =
  'replace .Updated (.Updated.Files, .Updated.Objects, .Updated.Images) with .Changed (.Changed.FileChanges, .Changed.Objects, .Changed.Changes)';

/** What an ImageUpdateAutomation written in v1alpha1 must change, field by field, for those it sets. */
function v1alpha1AutomationChanges(spec: Record<string, any>): string[] {
  const changes: string[] = [];
  const checkout = isRecord(spec.checkout) ? spec.checkout : undefined;
  const commit = isRecord(spec.commit) ? spec.commit : undefined;
  const push = isRecord(spec.push) ? spec.push : undefined;
  if (checkout?.gitRepositoryRef !== undefined) {
    changes.push(
      'move spec.checkout.gitRepositoryRef.name to spec.sourceRef.name, with spec.sourceRef.kind: GitRepository',
    );
  }
  if (checkout?.branch !== undefined)
    changes.push('move spec.checkout.branch to spec.git.checkout.ref.branch');
  if (commit?.authorName !== undefined)
    changes.push('move spec.commit.authorName to spec.git.commit.author.name');
  if (commit?.authorEmail !== undefined)
    changes.push(
      'move spec.commit.authorEmail to spec.git.commit.author.email',
    );
  if (commit?.signingKey !== undefined)
    changes.push('move spec.commit.signingKey to spec.git.commit.signingKey');
  if (commit?.messageTemplate !== undefined) {
    changes.push(
      `move spec.commit.messageTemplate to spec.git.commit.messageTemplate${
        usesUpdated(commit.messageTemplate) ? ` and ${UPDATED_TO_CHANGED}` : ''
      }`,
    );
  }
  if (push?.branch !== undefined)
    changes.push('move spec.push.branch to spec.git.push.branch');
  return changes;
}

/**
 * Why an object of a kind this plugin reconciles, written in an apiVersion it does not accept
 * (`v1alpha1`, `v1beta1`, or any other but the converted ones), is refused, naming exactly what
 * to change: the apiVersion, and the fields the manifest sets that moved or went away between
 * that version and v1. Undefined for a current or convertible apiVersion, or a kind or API group
 * this plugin does not know (those stay `KindNotSupported`).
 * @internal
 */
export function unsupportedApiVersionMessage(
  manifest: AutomationObject,
): string | undefined {
  const current = CURRENT[manifest.kind];
  if (!current || manifest.apiVersion === current) return undefined;
  if (CONVERSIONS[`${manifest.apiVersion}/${manifest.kind}`]) return undefined;
  const group = current.slice(0, current.indexOf('/'));
  if (
    typeof manifest.apiVersion !== 'string' ||
    !manifest.apiVersion.startsWith(`${group}/`)
  )
    return undefined;
  const version = manifest.apiVersion.slice(group.length + 1);
  const spec: Record<string, any> = isRecord(manifest.spec)
    ? manifest.spec
    : {};
  const changes = [`set apiVersion: ${current}`];
  if (manifest.kind === 'ImageUpdateAutomation') {
    if (version === 'v1alpha1')
      changes.push(...v1alpha1AutomationChanges(spec));
    else if (usesUpdated(spec.git?.commit?.messageTemplate)) {
      changes.push(`in spec.git.commit.messageTemplate ${UPDATED_TO_CHANGED}`);
    }
  }
  if (manifest.kind === 'GitRepository') {
    for (const field of ['spec.gitImplementation', 'spec.accessFrom']) {
      if (spec[field.slice('spec.'.length)] !== undefined)
        changes.push(`remove ${field} (${DROPPED_WHY[field]})`);
    }
  }
  if (changes.length === 1)
    changes.push('the rest of the spec carries over unchanged');
  return `${manifest.kind} ${
    manifest.apiVersion
  } is not supported (Flux no longer serves ${version}): ${changes.join('; ')}`;
}

/** What {@link unsupportedFields} found. @internal */
export interface FieldReport {
  /** A field that must not be ignored: the object is Stalled with this reason and message. */
  blocking?: { reason: string; message: string; field: string };
  /** Fields set that have no effect here (nor on what Flux's image automation writes), with why. */
  ignored: string[];
}

const NO_SERVICE_ACCOUNTS =
  'Kubernetes service accounts (their imagePullSecrets or workload identity) are not available to this backend';

/**
 * The spec fields an object sets that this plugin accepts (Flux's schema) but does not implement.
 * A field whose absence would change what is trusted, which credentials are used or which route
 * traffic takes is `blocking`: the object is Stalled `FieldNotSupported` (or `ProviderNotSupported`)
 * rather than run without it. A field that only shapes an artifact this plugin does not build is
 * `ignored`: reported by the non-blocking {@link FIELDS_IGNORED_CONDITION} condition.
 * @internal
 */
export function unsupportedFields(
  manifest: AutomationObject,
  /** For a GitRepository read by an ImageUpdateAutomation: `verify` is not checked (Flux's automation does not verify either). */
  options: { asAutomationSource?: boolean } = {},
): FieldReport {
  const spec: Record<string, any> = isRecord(manifest.spec)
    ? manifest.spec
    : {};
  const stalled = (
    field: string,
    message: string,
    reason = FIELD_NOT_SUPPORTED_REASON,
  ) => ({
    blocking: { reason, message, field },
    ignored: [],
  });
  const proxy = (what: string) =>
    `spec.proxySecretRef is not supported: ${what} cannot go through a per-object proxy here; remove spec.proxySecretRef if they may go directly`;
  switch (manifest.kind) {
    case 'ImageRepository':
      if (has(spec.proxySecretRef))
        return stalled('spec.proxySecretRef', proxy('registry calls'));
      if (has(spec.serviceAccountName)) {
        return stalled(
          'spec.serviceAccountName',
          ['aws', 'gcp', 'azure'].includes(spec.provider)
            ? `spec.serviceAccountName is not supported: ${NO_SERVICE_ACCOUNTS}; remove it to use the backend's own ${spec.provider} identity (imageAutomation.cloudIdentity.${spec.provider})`
            : `spec.serviceAccountName is not supported: ${NO_SERVICE_ACCOUNTS}; remove it and set spec.secretRef to a credential (imageAutomation.credentials)`,
        );
      }
      return { ignored: [] };
    case 'GitRepository': {
      if (has(spec.provider) && spec.provider !== 'generic') {
        return stalled(
          'spec.provider',
          `provider '${spec.provider}' is not supported yet: use provider 'generic' with a secretRef naming a credential`,
          'ProviderNotSupported',
        );
      }
      if (has(spec.verify) && !options.asAutomationSource) {
        return stalled(
          'spec.verify',
          'spec.verify is not supported: commit and tag signatures are not verified here, so an unverified revision would be reported and used; remove spec.verify only if you accept that',
        );
      }
      if (has(spec.proxySecretRef))
        return stalled('spec.proxySecretRef', proxy('Git operations'));
      if (has(spec.serviceAccountName)) {
        return stalled(
          'spec.serviceAccountName',
          `spec.serviceAccountName is not supported: ${NO_SERVICE_ACCOUNTS}; remove it and set spec.secretRef to a credential (imageAutomation.credentials)`,
        );
      }
      const ignored = [
        'ignore',
        'include',
        'sparseCheckout',
        'recurseSubmodules',
      ]
        .filter(field => has(spec[field]))
        .map(field => `spec.${field}`);
      return { ignored };
    }
    case 'ResourceSetInputProvider':
      // The cloud types use the backend's own cloud identity, never a workload identity of the object.
      if (
        /^(ECR|GAR|ACR)ArtifactTag$/.test(String(spec.type)) &&
        has(spec.serviceAccountName)
      ) {
        return stalled(
          'spec.serviceAccountName',
          `spec.serviceAccountName is not supported: ${NO_SERVICE_ACCOUNTS}; remove it to use the backend's own cloud identity (imageAutomation.cloudIdentity)`,
        );
      }
      if (
        /^(OCIArtifactTag|AzureDevOps(Branch|Tag|PullRequest))$/.test(
          String(spec.type),
        ) &&
        has(spec.serviceAccountName)
      ) {
        return stalled(
          'spec.serviceAccountName',
          `spec.serviceAccountName is not supported: ${NO_SERVICE_ACCOUNTS}; remove it and set spec.secretRef to a credential (imageAutomation.credentials)`,
        );
      }
      return { ignored: [] };
    case 'Provider':
      // Flux's other provider types talk to APIs this plugin has no client for: refused, not dropped.
      if (
        typeof spec.type === 'string' &&
        !(DELIVERED_PROVIDER_TYPES as readonly string[]).includes(spec.type)
      ) {
        return stalled(
          'spec.type',
          `provider type '${
            spec.type
          }' is not supported yet: use one of ${DELIVERED_PROVIDER_TYPES.join(
            ', ',
          )}`,
          'ProviderNotSupported',
        );
      }
      // spec.interval is deprecated and unused by Flux's v1beta3 Provider too.
      return { ignored: [] };
    default:
      return { ignored: [] };
  }
}

/** The message of the {@link FIELDS_IGNORED_CONDITION} condition for `ignored` fields. @internal */
export function ignoredFieldsMessage(ignored: string[]): string {
  return `${ignored.join(', ')} ${
    ignored.length > 1 ? 'have' : 'has'
  } no effect here: ${
    ignored.length > 1 ? 'they shape' : 'it shapes'
  } the source-controller's artifact, which this plugin does not build (Flux's image automation clones the repository without ${
    ignored.length > 1 ? 'them' : 'it'
  } too)`;
}
