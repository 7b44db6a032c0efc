import { InputProvider, InputProviderReference, LabelSelector } from './types';

const RSIP_API_VERSION = 'fluxcd.controlplane.io/v1';
const RSIP_KIND = 'ResourceSetInputProvider';

function matchesSelector(
  selector: LabelSelector,
  labels: Record<string, string>,
): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(labels[e.key])) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(labels[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(
          `failed to parse selector: "${e.operator}" is not a valid label selector operator`,
        );
    }
  }
  return true;
}

/**
 * The providers a ResourceSet's `spec.inputsFrom` selects among candidates in its
 * namespace: by name, or by label selector; each provider once.
 * @public
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
      for (const p of rsips) {
        if (
          !selected.has(key(p)) &&
          matchesSelector(ref.selector, p.labels ?? {})
        )
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
