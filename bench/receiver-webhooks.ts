/**
 * Receivers' webhook route under load (issue #15): the real plugin in a real Backstage backend
 * (startTestBackend, SQLite file database, the plugin's own `POST /api/image-automation/hook/:digest`
 * behind Backstage's HTTP router and auth policy) with 20 `generic-hmac` Receivers, one per
 * ImageRepository of a real test-bed registry (20 repositories). A client in a worker thread
 * (its own event loop, keep-alive connections) sends signed calls at RATE calls/s for SECONDS
 * seconds, round-robin over the receivers, and times each acknowledgement. Then the bench waits
 * for the coalesced reconciles and counts the scans each repository got from the burst (in the
 * scans table): the requirement is one per repository, p99 < 50 ms and the rate achieved.
 *
 * The peer, measured in the same run with the same client, is a floor and not another
 * implementation: a plain Node `http` server on 127.0.0.1 that reads the body and answers 200.
 * (Flux's notification-controller v1.5.0 needs a Kubernetes API server and its informers to answer
 * a call; building and running it here was judged too heavy for a ratio that would mostly measure
 * the API server.)
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/receiver-webhooks.ts
 *   RATE=1000 SECONDS=5 … to change the load.
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import knexFactory from 'knex';
import {
  coreServices,
  createServiceFactory,
  SchedulerService,
  SchedulerServiceTaskInvocationDefinition,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { imageAutomationPlugin } from '../plugins/image-automation-backend/src/plugin';
import { pushImage, startRegistry } from '../test/testbed';
import { startPostgres } from '../test/testbed/postgres';

const RATE = Number(process.env.RATE ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 4);
const REPOSITORIES = 20;
const TOKEN = 'bench-receiver-token-3e8f0c';
const TARGET_P99_MS = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 3);

/** The load generator, run in a worker thread: paced sends, one latency per call. */
const CLIENT = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { url, calls, rate, seconds } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const latencies = [];
const statuses = {};
let sent = 0, done = 0;
const total = Math.round(rate * seconds);
const started = performance.now();
function send(i) {
  const call = calls[i % calls.length];
  const t0 = performance.now();
  const req = http.request(url + call.path, { method: 'POST', agent, headers: call.headers }, res => {
    res.resume();
    res.on('end', () => {
      latencies.push(performance.now() - t0);
      statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
      if (++done === total) finish();
    });
  });
  req.on('error', () => { statuses.error = (statuses.error || 0) + 1; if (++done === total) finish(); });
  req.end(call.body);
}
function finish() {
  agent.destroy();
  parentPort.postMessage({ latencies, statuses, elapsedMs: performance.now() - started, sendMs: sendEnded - started });
}
let sendEnded = 0;
const timer = setInterval(() => {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
  while (sent < due) send(sent++);
  if (sent >= total) { clearInterval(timer); sendEnded = performance.now(); }
}, 2);
`;

interface ClientResult {
  latencies: number[];
  statuses: Record<string, number>;
  elapsedMs: number;
  sendMs: number;
}

type Call = { path: string; headers: Record<string, string>; body: string };

function load(
  url: string,
  calls: Call[],
  seconds = SECONDS,
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, {
      eval: true,
      workerData: { url, calls, rate: RATE, seconds },
    });
    worker.once('message', result => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

function report(name: string, result: ClientResult) {
  const achieved = (result.latencies.length / result.sendMs) * 1000;
  console.log(
    `${name.padEnd(22)} ${result.latencies.length} calls in ${(
      result.sendMs / 1000
    ).toFixed(2)} s = ${achieved.toFixed(0)}/s; ` +
      `p50 ${percentile(result.latencies, 50).toFixed(2)} ms, p99 ${percentile(
        result.latencies,
        99,
      ).toFixed(2)} ms, ` +
      `max ${Math.max(...result.latencies).toFixed(
        1,
      )} ms; statuses ${JSON.stringify(result.statuses)}`,
  );
  return {
    achieved,
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
  };
}

/** The floor: a plain Node HTTP server that reads the body and answers 200. */
async function floorServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function main() {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-receivers-'));
  const registry = await startRegistry();
  const tasks = new Map<string, () => Promise<void>>();
  let running: Promise<void> | undefined;
  let again = false;
  const trigger = (id: string) => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await tasks.get(id)?.();
      } while (again);
      running = undefined;
    })();
  };
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
  let floorServerInstance: http.Server | undefined;
  // PostgreSQL as replicas use it (the test bed's, 127.0.0.1); BENCH_DATABASE=sqlite for a SQLite file.
  const postgres =
    process.env.BENCH_DATABASE === 'sqlite' ? undefined : await startPostgres();
  const knex = postgres
    ? knexFactory({ client: 'pg', connection: postgres.connectionString })
    : knexFactory({
        client: 'better-sqlite3',
        connection: { filename: path.join(dir, 'bench.sqlite') },
        useNullAsDefault: true,
      });
  try {
    const names = Array.from(
      { length: REPOSITORIES },
      (_, i) => `app-${String(i).padStart(2, '0')}`,
    );
    for (const name of names)
      await pushImage(registry, `bench/${name}`, ['1.0.0', '1.1.0']);
    const manifests = names
      .map(
        name => `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: ${name}, namespace: bench }
spec: { image: ${registry.host}/bench/${name}, interval: 1h }
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: { name: ${name}, namespace: bench }
spec:
  type: generic-hmac
  secretRef: { name: bench-hook }
  resources: [{ kind: ImageRepository, name: ${name} }]
`,
      )
      .join('---\n');
    await fs.writeFile(path.join(dir, 'bench.yaml'), manifests);
    backend = await startTestBackend({
      features: [
        imageAutomationPlugin,
        catalogServiceMock.factory({ entities: [] }),
        mockServices.database.factory({ knex }),
        // Tasks run when the bench says so, and the reconcile pass when the plugin triggers it.
        createServiceFactory({
          service: coreServices.scheduler,
          deps: {},
          factory: (): SchedulerService => ({
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
              trigger(id);
            },
            createScheduledTaskRunner: () => ({
              async run(task: SchedulerServiceTaskInvocationDefinition) {
                tasks.set(
                  task.id,
                  () => task.fn(new AbortController().signal) as Promise<void>,
                );
              },
            }),
            async getScheduledTasks() {
              return [];
            },
            async cancelTask() {},
          }),
        }),
        mockServices.rootConfig.factory({
          data: {
            imageAutomation: {
              fileRoots: [dir],
              locations: [
                {
                  target: path.join(dir, 'bench.yaml'),
                  entityRef: 'component:default/bench',
                },
              ],
              allowedRegistries: ['127.0.0.1'],
              credentials: {
                'bench-hook': {
                  type: 'token',
                  token: TOKEN,
                  allowedEntities: ['component:default/bench'],
                },
              },
              // Well above the bench's 50 calls/s per receiver.
              receivers: {
                rateLimit: { requests: 100_000, intervalSeconds: 60 },
              },
            },
          },
        }),
      ],
    });
    await tasks.get('image-automation-sync-manifests')!();
    await tasks.get('image-automation-reconcile')!();
    const url = `http://127.0.0.1:${
      (backend.server.address() as net.AddressInfo).port
    }`;
    const body = JSON.stringify({
      event: 'push',
      repository: 'bench/app',
      tag: '1.2.0',
      padding: 'x'.repeat(512),
    });
    const signature = `sha256=${createHmac('sha256', TOKEN)
      .update(body)
      .digest('hex')}`;
    const calls: Call[] = names.map(name => ({
      path: `/api/image-automation/hook/${createHash('sha256')
        .update(`${TOKEN}${name}bench`)
        .digest('hex')}`,
      headers: { 'Content-Type': 'application/json', 'X-Signature': signature },
      body,
    }));
    const scansSince = async (since: string) =>
      (
        await knex('image_automation_scans')
          .where('started_at', '>=', since)
          .select('object_id')
      ).map(r => r.object_id as string);
    console.log(
      `${REPOSITORIES} receivers × 1 ImageRepository each, ${
        postgres ? 'PostgreSQL' : 'SQLite file'
      }; ${RATE} calls/s for ${SECONDS} s; ${os.cpus().length} CPUs, load ${os
        .loadavg()[0]
        .toFixed(1)}`,
    );

    floorServerInstance = await floorServer();
    const floorUrl = `http://127.0.0.1:${
      (floorServerInstance.address() as net.AddressInfo).port
    }`;
    // Warm-up of both (JIT, the index, connections), then wait until its coalesced scans are done.
    await new Promise(resolve => setTimeout(resolve, 500));
    report('warm-up ours', await load(url, calls, 1));
    report('warm-up floor', await load(floorUrl, calls, 1));
    await new Promise(resolve => setTimeout(resolve, 4000));
    while (running) await running;

    const results: Array<{
      ours: ReturnType<typeof report>;
      floor: ReturnType<typeof report>;
      coalesced: boolean;
      loopMax: number;
    }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}`);
      const burstStart = new Date().toISOString();
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const ours = report('  ours (real route)', await load(url, calls));
      loop.disable();
      console.log(
        `    backend event-loop delay during the burst: p99 ${(
          loop.percentile(99) / 1e6
        ).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
      );
      // Coalescing: the engine runs once a receiver has been quiet for 1 s; then count the burst's scans.
      const deadline = Date.now() + 30_000;
      while (
        Date.now() < deadline &&
        ((await scansSince(burstStart)).length < REPOSITORIES || running)
      ) {
        await new Promise(resolve => setTimeout(resolve, 250));
      }
      await new Promise(resolve => setTimeout(resolve, 2000));
      while (running) await running;
      const perRepository = new Map<string, number>();
      for (const id of await scansSince(burstStart))
        perRepository.set(id, (perRepository.get(id) ?? 0) + 1);
      const counts = [...perRepository.values()];
      const coalesced =
        perRepository.size === REPOSITORIES && counts.every(n => n === 1);
      console.log(
        `    scans from the burst: ${counts.reduce((a, b) => a + b, 0)} over ${
          perRepository.size
        } repositories (min ${Math.min(...counts)}, max ${Math.max(
          ...counts,
        )} per repository): ${
          coalesced ? 'one per repository' : 'NOT coalesced'
        }`,
      );
      const floor = report(
        '  floor (plain http 200)',
        await load(floorUrl, calls),
      );
      console.log(
        `    ratio ours/floor: p50 ${(ours.p50 / floor.p50).toFixed(2)}, p99 ${(
          ours.p99 / floor.p99
        ).toFixed(2)}`,
      );
      results.push({ ours, floor, coalesced, loopMax: loop.max / 1e6 });
    }
    // Judged on the median round (by ours' p99): the machine is shared, single rounds are noisy.
    const median = [...results].sort((a, b) => a.ours.p99 - b.ours.p99)[
      Math.floor(results.length / 2)
    ];
    const coalesced = results.every(r => r.coalesced);
    console.log(
      `median round: ours p50 ${median.ours.p50.toFixed(
        2,
      )} ms, p99 ${median.ours.p99.toFixed(
        2,
      )} ms at ${median.ours.achieved.toFixed(0)}/s; ` +
        `floor p50 ${median.floor.p50.toFixed(
          2,
        )} ms, p99 ${median.floor.p99.toFixed(2)} ms; ratio ours/floor p50 ${(
          median.ours.p50 / median.floor.p50
        ).toFixed(2)}, p99 ${(median.ours.p99 / median.floor.p99).toFixed(2)}`,
    );
    const pass =
      median.ours.p99 < TARGET_P99_MS &&
      median.ours.achieved >= RATE * 0.95 &&
      coalesced;
    console.log(
      `${pass ? 'PASS' : 'FAIL'}: p99 ${median.ours.p99.toFixed(
        2,
      )} ms (target < ${TARGET_P99_MS}), ${median.ours.achieved.toFixed(
        0,
      )}/s (target ${RATE}), one scan per repository per burst in every round: ${coalesced}`,
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await backend?.stop();
    await new Promise(resolve =>
      floorServerInstance
        ? floorServerInstance.close(resolve)
        : resolve(undefined),
    );
    await knex.destroy();
    await registry.stop();
    await postgres?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
