/**
 * `sigs.k8s.io/yaml`'s `Marshal`: `json.Marshal`, then go-yaml v2 reads the JSON back and
 * prints it. The JSON step is what turns an integral float into an integer and struct
 * fields into mapping keys.
 */

import { GoInt, GoStruct, GoValue, isPlainMap, setOwn } from '../reflect';
import { GoTime } from '../time';
import { formatJsonFloat } from '../json';
import { jsonRoundTripNumber } from './numbers';
import { emitYaml } from './emit';

/** Characters go-yaml's reader refuses in the JSON text (`control characters are not allowed`). */
const REFUSED = /[\x7f-\x84\x86-\x9f\ufffe\uffff]/;

/**
 * A string as go-yaml reads it back from its JSON encoding: JSON escapes C0 controls and
 * U+2028/2029 but writes NEL (U+0085) raw, which go-yaml folds like a line break inside the
 * double-quoted scalar (one break → a space, n breaks → n-1 newlines, blanks around trimmed).
 */
function jsonRoundTripString(s: string, key = false): string {
  if (REFUSED.test(s))
    throw new Error('yaml: control characters are not allowed');
  if (key && s.includes('\u0085'))
    throw new Error('yaml: a line break in a JSON key');
  if (!s.includes('\u0085')) return s;
  return s.replace(/[ \t]*((?:\u0085[ \t]*)+)/g, (_m, breaks: string) => {
    const n = (breaks.match(/\u0085/g) ?? []).length;
    return n === 1 ? ' ' : '\n'.repeat(n - 1);
  });
}

/** A value as go-yaml holds it after reading the JSON encoding of `v`. @internal */
export function jsonNormalize(v: GoValue): GoValue {
  if (typeof v === 'string') return jsonRoundTripString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) formatJsonFloat(v); // throws json.Marshal's error
    return jsonRoundTripNumber(v);
  }
  if (v instanceof GoInt) return v.value;
  if (Array.isArray(v)) return v.map(jsonNormalize);
  // time.Time marshals to JSON as an RFC 3339 string
  if (v instanceof GoTime)
    return v.format('2006-01-02T15:04:05.999999999Z07:00');
  if (v instanceof GoStruct) return jsonNormalize(v.fields);
  if (v instanceof Map) {
    const out: Record<string, GoValue> = {};
    for (const [k, val] of v)
      setOwn(out, jsonRoundTripString(String(k), true), jsonNormalize(val));
    return out;
  }
  if (isPlainMap(v)) {
    const out: Record<string, GoValue> = {};
    for (const k of Object.keys(v))
      setOwn(out, jsonRoundTripString(k, true), jsonNormalize(v[k]));
    return out;
  }
  return v;
}

/**
 * `sigs.k8s.io/yaml.Marshal(v)`; throws where `json.Marshal` would fail (NaN, ±Inf).
 * @internal
 */
export function marshalYaml(v: GoValue): string {
  return emitYaml(jsonNormalize(v));
}
