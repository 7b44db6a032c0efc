import knexFactory, { Knex } from 'knex';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { Engine } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Engine';
import { ImageRepositoryReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageRepositoryReconciler';
import { Reconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import { ObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import { RegistryClient } from '@imageops/backstage-plugin-image-automation-backend/src/registry';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startPostgres,
  startRegistry,
  TestPostgres,
  TestRegistry,
} from '../../testbed';

jest.setTimeout(120_000);

const OBJECTS = 30;

describe('two backend instances sharing one PostgreSQL', () => {
  let postgres: TestPostgres;
  let registry: TestRegistry;
  const clients: Knex[] = [];

  beforeAll(async () => {
    [postgres, registry] = await Promise.all([
      startPostgres(),
      startRegistry(),
    ]);
    await pushImage(registry, 'team/app', ['1.0.0', '1.1.0']);
  });
  afterAll(async () => {
    await Promise.all(clients.map(c => c.destroy()));
    await Promise.all([postgres?.stop(), registry?.stop()]);
  });

  it('never reconcile the same object twice, nor at the same time', async () => {
    const running = new Set<string>();
    const runs = new Map<string, number>();
    const overlaps: string[] = [];

    async function instance(name: string) {
      // Each instance has its own connection pool, as two replicas would.
      const knex = knexFactory({
        client: 'pg',
        connection: postgres.connectionString,
        pool: { min: 0, max: 4 },
      });
      clients.push(knex);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({
        knex,
        skipMigrations: true,
      });
      const real = new ImageRepositoryReconciler({
        objects,
        scans,
        registry: new RegistryClient(),
        credentials: NamedCredentials.fromConfig(new ConfigReader({})),
        logger: mockServices.logger.mock(),
      });
      const counting: Reconciler = {
        apiVersion: real.apiVersion,
        kind: real.kind,
        async reconcile(object, now) {
          if (running.has(object.id)) overlaps.push(`${name}: ${object.id}`);
          running.add(object.id);
          runs.set(object.id, (runs.get(object.id) ?? 0) + 1);
          try {
            return await real.reconcile(object, now);
          } finally {
            running.delete(object.id);
          }
        },
      };
      const engine = new Engine({
        objects,
        reconcilers: [counting],
        logger: mockServices.logger.mock(),
        batchSize: 4,
        leaseMs: 60_000,
        instanceId: name,
      });
      return { engine, objects, scans };
    }

    const one = await instance('one');
    const two = await instance('two');
    await one.objects.syncSource(
      'config:fleet.yaml',
      Array.from({ length: OBJECTS }, (_, i) => ({
        manifest: {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImageRepository',
          metadata: { name: `app-${i}`, namespace: 'fleet' },
          spec: { image: `${registry.host}/team/app`, interval: '1h' },
        },
        source: { type: 'config' as const, location: 'fleet.yaml' },
      })),
    );

    const drain = async (engine: Engine) => {
      let total = 0;
      for (let n = await engine.runPass(); n > 0; n = await engine.runPass())
        total += n;
      return total;
    };

    const [byOne, byTwo] = await Promise.all([
      drain(one.engine),
      drain(two.engine),
    ]);
    // What the lease guarantees: every object runs, exactly once, never on both at a time. How the
    // work splits between the two is the scheduler's business (one may win every race).
    expect(byOne + byTwo).toBe(OBJECTS);
    expect(runs.size).toBe(OBJECTS);
    expect(overlaps).toEqual([]);
    expect([...runs.values()].every(n => n === 1)).toBe(true);

    // A reconcile request for every object, then both instances again: once more each.
    const ids = (await one.objects.list({ kind: 'ImageRepository' })).map(
      o => o.id,
    );
    await Promise.all(
      ids.map(id =>
        two.objects.requestReconcile(id, 'user:default/jane', new Date()),
      ),
    );
    const [again1, again2] = await Promise.all([
      drain(one.engine),
      drain(two.engine),
    ]);
    expect(again1 + again2).toBe(OBJECTS);
    expect(overlaps).toEqual([]);
    expect([...runs.values()].every(n => n === 2)).toBe(true);
    for (const id of ids) {
      const scans = await one.scans.listScans(id);
      expect(scans.items.map(s => s.outcome)).toEqual(['success', 'success']);
    }
  });

  describe('leases that hold (issue #16)', () => {
    const sleep = (ms: number) =>
      new Promise(resolve => setTimeout(resolve, ms));
    let database = 0;

    /** A fresh database and store per test, as a replica's pool. */
    async function store(): Promise<{
      knex: Knex;
      objects: DatabaseObjectStore;
    }> {
      const name = `leases_${++database}_${Date.now()}`;
      const admin = knexFactory({
        client: 'pg',
        connection: postgres.connectionString,
      });
      await admin.raw(`CREATE DATABASE ${name}`);
      await admin.destroy();
      const url = new URL(postgres.connectionString);
      url.pathname = `/${name}`;
      const knex = knexFactory({
        client: 'pg',
        connection: url.toString(),
        pool: { min: 0, max: 4 },
      });
      clients.push(knex);
      return { knex, objects: await DatabaseObjectStore.create({ knex }) };
    }

    async function declare(objects: ObjectStore, count: number) {
      await objects.syncSource(
        'config:fleet.yaml',
        Array.from({ length: count }, (_, i) => ({
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: `app-${i}`, namespace: 'fleet' },
            spec: { image: `${registry.host}/team/app`, interval: '1h' },
          },
          source: { type: 'config' as const, location: 'fleet.yaml' },
        })),
      );
      return (await objects.list({ kind: 'ImageRepository' })).map(o => o.id);
    }

    /** A reconciler that takes `ms`, or waits for its signal; it notes each run and each write. */
    function slow(
      ms: number | 'untilAborted',
      log: {
        runs: string[];
        writes: string[];
        aborted: Array<{ id: string; at: number }>;
      },
      name = 'engine',
    ): Reconciler {
      return {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageRepository',
        async reconcile(object, _now, context) {
          log.runs.push(`${name}:${object.id}`);
          const until = ms === 'untilAborted' ? Infinity : Date.now() + ms;
          while (Date.now() < until && !context?.signal.aborted)
            await sleep(20);
          if (context?.signal.aborted)
            log.aborted.push({ id: object.id, at: Date.now() });
          context?.signal.throwIfAborted();
          log.writes.push(`${name}:${object.id}`);
          return {
            status: { ...object.status, observedGeneration: object.generation },
            requeueAfterMs: 3_600_000,
          };
        },
      };
    }
    const newLog = () => ({
      runs: [] as string[],
      writes: [] as string[],
      aborted: [] as Array<{ id: string; at: number }>,
    });

    it('claims an object only when a worker starts it, so no lease runs down in a queue', async () => {
      const { knex, objects } = await store();
      const ids = await declare(objects, 6);
      const log = newLog();
      // One worker, six objects of 700 ms each: 4.2 s of work under 2 s leases. Claimed in one batch,
      // the last ones' leases would run out before they start, and the second instance would take
      // them while the first still meant to run them.
      const first = new Engine({
        objects,
        reconcilers: [slow(700, log, 'one')],
        logger: mockServices.logger.mock(),
        batchSize: 6,
        concurrency: 1,
        leaseMs: 2_000,
        instanceId: 'one',
      });
      const secondStore = await DatabaseObjectStore.create({
        knex,
        skipMigrations: true,
      });
      const second = new Engine({
        objects: secondStore,
        reconcilers: [slow(700, log, 'two')],
        logger: mockServices.logger.mock(),
        batchSize: 6,
        concurrency: 1,
        leaseMs: 2_000,
        instanceId: 'two',
      });
      const firstPass = first.runPass();
      let secondRuns = 0;
      const deadline = Date.now() + 6_000;
      while (Date.now() < deadline) {
        secondRuns += await second.runPass();
        await sleep(100);
      }
      const firstRuns = await firstPass;
      expect(firstRuns + secondRuns).toBe(6);
      const perObject = ids.map(
        id => log.runs.filter(r => r.endsWith(`:${id}`)).length,
      );
      expect(perObject).toEqual([1, 1, 1, 1, 1, 1]);
      expect(log.writes).toHaveLength(6);
    });

    it('stops a run whose lease another instance took, before it writes, and stores nothing of it', async () => {
      const { knex, objects } = await store();
      const [id] = await declare(objects, 1);
      const log = newLog();
      const engine = new Engine({
        objects,
        reconcilers: [slow('untilAborted', log)],
        logger: mockServices.logger.mock(),
        batchSize: 1,
        leaseMs: 1_500,
        instanceId: 'one',
      });
      const pass = engine.runPass();
      while (log.runs.length === 0) await sleep(20);
      // Another replica takes the object over (its lease ran out by that replica's clock, say).
      await knex('image_automation_objects')
        .where({ id })
        .update({ lease_owner: 'two' });
      const stolenAt = Date.now();
      await pass;
      expect(log.aborted.map(a => a.id)).toEqual([id]);
      // Noticed at the next renewal, a third of the lease later at most.
      expect(log.aborted[0].at - stolenAt).toBeLessThan(1_500);
      expect(log.writes).toEqual([]);
      const row = await knex('image_automation_objects').where({ id }).first();
      expect(row.lease_owner).toBe('two');
      expect(row.last_run_at).toBeNull();
    });

    it('gives up a lease it cannot renew a sixth of its length before it runs out', async () => {
      const { objects } = await store();
      const [id] = await declare(objects, 1);
      const log = newLog();
      // The database refuses every renewal (a network partition between this replica and it).
      const partitioned: ObjectStore = Object.assign(Object.create(objects), {
        renewLease: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      });
      const engine = new Engine({
        objects: partitioned,
        reconcilers: [slow('untilAborted', log)],
        logger: mockServices.logger.mock(),
        batchSize: 1,
        leaseMs: 1_800,
        instanceId: 'one',
      });
      const claimedAt = Date.now();
      await engine.runPass();
      expect(log.aborted.map(a => a.id)).toEqual([id]);
      const heldFor = log.aborted[0].at - claimedAt;
      // Stopped at 1.5 s (1.8 s less a sixth): before the lease runs out, never much earlier.
      expect(heldFor).toBeGreaterThanOrEqual(1_400);
      expect(heldFor).toBeLessThan(1_800);
      expect(log.writes).toEqual([]);
    });

    it('aborts a reconcile at its deadline and says so in Ready', async () => {
      const { knex, objects } = await store();
      const [id] = await declare(objects, 1);
      const log = newLog();
      const reconciler = { ...slow('untilAborted', log), timeoutMs: () => 300 };
      const engine = new Engine({
        objects,
        reconcilers: [reconciler],
        logger: mockServices.logger.mock(),
        batchSize: 1,
        leaseMs: 60_000,
        deadlineGraceMs: 200,
        instanceId: 'one',
      });
      await engine.runPass();
      expect(log.writes).toEqual([]);
      const stored = await objects.get(id);
      expect(
        stored?.status.conditions?.find(c => c.type === 'Ready'),
      ).toMatchObject({
        status: 'False',
        reason: 'ReconcileTimeout',
        message:
          'reconcile aborted after 500ms: its timeout is 300ms, and 200ms more passed',
      });
      expect(
        (await knex('image_automation_objects').where({ id }).first())
          .lease_owner,
      ).toBeNull();
    });

    it('stops claiming when the pass is stopped, and releases the lease of what was running', async () => {
      const { knex, objects } = await store();
      const ids = await declare(objects, 3);
      const log = newLog();
      const engine = new Engine({
        objects,
        reconcilers: [slow('untilAborted', log)],
        logger: mockServices.logger.mock(),
        batchSize: 3,
        concurrency: 1,
        leaseMs: 60_000,
        instanceId: 'one',
      });
      const stop = new AbortController();
      const pass = engine.runPass(undefined, stop.signal);
      while (log.runs.length === 0) await sleep(20);
      stop.abort();
      expect(await pass).toBe(1);
      expect(log.runs).toHaveLength(1);
      expect(log.writes).toEqual([]);
      const rows = await knex('image_automation_objects').whereIn('id', ids);
      // Nobody holds any of them, and all are due: another replica takes them at once.
      expect(rows.map(r => r.lease_owner)).toEqual([null, null, null]);
      expect(rows.every(r => Date.parse(r.next_run_at) <= Date.now())).toBe(
        true,
      );
    });

    describe('with the real ImageRepository reconciler', () => {
      let proxy: FaultProxy;
      beforeAll(async () => {
        proxy = await startFaultProxy(registry.url);
      });
      afterAll(() => proxy?.stop());

      it('records no scan once the lease is lost during a registry call (a slow registry stand-in)', async () => {
        const { knex, objects } = await store();
        const scans = await DatabaseScanStore.create({
          knex,
          skipMigrations: true,
        });
        await objects.syncSource('config:slow.yaml', [
          {
            manifest: {
              apiVersion: 'image.toolkit.fluxcd.io/v1',
              kind: 'ImageRepository',
              metadata: { name: 'slow', namespace: 'fleet' },
              spec: { image: `${proxy.host}/team/app`, interval: '1h' },
            },
            source: { type: 'config' as const, location: 'slow.yaml' },
          },
        ]);
        const [object] = await objects.list({ kind: 'ImageRepository' });
        proxy.inject({
          match: r => r.path.includes('/tags/list'),
          times: Infinity,
          action: { delayMs: 4_000 },
        });
        const engine = new Engine({
          objects,
          reconcilers: [
            new ImageRepositoryReconciler({
              objects,
              scans,
              registry: new RegistryClient({ allowedHosts: ['*'] }),
              credentials: NamedCredentials.fromConfig(new ConfigReader({})),
              logger: mockServices.logger.mock(),
            }),
          ],
          logger: mockServices.logger.mock(),
          batchSize: 1,
          leaseMs: 1_500,
          instanceId: 'one',
        });
        const pass = engine.runPass();
        while (!proxy.requests.some(r => r.path.includes('/tags/list')))
          await sleep(20);
        await knex('image_automation_objects')
          .where({ id: object.id })
          .update({ lease_owner: 'two' });
        const started = Date.now();
        await pass;
        // The registry call was cancelled with the run, not waited for.
        expect(Date.now() - started).toBeLessThan(3_000);
        expect((await scans.listScans(object.id)).items).toEqual([]);
        expect((await objects.get(object.id))?.status.conditions ?? []).toEqual(
          [],
        );
      });
    });
  });
});
