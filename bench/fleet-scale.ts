/**
 * Issue #16 at fleet scale, on the test bed's PostgreSQL and a real registry (a counting proxy in
 * front of it): 1,000 entities with 5 ImageRepositories each (5,000) over 500 distinct images,
 * reconciled by the real engine and ImageRepositoryReconciler on a simulated clock (each cycle is
 * one interval later).
 *
 * 1. Registry requests per cycle: one scan per object (no sharing, what Flux and every peer do)
 *    against fleet-wide scan sharing, on two databases seeded alike; prints both and the ratio
 *    (target ≥ 10× fewer).
 * 2. Two replicas (two engines, two connection pools, one database) against one: wall time of a
 *    cycle and the ratio.
 * 3. Soak: `SOAK_CYCLES` (1,000) cycles of `SOAK_REPOSITORIES` (100) repositories in this process,
 *    RSS sampled after a forced GC every 50 cycles; prints the least-squares slope in KiB/cycle.
 *
 *   node --expose-gc --require @backstage/cli-node/config/nodeTransform.cjs bench/fleet-scale.ts
 *
 * FLEET_ENTITIES, FLEET_PER_ENTITY, FLEET_IMAGES, CYCLES (3), SOAK_CYCLES, SOAK_REPOSITORIES size it.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import knexFactory, { Knex } from 'knex';
import { NamedCredentials } from '../plugins/image-automation-backend/src/credentials/NamedCredentials';
import { Engine } from '../plugins/image-automation-backend/src/engine/Engine';
import { ImageRepositoryReconciler } from '../plugins/image-automation-backend/src/engine/ImageRepositoryReconciler';
import { RegistryClient } from '../plugins/image-automation-backend/src/registry';
import { SharedListings } from '../plugins/image-automation-backend/src/registry/sharedListings';
import { DatabaseListingStore } from '../plugins/image-automation-backend/src/store/DatabaseListingStore';
import { DatabaseObjectStore } from '../plugins/image-automation-backend/src/store/DatabaseObjectStore';
import { DatabaseScanStore } from '../plugins/image-automation-backend/src/store/DatabaseScanStore';
import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startPostgres,
  startRegistry,
  TestPostgres,
} from '../test/testbed';

const ENTITIES = Number(process.env.FLEET_ENTITIES ?? 1000);
const PER_ENTITY = Number(process.env.FLEET_PER_ENTITY ?? 5);
const IMAGES = Number(process.env.FLEET_IMAGES ?? 500);
const CYCLES = Number(process.env.CYCLES ?? 3);
const SOAK_CYCLES = Number(process.env.SOAK_CYCLES ?? 1000);
const SOAK_REPOSITORIES = Number(process.env.SOAK_REPOSITORIES ?? 100);
const INTERVAL_MS = 5 * 60_000;

const silent = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => silent,
} as unknown as LoggerService;

async function database(postgres: TestPostgres, name: string): Promise<string> {
  const admin = knexFactory({
    client: 'pg',
    connection: postgres.connectionString,
  });
  await admin.raw(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(postgres.connectionString);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A replica: its own pool, stores, registry client and engine. */
async function replica(connection: string, shared: boolean, name: string) {
  const knex: Knex = knexFactory({
    client: 'pg',
    connection,
    pool: { min: 0, max: 8 },
  });
  const objects = await DatabaseObjectStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const registry = new RegistryClient({ allowedHosts: ['127.0.0.1'] });
  const listings = shared
    ? new SharedListings({
        store: await DatabaseListingStore.create({
          knex,
          skipMigrations: true,
        }),
        registry,
      })
    : undefined;
  const engine = new Engine({
    objects,
    logger: silent,
    batchSize: 200,
    concurrency: 8,
    leaseMs: 300_000,
    instanceId: name,
    reconcilers: [
      new ImageRepositoryReconciler({
        objects,
        scans,
        registry,
        credentials: NamedCredentials.fromConfig(new ConfigReader({})),
        logger: silent,
        listings,
      }),
    ],
  });
  return { knex, objects, engine };
}

async function declare(
  objects: DatabaseObjectStore,
  proxy: FaultProxy,
  entities: number,
  perEntity: number,
) {
  for (let e = 0; e < entities; e++) {
    const entityRef = `component:default/service-${e}`;
    await objects.syncSource(
      `catalog:${entityRef}`,
      Array.from({ length: perEntity }, (_, i) => {
        const index = e * perEntity + i;
        return {
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: `repo-${index}`, namespace: 'fleet' },
            spec: {
              image: `${proxy.host}/fleet/app-${index % IMAGES}`,
              interval: '5m',
            },
          },
          source: {
            type: 'catalog' as const,
            location: `file:///service-${e}.yaml`,
          },
          entityRef,
          grantedNamespaces: ['fleet'],
        };
      }),
    );
  }
}

/** Runs passes until nothing is due at `at`; returns how many reconciles ran. */
async function cycle(engines: Engine[], at: Date): Promise<number> {
  const counts = await Promise.all(
    engines.map(async engine => {
      let total = 0;
      for (
        let n = await engine.runPass(() => at);
        n > 0;
        n = await engine.runPass(() => at)
      )
        total += n;
      return total;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main() {
  const total = ENTITIES * PER_ENTITY;
  const [postgres, registry] = await Promise.all([
    startPostgres(),
    startRegistry(),
  ]);
  const proxy = await startFaultProxy(registry.url);
  const pools: Knex[] = [];
  try {
    let started = Date.now();
    for (let i = 0; i < IMAGES; i += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, IMAGES - i) }, (_, j) =>
          pushImage(registry, `fleet/app-${i + j}`, ['1.0.0', '1.1.0']),
        ),
      );
    }
    console.log(
      `seeded ${IMAGES} images in ${((Date.now() - started) / 1000).toFixed(
        1,
      )} s`,
    );

    // 1. Requests per cycle, with and without sharing.
    // The simulated clock starts after every object was declared (they are due from their creation).
    const t0 = Date.now() + 24 * 3_600_000;
    const results: Record<string, { requests: number[]; seconds: number[] }> =
      {};
    for (const mode of ['one-scan-per-object', 'shared'] as const) {
      const connection = await database(
        postgres,
        mode === 'shared' ? 'fleet_shared' : 'fleet_alone',
      );
      const one = await replica(connection, mode === 'shared', `${mode}-1`);
      pools.push(one.knex);
      started = Date.now();
      await declare(one.objects, proxy, ENTITIES, PER_ENTITY);
      console.log(
        `${mode}: declared ${total} ImageRepositories for ${ENTITIES} entities in ${(
          (Date.now() - started) /
          1000
        ).toFixed(1)} s`,
      );
      results[mode] = { requests: [], seconds: [] };
      for (let c = 0; c < CYCLES; c++) {
        const at = new Date(t0 + c * (INTERVAL_MS + 1000));
        const before = proxy.requests.length;
        started = Date.now();
        const ran = await cycle([one.engine], at);
        const seconds = (Date.now() - started) / 1000;
        const requests = proxy.requests.length - before;
        results[mode].requests.push(requests);
        results[mode].seconds.push(seconds);
        console.log(
          `${mode}: cycle ${
            c + 1
          }: ${ran} reconciles, ${requests} registry requests, ${seconds.toFixed(
            1,
          )} s`,
        );
      }
    }
    const steady = (mode: string) =>
      results[mode].requests.slice(1).reduce((a, b) => a + b, 0) /
      Math.max(1, CYCLES - 1);
    const alone = steady('one-scan-per-object');
    const shared = steady('shared');
    const ratio = alone / Math.max(1, shared);
    console.log(
      `requests per cycle after the first: one scan per object ${alone.toFixed(
        0,
      )}, shared ${shared.toFixed(0)}: ${ratio.toFixed(
        1,
      )}x fewer (target >= 10x): ${ratio >= 10 ? 'PASS' : 'FAIL'}`,
    );

    // 2. Two replicas against one, sharing on, one database each run.
    const timings: Record<string, number> = {};
    for (const replicas of [1, 2]) {
      const connection = await database(postgres, `fleet_replicas_${replicas}`);
      const members = [];
      // One after the other: each runs the migrations on start.
      for (let i = 0; i < replicas; i++)
        members.push(
          await replica(connection, true, `replica-${replicas}-${i}`),
        );
      pools.push(...members.map(m => m.knex));
      await declare(members[0].objects, proxy, ENTITIES, PER_ENTITY);
      await cycle(
        members.map(m => m.engine),
        new Date(t0),
      );
      started = Date.now();
      const ran = await cycle(
        members.map(m => m.engine),
        new Date(t0 + INTERVAL_MS + 1000),
      );
      timings[replicas] = (Date.now() - started) / 1000;
      console.log(
        `${replicas} replica(s): a cycle of ${ran} reconciles in ${timings[
          replicas
        ].toFixed(1)} s (${(ran / timings[replicas]).toFixed(0)}/s)`,
      );
    }
    console.log(
      `two replicas / one: ${(timings[1] / timings[2]).toFixed(
        2,
      )}x the throughput (one machine of 2 cores runs both and PostgreSQL)`,
    );

    // 3. Soak.
    const soak = await replica(
      await database(postgres, 'fleet_soak'),
      true,
      'soak',
    );
    pools.push(soak.knex);
    await declare(
      soak.objects,
      proxy,
      Math.ceil(SOAK_REPOSITORIES / PER_ENTITY),
      PER_ENTITY,
    );
    const gc = (globalThis as { gc?: () => void }).gc;
    const samples: Array<[number, number]> = [];
    started = Date.now();
    for (let c = 0; c < SOAK_CYCLES; c++) {
      await cycle([soak.engine], new Date(t0 + c * (INTERVAL_MS + 1000)));
      if (c % 50 === 49) {
        gc?.();
        samples.push([c + 1, process.memoryUsage().rss / 1024]);
      }
    }
    const kibPerCycle = slope(samples.slice(1));
    console.log(
      `soak: ${SOAK_CYCLES} cycles of ${SOAK_REPOSITORIES} repositories in ${(
        (Date.now() - started) /
        1000
      ).toFixed(0)} s; RSS ${(samples[0][1] / 1024).toFixed(0)} -> ${(
        samples[samples.length - 1][1] / 1024
      ).toFixed(0)} MiB, slope ${kibPerCycle.toFixed(2)} KiB/cycle${
        gc ? '' : ' (run with --expose-gc for a cleaner slope)'
      }`,
    );
  } finally {
    await Promise.all(pools.map(p => p.destroy()));
    await proxy.stop();
    await Promise.all([registry.stop(), postgres.stop()]);
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
