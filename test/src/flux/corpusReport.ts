import fs from 'node:fs';

/** What a comparison suite concluded for one scenario. */
export type Verdict = 'identical' | 'documented' | 'failed';

/**
 * The line each comparison suite prints when it ends:
 * `<peer>: N scenarios, N identical, N documented differences[, N failed]`, then `details`.
 */
export function summaryLine(
  peer: string,
  scenarios: number,
  verdicts: Iterable<Verdict>,
  details: string,
): string {
  const counts = { identical: 0, documented: 0, failed: 0 };
  for (const verdict of verdicts) counts[verdict]++;
  return (
    `${peer}: ${scenarios} scenarios, ${counts.identical} identical, ${counts.documented} documented differences` +
    (counts.failed ? `, ${counts.failed} failed` : '') +
    ` (${details})`
  );
}

/**
 * FLUX_CORPUS_OUT=<file>: one JSON line per scenario with Flux's outcome, ours and the differences
 * found, for writing or reviewing a documented difference.
 */
export function recordScenario(
  entry: { id: string } & Record<string, unknown>,
) {
  if (process.env.FLUX_CORPUS_OUT) {
    fs.appendFileSync(
      process.env.FLUX_CORPUS_OUT,
      `${JSON.stringify(entry)}\n`,
    );
  }
}
