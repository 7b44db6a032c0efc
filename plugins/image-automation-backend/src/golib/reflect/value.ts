/**
 * The Go value model the template engine works on, and Go's `fmt` `%v` printing of it.
 *
 * Go distinguishes integers from floats where JavaScript does not, and templates show the
 * difference (`2` vs `2.5`, `1e+06`), so values use this mapping:
 *
 * | Go                         | here                         |
 * |----------------------------|------------------------------|
 * | `int`, `int64`             | `bigint`                     |
 * | `float64`                  | `number`                     |
 * | `string`, `bool`           | `string`, `boolean`          |
 * | nil interface              | `null`                       |
 * | `[]interface{}`            | array                        |
 * | `map[string]interface{}`   | plain object                 |
 * | struct with fields/methods | {@link GoStruct}             |
 * | map with struct keys       | `Map` (keys sorted on print) |
 */

import { compareGoStrings } from '../strings';

/**
 * A Go `int` (template number literals, `len`, `int`, `atoi`, range indexes): a separate
 * type from `int64` (plain `bigint`, what JSON inputs and most sprig arithmetic give),
 * because Go templates tell them apart (`typeOf`, `duration`, `int` parameters).
 * @internal
 */
export class GoInt {
  constructor(readonly value: bigint) {}
}

/** The integer value of an `int` or `int64`. @internal */
export function intValue(v: bigint | GoInt): bigint {
  return typeof v === 'bigint' ? v : v.value;
}

/** Whether a value is an `int` or `int64`. @internal */
export function isInt(v: unknown): v is bigint | GoInt {
  return typeof v === 'bigint' || v instanceof GoInt;
}

/**
 * A Go struct value: named fields, optional methods and an optional `String()` method.
 * @internal
 */
export class GoStruct {
  constructor(
    // The field is Go's struct type name; it is named as the typeName() function it feeds.
    // eslint-disable-next-line @typescript-eslint/no-shadow
    readonly typeName: string,
    readonly fields: Record<string, GoValue>,
    readonly methods: Record<string, (...args: GoValue[]) => GoValue> = {},
  ) {}
}

/** Any value a template can hold. @internal */
export type GoValue =
  | string
  | bigint
  | GoInt
  | number
  | boolean
  | null
  | GoValue[]
  | { [key: string]: GoValue }
  | GoStruct
  | Map<GoValue, GoValue>;

/** Go's reflect kinds that matter to templates. @internal */
export type GoKind =
  | 'invalid'
  | 'string'
  | 'int'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'slice'
  | 'map'
  | 'struct';

const ELEMENT_TYPE = Symbol('goElementType');

/**
 * Marks a list as a Go slice of a concrete element type (`[]string`, `[]int`), which
 * `typeOf` reports; untagged lists are `[]interface {}`.
 * @internal
 */
export function typedSlice<T extends GoValue[]>(
  list: T,
  elementType: 'string' | 'int',
): T {
  Object.defineProperty(list, ELEMENT_TYPE, {
    value: elementType,
    enumerable: false,
  });
  return list;
}

/** Go's type name of a list. @internal */
export function sliceTypeName(list: GoValue[]): string {
  const t = (list as unknown as Record<symbol, string | undefined>)[
    ELEMENT_TYPE
  ];
  return `[]${t ?? 'interface {}'}`;
}

/** The kind of a value. @internal */
export function kindOf(v: GoValue | undefined): GoKind {
  if (v === null || v === undefined) return 'invalid';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'bigint':
      return 'int64';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    default:
      if (Array.isArray(v)) return 'slice';
      if (v instanceof GoInt) return 'int';
      if (v instanceof GoStruct) return 'struct';
      return 'map';
  }
}

/** Go's type name of a value, as it appears in error messages. @internal */
export function typeName(v: GoValue | undefined): string {
  switch (kindOf(v)) {
    case 'invalid':
      return '<nil>';
    case 'slice':
      return sliceTypeName(v as GoValue[]);
    case 'map':
      return v instanceof Map
        ? 'map[interface {}]interface {}'
        : 'map[string]interface {}';
    case 'struct':
      return (v as GoStruct).typeName;
    default:
      return kindOf(v);
  }
}

/** Whether a value is a plain map (`map[string]interface{}`). @internal */
export function isPlainMap(v: unknown): v is { [key: string]: GoValue } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof GoInt) &&
    !(v instanceof GoStruct) &&
    !(v instanceof Map)
  );
}

/** Go template truthiness (`if`, `with`, `and`, `or`, `not`). @internal */
export function isTrue(v: GoValue | undefined): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'string':
      return v.length > 0;
    case 'bigint':
      return v !== 0n;
    case 'number':
      return v !== 0;
    case 'boolean':
      return v;
    default:
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof GoInt) return v.value !== 0n;
      if (v instanceof Map) return v.size > 0;
      if (v instanceof GoStruct) return true;
      return Object.keys(v).length > 0;
  }
}

/** Shortest round-trip decimal digits and decimal-point position of a finite non-zero float. */
function shortestDigits(x: number): { digits: string; dp: number } {
  const [mant, exp] = Math.abs(x).toExponential().split('e');
  return { digits: mant.replace('.', ''), dp: Number(exp) + 1 };
}

function formatExponent(neg: boolean, digits: string, dp: number): string {
  const exp = dp - 1;
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${mant}e${exp < 0 ? '-' : '+'}${e}`;
}

function formatFixed(neg: boolean, digits: string, dp: number): string {
  let s: string;
  if (dp <= 0) s = `0.${'0'.repeat(-dp)}${digits}`;
  else if (dp >= digits.length) s = digits + '0'.repeat(dp - digits.length);
  else s = `${digits.slice(0, dp)}.${digits.slice(dp)}`;
  return (neg ? '-' : '') + s;
}

/**
 * Go's `strconv.FormatFloat(x, 'g', -1, 64)`, which is also `fmt`'s `%v` for a float64:
 * shortest digits, exponent form when the decimal exponent is below -4 or at least 6
 * (`1e+06`, where JavaScript would switch only at 21).
 * @internal
 */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const { digits, dp } = shortestDigits(x);
  const exp = dp - 1;
  if (exp < -4 || exp >= 6) {
    return formatExponent(x < 0, digits, dp);
  }
  return formatFixed(x < 0, digits, dp);
}

/**
 * Go's `strconv.FormatFloat(x, 'f', -1, 64)`: shortest digits, never an exponent.
 * @internal
 */
export function formatFloatFixed(x: number): string {
  if (!Number.isFinite(x)) return formatFloat(x);
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const { digits, dp } = shortestDigits(x);
  return formatFixed(x < 0, digits, dp);
}

/** Go's `%e`-style exponent formatting with shortest digits (`strconv 'e', -1`). @internal */
export function formatFloatExp(x: number): string {
  if (!Number.isFinite(x)) return formatFloat(x);
  if (x === 0) return Object.is(x, -0) ? '-0e+00' : '0e+00';
  const { digits, dp } = shortestDigits(x);
  return formatExponent(x < 0, digits, dp);
}

/** Byte-wise (UTF-8) string comparison, as Go compares strings. @internal */
export const compareStrings = compareGoStrings;

/** Orders map keys the way Go's `fmtsort` does (strings byte-wise, numbers numerically). @internal */
export function compareKeys(a: GoValue, b: GoValue): number {
  if (typeof a === 'string' && typeof b === 'string')
    return compareStrings(a, b);
  if (isInt(a) && isInt(b)) {
    const x = intValue(a);
    const y = intValue(b);
    return Number(x > y) - Number(x < y);
  }
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean')
    return Number(a) - Number(b);
  if (a instanceof GoStruct && b instanceof GoStruct) {
    for (const f of Object.keys(a.fields)) {
      const c = compareKeys(a.fields[f], b.fields[f]);
      if (c !== 0) return c;
    }
    return 0;
  }
  return 0;
}

/** The keys of a map in Go's printing and `range` order. @internal */
export function sortedKeys(m: { [key: string]: GoValue }): string[] {
  return Object.keys(m).sort(compareStrings);
}

/** Go's `fmt.Sprint`-style `%v` formatting of one value (nil prints as `<nil>`). @internal */
export function formatValue(v: GoValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'bigint':
      return v.toString();
    case 'number':
      return formatFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (v instanceof GoInt) return v.value.toString();
  if (v instanceof GoStruct) {
    if (v.methods.String) return formatValue(v.methods.String());
    return `{${Object.values(v.fields).map(formatValue).join(' ')}}`;
  }
  if (v instanceof Map) {
    const keys = [...v.keys()].sort(compareKeys);
    return `map[${keys
      .map(k => `${formatValue(k)}:${formatValue(v.get(k))}`)
      .join(' ')}]`;
  }
  const m = v as { [key: string]: GoValue };
  return `map[${sortedKeys(m)
    .map(k => `${k}:${formatValue(m[k])}`)
    .join(' ')}]`;
}

/**
 * How a template action prints its value: like `%v`, but a nil value is `<no value>`.
 * @internal
 */
export function printValue(v: GoValue | undefined): string {
  if (v === null || v === undefined) return '<no value>';
  return formatValue(v);
}

/** `fmt.Sprint(args...)`: spaces only between operands when neither is a string. @internal */
export function sprint(args: GoValue[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const isString = typeof args[i] === 'string';
    if (i > 0 && !isString && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(args[i]);
  }
  return out;
}

/** `fmt.Sprintln(args...)`: always spaces, then a newline. @internal */
export function sprintln(args: GoValue[]): string {
  return `${args.map(formatValue).join(' ')}\n`;
}

/**
 * Sets a map entry as an own property, also for keys like `__proto__` that plain
 * assignment would treat specially.
 * @internal
 */
export function setOwn(
  m: Record<string, GoValue>,
  key: string,
  value: GoValue,
): void {
  if (key === '__proto__') {
    Object.defineProperty(m, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else m[key] = value;
}
