import fs from 'node:fs';

/** Where a command reads and writes. @internal */
export interface CliIO {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
  /** Reads a file, or standard input for `-`. */
  readFile(path: string): Promise<string>;
  /** The environment the online commands read (BACKSTAGE_TOKEN, …); process.env when absent. */
  env?: Record<string, string | undefined>;
  /** The fetch of the online commands; the global one when absent. */
  fetch?: typeof fetch;
}

/** One command of the `image-automation` tool. @internal */
export interface CliCommand {
  summary: string;
  run(args: string[], io: CliIO): Promise<number>;
}

/** The process's own streams and file system. @internal */
export function defaultIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    async readFile(path) {
      if (path === '-') {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) {
          chunks.push(chunk as Buffer);
        }
        return Buffer.concat(chunks).toString('utf8');
      }
      return fs.promises.readFile(path, 'utf8');
    },
  };
}
