function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * JSON with every object's keys sorted (by UTF-16 code units, as JavaScript's `<`), so two
 * equal values print the same whatever order their keys were written in: the applier hashes
 * and compares Kubernetes objects with it.
 * @internal
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v).sort(([a], [b]) => compareKeys(a, b)),
        )
      : v,
  );
}
