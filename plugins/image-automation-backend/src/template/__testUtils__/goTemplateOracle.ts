/**
 * Runs the Go oracle in `test/oracles/gotemplate` (real text/template, slim-sprig, sprig,
 * gosimple/slug, sigs.k8s.io/yaml) with `go run`, one batch of cases on stdin.
 * The process is always reaped, also on failure or timeout.
 */

import { spawn } from 'node:child_process';
import path from 'node:path';

/** The oracle's directory (its own Go module). @internal */
export const GO_TEMPLATE_ORACLE_DIR = path.resolve(
  __dirname,
  '../../../../../test/oracles/gotemplate',
);

/** One case for the oracle. @internal */
export interface OracleCase {
  id: number;
  name: string;
  text: string;
  delims: [string, string];
  funcs: 'resourceset' | 'commitMessage';
  /** Raw JSON of the inputs map (integers stay integers). */
  inputs: string;
}

/** The oracle's answer. @internal */
export type OracleAnswer = {
  id: number;
  output?: string;
  error?: string;
  phase?: string;
};

/** Renders the cases with Go. @internal */
export function runGoTemplateOracle(
  cases: OracleCase[],
  timeoutMs = 900_000,
): Promise<OracleAnswer[]> {
  const input = cases
    .map(
      c =>
        `{"id":${c.id},"name":${JSON.stringify(c.name)},"text":${JSON.stringify(
          c.text,
        )},"delims":${JSON.stringify(c.delims)},"funcs":"${c.funcs}","inputs":${
          c.inputs
        }}`,
    )
    .join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['run', '.'], {
      cwd: GO_TEMPLATE_ORACLE_DIR,
      // TZ=UTC: Go's time.Local is then UTC, as the engine assumes (toDate parses in Local).
      env: {
        ...process.env,
        GOTOOLCHAIN: 'local',
        GOFLAGS: '-mod=readonly',
        TZ: 'UTC',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gotemplate oracle timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    child.on('error', e => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', code => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(
          new Error(
            `gotemplate oracle exited with ${code}:\n${Buffer.concat(
              err,
            ).toString('utf8')}`,
          ),
        );
        return;
      }
      const lines = Buffer.concat(out).toString('utf8').trim().split('\n');
      resolve(lines.filter(Boolean).map(l => JSON.parse(l)));
    });
    child.stdin.end(`${input}\n`);
  });
}
