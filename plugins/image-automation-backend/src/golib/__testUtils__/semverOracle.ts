/**
 * Runs the Go oracle in `test/oracles/semver` (real Masterminds/semver, Go regexp/strconv)
 * with `go run`, feeding one batch on stdin and returning stdout. Used by the differential
 * test and the benchmark; the process is always reaped, also on failure or timeout.
 */

import { spawn } from 'node:child_process';
import path from 'node:path';

/** The oracle's directory (its own Go module). @internal */
export const ORACLE_DIR = path.resolve(
  __dirname,
  '../../../../../test/oracles/semver',
);

/** Runs `go run . <mode>` with `input` on stdin; resolves with stdout. @internal */
export function runSemverOracle(
  mode: 'select' | 'regexp' | 'duration' | 'float' | 'bench',
  input: string,
  timeoutMs = 600_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['run', '.', mode], {
      cwd: ORACLE_DIR,
      // Never fetch another Go toolchain; module downloads go through the proxy as usual.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`semver oracle timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on('data', chunk => out.push(chunk));
    child.stderr.on('data', chunk => err.push(chunk));
    child.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', code => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else {
        reject(
          new Error(
            `semver oracle exited with ${code}: ${Buffer.concat(err).toString(
              'utf8',
            )}`,
          ),
        );
      }
    });
    child.stdin.on('error', () => {
      // The close handler reports the failure.
    });
    child.stdin.end(input);
  });
}
