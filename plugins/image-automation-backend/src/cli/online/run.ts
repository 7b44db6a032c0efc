import { ParseArgsConfig, parseArgs } from 'node:util';
import { parseCommandArgs, usageError } from '../args';
import { CliIO } from '../types';
import {
  BackendClient,
  clientFor,
  CliError,
  CONNECTION_OPTIONS,
} from './client';

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * Runs an online command: parses its arguments (with `--backend-url` and `--token`), builds the
 * client and runs `fn`; a {@link CliError} is printed as `✗ message` (exit 1, or 2 for a usage
 * error, which also prints the usage).
 * @internal
 */
export async function runOnline<
  O extends NonNullable<ParseArgsConfig['options']>,
>(
  io: CliIO,
  usage: string,
  args: string[],
  options: O,
  fn: (
    parsed: Parsed<{
      args: string[];
      options: O & typeof CONNECTION_OPTIONS;
      allowPositionals: true;
    }>,
    client: BackendClient,
  ) => Promise<number | void>,
): Promise<number> {
  const result = parseCommandArgs(io, usage, {
    args,
    options: { ...options, ...CONNECTION_OPTIONS },
    allowPositionals: true,
  });
  if (!result.ok) return result.exitCode;
  try {
    const values = result.parsed.values as {
      'backend-url'?: string;
      token?: string;
    };
    const client = clientFor(values, io);
    return (await fn(result.parsed as any, client)) ?? 0;
  } catch (error) {
    if (error instanceof CliError) {
      if (error.exitCode === 2) return usageError(io, usage, error.message);
      io.stderr.write(`✗ ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}
