import { compareGoStrings } from '../golib/strings';
import { GoValue } from '../golib/reflect';
import { inputId } from '../inputs/exportedInputs';
import { normalizeKeyForTemplate } from './normalizeKeyForTemplate';
import { InputProvider, InputSet } from './types';

/** The Flux Operator's cap on Permute products. */
export const MAX_PERMUTATIONS = 10000;

export { inputId };

/** An input provider together with the inputs it contributes (the ResourceSet comes first). @internal */
export interface ProviderInputs {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  inputs: InputSet[];
}

/** The GVK string Go sorts providers by (`group/version, Kind=kind`). */
function gvkString(p: InputProvider): string {
  return `${p.apiVersion}, Kind=${p.kind}`;
}

/**
 * `inputs.Combine`: the ResourceSet's own inputs first, then the providers sorted by
 * (GVK, namespace, name); every input gets a `provider` key naming its source; then
 * Flatten (concatenation) or Permute (Cartesian product with adler32 ids).
 * Throws an `Error` with the Flux Operator's message on failure.
 * @internal
 */
export function combineInputs(opts: {
  resourceSet: ProviderInputs;
  providers: InputProvider[];
  strategy?: string;
  includeEmptyProviders?: boolean;
}): InputSet[] {
  const sorted = [...opts.providers].sort(
    (a, b) =>
      compareGoStrings(gvkString(a), gvkString(b)) ||
      compareGoStrings(a.namespace, b.namespace) ||
      compareGoStrings(a.name, b.name),
  );
  const all: ProviderInputs[] = [opts.resourceSet, ...sorted];
  const strategy = opts.strategy || 'Flatten';
  const withProvider = (p: ProviderInputs): InputSet[] =>
    p.inputs.map(input => ({
      ...input,
      provider: {
        apiVersion: p.apiVersion,
        kind: p.kind,
        name: p.name,
        namespace: p.namespace,
      },
    }));
  if (strategy === 'Flatten') return all.flatMap(withProvider);
  if (strategy !== 'Permute')
    throw new Error(`unknown input strategy: '${strategy}'`);

  const includeEmpty = opts.includeEmptyProviders ?? false;
  const scoped: { key: string; inputs: InputSet[] }[] = [];
  let expected = 0n;
  for (const p of all) {
    const inputs = withProvider(p);
    if (!includeEmpty && inputs.length === 0) continue;
    expected =
      scoped.length === 0
        ? BigInt(inputs.length)
        : expected * BigInt(inputs.length);
    const fail = (msg: string) =>
      new Error(`failed to get inputs from ${p.kind}/${p.name}: ${msg}`);
    if (expected > BigInt(MAX_PERMUTATIONS)) {
      throw fail(
        `adding provider '${p.name}' with ${inputs.length} inputs would exceed the maximum allowed permutations. max: ${MAX_PERMUTATIONS}, got: ${expected}`,
      );
    }
    const key = normalizeKeyForTemplate(p.name);
    if (key === '')
      throw fail(`normalized provider name is empty: '${p.name}'`);
    scoped.push({ key, inputs });
  }
  if (scoped.length === 0 || scoped.some(s => s.inputs.length === 0)) return [];

  const out: InputSet[] = [];
  const idx = new Array<number>(scoped.length).fill(0);
  for (;;) {
    const perm: Record<string, GoValue> = {};
    const parts: string[] = [];
    scoped.forEach((s, i) => {
      perm[s.key] = s.inputs[idx[i]];
      parts.push(`${s.key}=${idx[i]}`);
    });
    perm.id = inputId(parts.join('/'));
    out.push(perm);
    // Odometer with the first provider as the outermost loop.
    let level = scoped.length - 1;
    while (level >= 0 && ++idx[level] === scoped[level].inputs.length) {
      idx[level] = 0;
      level--;
    }
    if (level < 0) return out;
  }
}
