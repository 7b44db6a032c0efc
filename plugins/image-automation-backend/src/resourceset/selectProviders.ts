import { compileLabelSelector } from '../golib/labels';
import { InputProvider, InputProviderReference } from './types';

const RSIP_API_VERSION = 'fluxcd.controlplane.io/v1';
const RSIP_KIND = 'ResourceSetInputProvider';

/**
 * The providers a ResourceSet's `spec.inputsFrom` selects among candidates in its
 * namespace: by name, or by label selector; each provider once.
 * @internal
 */
export function selectProviders(
  namespace: string,
  inputsFrom: InputProviderReference[],
  candidates: InputProvider[],
): InputProvider[] {
  const key = (p: { name: string; namespace: string }) =>
    `${p.namespace}/${p.name}`;
  const rsips = candidates.filter(
    p => p.apiVersion === RSIP_API_VERSION && p.kind === RSIP_KIND,
  );
  const selected = new Map<string, InputProvider>();
  for (const ref of inputsFrom) {
    if (ref.name) {
      const p = rsips.find(
        c => c.name === ref.name && c.namespace === namespace,
      );
      if (p && !selected.has(key(p))) selected.set(key(p), p);
    } else if (ref.selector) {
      let matches;
      try {
        matches = compileLabelSelector(ref.selector);
      } catch (error) {
        throw new Error(
          `failed to parse selector: ${(error as Error).message}`,
        );
      }
      for (const p of rsips) {
        if (!selected.has(key(p)) && matches(p.labels ?? {}))
          selected.set(key(p), p);
      }
    } else {
      throw new Error(
        'input provider reference must have either name or selector set',
      );
    }
  }
  return [...selected.values()];
}
