import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import {
  AutomationObject,
  objectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { convertManifest } from './fluxCompatibility';

/** apiVersion of the placeholder object that carries a manifest that could not be read. @internal */
export const MANIFEST_ERROR_API_VERSION = 'image-automation.io/v1alpha1';
/** Kind of the placeholder object that carries a manifest that could not be read. @internal */
export const MANIFEST_ERROR_KIND = 'ManifestError';
/** Annotation on a placeholder object with the message that explains it. @internal */
export const MANIFEST_ERROR_ANNOTATION = 'image-automation.io/error';
/** Annotation on a placeholder object with the condition reason (default `InvalidManifest`). @internal */
export const MANIFEST_ERROR_REASON_ANNOTATION =
  'image-automation.io/error-reason';

const generated = new WeakSet<AutomationObject>();

/**
 * A placeholder that stands for a location or document that could not be read or parsed, so
 * the problem is stored and shown with the entity instead of being dropped.
 * @internal
 */
export function manifestError(
  location: string,
  index: number,
  message: string,
): AutomationObject {
  const digest = createHash('sha256')
    .update(`${location}#${index}`)
    .digest('hex')
    .slice(0, 10);
  const placeholder: AutomationObject = {
    apiVersion: MANIFEST_ERROR_API_VERSION,
    kind: MANIFEST_ERROR_KIND,
    metadata: {
      name: `manifest-${digest}`,
      namespace: 'default',
      annotations: { [MANIFEST_ERROR_ANNOTATION]: message },
    },
    spec: { location, document: index },
  };
  generated.add(placeholder);
  return placeholder;
}

/**
 * Gives a generated error placeholder a name unique to the source that read it: two entities
 * naming the same broken or refused location each get their own placeholder (otherwise the
 * second would be refused as a redeclaration of the first's). @internal
 */
export function scopeGeneratedError(
  manifest: AutomationObject,
  sourceKey: string,
): AutomationObject {
  if (generated.has(manifest)) {
    const digest = createHash('sha256')
      .update(`${sourceKey}|${manifest.metadata.name}`)
      .digest('hex')
      .slice(0, 10);
    manifest.metadata.name = `manifest-${digest}`;
  }
  return manifest;
}

/**
 * Whether a manifest is a placeholder this plugin made for a read or parse error (not a document
 * that merely says `kind: ManifestError`). @internal
 */
export function isGeneratedError(manifest: AutomationObject): boolean {
  return generated.has(manifest);
}

/**
 * A placeholder for a declared object that is not created (a namespace not granted to the entity,
 * an id another source already declares): it carries the reason and message, and names the
 * rejected object in `spec.rejected`, so the rejection is stored and shown with the entity. Its name
 * depends on the source and the rejected id, so every source has its own.
 * @internal
 */
export function rejectedManifest(
  sourceKey: string,
  location: string,
  manifest: AutomationObject,
  reason: string,
  message: string,
): AutomationObject {
  const namespace = manifest.metadata.namespace ?? 'default';
  const id = objectId(manifest.kind, namespace, manifest.metadata.name);
  const digest = createHash('sha256')
    .update(`${sourceKey}|${id}`)
    .digest('hex')
    .slice(0, 10);
  return {
    apiVersion: MANIFEST_ERROR_API_VERSION,
    kind: MANIFEST_ERROR_KIND,
    metadata: {
      name: `rejected-${digest}`,
      namespace: 'default',
      annotations: {
        [MANIFEST_ERROR_ANNOTATION]: message,
        [MANIFEST_ERROR_REASON_ANNOTATION]: reason,
      },
    },
    spec: {
      location,
      rejected: {
        apiVersion: manifest.apiVersion,
        kind: manifest.kind,
        namespace,
        name: manifest.metadata.name,
      },
    },
  };
}

function hasIdentity(doc: any): doc is AutomationObject {
  return (
    doc !== null &&
    typeof doc === 'object' &&
    typeof doc.kind === 'string' &&
    doc.kind !== '' &&
    typeof doc.metadata?.name === 'string' &&
    doc.metadata.name !== ''
  );
}

/**
 * Splits a YAML stream into automation objects. Documents that cannot be parsed, or that have
 * no kind or name, become {@link manifestError} placeholders naming the location, the
 * document and the cause. Older Flux apiVersions that Flux converted (`image.toolkit.fluxcd.io/v1beta2`,
 * `source.toolkit.fluxcd.io/v1beta2` GitRepository) are converted to v1 here (see fluxCompatibility).
 * Schema validation happens when the object is reconciled.
 * @internal
 */
export function parseManifests(
  text: string,
  location: string,
): AutomationObject[] {
  const objects: AutomationObject[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const error = doc.errors[0];
      objects.push(
        manifestError(
          location,
          index,
          `${location}: document ${index + 1}: invalid YAML: ${error.message}`,
        ),
      );
      return;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) {
      return; // an empty document, e.g. after a trailing `---`
    }
    if (!hasIdentity(value)) {
      const missing =
        typeof value?.kind !== 'string' || !value.kind
          ? 'kind'
          : 'metadata.name';
      objects.push(
        manifestError(
          location,
          index,
          `${location}: document ${index + 1}: ${missing}: Required value`,
        ),
      );
      return;
    }
    objects.push(convertManifest(value));
  });
  return objects;
}
