import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import {
  AutomationObject,
  Condition,
} from '@imageops/backstage-plugin-image-automation-common';
import { Knex } from 'knex';
import {
  readAuditLog,
  startKubernetes,
  TestKubernetes,
} from '@internal/image-automation-test/testbed/kube/kubernetes';
import { ClusterDetails, InventoryApplier } from '../kubernetes';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { Engine } from './Engine';
import {
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from './ResourceSetReconciler';

// Issue #16: an unchanged ResourceSet cycle, through the real engine, reconciler, applier and
// stores against a real kube-apiserver, is neither dry-run nor written (the API server's audit log
// records every write request, dry runs included); drift and a changed render still get applied.
jest.setTimeout(180_000);

const NS = 'rset-quiet';

describe('ResourceSet cycles that change nothing', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let events: DatabaseEventStore;
  let engine: Engine;

  beforeAll(async () => {
    kube = await startKubernetes();
    await kube.kubectl(['create', 'namespace', NS]);
    knex = await databases.init('SQLITE_3');
    objects = await DatabaseObjectStore.create({ knex });
    events = await DatabaseEventStore.create({ knex, skipMigrations: true });
    const inventories = await DatabaseInventoryStore.create({
      knex,
      skipMigrations: true,
    });
    const cluster: ClusterDetails = {
      name: 'testbed',
      url: kube.url,
      source: 'config',
      auth: { type: 'serviceAccount', token: kube.admin.token },
      caData: kube.caData,
      writePolicy: {
        allowedNamespaces: ['*'],
        allowedKinds: ['*'],
        allowedClusterScopedKinds: ['*'],
        allowedEntities: ['*'],
      },
    };
    engine = new Engine({
      objects,
      events,
      logger: mockServices.logger.mock(),
      batchSize: 50,
      leaseMs: 60_000,
      reconcilers: [
        new ResourceSetReconciler({
          objects,
          inventories,
          // Force: drift written by another field manager is taken back (else: a conflict).
          applier: new InventoryApplier(inventories, {
            fieldManager: 'image-automation',
            force: true,
            concurrency: 4,
            clusters: [],
          }),
          cluster: async () => cluster,
        }),
      ],
    });
  });

  afterAll(async () => {
    await kube?.stop();
    await knex?.destroy();
  });

  const resourceSet = (tenants: string[]): AutomationObject =>
    ({
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSet',
      metadata: {
        name: 'quiet',
        namespace: NS,
        annotations: { [CLUSTERS_ANNOTATION]: 'testbed' },
      },
      spec: {
        inputs: tenants.map(tenant => ({ tenant })),
        resources: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'cm-<< inputs.tenant >>', namespace: NS },
            data: { tenant: '<< inputs.tenant >>' },
          },
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'token-<< inputs.tenant >>', namespace: NS },
            stringData: { token: 'for-<< inputs.tenant >>' },
          },
        ],
      },
    } as AutomationObject);

  const ID = `ResourceSet/${NS}/quiet`;
  const declare = (tenants: string[]) =>
    objects.syncSource('quiet', [
      {
        manifest: resourceSet(tenants),
        source: { type: 'config', location: 'quiet' },
      },
    ]);
  async function cycle() {
    await objects.markDue([ID], new Date());
    while ((await engine.runPass()) > 0) {
      // one pass takes it
    }
    return (await objects.get(ID))!;
  }
  const ready = (status: { conditions?: Condition[] }) =>
    status.conditions?.find(c => c.type === 'Ready');
  /** Write requests (dry runs apart) and dry runs on the test namespace since audit event `since`. */
  async function requests(since: number) {
    const ours = (await readAuditLog(kube))
      .slice(since)
      .filter(e => e.objectRef?.namespace === NS);
    return {
      dryRuns: ours.filter(e => e.requestURI.includes('dryRun=All')).length,
      writes: ours
        .filter(e => !e.requestURI.includes('dryRun=All'))
        .map(e => `${e.verb} ${e.objectRef?.name}`),
    };
  }
  const mark = async () => (await readAuditLog(kube)).length;
  const changeEvents = async () =>
    (await events.list(ID)).items
      .filter(e => e.reason === 'ApplySucceeded')
      .map(e => e.message);

  it('skips dry runs and writes while nothing changed, and still corrects drift and applies changes', async () => {
    await declare(['a', 'b', 'c']);
    const first = await cycle();
    expect(ready(first.status)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
    });
    expect(first.status.inventory?.entries).toHaveLength(6);

    // Unchanged, twice: no dry run, no write, the Ready message and the events stay as they were.
    for (let i = 0; i < 2; i++) {
      const since = await mark();
      const before = await changeEvents();
      const again = await cycle();
      expect(await requests(since)).toEqual({ dryRuns: 0, writes: [] });
      expect(ready(again.status)).toMatchObject({
        status: 'True',
        message: ready(first.status)?.message,
      });
      expect(again.status.lastAppliedRevision).toBe(
        first.status.lastAppliedRevision,
      );
      expect(again.status.inventory).toEqual(first.status.inventory);
      expect(await changeEvents()).toEqual(before);
    }

    // Someone edits an object: its resourceVersion moved, the next cycle takes it back.
    await kube.kubectl([
      'patch',
      'configmap',
      '-n',
      NS,
      'cm-b',
      '--type=merge',
      '-p',
      '{"data":{"tenant":"hijacked"}}',
    ]);
    let since = await mark();
    const corrected = await cycle();
    expect(ready(corrected.status)?.status).toBe('True');
    const drift = await requests(since);
    expect(drift.dryRuns).toBeGreaterThanOrEqual(6);
    expect(drift.writes).toEqual(['patch cm-b']);
    expect(
      await kube.kubectl([
        'get',
        'configmap',
        '-n',
        NS,
        'cm-b',
        '-o',
        'jsonpath={.data.tenant}',
      ]),
    ).toBe('b');
    expect(await changeEvents()).toContain(`ConfigMap/${NS}/cm-b configured`);

    // And it is quiet again.
    since = await mark();
    await cycle();
    expect(await requests(since)).toEqual({ dryRuns: 0, writes: [] });

    // A changed render is applied (and what left it pruned).
    await declare(['a', 'b', 'd']);
    since = await mark();
    const changed = await cycle();
    expect(ready(changed.status)?.status).toBe('True');
    expect(changed.status.lastAppliedRevision).not.toBe(
      first.status.lastAppliedRevision,
    );
    expect((await requests(since)).writes.sort()).toEqual([
      'delete cm-c',
      'delete token-c',
      'patch cm-d',
      'patch token-d',
    ]);
    expect(await changeEvents()).toContainEqual(
      expect.stringContaining(`ConfigMap/${NS}/cm-d created`),
    );
    since = await mark();
    await cycle();
    expect(await requests(since)).toEqual({ dryRuns: 0, writes: [] });
  });
});
