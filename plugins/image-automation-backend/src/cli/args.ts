import { parseArgs, ParseArgsConfig } from 'node:util';
import { CliIO } from './types';

/** Prints a usage error the way every command does; returns the exit code (2). @internal */
export function usageError(io: CliIO, usage: string, message: string): number {
  io.stderr.write(`image-automation: ${message}\n${usage}`);
  return 2;
}

/**
 * Parses a command's arguments: `--help` / `-h` prints the usage (exit 0), an unknown or
 * malformed argument prints the error and the usage (exit 2).
 * @internal
 */
export function parseCommandArgs<T extends ParseArgsConfig>(
  io: CliIO,
  usage: string,
  config: T & { args: string[] },
):
  | { ok: true; parsed: ReturnType<typeof parseArgs<T>> }
  | { ok: false; exitCode: number } {
  if (config.args.includes('--help') || config.args.includes('-h')) {
    io.stdout.write(usage);
    return { ok: false, exitCode: 0 };
  }
  try {
    return { ok: true, parsed: parseArgs<T>(config) };
  } catch (error) {
    return {
      ok: false,
      exitCode: usageError(io, usage, (error as Error).message),
    };
  }
}
