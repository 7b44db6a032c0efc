/**
 * Go's `strconv.ParseFloat(s, 64)`: which strings it accepts and the value it returns. The
 * numerical ImagePolicy aborts on the first tag this rejects, so the accepted set must match
 * Go exactly: signs, `inf`/`infinity`/`nan` in any case (no sign on `nan`), `.5`, `5.`,
 * exponents, hexadecimal mantissas with a mandatory `p` exponent, and `_` between digits.
 * Out-of-range values (`1e400`) are errors in Go (`ErrRange`), so they are rejected here too.
 */

// Decimal literals without underscores, on which `Number()` and Go agree exactly.
const PLAIN_DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

const isDigit = (c: string) => c >= '0' && c <= '9';
const isHexLetter = (c: string) => {
  const l = c.toLowerCase();
  return l >= 'a' && l <= 'f' && c.length === 1;
};

/** Go `underscoreOK`: `_` only between digits, or between a base prefix and a digit. */
function underscoreOK(text: string): boolean {
  let saw = '^';
  let i = 0;
  const s = text[0] === '-' || text[0] === '+' ? text.slice(1) : text;
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(s[1].toLowerCase())) {
    i = 2;
    saw = '0';
    hex = s[1].toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if (isDigit(c) || (hex && isHexLetter(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

function special(s: string): number | undefined {
  let sign = 1;
  let rest = s;
  if (rest[0] === '+' || rest[0] === '-') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  } else if (/^nan$/i.test(rest)) {
    return NaN;
  }
  if (/^inf(inity)?$/i.test(rest)) return sign * Infinity;
  return undefined;
}

/** Exactly rounds mantissa × 2^exp (ties to even) into a double. */
function scaleBinary(mantissa: bigint, exp: number): number {
  if (mantissa === 0n) return 0;
  let m = mantissa;
  let e = exp;
  const bits = m.toString(2).length;
  // Keep 53 significant bits, or fewer when the result is subnormal (below 2^-1022).
  const minExp = -1074;
  let keep = 53;
  if (e + bits - 1 < -1022) keep = Math.max(0, bits - (minExp - e));
  if (bits > keep) {
    const drop = BigInt(bits - keep);
    const half = 1n << (drop - 1n);
    const rem = m & ((1n << drop) - 1n);
    m >>= drop;
    e += Number(drop);
    if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
  }
  let value = Number(m);
  // Multiply in steps so intermediate powers of two stay finite and non-zero.
  while (e > 0) {
    const step = Math.min(e, 1000);
    value *= 2 ** step;
    e -= step;
  }
  while (e < 0) {
    const step = Math.max(e, -1000);
    value *= 2 ** step;
    e -= step;
  }
  return value;
}

/**
 * Parses like Go's `strconv.ParseFloat(s, 64)`; `undefined` where Go returns an error.
 * @internal
 */
export function goParseFloat(s: string): number | undefined {
  if (s.length === 0) return undefined;
  if (s.length <= 15) {
    // Plain integers (build numbers, timestamps) are the usual numerical tags: read them
    // directly, exactly (below 2^53).
    let value = 0;
    let i = 0;
    for (; i < s.length; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
    }
    if (i === s.length) return value;
  }
  if (PLAIN_DECIMAL.test(s)) {
    // The common case, where JavaScript's own (correctly rounded) parsing agrees with Go.
    const value = Number(s);
    return Number.isFinite(value) ? value : undefined;
  }
  const sp = special(s);
  if (sp !== undefined) return sp;

  let i = 0;
  let negative = false;
  if (s[i] === '+') i++;
  else if (s[i] === '-') {
    i++;
    negative = true;
  }
  let hex = false;
  if (i + 2 < s.length && s[i] === '0' && s[i + 1].toLowerCase() === 'x') {
    hex = true;
    i += 2;
  }
  let underscores = false;
  let sawDot = false;
  let sawDigits = false;
  let mantissa = '';
  let fractionDigits = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '_') {
      underscores = true;
    } else if (c === '.') {
      if (sawDot) break;
      sawDot = true;
    } else if (isDigit(c) || (hex && isHexLetter(c))) {
      sawDigits = true;
      mantissa += c;
      if (sawDot) fractionDigits++;
    } else {
      break;
    }
  }
  if (!sawDigits) return undefined;
  let exponent = 0;
  let hasExponent = false;
  if (i < s.length && s[i].toLowerCase() === (hex ? 'p' : 'e')) {
    hasExponent = true;
    i++;
    if (i >= s.length) return undefined;
    let esign = 1;
    if (s[i] === '+') i++;
    else if (s[i] === '-') {
      i++;
      esign = -1;
    }
    if (i >= s.length || !isDigit(s[i])) return undefined;
    let e = 0;
    for (; i < s.length && (isDigit(s[i]) || s[i] === '_'); i++) {
      if (s[i] === '_') {
        underscores = true;
        continue;
      }
      // Go saturates the exponent at 10000; beyond that only over/underflow matters.
      if (e < 10000) e = e * 10 + Number(s[i]);
    }
    exponent = e * esign;
  }
  if (hex && !hasExponent) return undefined;
  if (underscores && !underscoreOK(s.slice(0, i))) return undefined;
  if (i !== s.length) return undefined;

  let value: number;
  if (hex) {
    value = scaleBinary(BigInt(`0x${mantissa}`), exponent - 4 * fractionDigits);
  } else {
    const digits = mantissa.replace(/^0+(?=.)/, '');
    value = Number(`${digits}e${exponent - fractionDigits}`);
  }
  if (!Number.isFinite(value)) return undefined; // ErrRange
  return negative ? -value : value;
}
