import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { KubernetesObject } from './types';

const REDACTED = '(redacted)';
/** A client-side `kubectl apply` keeps the whole manifest here, a Secret's values included. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** What is compared: no server bookkeeping, and no Secret values (a diff is shown to people). */
function shown(object: KubernetesObject | undefined): {
  text: string;
  secretValues: string;
} {
  if (!object) return { text: '', secretValues: '' };
  const {
    managedFields: _managedFields,
    resourceVersion: _resourceVersion,
    generation: _generation,
    ...metadata
  } = (object.metadata ?? {}) as Record<string, unknown>;
  const copy: Record<string, unknown> = { ...object, metadata };
  let secretValues = '';
  if (
    object.kind === 'Secret' &&
    (object.apiVersion === 'v1' || object.apiVersion === undefined)
  ) {
    for (const field of ['data', 'stringData'] as const) {
      const values = object[field] as Record<string, unknown> | undefined;
      if (!values) continue;
      secretValues += JSON.stringify(Object.entries(values).sort());
      copy[field] = Object.fromEntries(
        Object.keys(values)
          .sort()
          .map(k => [k, REDACTED]),
      );
    }
    const annotations = metadata.annotations as
      | Record<string, string>
      | undefined;
    if (annotations?.[LAST_APPLIED] !== undefined) {
      copy.metadata = {
        ...metadata,
        annotations: { ...annotations, [LAST_APPLIED]: REDACTED },
      };
    }
  }
  return { text: stringify(copy, { sortMapEntries: true }), secretValues };
}

/**
 * A unified diff of an object as it is in the cluster and as it would be after the apply, as YAML
 * with sorted keys. Secret values are never printed: keys are, and a changed value is said to
 * have changed.
 * @internal
 */
export function objectDiff(
  subject: string,
  before: KubernetesObject | undefined,
  after: KubernetesObject,
): string {
  const a = shown(before);
  const b = shown(after);
  const patch = createTwoFilesPatch(
    before ? subject : '/dev/null',
    subject,
    a.text,
    b.text,
    undefined,
    undefined,
    { context: 2 },
  );
  const body = patch.split('\n').slice(1).join('\n');
  const secretNote =
    before && a.secretValues !== b.secretValues
      ? '# Secret values changed (not shown)\n'
      : '';
  return `${body}${secretNote}`;
}
