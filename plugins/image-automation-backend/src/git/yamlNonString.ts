import { parseDocument, Scalar } from 'yaml';
import { resolvePlain } from '../golib/yaml';

/**
 * Whether go-yaml v2 decodes the plain scalar `value` into `interface{}` as something other
 * than a string. Timestamps stay strings there (fluxcd/image-automation-controller#713).
 */
function goYaml2ResolvesNonString(value: string): boolean {
  const { tag } = resolvePlain(value);
  return tag !== 'str' && tag !== 'timestamp' && tag !== 'merge';
}

/**
 * Whether kyaml (`yaml.IsValueNonString`, go-yaml v2 / YAML 1.1) reads `value` as something
 * other than a string — Flux quotes a plain setter value exactly when this is true.
 * @internal
 */
export function isYaml11NonString(value: string): boolean {
  if (value === '' || value.includes('\n')) return false;
  const structure = structureOf(value);
  if (structure === 'error') return false;
  if (structure !== 'scalar') return true;
  const trimmed = value.replace(/\s+#.*$/, '').trim();
  if (/^['"]/.test(trimmed)) return false;
  return goYaml2ResolvesNonString(trimmed);
}

/** Whether the value, read as a YAML document, is a mapping or sequence (`a: b`, `[a]`). */
function structureOf(value: string): 'scalar' | 'collection' | 'error' {
  const doc = parseDocument(value, { schema: 'failsafe' });
  if (doc.errors.length > 0) return 'error';
  return doc.contents === null || doc.contents instanceof Scalar
    ? 'scalar'
    : 'collection';
}

function resolvesNonString(value: string, version: '1.1' | '1.2'): boolean {
  const doc = parseDocument(
    value,
    version === '1.1' ? { version: '1.1' } : { version: '1.2', schema: 'core' },
  );
  if (doc.errors.length > 0) return false;
  return !(
    doc.contents instanceof Scalar && typeof doc.contents.value === 'string'
  );
}

/**
 * Whether a plain scalar with this value would be read as something other than a string by
 * any common YAML reader: go-yaml v2 (what Flux checks), a YAML 1.1 reader (timestamps such as
 * `2024-06-27`, sexagesimal `12:30`), or a YAML 1.2 core-schema reader (Helm, kubectl). Flux
 * quotes only the first; dates it leaves plain are then read as dates downstream
 * (fluxcd/image-automation-controller#713), so we quote them all.
 * @internal
 */
export function needsQuoting(value: string): boolean {
  if (value === '') return true;
  return (
    isYaml11NonString(value) ||
    resolvesNonString(value, '1.1') ||
    resolvesNonString(value, '1.2')
  );
}
