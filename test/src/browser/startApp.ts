import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../testbed';
import {
  TEST_REGISTRIES,
  TEST_TENANCY,
  integrationDatabase,
} from '../integration/backendHarness';

const repoRoot = path.resolve(__dirname, '../../..');

/** The whole product as a person uses it: the real backend serving the built app. */
export interface RunningApp {
  baseUrl: string;
  dir: string;
  /** A guest user's Backstage token, for API calls made by the test itself. */
  guestToken(): Promise<string>;
  /** The last `chars` characters of the backend's log (stdout and stderr). */
  logTail(chars?: number): Promise<string>;
  /**
   * Copies the backend's whole log to `<dir>/<name>.log` (the test results), so a failed run's log
   * outlives `stop()`, which deletes the app's directory. Returns the path written.
   */
  keepLog(dir: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts `packages/backend` (catalog, guest auth, permissions, image-automation, and the app
 * built into `packages/app/dist`) on 127.0.0.1 with the repository's app-config plus an
 * overlay, and a catalog written to a temporary directory.
 */
export async function startApp(options: {
  files: Record<string, string>;
  /** Merged into `imageAutomation`. */
  config?: Record<string, unknown>;
  /** Other top-level keys of the overlay. */
  topLevelConfig?: Record<string, unknown>;
  /**
   * Keep the backend's SQLite databases as files, one per plugin in `<dir>/sqlite`
   * (e.g. `image-automation.sqlite`), instead of in memory, so a caller can seed rows directly
   * (bench/entity-tab-fixture.ts). Ignored when `database` is given.
   */
  sqliteFiles?: boolean;
  /**
   * `backend.database` instead of the default: in-memory SQLite, or PostgreSQL in the test
   * command's second pass (`IMAGE_AUTOMATION_IT_DATABASE=postgres`, see `integrationDatabase`).
   */
  database?: Record<string, unknown>;
}): Promise<RunningApp> {
  try {
    await fs.access(path.join(repoRoot, 'packages/app/dist/index.html'));
  } catch {
    throw new Error(
      'packages/app/dist is missing: build the app first (scripts/test.sh does)',
    );
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-automation-app-'));
  for (const [name, content] of Object.entries(options.files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const overlay = {
    app: { baseUrl },
    backend: {
      baseUrl,
      listen: { port, host: '127.0.0.1' },
      cors: { origin: baseUrl },
      database:
        options.database ??
        (options.sqliteFiles
          ? {
              client: 'better-sqlite3',
              connection: { directory: path.join(dir, 'sqlite') },
            }
          : integrationDatabase() ?? {
              client: 'better-sqlite3',
              connection: ':memory:',
            }),
    },
    catalog: {
      locations: [{ type: 'file', target: path.join(dir, 'catalog.yaml') }],
    },
    imageAutomation: {
      fileRoots: [dir],
      engine: { pollIntervalSeconds: 1, refreshIntervalSeconds: 2 },
      tenancy: TEST_TENANCY,
      // Replaces app-config.yaml's list (the demo's public registries): the test bed's registries.
      allowedRegistries: TEST_REGISTRIES,
      ...(options.config ?? {}),
    },
    ...(options.topLevelConfig ?? {}),
  };
  await fs.writeFile(
    path.join(dir, 'app-config.test.json'),
    JSON.stringify(overlay),
  );

  const log = await fs.open(path.join(dir, 'backend.log'), 'w');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--require',
      require.resolve('@backstage/cli-node/config/nodeTransform.cjs'),
      'src/index.ts',
      '--config',
      path.join(repoRoot, 'app-config.yaml'),
      '--config',
      path.join(dir, 'app-config.test.json'),
    ],
    {
      cwd: path.join(repoRoot, 'packages/backend'),
      // IMAGE_AUTOMATION_TEST_LOG_LEVEL=debug: the engine's debug lines too, when chasing a failure.
      env: {
        ...process.env,
        NODE_ENV: 'development',
        LOG_LEVEL: process.env.IMAGE_AUTOMATION_TEST_LOG_LEVEL || 'info',
      },
      stdio: ['ignore', log.fd, log.fd],
      detached: false,
    },
  );
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => resolve()),
  );
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await log.close().catch(() => {});
  };
  process.once('exit', () => child.kill('SIGKILL'));

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) {
      const output = await fs.readFile(path.join(dir, 'backend.log'), 'utf8');
      throw new Error(
        `the backend exited with ${child.exitCode}:\n${output.slice(-4000)}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/.backstage/health/v1/readiness`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the backend did not become ready within 120 s');
    }
    await new Promise(resolve => setTimeout(resolve, 500));
  }

  return {
    baseUrl,
    dir,
    async guestToken() {
      const res = await fetch(`${baseUrl}/api/auth/guest/refresh`, {
        headers: { 'X-Requested-With': 'XMLHttpRequest' },
      });
      if (!res.ok)
        throw new Error(
          `guest sign-in failed: ${res.status} ${await res.text()}`,
        );
      const body = (await res.json()) as {
        backstageIdentity: { token: string };
      };
      return body.backstageIdentity.token;
    },
    async logTail(chars = 4000) {
      const output = await fs
        .readFile(path.join(dir, 'backend.log'), 'utf8')
        .catch(error => `(no log: ${error})`);
      return output.slice(-chars);
    },
    async keepLog(resultsDir: string, name: string) {
      await fs.mkdir(resultsDir, { recursive: true });
      const target = path.join(resultsDir, `${name}.log`);
      await fs.copyFile(path.join(dir, 'backend.log'), target);
      return target;
    },
    async stop() {
      await stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
