/**
 * The decimal arithmetic behind sprig's `addf`, `add1f`, `subf`, `mulf`, `divf`
 * (shopspring/decimal): each float operand becomes the decimal of its shortest round-trip
 * digits, so `addf 0.1 0.2` is exactly `0.3`; division rounds half away from zero at
 * 16 decimal places; the result is converted back to the nearest float64.
 */

import { GoFuncError } from '../funcTypes';
import { formatFloat } from '../../golib/reflect';

/** `value × 10^exp`. @internal */
export interface Decimal {
  value: bigint;
  exp: number;
}

const DIVISION_PRECISION = 16;

/** shopspring `NewFromFloat`. @internal */
export function decimalFromFloat(x: number): Decimal {
  if (!Number.isFinite(x))
    throw new GoFuncError(`Cannot create a Decimal from ${formatFloat(x)}`);
  if (x === 0) return { value: 0n, exp: 0 };
  const [mant, e] = x.toExponential().split('e');
  const digits = mant.replace('.', '').replace('-', '');
  const frac = mant.includes('.') ? mant.split('.')[1].length : 0;
  return {
    value: BigInt(digits) * (x < 0 ? -1n : 1n),
    exp: Number(e) - frac,
  };
}

const pow10 = (n: number) => 10n ** BigInt(n);

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.value * pow10(a.exp - exp), b.value * pow10(b.exp - exp), exp];
}

/** Sum. @internal */
export function decimalAdd(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return { value: x + y, exp };
}

/** Difference. @internal */
export function decimalSub(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return { value: x - y, exp };
}

/** Product. @internal */
export function decimalMul(a: Decimal, b: Decimal): Decimal {
  return { value: a.value * b.value, exp: a.exp + b.exp };
}

/** shopspring `Div`: quotient at 16 decimal places, half away from zero. @internal */
export function decimalDiv(a: Decimal, b: Decimal): Decimal {
  if (b.value === 0n) throw new GoFuncError('decimal division by 0');
  // a/b = (a.value / b.value) × 10^(a.exp − b.exp); scale so the quotient has 16 places.
  const shift = a.exp - b.exp + DIVISION_PRECISION;
  let num = a.value;
  let den = b.value;
  if (shift >= 0) num *= pow10(shift);
  else den *= pow10(-shift);
  let q = num / den;
  const r = num % den;
  const abs = (v: bigint) => (v < 0n ? -v : v);
  if (2n * abs(r) >= abs(den)) q += num < 0n !== den < 0n ? -1n : 1n;
  return { value: q, exp: -DIVISION_PRECISION };
}

/** The nearest float64. @internal */
export function decimalToFloat(d: Decimal): number {
  return Number(`${d.value}e${d.exp}`);
}
