/**
 * Sprig's value conversions (`strval`, `toInt64`, `toFloat64`, `empty`), shared by the
 * function groups.
 */

import {
  GoInt,
  GoStruct,
  GoValue,
  formatValue,
  kindOf,
  typedSlice,
  typeName,
} from '../../golib/reflect';
import { goParseFloat } from '../../golib/strconv';

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** Sprig's `strval`: strings as is, everything else through `%v`. @internal */
export function strval(v: GoValue): string {
  if (typeof v === 'string') return v;
  return formatValue(v);
}

/** Sprig's `strslice`: a list of strings from a list (nils dropped) or one value. @internal */
export function strslice(v: GoValue): string[] {
  if (Array.isArray(v))
    return typedSlice(v.filter(x => x !== null).map(strval), 'string');
  if (v === null) return typedSlice([], 'string');
  return typedSlice([strval(v)], 'string');
}

/** Go's `int64(f)` conversion on amd64: truncation, out of range gives the minimum. @internal */
export function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f)) return MIN_INT64;
  const t = BigInt(Math.trunc(f));
  if (t < MIN_INT64 || t > MAX_INT64) return MIN_INT64;
  return t;
}

/** Wraps to int64 the way Go's integer arithmetic overflows. @internal */
export function wrapInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** Which sprig a conversion mimics: go-task's slim-sprig or Masterminds' sprig (spf13/cast). @internal */
export type SprigFlavour = 'slim' | 'sprig';

function parseIntBase0(s: string): bigint | undefined {
  const m =
    /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(
      s,
    );
  if (!m) return undefined;
  let body = m[2].replace(/_/g, '');
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`;
  const v = BigInt(body) * (m[1] === '-' ? -1n : 1n);
  return v < MIN_INT64 || v > MAX_INT64 ? undefined : v;
}

/** Sprig's `toInt64`. @internal */
export function toInt64(v: GoValue, flavour: SprigFlavour = 'slim'): bigint {
  switch (kindOf(v)) {
    case 'string': {
      const s = v as string;
      if (flavour === 'slim') {
        if (!/^[+-]?[0-9]+$/.test(s)) return 0n;
        const b = BigInt(s);
        return b < MIN_INT64 || b > MAX_INT64 ? 0n : b;
      }
      // spf13/cast trims a zero decimal part and parses with base prefixes.
      const trimmed = /^[^.]+\.0*$/.test(s) ? s.slice(0, s.indexOf('.')) : s;
      return parseIntBase0(trimmed) ?? 0n;
    }
    case 'int64':
      return v as bigint;
    case 'int':
      return (v as GoInt).value;
    case 'float64':
      return floatToInt64(v as number);
    case 'bool':
      return v ? 1n : 0n;
    default:
      return 0n;
  }
}

/** Sprig's `toFloat64`. @internal */
export function toFloat64(v: GoValue): number {
  switch (kindOf(v)) {
    case 'string':
      // strconv.ParseFloat's error (syntax or range) gives 0, as in sprig
      return goParseFloat(v as string) ?? 0;
    case 'int64':
      return Number(v as bigint);
    case 'int':
      return Number((v as GoInt).value);
    case 'float64':
      return v as number;
    case 'bool':
      return v ? 1 : 0;
    default:
      return 0;
  }
}

/** Sprig's `empty`: the zero value of its type, or nil. @internal */
export function isEmpty(v: GoValue | undefined): boolean {
  if (v === null || v === undefined) return true;
  if (v instanceof GoStruct) return false;
  if (v instanceof GoInt) return v.value === 0n;
  if (v instanceof Map) return v.size === 0;
  switch (typeof v) {
    case 'string':
      return v.length === 0;
    case 'bigint':
      return v === 0n;
    case 'number':
      return v === 0;
    case 'boolean':
      return !v;
    default:
      return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
  }
}

/** Go's `%T` for a value (the type name errors print too). @internal */
export function goTypeOf(v: GoValue): string {
  return typeName(v);
}

/** Go's reflect kind name of a value (`kindOf`). @internal */
export function goKindOf(v: GoValue): string {
  if (v instanceof GoStruct && v.typeName.startsWith('*')) return 'ptr';
  const k = kindOf(v);
  return k === 'invalid' ? 'invalid' : k;
}
