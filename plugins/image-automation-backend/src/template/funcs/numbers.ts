/** Sprig's arithmetic and number conversion functions. */

import { FuncMap, fn, GoFuncError } from '../funcTypes';
import { GoInt, GoValue, formatValue, typedSlice } from '../../golib/reflect';
import { SprigFlavour, toFloat64, toInt64, wrapInt64 } from './convert';
import { checkListLength } from '../limits';

/** How many elements `untilStep(start, stop, step)` yields. */
function untilStepCount(start: bigint, stop: bigint, step: bigint): bigint {
  if (stop < start)
    return step >= 0n ? 0n : (start - stop + -step - 1n) / -step;
  return step <= 0n ? 0n : (stop - start + step - 1n) / step;
}

function untilStep(
  start: bigint,
  stop: bigint,
  step: bigint,
  what = 'untilStep',
): bigint[] {
  checkListLength(untilStepCount(start, stop, step), what);
  const v: bigint[] = [];
  if (stop < start) {
    if (step >= 0n) return v;
    for (let i = start; i > stop; i += step) v.push(i);
    return v;
  }
  if (step <= 0n) return v;
  for (let i = start; i < stop; i += step) v.push(i);
  return v;
}

function seq(...params: bigint[]): string {
  let inc = 1n;
  switch (params.length) {
    case 1: {
      const end = params[0];
      if (end < 1n) inc = -1n;
      return untilStep(1n, end + inc, inc, 'seq').join(' ');
    }
    case 2: {
      const [start, end] = params;
      const step = end < start ? -1n : 1n;
      return untilStep(start, end + step, step, 'seq').join(' ');
    }
    case 3: {
      const [start, step, end] = params;
      if (end < start) {
        inc = -1n;
        if (step > 0n) return '';
      }
      return untilStep(start, end + inc, step, 'seq').join(' ');
    }
    default:
      return '';
  }
}

/** Go's `math.Max`/`math.Min` NaN and signed-zero rules. */
function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? b : a;
  return a > b ? a : b;
}
function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a === 0 && b === 0) return Object.is(a, -0) ? a : b;
  return a < b ? a : b;
}

function round(a: GoValue, p: bigint, ...opt: number[]): number {
  const roundOn = opt.length > 0 ? opt[0] : 0.5;
  const val = toFloat64(a);
  const pow = 10 ** Number(p);
  const digit = pow * val;
  const frac = digit - Math.trunc(digit);
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

/** Arithmetic functions; integer conversions follow the given sprig flavour. @internal */
export function numberFuncs(flavour: SprigFlavour): FuncMap {
  const i64 = (v: GoValue) => toInt64(v, flavour);
  const divide = (a: bigint, b: bigint, op: 'div' | 'mod') => {
    if (b === 0n)
      throw new GoFuncError('runtime error: integer divide by zero');
    return wrapInt64(op === 'div' ? a / b : a % b);
  };
  return {
    atoi: fn(['string'], (s: string) => {
      const m = /^[+-]?\d+$/.test(s) ? BigInt(s) : 0n;
      return new GoInt(m >= -(2n ** 63n) && m < 2n ** 63n ? m : 0n);
    }),
    int64: fn(['any'], i64),
    int: fn(['any'], (v: GoValue) => new GoInt(i64(v))),
    float64: fn(['any'], toFloat64),
    toDecimal: fn(['any'], (v: GoValue) => {
      const s = formatValue(v);
      if (!/^[+-]?[0-7]+$/.test(s)) return 0n;
      const n = BigInt(
        s.startsWith('-') ? `-0o${s.slice(1)}` : `0o${s.replace('+', '')}`,
      );
      return n >= -(2n ** 63n) && n < 2n ** 63n ? n : 0n;
    }),
    seq: fn([], seq, 'int'),
    until: fn(['int'], (c: bigint) =>
      typedSlice(
        untilStep(0n, c, c < 0n ? -1n : 1n, 'until').map(i => new GoInt(i)),
        'int',
      ),
    ),
    untilStep: fn(['int', 'int', 'int'], (a: bigint, b: bigint, c: bigint) =>
      typedSlice(
        untilStep(a, b, c).map(i => new GoInt(i)),
        'int',
      ),
    ),
    add1: fn(['any'], (v: GoValue) => wrapInt64(i64(v) + 1n)),
    add: fn(
      [],
      (...xs: GoValue[]) =>
        xs.reduce<bigint>((a, b) => wrapInt64(a + i64(b)), 0n),
      'any',
    ),
    sub: fn(['any', 'any'], (a: GoValue, b: GoValue) =>
      wrapInt64(i64(a) - i64(b)),
    ),
    div: fn(['any', 'any'], (a: GoValue, b: GoValue) =>
      divide(i64(a), i64(b), 'div'),
    ),
    mod: fn(['any', 'any'], (a: GoValue, b: GoValue) =>
      divide(i64(a), i64(b), 'mod'),
    ),
    mul: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<bigint>((p, b) => wrapInt64(p * i64(b)), i64(a)),
      'any',
    ),
    biggest: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<bigint>((m, b) => (i64(b) > m ? i64(b) : m), i64(a)),
      'any',
    ),
    max: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<bigint>((m, b) => (i64(b) > m ? i64(b) : m), i64(a)),
      'any',
    ),
    min: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<bigint>((m, b) => (i64(b) < m ? i64(b) : m), i64(a)),
      'any',
    ),
    maxf: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<number>((m, b) => goMax(m, toFloat64(b)), toFloat64(a)),
      'any',
    ),
    minf: fn(
      ['any'],
      (a: GoValue, ...xs: GoValue[]) =>
        xs.reduce<number>((m, b) => goMin(m, toFloat64(b)), toFloat64(a)),
      'any',
    ),
    ceil: fn(['any'], (a: GoValue) => Math.ceil(toFloat64(a))),
    floor: fn(['any'], (a: GoValue) => Math.floor(toFloat64(a))),
    round: fn(['any', 'int'], round, 'float64'),
  };
}
