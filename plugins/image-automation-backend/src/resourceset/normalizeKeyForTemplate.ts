/**
 * The Flux Operator's `NormalizeKeyForTemplate`: the key a provider's inputs get under the
 * Permute strategy. Lower case; Unicode white space and punctuation become `_`; everything
 * else outside `[a-z0-9]` is dropped (symbols like `+ $ < = > ^ | ~`, non-ASCII letters);
 * runs of `_` collapse and are trimmed.
 * @internal
 */
export function normalizeKeyForTemplate(key: string): string {
  let mapped = '';
  for (const ch of key) {
    const r = ch.toLowerCase();
    if (/^[\s\p{P}]$/u.test(r)) mapped += '_';
    else if (/^[a-z0-9]$/.test(r)) mapped += r;
  }
  return mapped
    .split('_')
    .filter(w => w !== '')
    .join('_');
}
