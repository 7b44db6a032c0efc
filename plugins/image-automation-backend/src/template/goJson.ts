/**
 * Go's `encoding/json` for template values: what `toJson` prints and how `fromJson` and
 * Kubernetes' decoders read numbers.
 */

import { GoTime } from './goTime';
import {
  compareStrings,
  GoInt,
  GoStruct,
  GoValue,
  formatFloatExp,
  formatFloatFixed,
  isPlainMap,
} from './goValue';

/** A value `encoding/json` refuses (`json: unsupported value: NaN`). @internal */
export class JsonMarshalError extends Error {}

function quoteJson(s: string, escapeHtml: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20) out += `\\u00${c.toString(16).padStart(2, '0')}`;
    else if (escapeHtml && (ch === '<' || ch === '>' || ch === '&')) {
      out += `\\u00${c.toString(16)}`;
    } else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's float encoding in JSON: `'f'` format, `'e'` below 1e-6 or from 1e21. @internal */
export function formatJsonFloat(f: number): string {
  if (!Number.isFinite(f)) {
    throw new JsonMarshalError(
      `json: unsupported value: ${f > 0 ? '+Inf' : f < 0 ? '-Inf' : 'NaN'}`,
    );
  }
  const abs = Math.abs(f);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    return formatFloatExp(f).replace(/e([+-])0(\d)$/, 'e$1$2');
  }
  return formatFloatFixed(f);
}

/**
 * `json.Marshal` (with `indent`, `json.MarshalIndent(v, "", indent)`).
 * @internal
 */
export function marshalJson(
  v: GoValue | undefined,
  opts: { indent?: string; escapeHtml?: boolean } = {},
): string {
  const escapeHtml = opts.escapeHtml ?? true;
  const ind = opts.indent;
  const enc = (x: GoValue | undefined, depth: number): string => {
    if (x === null || x === undefined) return 'null';
    switch (typeof x) {
      case 'string':
        return quoteJson(x, escapeHtml);
      case 'bigint':
        return x.toString();
      case 'number':
        return formatJsonFloat(x);
      case 'boolean':
        return x ? 'true' : 'false';
      default:
        break;
    }
    const nl = ind === undefined ? '' : `\n${ind.repeat(depth + 1)}`;
    const close = ind === undefined ? '' : `\n${ind.repeat(depth)}`;
    const colon = ind === undefined ? ':' : ': ';
    if (x instanceof GoInt) return x.value.toString();
    // time.Time's MarshalJSON: RFC 3339 with nanoseconds
    if (x instanceof GoTime)
      return enc(x.format('2006-01-02T15:04:05.999999999Z07:00'), depth);
    // semver's MarshalJSON: its String()
    if (x instanceof GoStruct && x.typeName === '*semver.Version')
      return enc(x.methods.String(), depth);
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      return `[${x.map(e => nl + enc(e, depth + 1)).join(',')}${close}]`;
    }
    let entries: [string, GoValue][];
    if (x instanceof GoStruct) entries = Object.entries(x.fields);
    else if (x instanceof Map) {
      entries = [...x.entries()].map(
        ([k, val]) => [String(k), val] as [string, GoValue],
      );
      entries.sort((a, b) => compareStrings(a[0], b[0]));
    } else if (isPlainMap(x)) {
      entries = Object.keys(x)
        .sort(compareStrings)
        .map(k => [k, x[k]]);
    } else entries = [];
    if (entries.length === 0) return '{}';
    return `{${entries
      .map(
        ([k, val]) =>
          nl + quoteJson(k, escapeHtml) + colon + enc(val, depth + 1),
      )
      .join(',')}${close}}`;
  };
  return enc(v, 0);
}

/**
 * Parses JSON text into template values. `ints: 'preserve'` keeps integer literals that fit
 * int64 as integers (Kubernetes' decoder, used for ResourceSet inputs); `'float'` reads every
 * number as float64 (`encoding/json` into `interface{}`, as sprig's `fromJson` does).
 * @internal
 */
export function parseJson(text: string, ints: 'preserve' | 'float'): GoValue {
  return JSON.parse(text, function reviver(
    this: unknown,
    _key: string,
    value: unknown,
    ctx?: { source?: string },
  ) {
    if (typeof value === 'number') {
      const src = ctx?.source;
      if (ints === 'preserve' && src !== undefined && /^-?\d+$/.test(src)) {
        const b = BigInt(src);
        if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
      }
      return value;
    }
    return value;
  } as (this: unknown, key: string, value: unknown) => unknown) as GoValue;
}
