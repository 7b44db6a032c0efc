import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { Engine } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Engine';
import { ImageRepositoryReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageRepositoryReconciler';
import { Reconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import {
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from '@imageops/backstage-plugin-image-automation-backend/src/engine/ResourceSetReconciler';
import {
  ClusterDetails,
  InventoryApplier,
} from '@imageops/backstage-plugin-image-automation-backend/src/kubernetes';
import { DatabaseInventoryStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseInventoryStore';
import { ImageUpdateAutomationReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageUpdateAutomationReconciler';
import { SigningKeys } from '@imageops/backstage-plugin-image-automation-backend/src/git/SigningKeys';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import { RegistryClient } from '@imageops/backstage-plugin-image-automation-backend/src/registry';
import { SharedListings } from '@imageops/backstage-plugin-image-automation-backend/src/registry/sharedListings';
import { DatabaseListingStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseListingStore';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import { ObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startPostgres,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestPostgres,
  TestRegistry,
} from '../../testbed';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';

jest.setTimeout(180_000);

// Issue #16's fault matrix, part one: two replicas (each its own connection pool, stores, registry
// client and engine, as two backends) on one real PostgreSQL, scanning a real registry through a
// fault-injecting proxy. Each case breaks one component mid-work and checks that nothing is lost
// or done twice, that the failure shows meanwhile, and that everything is Ready after recovery.

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** `target`, except that once `dead()` holds nothing asked of it ever comes back (a killed replica). */
function hangingWhen<T extends object>(target: T, dead: () => boolean): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        dead() ? new Promise(() => {}) : value.apply(t, args);
    },
  });
}

describe('fault matrix: two replicas on one PostgreSQL', () => {
  let postgres: TestPostgres;
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const pools: Knex[] = [];
  let database = 0;

  beforeAll(async () => {
    [postgres, registry] = await Promise.all([
      startPostgres(),
      startRegistry(),
    ]);
    for (const image of [
      'faults/a',
      'faults/b',
      'faults/c',
      'faults/d',
      'faults/e',
      'faults/f',
      'faults/g',
    ]) {
      await pushImage(registry, image, ['1.0.0', '1.1.0']);
    }
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await Promise.all(pools.map(p => p.destroy()));
    await proxy?.stop();
    await Promise.all([postgres?.stop(), registry?.stop()]);
  });
  afterEach(() => proxy.clear());

  async function freshDatabase(): Promise<string> {
    const name = `faults_${++database}`;
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

  /** A replica as the plugin composes it: engine, ImageRepository reconciler, shared listings. */
  async function replica(
    connection: string,
    name: string,
    options: {
      leaseMs?: number;
      clockSkewMs?: number;
      wrap?: (r: Reconciler) => Reconciler;
    } = {},
  ) {
    const knex = knexFactory({
      client: 'pg',
      connection,
      pool: { min: 0, max: 4, acquireTimeoutMillis: 5_000 },
    });
    pools.push(knex);
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const client = new RegistryClient({
      allowedHosts: ['127.0.0.1'],
      retries: { attempts: 2, baseDelayMs: 10 },
    });
    const logger = mockServices.logger.mock();
    const reconciler = new ImageRepositoryReconciler({
      objects,
      scans,
      registry: client,
      credentials: NamedCredentials.fromConfig(new ConfigReader({})),
      logger,
      listings: new SharedListings({
        store: await DatabaseListingStore.create({
          knex,
          skipMigrations: true,
        }),
        registry: client,
      }),
    });
    const engine = new Engine({
      objects,
      reconcilers: [options.wrap ? options.wrap(reconciler) : reconciler],
      logger,
      batchSize: 10,
      concurrency: 4,
      leaseMs: options.leaseMs ?? 3_000,
      instanceId: name,
    });
    const now = () => new Date(Date.now() + (options.clockSkewMs ?? 0));
    return { knex, objects, scans, engine, logger, now };
  }

  async function declare(
    objects: ObjectStore,
    images: string[],
    perImage: number,
    specs: Record<string, object> = {},
  ) {
    await objects.syncSource(
      'config:faults.yaml',
      images.flatMap(image =>
        Array.from({ length: perImage }, (_, i) => ({
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: {
              name: `${image.replace('faults/', '')}-${i}`,
              namespace: 'faults',
            },
            spec: {
              image: `${proxy.host}/${image}`,
              interval: '1h',
              ...specs[image],
            },
          },
          source: { type: 'config' as const, location: 'faults.yaml' },
        })),
      ),
    );
    return (await objects.list({ kind: 'ImageRepository' })).map(o => o.id);
  }

  /** Both replicas run passes until `done` holds (errors of a pass are the outage's, and retried). */
  async function runUntil(
    replicas: Array<{ engine: Engine; now: () => Date }>,
    done: () => Promise<boolean>,
    timeoutMs = 60_000,
  ) {
    const deadline = Date.now() + timeoutMs;
    const errors: string[] = [];
    let stop = false;
    const loops = replicas.map(async r => {
      while (!stop) {
        await r.engine
          .runPass(r.now)
          .catch(error => errors.push(String(error)));
        await sleep(100);
      }
    });
    try {
      while (!(await done().catch(() => false))) {
        if (Date.now() > deadline)
          throw new Error(
            `not done within ${timeoutMs} ms; pass errors: ${errors
              .slice(0, 3)
              .join('; ')}`,
          );
        await sleep(200);
      }
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    return errors;
  }

  const allReady = (objects: ObjectStore, ids: string[]) => async () => {
    const states = await Promise.all(ids.map(id => objects.get(id)));
    return states.every(o =>
      o?.status.conditions?.some(
        c => c.type === 'Ready' && c.status === 'True',
      ),
    );
  };

  it('PostgreSQL restarted mid-pass: no scan lost or recorded twice, every object Ready after recovery', async () => {
    const connection = await freshDatabase();
    const one = await replica(connection, 'one');
    const two = await replica(connection, 'two');
    const ids = await declare(one.objects, ['faults/a', 'faults/b'], 10);
    // Slow listings keep reconciles running while the database goes away.
    proxy.inject({
      match: r => r.path.includes('/tags/list'),
      times: Infinity,
      action: { delayMs: 400 },
    });

    const restarted = (async () => {
      // Wait for the first recorded scans, then cut the database under both replicas.
      while (
        Number(
          (await one.knex('image_automation_scans').count({ n: '*' }))[0].n,
        ) === 0
      )
        await sleep(50);
      const before = await one
        .knex('image_automation_scans')
        .select('id', 'object_id', 'started_at');
      // A restart (fast shutdown: connections cut, committed work kept). A crash would also lose
      // the last commits here, as the test bed runs PostgreSQL with synchronous_commit=off.
      await postgres.restart({ downMs: 1_500, crash: false });
      return before;
    })();
    await runUntil(
      [one, two],
      async () =>
        (await restarted.then(() => true)) && allReady(one.objects, ids)(),
    );
    const before = await restarted;

    const after = await one
      .knex('image_automation_scans')
      .select('id', 'object_id', 'started_at', 'outcome');
    // Nothing recorded before the crash is gone (the database is durable; no row rewritten).
    expect(after.map(r => r.id)).toEqual(
      expect.arrayContaining(before.map(r => r.id)),
    );
    // Each object was scanned successfully, and no scan of one object was recorded twice.
    for (const id of ids) {
      const mine = after.filter(
        r => r.object_id === id && r.outcome === 'success',
      );
      expect(mine.length).toBeGreaterThanOrEqual(1);
      expect(new Set(mine.map(r => String(r.started_at))).size).toBe(
        mine.length,
      );
    }
    // The outage was seen and reported by the replicas meanwhile (the database, not an object).
    const logged = [
      ...one.logger.error.mock.calls,
      ...two.logger.error.mock.calls,
      ...one.logger.warn.mock.calls,
      ...two.logger.warn.mock.calls,
    ].map(c => String(c[0]));
    expect(logged.some(m => /Could not store|lease/.test(m))).toBe(true);
  });

  it('a registry failing in every way: each object shows its failure class, the others are unaffected, all Ready after recovery', async () => {
    const connection = await freshDatabase();
    const one = await replica(connection, 'one');
    const two = await replica(connection, 'two');
    const ids = await declare(
      one.objects,
      [
        'faults/a',
        'faults/b',
        'faults/c',
        'faults/d',
        'faults/e',
        'faults/f',
        'faults/g',
      ],
      2,
      { 'faults/g': { timeout: '2s' } },
    );
    const on = (image: string) => (r: { path: string }) =>
      r.path.startsWith(`/v2/${image}/tags/list`);
    proxy.inject({
      match: on('faults/a'),
      times: Infinity,
      action: { status: 503, body: 'maintenance' },
    });
    proxy.inject({
      match: on('faults/b'),
      times: Infinity,
      action: {
        status: 429,
        headers: { 'Retry-After': '1' },
        body: 'slow down',
      },
    });
    proxy.inject({
      match: on('faults/c'),
      times: Infinity,
      action: { replaceBody: '{"name":"faults/c","tags":["1.0' },
    });
    proxy.inject({
      match: on('faults/d'),
      times: Infinity,
      action: { reset: true },
    });
    // A body far over the client's limit (32 MiB), and a registry slower than the object's timeout.
    proxy.inject({
      match: on('faults/f'),
      times: Infinity,
      action: { oversizedBytes: 40 * 1024 * 1024 },
    });
    proxy.inject({
      match: on('faults/g'),
      times: Infinity,
      action: { delayMs: 4_000 },
    });

    const reason = async (id: string) =>
      (await one.objects.get(id))?.status.conditions?.find(
        c => c.type === 'Ready',
      );
    await runUntil([one, two], async () => {
      const all = await Promise.all(ids.map(reason));
      return all.every(c => c !== undefined);
    });
    const kinds = async (prefix: string) =>
      (
        await one
          .knex('image_automation_scans')
          .where('object_id', 'like', `ImageRepository/faults/${prefix}-%`)
      ).map(r => r.error_kind);
    expect(await kinds('a')).toContain('server');
    expect(await kinds('b')).toContain('rateLimited');
    expect(await kinds('c')).toContain('invalidResponse');
    expect(await kinds('d')).toContain('network');
    expect(await kinds('f')).toContain('invalidResponse');
    expect(await kinds('g')).toContain('timeout');
    for (const id of ids.filter(i => !i.includes('/e-'))) {
      expect(await reason(id)).toMatchObject({
        status: 'False',
        reason: 'ReadOperationFailed',
      });
    }
    // The healthy repository is scanned as if nothing happened.
    for (const id of ids.filter(i => i.includes('/e-'))) {
      expect(await reason(id)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
    }

    // Recovery: the registry answers again; the failed ones retry within a minute (or at once on request).
    proxy.clear();
    for (const id of ids)
      await one.objects.requestReconcile(id, 'user:default/ops', new Date());
    await runUntil([one, two], allReady(one.objects, ids));
  });

  it('clock skew between replicas within a sixth of the lease: an object whose lease cannot be renewed is never run by both', async () => {
    const connection = await freshDatabase();
    const leaseMs = 3_000;
    const runs: Array<{ replica: string; start: number; end: number }> = [];
    const recording =
      (name: string) =>
      (inner: Reconciler): Reconciler => ({
        apiVersion: inner.apiVersion,
        kind: inner.kind,
        async reconcile(object, now, context) {
          const start = Date.now();
          try {
            // Long enough to outlast the lease when it cannot be renewed.
            while (
              Date.now() - start < leaseMs * 1.5 &&
              !context?.signal.aborted
            )
              await sleep(20);
            return await inner.reconcile(object, now, context);
          } finally {
            runs.push({ replica: name, start, end: Date.now() });
          }
        },
      });
    // The second replica's clock runs 200 ms ahead (the margin is a sixth of the lease: 500 ms).
    const two = await replica(connection, 'two', {
      leaseMs,
      clockSkewMs: 200,
      wrap: recording('two'),
    });
    const one = await replica(connection, 'one', { leaseMs });
    const [id] = await declare(one.objects, ['faults/e'], 1);
    // The first replica holds the object but cannot renew its lease (cut off from the database).
    const cut: ObjectStore = Object.assign(Object.create(one.objects), {
      renewLease: async () => {
        throw new Error('connection refused');
      },
    });
    const partitioned = new Engine({
      objects: cut,
      reconcilers: [
        recording('one')(
          new ImageRepositoryReconciler({
            objects: cut,
            scans: one.scans,
            registry: new RegistryClient({ allowedHosts: ['127.0.0.1'] }),
            credentials: NamedCredentials.fromConfig(new ConfigReader({})),
            logger: one.logger,
          }),
        ),
      ],
      logger: one.logger,
      batchSize: 1,
      leaseMs,
      instanceId: 'one',
    });
    const first = partitioned.runPass();
    while (
      (await one.knex('image_automation_objects').where({ id }).first())
        .lease_owner !== 'one'
    )
      await sleep(10);
    // The second replica tries all along.
    const deadline = Date.now() + leaseMs * 2.5;
    while (Date.now() < deadline) {
      await two.engine.runPass(two.now);
      await sleep(50);
    }
    await first;
    const byOne = runs.filter(r => r.replica === 'one');
    const byTwo = runs.filter(r => r.replica === 'two');
    expect(byOne).toHaveLength(1);
    expect(byTwo).toHaveLength(1);
    // The first gave up before the second started: never both at once.
    expect(byTwo[0].start).toBeGreaterThanOrEqual(byOne[0].end);
    expect(
      (await one.objects.get(id))?.status.conditions?.find(
        c => c.type === 'Ready',
      )?.status,
    ).toBe('True');
  });

  describe('with a real kube-apiserver', () => {
    let kube: TestKubernetes;
    beforeAll(async () => {
      kube = await startKubernetes();
      await kube.kubectl(['create', 'namespace', 'faults']);
    });
    afterAll(() => kube?.stop());

    it('kube-apiserver down and back: Ready=False naming the cluster meanwhile, no ResourceSet applied by both replicas at once, all applied after', async () => {
      const connection = await freshDatabase();
      const cluster: ClusterDetails = {
        name: 'faults',
        url: kube.url,
        source: 'config',
        auth: { type: 'serviceAccount', token: kube.admin.token },
        caData: kube.caData,
        writePolicy: {
          allowedNamespaces: ['faults'],
          allowedKinds: ['*'],
          allowedClusterScopedKinds: [],
          allowedEntities: ['*'],
        },
      };
      const running = new Set<string>();
      const overlaps: string[] = [];
      async function applyingReplica(name: string) {
        const knex = knexFactory({
          client: 'pg',
          connection,
          pool: { min: 0, max: 4 },
        });
        pools.push(knex);
        const objects = await DatabaseObjectStore.create({ knex });
        const inventories = await DatabaseInventoryStore.create({
          knex,
          skipMigrations: true,
        });
        const inner = new ResourceSetReconciler({
          objects,
          inventories,
          applier: new InventoryApplier(inventories, {
            fieldManager: 'image-automation',
            force: false,
            concurrency: 4,
            clusters: [],
          }),
          cluster: async () => cluster,
        });
        const tracked: Reconciler = {
          apiVersion: inner.apiVersion,
          kind: inner.kind,
          async reconcile(object, now, context) {
            if (running.has(object.id)) overlaps.push(`${name}: ${object.id}`);
            running.add(object.id);
            try {
              return await inner.reconcile(object, now, context);
            } finally {
              running.delete(object.id);
            }
          },
        };
        const engine = new Engine({
          objects,
          reconcilers: [tracked],
          logger: mockServices.logger.mock(),
          batchSize: 10,
          leaseMs: 5_000,
          instanceId: name,
        });
        return { knex, objects, inventories, engine, now: () => new Date() };
      }
      const one = await applyingReplica('one');
      const two = await applyingReplica('two');
      const sets = Array.from({ length: 6 }, (_, i) => `set-${i}`);
      await one.objects.syncSource(
        'config:sets.yaml',
        sets.map(name => ({
          manifest: {
            apiVersion: 'fluxcd.controlplane.io/v1',
            kind: 'ResourceSet',
            metadata: {
              name,
              namespace: 'faults',
              annotations: { [CLUSTERS_ANNOTATION]: 'faults' },
            },
            spec: {
              inputs: [{ id: '1', version: '1.0.0' }],
              resources: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  metadata: { name, namespace: 'faults' },
                  data: { version: '<< inputs.version >>' },
                },
              ],
            },
          } as any,
          source: { type: 'config' as const, location: 'sets.yaml' },
        })),
      );
      const ids = sets.map(name => `ResourceSet/faults/${name}`);

      // Down before the first apply: every ResourceSet says why, naming the cluster.
      await kube.stopApiServer();
      try {
        await runUntil([one, two], async () => {
          const all = await Promise.all(ids.map(id => one.objects.get(id)));
          return all.every(o =>
            o?.status.conditions?.some(
              c => c.type === 'Ready' && c.status === 'False',
            ),
          );
        });
        for (const id of ids) {
          const ready = (await one.objects.get(id))?.status.conditions?.find(
            c => c.type === 'Ready',
          );
          expect(ready?.message).toContain('faults');
          expect(ready?.message).toMatch(/unreachable|ECONNREFUSED|connect/i);
        }
      } finally {
        await kube.startApiServer();
      }
      // Back: both replicas pick the ResourceSets up again (they retry unreachable clusters within 10 s).
      await runUntil([one, two], allReady(one.objects, ids), 90_000);
      expect(overlaps).toEqual([]);
      const names = JSON.parse(
        await kube.kubectl(['get', 'configmaps', '-n', 'faults', '-o', 'json']),
      ).items.map((c: { metadata: { name: string } }) => c.metadata.name);
      expect(names).toEqual(expect.arrayContaining(sets));
      for (const id of ids) {
        expect((await one.inventories.get(id, 'faults'))?.state).toBe(
          'applied',
        );
      }
    });
    it('a replica killed mid-apply: the other finishes after the lease, prunes what the old set left, and nothing applied is unrecorded', async () => {
      const connection = await freshDatabase();
      // The first replica reaches the API server through a TCP relay that its "death" cuts.
      const relayed = new Set<net.Socket>();
      let cut = false;
      const kubeUrl = new URL(kube.url);
      const relay = net.createServer(client => {
        if (cut) {
          client.destroy();
          return;
        }
        const upstream = net.connect(Number(kubeUrl.port), kubeUrl.hostname);
        relayed.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close);
        upstream.on('error', close);
      });
      await new Promise<void>(resolve => relay.listen(0, '127.0.0.1', resolve));
      const policy = {
        allowedNamespaces: ['faults'],
        allowedKinds: ['*'],
        allowedClusterScopedKinds: [],
        allowedEntities: ['*'],
      };
      const details = (url: string): ClusterDetails => ({
        name: 'faults',
        url,
        source: 'config',
        auth: { type: 'serviceAccount', token: kube.admin.token },
        caData: kube.caData,
        writePolicy: policy,
      });
      let dead = false;
      async function applyingReplica(name: string, url: string) {
        const knex = knexFactory({
          client: 'pg',
          connection,
          pool: { min: 0, max: 4 },
        });
        pools.push(knex);
        const stored = await DatabaseObjectStore.create({ knex });
        const storedInventories = await DatabaseInventoryStore.create({
          knex,
          skipMigrations: true,
        });
        // After the "kill" nothing this replica asks of the database comes back.
        const objects = hangingWhen(stored, () => name === 'one' && dead);
        const inventories = hangingWhen(
          storedInventories,
          () => name === 'one' && dead,
        );
        const reconciler = new ResourceSetReconciler({
          objects,
          inventories,
          applier: new InventoryApplier(inventories, {
            fieldManager: 'image-automation',
            force: false,
            concurrency: 4,
            clusters: [],
          }),
          cluster: async () => details(url),
          // The first replica dies as its second step starts: the first step is applied.
          progress: async (_id, status) => {
            if (
              name === 'one' &&
              status.conditions?.some(c =>
                c.message.startsWith('Applying step 2/'),
              )
            ) {
              dead = true;
              cut = true;
              for (const socket of relayed) socket.destroy();
            }
          },
        });
        const engine = new Engine({
          objects,
          reconcilers: [reconciler],
          logger: mockServices.logger.mock(),
          batchSize: 5,
          leaseMs: 3_000,
          instanceId: name,
        });
        return {
          objects: stored,
          inventories: storedInventories,
          engine,
          now: () => new Date(),
        };
      }
      const one = await applyingReplica(
        'one',
        `https://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
      );
      const two = await applyingReplica('two', kube.url);
      const cm = (name: string) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'faults' },
        data: { v: '1' },
      });
      const declareSet = (first: string[], second: string[]) =>
        two.objects.syncSource('config:killed.yaml', [
          {
            manifest: {
              apiVersion: 'fluxcd.controlplane.io/v1',
              kind: 'ResourceSet',
              metadata: {
                name: 'killed',
                namespace: 'faults',
                annotations: { [CLUSTERS_ANNOTATION]: 'faults' },
              },
              spec: {
                steps: [
                  { name: 'config', resources: first.map(cm) },
                  { name: 'app', resources: second.map(cm) },
                ],
              },
            } as any,
            source: { type: 'config' as const, location: 'killed.yaml' },
          },
        ]);
      const id = 'ResourceSet/faults/killed';
      const owned = async () =>
        JSON.parse(
          await kube.kubectl([
            'get',
            'configmaps',
            '-n',
            'faults',
            '-l',
            'resourceset.fluxcd.controlplane.io/name=killed',
            '-o',
            'json',
          ]),
        )
          .items.map((c: { metadata: { name: string } }) => c.metadata.name)
          .sort();
      try {
        // v1, applied by the second replica alone.
        await declareSet(['old-a', 'old-b'], ['old-app']);
        await runUntil([two], allReady(two.objects, [id]));
        expect(await owned()).toEqual(['old-a', 'old-app', 'old-b']);

        // v2: the first replica takes it, applies step 1, and dies at step 2.
        await declareSet(['new-a', 'new-b'], ['new-app']);
        void one.engine.runPass();
        const deadline = Date.now() + 30_000;
        while (!dead) {
          if (Date.now() > deadline)
            throw new Error('the first replica never reached step 2');
          await sleep(20);
        }
        // Step 1 landed; what it replaced is still there and recorded in the applying inventory.
        expect(await owned()).toEqual(
          expect.arrayContaining([
            'new-a',
            'new-b',
            'old-a',
            'old-app',
            'old-b',
          ]),
        );
        expect((await two.inventories.get(id, 'faults'))?.state).toBe(
          'applying',
        );

        // The second replica takes over after the lease: v2 complete, v1 pruned, nothing orphaned.
        await runUntil([two], async () => {
          const object = await two.objects.get(id);
          return (
            object?.status.lastAppliedRevision !== undefined &&
            (await two.inventories.get(id, 'faults'))?.state === 'applied' &&
            !!object.status.conditions?.some(
              c =>
                c.type === 'Ready' &&
                c.status === 'True' &&
                c.observedGeneration === object.generation,
            )
          );
        });
        expect(await owned()).toEqual(['new-a', 'new-app', 'new-b']);
        const inventory = await two.inventories.get(id, 'faults');
        expect(inventory?.entries.map(e => e.id).sort()).toEqual([
          'faults_new-a__ConfigMap',
          'faults_new-app__ConfigMap',
          'faults_new-b__ConfigMap',
        ]);
      } finally {
        for (const socket of relayed) socket.destroy();
        await new Promise(resolve => relay.close(resolve));
      }
    });
  });

  describe('with a real Git server', () => {
    const PASSWORD = 'fault-matrix-git';
    const ENTITY = 'component:default/shop';
    let git: TestGitServer;
    beforeAll(async () => {
      // Pushes are held 2 s: long enough to "kill" the pushing replica while its push is in flight.
      git = await startGitServer({
        users: { git: PASSWORD },
        pushDelayMs: 2_000,
      });
      await git.createRepository('fleet', {
        'deploy/web.yaml':
          'kind: Deployment\nspec:\n  image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}\n',
      });
    });
    afterAll(() => git?.stop());

    /** A replica running ImageUpdateAutomations; its database stops answering once `dead()` holds. */
    async function pushingReplica(
      connection: string,
      name: string,
      dead: () => boolean = () => false,
    ) {
      const config = new ConfigReader({
        imageAutomation: {
          credentials: {
            git: {
              type: 'basic',
              username: 'git',
              password: PASSWORD,
              allowedEntities: [ENTITY],
              hosts: [new URL(git.baseUrl).host],
            },
          },
          git: { insecureHosts: [new URL(git.baseUrl).host] },
        },
      });
      const knex = knexFactory({
        client: 'pg',
        connection,
        pool: { min: 0, max: 4 },
      });
      pools.push(knex);
      const stored = await DatabaseObjectStore.create({ knex });
      const objects = hangingWhen(stored, dead);
      const engine = new Engine({
        objects,
        reconcilers: [
          new ImageUpdateAutomationReconciler({
            objects,
            credentials: NamedCredentials.fromConfig(config),
            signingKeys: SigningKeys.fromConfig(config),
            gitAccess: readGitAccessSettings(config),
          }),
        ],
        logger: mockServices.logger.mock(),
        batchSize: 5,
        leaseMs: 3_000,
        instanceId: name,
      });
      return { objects: stored, engine, now: () => new Date() };
    }

    it('a Git server rejecting pushes: Ready=False naming the rejection on both replicas, pushed once it accepts', async () => {
      await git.createRepository('guarded', {
        'deploy/web.yaml':
          'kind: Deployment\nspec:\n  image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}\n',
      });
      // A pre-receive hook refusing every push (a protected branch), removed later.
      const hook = path.join(git.root, 'guarded.git', 'hooks', 'pre-receive');
      await fs.mkdir(path.dirname(hook), { recursive: true });
      await fs.writeFile(
        hook,
        '#!/bin/sh\necho "main is protected: pushes need a review" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      const connection = await freshDatabase();
      const replicas = [
        await pushingReplica(connection, 'one'),
        await pushingReplica(connection, 'two'),
      ];
      const [one] = replicas;
      const id = await declareAutomation(one.objects, 'guarded');
      await runUntil(
        replicas,
        async () =>
          !!(
            await one.objects.get(id)
          )?.status.conditions?.some(
            c => c.type === 'Ready' && c.status === 'False',
          ),
      );
      expect(
        (await one.objects.get(id))?.status.conditions?.find(
          c => c.type === 'Ready',
        ),
      ).toMatchObject({
        reason: 'GitOperationFailed',
        message: expect.stringContaining(
          'main is protected: pushes need a review',
        ),
      });
      expect(
        (await git.git('guarded', ['log', '--format=%s', 'main']))
          .split('\n')
          .filter(Boolean),
      ).toHaveLength(1);

      // The branch accepts pushes again: the next retry (within a minute; asked for here) pushes once.
      await fs.rm(hook);
      await one.objects.requestReconcile(id, 'user:default/ops', new Date());
      await runUntil(
        replicas,
        async () =>
          !!(
            await one.objects.get(id)
          )?.status.conditions?.some(
            c => c.type === 'Ready' && c.status === 'True',
          ),
      );
      expect(
        await git.readFile('guarded', 'main', 'deploy/web.yaml'),
      ).toContain('ghcr.io/acme/web:1.1.0');
      expect(
        (await git.git('guarded', ['log', '--format=%s', 'main']))
          .split('\n')
          .filter(Boolean),
      ).toHaveLength(2);
    });

    /** The automation objects of one repository, the policy having selected 1.1.0; returns the automation's id. */
    async function declareAutomation(
      objects: ObjectStore,
      repo: string,
    ): Promise<string> {
      await objects.syncSource(
        `catalog:${ENTITY}`,
        [
          {
            apiVersion: 'source.toolkit.fluxcd.io/v1',
            kind: 'GitRepository',
            metadata: { name: repo, namespace: 'apps' },
            spec: {
              url: git.url(repo),
              interval: '5m',
              ref: { branch: 'main' },
              secretRef: { name: 'git' },
            },
          },
          {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImagePolicy',
            metadata: { name: 'web', namespace: 'apps' },
            spec: {
              imageRepositoryRef: { name: 'web' },
              policy: { semver: { range: '*' } },
            },
          },
          {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageUpdateAutomation',
            metadata: { name: repo, namespace: 'apps' },
            spec: {
              interval: '10m',
              sourceRef: { kind: 'GitRepository', name: repo },
              git: {
                commit: {
                  author: { name: 'Flux Bot', email: 'bot@example.com' },
                },
              },
              update: { strategy: 'Setters' },
            },
          },
        ].map(manifest => ({
          manifest: manifest as any,
          entityRef: ENTITY,
          grantedNamespaces: ['apps'],
          source: {
            type: 'catalog' as const,
            location: `file:///${repo}.yaml`,
          },
        })),
      );
      // The policy has selected 1.1.0; the source and the policy are not due in these tests.
      const setup = await objects.claimDue({
        owner: 'setup',
        now: new Date(),
        limit: 10,
        leaseMs: 60_000,
      });
      for (const object of setup) {
        const status =
          object.kind === 'ImagePolicy'
            ? { latestRef: { name: 'ghcr.io/acme/web', tag: '1.1.0' } }
            : {};
        const next =
          object.kind === 'ImageUpdateAutomation'
            ? new Date()
            : new Date(Date.now() + 3_600_000);
        await objects.completeRun(object.id, 'setup', {
          status,
          nextRunAt: next,
          ranAt: new Date(),
        });
      }
      return `ImageUpdateAutomation/apps/${repo}`;
    }

    it('a replica killed mid-push: the other finishes the run after the lease, and the update is pushed once', async () => {
      const connection = await freshDatabase();
      let dead = false;
      const one = await pushingReplica(connection, 'one', () => dead);
      const two = await pushingReplica(connection, 'two');
      const automation = { id: await declareAutomation(one.objects, 'fleet') };

      const pushes = () =>
        git.requests.filter(
          r =>
            r.service === 'git-receive-pack' &&
            r.method === 'POST' &&
            r.path.includes('/fleet.git'),
        ).length;
      // The first replica starts the run; it "dies" as soon as its push reaches the server.
      void one.engine.runPass();
      const deadline = Date.now() + 30_000;
      while (pushes() === 0) {
        if (Date.now() > deadline)
          throw new Error('the first replica never pushed');
        await sleep(20);
      }
      dead = true;
      // The second replica takes over once the lease has run out.
      await runUntil([two], async () => {
        const object = await two.objects.get(automation.id);
        return !!object?.status.conditions?.some(
          c => c.type === 'Ready' && c.status === 'True',
        );
      });
      expect(await git.readFile('fleet', 'main', 'deploy/web.yaml')).toContain(
        'ghcr.io/acme/web:1.1.0',
      );
      // One automation commit over the initial one, and one push: the second run found it done.
      expect(
        (await git.git('fleet', ['log', '--format=%s', 'main']))
          .split('\n')
          .filter(Boolean),
      ).toHaveLength(2);
      expect(pushes()).toBe(1);
      expect(
        (await two.objects.get(automation.id))?.status.conditions?.find(
          c => c.type === 'Ready',
        )?.message,
      ).toBe('repository up-to-date');
    });
  });
});
