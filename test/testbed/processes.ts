import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import fs from 'node:fs';

/**
 * Process tracking for the test bed: every process started here and every temporary directory
 * made here is registered, so that they are removed when the test calls `stop()`, and also when
 * the Node process exits or is interrupted (a failing suite, Ctrl-C, a jest worker shut down).
 */

interface Tracked {
  /** Synchronous last-resort cleanup, safe to call from an `exit` handler. */
  emergency(): void;
}

const tracked = new Set<Tracked>();
let handlersInstalled = false;

function emergencyCleanup() {
  for (const entry of [...tracked]) {
    try {
      entry.emergency();
    } catch {
      // Nothing more can be done while the process is exiting.
    }
    tracked.delete(entry);
  }
}

function installHandlers() {
  if (handlersInstalled) {
    return;
  }
  handlersInstalled = true;
  process.on('exit', emergencyCleanup);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      emergencyCleanup();
      // Re-raise with the default disposition so the exit status still says "killed by signal".
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** A process started by the test bed. @internal */
export interface TrackedProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (for error messages). */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** Sends `signal`, waits up to `timeoutMs`, then SIGKILL. Idempotent. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

// `setpriv --pdeathsig` (util-linux) makes the kernel signal the child when this process dies,
// even by SIGKILL (a jest worker killed for hanging), where no exit handler runs. It execs the
// command, so the PID stays the child's own.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(p =>
  fs.existsSync(p),
);

/**
 * Starts a process whose lifetime is bounded by the current Node process.
 * `emergencySignal` is what is sent on exit/interrupt, and by the kernel if this process is
 * killed outright (SIGKILL unless a program needs a gentler one, like PostgreSQL's SIGQUIT
 * "immediate shutdown").
 * @internal
 */
export function spawnTracked(
  command: string,
  args: string[],
  options: SpawnOptions & { emergencySignal?: NodeJS.Signals } = {},
): TrackedProcess {
  installHandlers();
  const { emergencySignal = 'SIGKILL', ...spawnOptions } = options;
  const [file, argv] = SETPRIV
    ? [
        SETPRIV,
        [
          '--pdeathsig',
          emergencySignal.replace(/^SIG/, ''),
          '--',
          command,
          ...args,
        ],
      ]
    : [command, args];
  const child = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...spawnOptions,
  });
  let log = '';
  const append = (chunk: Buffer) => {
    // Keep the tail only: a chatty server must not grow the test process without bound.
    log = (log + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>(resolve => {
    child.on('exit', code => resolve(code));
    child.on('error', () => resolve(null));
  });
  const entry: Tracked = {
    emergency() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(emergencySignal);
      }
    },
  };
  tracked.add(entry);
  exited.then(() => tracked.delete(entry));
  let stopping: Promise<void> | undefined;
  return {
    child,
    output: () => log,
    exited,
    stop(signal = 'SIGTERM', timeoutMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          await exited;
          clearTimeout(timer);
        }
        tracked.delete(entry);
      })();
      return stopping;
    },
  };
}

/**
 * Registers a directory to delete on exit; returns a function that deletes it now.
 * @internal
 */
export function trackDirectory(dir: string): () => Promise<void> {
  installHandlers();
  const entry: Tracked = {
    emergency() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  tracked.add(entry);
  return async () => {
    tracked.delete(entry);
    await fs.promises.rm(dir, { recursive: true, force: true });
  };
}

/**
 * Waits until `probe` resolves true, polling every `intervalMs`; throws after `timeoutMs`
 * with `describe()` in the message (typically the server's log).
 * @internal
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: {
    timeoutMs: number;
    intervalMs?: number;
    what: string;
    describe?: () => string;
    exited?: Promise<unknown>;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let hasExited = false;
  options.exited?.then(() => {
    hasExited = true;
  });
  for (;;) {
    if (await probe().catch(() => false)) {
      return;
    }
    if (hasExited || Date.now() > deadline) {
      const reason = hasExited
        ? 'exited before it was ready'
        : `not ready after ${options.timeoutMs} ms`;
      throw new Error(
        `${options.what} ${reason}${
          options.describe ? `:\n${options.describe()}` : ''
        }`,
      );
    }
    await new Promise(r => setTimeout(r, options.intervalMs ?? 50));
  }
}
