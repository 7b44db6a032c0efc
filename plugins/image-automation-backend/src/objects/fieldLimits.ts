import {
  AutomationObject,
  objectId,
} from '@imageops/backstage-plugin-image-automation-common';
import { rejectedManifest } from './parseManifests';

/**
 * The sizes of the `image_automation_objects` columns a manifest's identity is stored in
 * (migrations/20261122000000_init.js). PostgreSQL refuses a longer value — failing the whole
 * sync transaction, so one over-long name would stop every entity's sync — where SQLite stores
 * it; both are checked here first, so the object alone is rejected (issue #13).
 * @internal
 */
export const OBJECT_FIELD_LIMITS = {
  apiVersion: 255,
  kind: 63,
  namespace: 63,
  name: 253,
  /** `<kind>/<namespace>/<name>` (the id column). */
  id: 600,
  entityRef: 600,
} as const;

const shorten = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** Why a manifest cannot be stored (a field longer than its column), or undefined. @internal */
export function fieldLengthProblem(
  manifest: AutomationObject,
  entityRef?: string,
): string | undefined {
  const namespace = manifest.metadata?.namespace ?? 'default';
  const fields: Array<[string, unknown, number]> = [
    ['apiVersion', manifest.apiVersion, OBJECT_FIELD_LIMITS.apiVersion],
    ['kind', manifest.kind, OBJECT_FIELD_LIMITS.kind],
    ['metadata.namespace', namespace, OBJECT_FIELD_LIMITS.namespace],
    ['metadata.name', manifest.metadata?.name, OBJECT_FIELD_LIMITS.name],
    ['entity reference', entityRef, OBJECT_FIELD_LIMITS.entityRef],
  ];
  for (const [field, value, max] of fields) {
    if (typeof value === 'string' && value.length > max) {
      return `${field} is ${
        value.length
      } characters long; at most ${max} are allowed ('${shorten(value)}')`;
    }
  }
  const id = objectId(manifest.kind, namespace, manifest.metadata?.name);
  if (id.length > OBJECT_FIELD_LIMITS.id) {
    return `the object id is ${id.length} characters long; at most ${OBJECT_FIELD_LIMITS.id} are allowed`;
  }
  return undefined;
}

/**
 * The declaration as given, or a rejected placeholder (reason `FieldTooLong`) when a field is
 * longer than its column: the placeholder's own fields are short, so it can always be stored.
 * @internal
 */
export function rejectOverLong<
  D extends {
    manifest: AutomationObject;
    entityRef?: string;
    source: { location: string };
  },
>(sourceKey: string, declared: D): D {
  const problem = fieldLengthProblem(declared.manifest, declared.entityRef);
  if (!problem) return declared;
  const { kind, metadata } = declared.manifest;
  const message = `${shorten(String(kind))} '${shorten(
    String(metadata?.namespace ?? 'default'),
  )}/${shorten(String(metadata?.name))}' rejected: ${problem}`;
  // The placeholder names the rejected object with its fields cut to their columns' sizes.
  const cut: AutomationObject = {
    ...declared.manifest,
    apiVersion: String(declared.manifest.apiVersion ?? '').slice(
      0,
      OBJECT_FIELD_LIMITS.apiVersion,
    ),
    kind: String(kind ?? '').slice(0, OBJECT_FIELD_LIMITS.kind),
    metadata: {
      ...metadata,
      namespace: String(metadata?.namespace ?? 'default').slice(
        0,
        OBJECT_FIELD_LIMITS.namespace,
      ),
      name: String(metadata?.name ?? '').slice(0, OBJECT_FIELD_LIMITS.name),
    },
  };
  return {
    ...declared,
    entityRef: declared.entityRef?.slice(0, OBJECT_FIELD_LIMITS.entityRef),
    manifest: rejectedManifest(
      sourceKey,
      declared.source.location,
      cut,
      'FieldTooLong',
      message,
    ),
  };
}
