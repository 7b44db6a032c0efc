/**
 * `sigs.k8s.io/yaml`'s `Marshal`: `json.Marshal`, then go-yaml v2 reads the JSON back and
 * prints it. The JSON step is what turns an integral float into an integer and struct
 * fields into mapping keys.
 */

import { GoInt, GoStruct, GoValue, isPlainMap, setOwn } from '../goValue';
import { formatJsonFloat } from '../goJson';
import { jsonRoundTripNumber } from './numbers';
import { emitYaml } from './emit';

/** A value as go-yaml holds it after reading the JSON encoding of `v`. @internal */
export function jsonNormalize(v: GoValue): GoValue {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) formatJsonFloat(v); // throws json.Marshal's error
    return jsonRoundTripNumber(v);
  }
  if (v instanceof GoInt) return v.value;
  if (Array.isArray(v)) return v.map(jsonNormalize);
  if (v instanceof GoStruct) return jsonNormalize(v.fields);
  if (v instanceof Map) {
    const out: Record<string, GoValue> = {};
    for (const [k, val] of v) setOwn(out, String(k), jsonNormalize(val));
    return out;
  }
  if (isPlainMap(v)) {
    const out: Record<string, GoValue> = {};
    for (const k of Object.keys(v)) setOwn(out, k, jsonNormalize(v[k]));
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
