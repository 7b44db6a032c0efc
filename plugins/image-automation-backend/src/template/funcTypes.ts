import { GoValue } from '../golib/reflect';

/**
 * The Go parameter types a template function can declare. They decide which arguments the
 * executor accepts and which error Go would report otherwise.
 * @internal
 */
export type ParamType =
  | 'string'
  | 'int'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'any'
  | 'list'
  | 'map'
  | 'time';

/**
 * A template function: its Go signature and its implementation. `call` receives the
 * arguments already checked against `params` (and `variadic` for the rest).
 * An `and`/`or`-style function sets `lazy` and receives thunks instead.
 * @internal
 */
export interface GoFunc {
  params: ParamType[];
  variadic?: ParamType;
  call(...args: GoValue[]): GoValue;
  /**
   * For builtins that take Go `reflect.Value`s (`len`): called instead of `call` with, per
   * argument, whether it is a nil read straight from a field (`.a.b`), which Go passes as a
   * typed nil interface, where a nil from a pipeline, variable or `nil` is no value at all.
   */
  callReflect?(fieldNil: boolean[], ...args: GoValue[]): GoValue;
}

/** A function table, by template name. @internal */
export type FuncMap = Record<string, GoFunc>;

/**
 * An error a template function returns (Go's second result); the executor reports it as
 * `error calling NAME: MESSAGE`.
 * @internal
 */
export class GoFuncError extends Error {}

/** Shorthand for declaring a function with a fixed signature. @internal */
export function fn(
  params: ParamType[],
  call: (...args: any[]) => GoValue,
  variadic?: ParamType,
): GoFunc {
  return { params, call, variadic };
}

/** Go's type name for a parameter type, as in `expected string`. @internal */
export function paramTypeName(t: ParamType): string {
  switch (t) {
    case 'any':
      return 'interface {}';
    case 'list':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'time':
      return 'time.Time';
    default:
      return t;
  }
}
