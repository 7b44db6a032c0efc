import knexFactory, { Knex } from 'knex';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { Engine } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Engine';
import { ImageRepositoryReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageRepositoryReconciler';
import { Reconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import { RegistryClient } from '@imageops/backstage-plugin-image-automation-backend/src/registry';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import { pushImage, startPostgres, startRegistry, TestPostgres, TestRegistry } from '../../testbed';

jest.setTimeout(120_000);

const OBJECTS = 30;

describe('two backend instances sharing one PostgreSQL', () => {
  let postgres: TestPostgres;
  let registry: TestRegistry;
  const clients: Knex[] = [];

  beforeAll(async () => {
    [postgres, registry] = await Promise.all([startPostgres(), startRegistry()]);
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
      const knex = knexFactory({ client: 'pg', connection: postgres.connectionString, pool: { min: 0, max: 4 } });
      clients.push(knex);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
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
      for (let n = await engine.runPass(); n > 0; n = await engine.runPass()) total += n;
      return total;
    };

    const [byOne, byTwo] = await Promise.all([drain(one.engine), drain(two.engine)]);
    // What the lease guarantees: every object runs, exactly once, never on both at a time. How the
    // work splits between the two is the scheduler's business (one may win every race).
    expect(byOne + byTwo).toBe(OBJECTS);
    expect(runs.size).toBe(OBJECTS);
    expect(overlaps).toEqual([]);
    expect([...runs.values()].every(n => n === 1)).toBe(true);

    // A reconcile request for every object, then both instances again: once more each.
    const ids = (await one.objects.list({ kind: 'ImageRepository' })).map(o => o.id);
    await Promise.all(ids.map(id => two.objects.requestReconcile(id, 'user:default/jane', new Date())));
    const [again1, again2] = await Promise.all([drain(one.engine), drain(two.engine)]);
    expect(again1 + again2).toBe(OBJECTS);
    expect(overlaps).toEqual([]);
    expect([...runs.values()].every(n => n === 2)).toBe(true);
    for (const id of ids) {
      const scans = await one.scans.listScans(id);
      expect(scans.items.map(s => s.outcome)).toEqual(['success', 'success']);
    }
  });
});
