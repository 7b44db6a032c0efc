/**
 * Go's `time.Duration`: `Duration.String()` on nanoseconds, and the millisecond forms the
 * plugin's schedulers use for the durations in manifests (`interval: 5m`, `timeout: 1m30s`)
 * and in Flux's messages (`next scan in 5m0s`). Parsing is `time.ParseDuration` (time.ts),
 * with Go's error texts.
 */

import { parseDuration } from './time';

const MAX_DURATION = (1n << 63n) - 1n;

function fraction(v: bigint, unit: bigint): string {
  const whole = v / unit;
  const rest = v % unit;
  if (rest === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/** Go's `time.Duration.String` for a count of nanoseconds: `1h0m0s`, `1.5s`, `500ms`, `1µs`, `3ns`. @internal */
export function durationString(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1000000000n) {
    const units: [bigint, string][] = [
      [1000000n, 'ms'],
      [1000n, 'µs'],
      [1n, 'ns'],
    ];
    const [div, unit] = units.find(([d]) => u >= d)!;
    out = fraction(u, div) + unit;
  } else {
    const h = u / 3600000000000n;
    u %= 3600000000000n;
    const m = u / 60000000000n;
    u %= 60000000000n;
    out = `${fraction(u, 1000000000n)}s`;
    if (h > 0n || m > 0n) out = `${m}m${out}`;
    if (h > 0n) out = `${h}h${out}`;
  }
  return (neg ? '-' : '') + out;
}

/**
 * `time.ParseDuration` in milliseconds (fractions for sub-millisecond parts); throws with Go's
 * message (`time: invalid duration "x"`, `time: unknown unit "d" in duration "3d"`,
 * `time: missing unit in duration "5"`).
 * @internal
 */
export function parseGoDuration(text: string): number {
  return Number(parseDuration(text)) / 1e6;
}

/**
 * Prints milliseconds as Go's `Duration.String()` does (`1h0m0s`, `5m0s`, `1.5s`, `500ms`),
 * rounded to whole nanoseconds and bounded like Go's int64 durations.
 * @internal
 */
export function formatGoDuration(ms: number): string {
  if (Number.isNaN(ms)) return durationString(0n);
  const ns = ms * 1e6;
  if (ns >= Number(MAX_DURATION)) return durationString(MAX_DURATION);
  if (ns <= -Number(MAX_DURATION)) return durationString(-MAX_DURATION - 1n);
  return durationString(BigInt(Math.round(ns)));
}
