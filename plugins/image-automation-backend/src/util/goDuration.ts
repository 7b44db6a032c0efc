/**
 * Go `time.Duration` parsing and printing, for the durations in Flux manifests
 * (`interval: 5m`, `timeout: 1m30s`) and in Flux's messages (`next scan in 5m0s`).
 */

const units: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration string into milliseconds; throws on malformed input with Go's message.
 * @internal
 */
export function parseGoDuration(text: string): number {
  const fail = () => new Error(`time: invalid duration "${text}"`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw fail();
  let total = 0;
  const part = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)/;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match || match[1] === '' || match[1] === '.') throw fail();
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return sign * total;
}

function trimFraction(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

/**
 * Prints milliseconds as Go's `Duration.String()` does: `1h0m0s`, `5m0s`, `1.5s`, `500ms`.
 * @internal
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const negative = ms < 0;
  let rest = Math.abs(ms);
  let text: string;
  if (rest < 1000) {
    text = rest >= 1 ? `${trimFraction(rest.toFixed(6))}ms` : `${trimFraction((rest * 1000).toFixed(3))}µs`;
  } else {
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = trimFraction((rest / 1000).toFixed(9));
    text = hours > 0 ? `${hours}h${minutes}m${seconds}s` : minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
  }
  return negative ? `-${text}` : text;
}
