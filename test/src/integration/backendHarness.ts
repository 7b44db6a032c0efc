import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  SchedulerServiceTaskInvocationDefinition,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import imageAutomationPlugin from '@imageops/backstage-plugin-image-automation-backend';

type TaskFn = () => Promise<void>;

/**
 * `imageAutomation.tenancy` of the suites: an entity may use only the namespace named after it by
 * default, so the namespaces the suites' manifests use are granted explicitly to their entities.
 * A suite that tests tenancy passes its own `tenancy`.
 */
export const TEST_TENANCY = {
  namespaces: ['podinfo', 'broken', 'shop', 'platform'].map(name => ({
    entity: `component:default/${name}`,
    namespaces: [
      'flux-system',
      'apps',
      'shop',
      'podinfo-ns',
      'shop-ns',
      'team-a',
    ],
  })),
};

/**
 * `imageAutomation.allowedRegistries` of the suites (none may be contacted without it): the test
 * bed's registries listen on 127.0.0.1 (any port). A suite that tests the allow-list passes its own.
 */
export const TEST_REGISTRIES = ['127.0.0.1', 'localhost'];

/**
 * `IMAGE_AUTOMATION_IT_DATABASE=postgres` (the test command's second pass) runs the suites'
 * backends on the test run's PostgreSQL (`BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING`),
 * in databases of their own (a fresh prefix per backend); otherwise on in-memory SQLite. Asked for
 * PostgreSQL without a server, the suite fails rather than quietly running on SQLite. The
 * browser suites' backends (`startApp`) follow the same switch.
 */
export function integrationDatabase(): Record<string, unknown> | undefined {
  if (process.env.IMAGE_AUTOMATION_IT_DATABASE !== 'postgres') return undefined;
  const connection =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  if (!connection) {
    throw new Error(
      'IMAGE_AUTOMATION_IT_DATABASE=postgres needs BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING',
    );
  }
  const prefix = `it_${Date.now().toString(36)}_${Math.random()
    .toString(36)
    .slice(2, 8)}_`;
  return { client: 'pg', connection, prefix };
}

function databaseConfig(): Record<string, unknown> {
  const database = integrationDatabase();
  return database ? { backend: { database } } : {};
}

/**
 * A real Backstage backend (catalog + image-automation) on a catalog written to a temporary
 * directory, with the scheduler under the test's control: tasks run when the test says so.
 */
export async function startBackend(options: {
  files: Record<string, string>;
  config?: Record<string, unknown>;
  /** Top-level config beside `catalog` and `imageAutomation` (e.g. `kubernetes.clusterLocatorMethods`). */
  rootConfig?: Record<string, unknown>;
  features?: any[];
  /**
   * Run a task when the plugin triggers it (as Backstage's scheduler does), e.g. the reconcile
   * pass a Receiver's webhook call asks for; one run at a time, a trigger during a run runs it again.
   */
  runTriggeredTasks?: boolean;
}) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-automation-it-'));
  for (const [name, content] of Object.entries(options.files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  const tasks = new Map<string, TaskFn>();
  const triggered = new Map<string, { again: boolean }>();
  const trigger = (id: string) => {
    const running = triggered.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    triggered.set(id, state);
    void (async () => {
      do {
        state.again = false;
        await tasks
          .get(id)?.()
          .catch(() => {});
      } while (state.again);
      triggered.delete(id);
    })();
  };
  const scheduler = mockServices.scheduler.mock({
    async scheduleTask(
      task: SchedulerServiceTaskScheduleDefinition &
        SchedulerServiceTaskInvocationDefinition,
    ) {
      tasks.set(
        task.id,
        () => task.fn(new AbortController().signal) as Promise<void>,
      );
    },
    async triggerTask(id: string) {
      if (options.runTriggeredTasks) trigger(id);
    },
    // Other plugins' runners (e.g. the notifications backend's cleaner) are kept, never run.
    createScheduledTaskRunner: () => ({
      async run(task: SchedulerServiceTaskInvocationDefinition) {
        tasks.set(
          task.id,
          () => task.fn(new AbortController().signal) as Promise<void>,
        );
      },
    }),
  });
  const backend = await startTestBackend({
    features: [
      catalogPlugin,
      imageAutomationPlugin,
      scheduler.factory,
      mockServices.rootConfig.factory({
        data: {
          ...databaseConfig(),
          ...(options.rootConfig ?? {}),
          catalog: {
            rules: [{ allow: ['Component', 'Group', 'User', 'Location'] }],
            locations: [
              { type: 'file', target: path.join(dir, 'catalog.yaml') },
            ],
          },
          imageAutomation: {
            fileRoots: [dir],
            tenancy: TEST_TENANCY,
            allowedRegistries: TEST_REGISTRIES,
            ...(options.config ?? {}),
          },
        },
      }),
      ...(options.features ?? []),
    ],
  });
  const run = async (id: string) => {
    const fn = tasks.get(id);
    if (!fn)
      throw new Error(`no task ${id}; tasks: ${[...tasks.keys()].join(', ')}`);
    await fn();
  };
  return {
    dir,
    server: backend.server,
    /** Re-reads every manifest source. */
    sync: () => run('image-automation-sync-manifests'),
    /** Runs reconcile passes until nothing is due. */
    reconcile: () => run('image-automation-reconcile'),
    async stop() {
      await backend.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails with the last error. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting; last error: ${lastError ?? 'none'}`);
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}
