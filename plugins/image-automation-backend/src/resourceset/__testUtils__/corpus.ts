/**
 * The ResourceSet corpus in `test/resourceset-corpus/cases`: each case is a folder with
 * `rset.yaml`, optional `inputs.yaml` / `providers.yaml`, and the golden outputs of the
 * real `flux-operator build rset` (`golden.yaml`, and `golden.err` when it fails).
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../cli';
import { CliIO } from '../../cli/types';

/** The corpus root. @internal */
export const CORPUS_DIR = path.resolve(
  __dirname,
  '../../../../../test/resourceset-corpus/cases',
);

/** The script that builds the real CLI and prints its path. @internal */
export const ORACLE_BUILD_SCRIPT = path.resolve(
  __dirname,
  '../../../../../test/oracles/flux-operator/build.sh',
);

/** One corpus case. @internal */
export interface CorpusCase {
  name: string;
  dir: string;
  /** Arguments after `build rset`, relative to `dir`. */
  args: string[];
}

/** Every case, in name order. @internal */
export function corpusCases(): CorpusCase[] {
  return fs
    .readdirSync(CORPUS_DIR)
    .sort()
    .map(name => {
      const dir = path.join(CORPUS_DIR, name);
      const args = ['-f', 'rset.yaml'];
      if (fs.existsSync(path.join(dir, 'inputs.yaml')))
        args.push('--inputs-from', 'inputs.yaml');
      if (fs.existsSync(path.join(dir, 'providers.yaml')))
        args.push('--inputs-from-provider', 'providers.yaml');
      return { name, dir, args };
    });
}

/** What a run printed. @internal */
export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** The golden result of a case. @internal */
export function goldenResult(c: CorpusCase): RunResult {
  const read = (f: string) =>
    fs.existsSync(path.join(c.dir, f))
      ? fs.readFileSync(path.join(c.dir, f), 'utf8')
      : '';
  const stderr = read('golden.err');
  return { stdout: read('golden.yaml'), stderr, code: stderr ? 1 : 0 };
}

/** Runs `image-automation build rset` in-process on a case. @internal */
export async function runOurs(c: CorpusCase): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: t => void (stdout += t) },
    stderr: { write: t => void (stderr += t) },
    readFile: async f => fs.promises.readFile(path.resolve(c.dir, f), 'utf8'),
  };
  const code = await main(['build', 'rset', ...c.args], io);
  return { stdout, stderr, code };
}

/** Runs a program in a directory and collects its output; always reaped. @internal */
export function runProgram(
  cmd: string,
  args: string[],
  cwd: string,
  timeoutMs = 600_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    child.on('error', e => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', code => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? -1,
      });
    });
  });
}

/** Builds (once) the real `flux-operator` CLI and returns its path. @internal */
export async function buildFluxOperatorCli(): Promise<string> {
  const r = await runProgram(
    'bash',
    [ORACLE_BUILD_SCRIPT],
    path.dirname(ORACLE_BUILD_SCRIPT),
    1_800_000,
  );
  if (r.code !== 0)
    throw new Error(`building flux-operator failed:\n${r.stderr}`);
  return r.stdout.trim();
}
