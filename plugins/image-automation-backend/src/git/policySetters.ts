import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';

/** `latestRef.String()`: `name:tag`, or `name:tag@digest` when a digest was reflected. @internal */
export function imageRefString(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** What a marker asks for, once its setter name is read against the automation's policies. @internal */
export type SetterLookup =
  | { ok: true; value: string }
  | { ok: false; problem: string };

/**
 * Resolves a marker's setter name (`N:P`, `N:P:tag`, `N:P:name`, `N:P:digest`) against the
 * policies the automation considers (its own namespace, matching its selector). Flux skips
 * every case that fails here silently; we say why, so it can be reported.
 * @internal
 */
export function lookupSetter(
  setter: string,
  namespace: string,
  policies: ReadonlyMap<string, ImageRef | undefined>,
): SetterLookup {
  const parts = setter.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    return {
      ok: false,
      problem: `marker '${setter}' is not of the form <namespace>:<policy>[:tag|:name|:digest]`,
    };
  }
  const [ns, policy, field] = parts;
  if (field !== undefined && !['tag', 'name', 'digest'].includes(field)) {
    return {
      ok: false,
      problem: `marker '${setter}' asks for '${field}'; only tag, name and digest exist`,
    };
  }
  if (ns !== namespace) {
    return {
      ok: false,
      problem: `marker '${setter}' names a policy in namespace '${ns}'; only policies in the automation's namespace '${namespace}' are applied`,
    };
  }
  if (!policies.has(policy)) {
    return {
      ok: false,
      problem: `marker '${setter}' names ImagePolicy '${policy}', which is not among the automation's policies in '${namespace}'`,
    };
  }
  const ref = policies.get(policy);
  if (!ref) {
    return {
      ok: false,
      problem: `marker '${setter}': ImagePolicy '${policy}' has not selected an image yet`,
    };
  }
  switch (field) {
    case undefined:
      return { ok: true, value: imageRefString(ref) };
    case 'tag':
      return { ok: true, value: ref.tag };
    case 'name':
      return { ok: true, value: ref.name };
    default:
      // Flux would blank the field; leaving it is safer and the warning says why.
      return ref.digest
        ? { ok: true, value: ref.digest }
        : {
            ok: false,
            problem: `marker '${setter}': ImagePolicy '${policy}' has no digest (digestReflectionPolicy is Never)`,
          };
  }
}
