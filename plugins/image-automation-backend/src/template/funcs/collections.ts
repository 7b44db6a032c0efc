/**
 * Sprig's list and dictionary functions. The non-`must` variants panic in Go, which the
 * template engine reports as `error calling NAME: …` just like the `must` variants' errors.
 */

import { FuncMap, fn, GoFuncError } from '../funcTypes';
import {
  GoInt,
  GoValue,
  GoStruct,
  isPlainMap,
  kindOf,
  compareStrings,
  setOwn,
  typedSlice,
} from '../../golib/reflect';
import { isEmpty, strval, toInt64 } from './convert';

type List = GoValue[];
type Dict = Record<string, GoValue>;

/** reflect.Kind name for the "Cannot … on type KIND" messages. */
function goKind(v: GoValue): string {
  switch (kindOf(v)) {
    case 'invalid':
      throw new GoFuncError(
        'runtime error: invalid memory address or nil pointer dereference',
      );
    case 'int64':
      return 'int64';
    case 'float64':
      return 'float64';
    default:
      return kindOf(v);
  }
}

function asList(v: GoValue, what: string): List {
  if (Array.isArray(v)) return v;
  throw new GoFuncError(`${what} ${goKind(v)}`);
}

/** Go's `reflect.DeepEqual` on template values. @internal */
export function deepEqual(a: GoValue, b: GoValue): boolean {
  if (a === b) return true;
  if (kindOf(a) !== kindOf(b)) return false;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (a instanceof GoInt && b instanceof GoInt) return a.value === b.value;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a instanceof GoStruct && b instanceof GoStruct) {
    return a.typeName === b.typeName && deepEqual(a.fields, b.fields);
  }
  if (isPlainMap(a) && isPlainMap(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every(
        k =>
          Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]),
      )
    );
  }
  return false;
}

const inList = (list: List, needle: GoValue) =>
  list.some(h => deepEqual(needle, h));

function listOp<T extends GoValue>(
  what: string,
  op: (l: List, ...rest: any[]) => T,
): {
  plain: (l: GoValue, ...rest: any[]) => T;
  must: (l: GoValue, ...rest: any[]) => T;
} {
  const run = (l: GoValue, ...rest: any[]) => op(asList(l, what), ...rest);
  return { plain: run, must: run };
}

const ops = {
  push: listOp('Cannot push on type', (l, v: GoValue) => [...l, v]),
  prepend: listOp('Cannot prepend on type', (l, v: GoValue) => [v, ...l]),
  first: listOp('Cannot find first on type', l => (l.length ? l[0] : null)),
  last: listOp('Cannot find last on type', l =>
    l.length ? l[l.length - 1] : null,
  ),
  // Go returns a nil []interface{} for an empty list, which prints as [].
  rest: listOp('Cannot find rest on type', l => l.slice(1)),
  initial: listOp('Cannot find initial on type', l => l.slice(0, -1)),
  reverse: listOp('Cannot find reverse on type', l => [...l].reverse()),
  compact: listOp('Cannot compact on type', l => l.filter(x => !isEmpty(x))),
  uniq: listOp('Cannot find uniq on type', l => {
    const out: List = [];
    for (const x of l) if (!inList(out, x)) out.push(x);
    return out;
  }),
  without: listOp('Cannot find without on type', (l, ...omit: GoValue[]) =>
    l.filter(x => !inList(omit, x)),
  ),
  chunk: listOp('Cannot chunk type', (l, size: bigint) => {
    const n = Number(size);
    const out: List = [];
    const count = Math.floor((l.length - 1) / n) + 1;
    for (let i = 0; i < count; i++) out.push(l.slice(i * n, i * n + n));
    return out;
  }),
  slice: listOp(
    'list should be type of slice or array but',
    (l, ...idx: GoValue[]) => {
      if (l.length === 0) return null;
      const start = idx.length > 0 ? Number(toInt64(idx[0])) : 0;
      const end = idx.length < 2 ? l.length : Number(toInt64(idx[1]));
      if (start < 0 || end > l.length || start > end) {
        throw new GoFuncError(`reflect: slice index out of range`);
      }
      return l.slice(start, end);
    },
  ),
};

function has(needle: GoValue, haystack: GoValue): boolean {
  if (haystack === null) return false;
  return inList(asList(haystack, 'Cannot find has on type'), needle);
}

function dig(...ps: GoValue[]): GoValue {
  if (ps.length < 3)
    throw new GoFuncError('dig needs at least three arguments');
  let dict = ps[ps.length - 1];
  const def = ps[ps.length - 2];
  const keys = ps.slice(0, -2);
  for (let i = 0; i < keys.length; i++) {
    if (typeof keys[i] !== 'string') {
      throw new GoFuncError(
        `interface conversion: interface {} is ${kindOf(keys[i])}, not string`,
      );
    }
    if (!isPlainMap(dict)) {
      throw new GoFuncError(
        `interface conversion: interface {} is ${kindOf(
          dict,
        )}, not map[string]interface {}`,
      );
    }
    const k = keys[i] as string;
    if (!Object.prototype.hasOwnProperty.call(dict, k)) return def;
    if (i === keys.length - 1) return dict[k];
    dict = dict[k];
  }
  return def;
}

/** Sprig's list and dictionary functions shared by slim-sprig and sprig. @internal */
export const collectionFuncs: FuncMap = {
  list: fn([], (...v: GoValue[]) => v, 'any'),
  tuple: fn([], (...v: GoValue[]) => v, 'any'),
  append: fn(['any', 'any'], ops.push.plain),
  push: fn(['any', 'any'], ops.push.plain),
  mustAppend: fn(['any', 'any'], ops.push.must),
  mustPush: fn(['any', 'any'], ops.push.must),
  prepend: fn(['any', 'any'], ops.prepend.plain),
  mustPrepend: fn(['any', 'any'], ops.prepend.must),
  first: fn(['any'], ops.first.plain),
  mustFirst: fn(['any'], ops.first.must),
  last: fn(['any'], ops.last.plain),
  mustLast: fn(['any'], ops.last.must),
  rest: fn(['any'], ops.rest.plain),
  mustRest: fn(['any'], ops.rest.must),
  initial: fn(['any'], ops.initial.plain),
  mustInitial: fn(['any'], ops.initial.must),
  reverse: fn(['any'], ops.reverse.plain),
  mustReverse: fn(['any'], ops.reverse.must),
  compact: fn(['any'], ops.compact.plain),
  mustCompact: fn(['any'], ops.compact.must),
  uniq: fn(['any'], ops.uniq.plain),
  mustUniq: fn(['any'], ops.uniq.must),
  without: fn(['any'], ops.without.plain, 'any'),
  mustWithout: fn(['any'], ops.without.must, 'any'),
  chunk: fn(['int', 'any'], (size: bigint, l: GoValue) =>
    ops.chunk.plain(l, size),
  ),
  mustChunk: fn(['int', 'any'], (size: bigint, l: GoValue) =>
    ops.chunk.must(l, size),
  ),
  slice: fn(['any'], ops.slice.plain, 'any'),
  mustSlice: fn(['any'], ops.slice.must, 'any'),
  has: fn(['any', 'any'], has),
  mustHas: fn(['any', 'any'], has),
  concat: fn(
    [],
    (...lists: GoValue[]) => {
      const out: List = [];
      for (const l of lists) {
        if (!Array.isArray(l))
          throw new GoFuncError(`Cannot concat type ${goKind(l)} as list`);
        out.push(...l);
      }
      return out;
    },
    'any',
  ),
  dig: fn([], dig, 'any'),
  dict: fn(
    [],
    (...v: GoValue[]) => {
      const d: Dict = {};
      for (let i = 0; i < v.length; i += 2)
        setOwn(d, strval(v[i]), i + 1 < v.length ? v[i + 1] : '');
      return d;
    },
    'any',
  ),
  get: fn(['map', 'string'], (d: Dict | null, k: string) =>
    d && Object.prototype.hasOwnProperty.call(d, k) ? d[k] : '',
  ),
  set: fn(['map', 'string', 'any'], (d: Dict | null, k: string, v: GoValue) => {
    if (!d) throw new GoFuncError('assignment to entry in nil map');
    setOwn(d, k, v);
    return d;
  }),
  unset: fn(['map', 'string'], (d: Dict | null, k: string) => {
    if (d) delete d[k];
    return d;
  }),
  hasKey: fn(
    ['map', 'string'],
    (d: Dict | null, k: string) =>
      !!d && Object.prototype.hasOwnProperty.call(d, k),
  ),
  pluck: fn(
    ['string'],
    (k: string, ...ds: (Dict | null)[]) =>
      ds
        .filter(d => d && Object.prototype.hasOwnProperty.call(d, k))
        .map(d => d![k]),
    'map',
  ),
  // Go iterates maps in random order; sorted keys are one of the orders Go may produce.
  keys: fn(
    [],
    (...ds: (Dict | null)[]) =>
      typedSlice(
        ds.flatMap(d => (d ? Object.keys(d).sort(compareStrings) : [])),
        'string',
      ),
    'map',
  ),
  values: fn(['map'], (d: Dict | null) =>
    d
      ? Object.keys(d)
          .sort(compareStrings)
          .map(k => d[k])
      : [],
  ),
  pick: fn(
    ['map'],
    (d: Dict | null, ...ks: string[]) => {
      const r: Dict = {};
      for (const k of ks)
        if (d && Object.prototype.hasOwnProperty.call(d, k)) r[k] = d[k];
      return r;
    },
    'string',
  ),
  omit: fn(
    ['map'],
    (d: Dict | null, ...ks: string[]) => {
      const r: Dict = {};
      for (const k of Object.keys(d ?? {})) if (!ks.includes(k)) r[k] = d![k];
      return r;
    },
    'string',
  ),
};
