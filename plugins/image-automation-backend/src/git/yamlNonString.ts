import { parseDocument, Scalar } from 'yaml';

/**
 * go-yaml v2's plain-scalar resolution (`resolve.go`), the judge kyaml's
 * `IsValueNonString` uses to decide whether a setter value must be quoted.
 */
const goYaml2Map = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL',
  '.nan', '.NaN', '.NAN',
  '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
]);

/** The first characters go-yaml v2 tries to resolve as something other than a string. */
function hint(c: string): 'M' | '.' | 'D' | 'S' | undefined {
  if (c >= '0' && c <= '9') return 'D';
  if (c === '+' || c === '-') return 'S';
  if (c === '.') return '.';
  if ('yYnNtTfFoO~'.includes(c)) return 'M';
  return undefined;
}

/** Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint` acceptance (range ignored: out of range still parses as a float). */
function goParsesAsInteger(s: string): boolean {
  return /^[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.test(s);
}

const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const goFloat = /^[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;

function goYaml2ResolvesNonString(value: string): boolean {
  const h = hint(value[0] ?? '');
  if (!h) return false;
  if (goYaml2Map.has(value)) return true;
  if (h === '.') return goFloat.test(value);
  if (h === 'D' || h === 'S') {
    // A timestamp decodes into interface{} as a string in go-yaml v2 (fluxcd/image-automation-controller#713).
    const plain = value.replace(/_/g, '');
    if (goParsesAsInteger(plain)) return true;
    if (yamlStyleFloat.test(plain)) return true;
    return /^-?0b[01]+$/.test(plain);
  }
  return false;
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
  return doc.contents === null || doc.contents instanceof Scalar ? 'scalar' : 'collection';
}

function resolvesNonString(value: string, version: '1.1' | '1.2'): boolean {
  const doc = parseDocument(value, version === '1.1' ? { version: '1.1' } : { version: '1.2', schema: 'core' });
  if (doc.errors.length > 0) return false;
  return !(doc.contents instanceof Scalar && typeof doc.contents.value === 'string');
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
  return isYaml11NonString(value) || resolvesNonString(value, '1.1') || resolvesNonString(value, '1.2');
}
