import { GoValue } from '../reflect';
import { formatJsonFloat } from '../json';

/**
 * What a float becomes after `json.Marshal` and Kubernetes' PreserveInts decode: an
 * integral value that fits int64 is an integer from then on.
 * @internal
 */
export function jsonRoundTripNumber(f: number): GoValue {
  if (!Number.isFinite(f)) return f;
  const text = formatJsonFloat(f);
  if (/^-?\d+$/.test(text)) {
    const b = BigInt(text);
    if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
  }
  return f;
}
