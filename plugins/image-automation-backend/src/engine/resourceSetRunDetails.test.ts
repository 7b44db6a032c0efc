import { TestDatabases } from '@backstage/backend-test-utils';
import {
  AutomationObject,
  Condition,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { Knex } from 'knex';
import {
  startKubernetes,
  TestKubernetes,
} from '@internal/image-automation-test/testbed/kube/kubernetes';
import { InventoryApplier } from '../kubernetes';
import { PromotionPlanner } from '../promotions/PromotionPlanner';
import { clusterTarget } from '../promotions/clusterTargets';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { StoredObject } from '../store/ObjectStore';
import { storeObjectStatus } from '../store/testObjectStatus';
import {
  ALLOW_EMPTY_INPUTS_ANNOTATION,
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from './ResourceSetReconciler';

// Details of what a ResourceSet run says, which resourceSetRuns.test.ts leaves open: when the Ready
// message is kept, change lines of several objects, and a provider that exported nothing under
// promotions. The reconciler is called directly, with promotions, against a real kube-apiserver
// (test/testbed/kube) and the real stores (SQLite).
jest.setTimeout(180_000);

const NS = 'details';

describe('ResourceSet run details', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let promotions: DatabasePromotionStore;
  let reconciler: ResourceSetReconciler;

  beforeAll(async () => {
    kube = await startKubernetes();
    await kube.kubectl(['create', 'namespace', NS]);
    knex = await databases.init('SQLITE_3');
    objects = await DatabaseObjectStore.create({ knex });
    promotions = await DatabasePromotionStore.create({
      knex,
      skipMigrations: true,
    });
    const inventories = await DatabaseInventoryStore.create({
      knex,
      skipMigrations: true,
    });
    reconciler = new ResourceSetReconciler({
      objects,
      inventories,
      applier: new InventoryApplier(inventories, {
        fieldManager: 'image-automation',
        force: false,
        concurrency: 4,
        clusters: [],
      }),
      cluster: async name => ({
        name,
        url: kube.url,
        source: 'config',
        auth: { type: 'serviceAccount', token: kube.admin.token },
        caData: kube.caData,
        writePolicy: {
          allowedNamespaces: ['*'],
          allowedKinds: ['*'],
          allowedEntities: ['*'],
        },
      }),
      promotions: new PromotionPlanner({ promotions, objects }),
    });
  });

  afterAll(async () => {
    await kube?.stop();
    await knex?.destroy();
  });

  /** Declares a source's objects; returns the last one stored. */
  async function declare(source: string, manifests: AutomationObject[]) {
    await objects.syncSource(
      source,
      manifests.map(manifest => ({
        manifest,
        source: { type: 'config', location: source },
      })),
    );
    const last = manifests[manifests.length - 1];
    return (await objects.get(`${last.kind}/${NS}/${last.metadata.name}`))!;
  }

  const resourceSet = (
    name: string,
    spec: Record<string, unknown>,
  ): AutomationObject =>
    ({
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSet',
      metadata: {
        name,
        namespace: NS,
        annotations: { [CLUSTERS_ANNOTATION]: 'testbed' },
      },
      spec,
    } as AutomationObject);
  const provider = (name: string): AutomationObject =>
    ({
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSetInputProvider',
      metadata: { name, namespace: NS },
      spec: { type: 'Static' },
    } as AutomationObject);
  const cm = (name: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: NS },
  });
  const ready = (status: ObjectStatus) =>
    status.conditions?.find(c => c.type === 'Ready');

  /** Stores a provider's exports as its reconciler does. */
  function exportInputs(name: string, tag?: string) {
    return storeObjectStatus(
      objects,
      `ResourceSetInputProvider/${NS}/${name}`,
      {
        lastExportedRevision: `sha256:${name}-${tag ?? 'nothing'}`,
        exportedInputs: tag ? [{ id: '1', tag }] : [],
      },
    );
  }

  it('is the reconciler the engine hands ResourceSets to', () => {
    // Built here, not in beforeAll, so that a mutation of the class fields is active.
    const built = new ResourceSetReconciler({
      objects,
      inventories: {} as DatabaseInventoryStore,
      applier: {} as InventoryApplier,
      cluster: async () => {
        throw new Error('no clusters');
      },
    });
    expect(built).toMatchObject({
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSet',
    });
  });

  it('keeps the Ready message only for the revision it was given for, after a finished apply', async () => {
    const set = await declare('kept', [
      resourceSet('kept', { resources: [cm('kept')] }),
    ]);
    const first = await reconciler.reconcile(set, new Date());
    const kept = 'Reconciliation finished in 1h0m0s';
    const again = (previousReady: Partial<Condition>, revision?: string) =>
      reconciler.reconcile(
        {
          ...set,
          status: {
            ...first.status,
            ...(revision ? { lastAppliedRevision: revision } : {}),
            conditions: first.status.conditions?.map(c =>
              c.type === 'Ready'
                ? { ...c, message: kept, ...previousReady }
                : c,
            ),
          },
        } as StoredObject,
        new Date(),
      );
    expect(ready((await again({})).status)?.message).toBe(kept);
    for (const result of [
      await again({}, 'sha256:before'),
      await again({ reason: 'Succeeded' }),
    ]) {
      expect(ready(result.status)).toMatchObject({
        status: 'True',
        message: expect.not.stringMatching(kept),
      });
    }
  });

  it('puts each changed object of a step and of a promotion on a line of its own', async () => {
    const set = await declare('lines', [
      provider('lines-p'),
      resourceSet('lines', {
        inputsFrom: [{ name: 'lines-p' }],
        steps: [
          {
            name: 'config',
            resources: [cm('lines-a-<< inputs.tag >>'), cm('lines-b')],
          },
          { name: 'app', resources: [cm('lines-c')] },
        ],
      }),
    ]);
    await exportInputs('lines-p', 'v1');
    const result = await reconciler.reconcile(set, new Date());
    expect(ready(result.status)?.status).toBe('True');
    expect(
      (result.events ?? [])
        .filter(e => e.reason === 'ApplySucceeded')
        .map(e => e.message),
    ).toEqual([
      `step "config": ConfigMap/${NS}/lines-a-v1 created\nConfigMap/${NS}/lines-b created`,
      `ConfigMap/${NS}/lines-c created`,
    ]);
    expect(
      (
        await promotions.lastApplied(
          clusterTarget(set.id, 'testbed').id,
          `ResourceSetInputProvider/${NS}/lines-p`,
        )
      )?.diff,
    ).toBe(
      [
        `ConfigMap/${NS}/lines-a-v1 created`,
        `ConfigMap/${NS}/lines-b created`,
        `ConfigMap/${NS}/lines-c created`,
      ].join('\n'),
    );
  });

  it('holds a Permute set that includes a provider which exported nothing yet', async () => {
    await declare('fresh', [provider('fresh-exported'), provider('fresh-new')]);
    await exportInputs('fresh-exported', 'v1');
    const set = await declare('fresh-set', [
      resourceSet('fresh-set', {
        inputs: [{ env: 'prod' }],
        inputsFrom: [{ name: 'fresh-exported' }, { name: 'fresh-new' }],
        inputStrategy: { name: 'Permute', includeEmptyProviders: true },
        resources: [cm('fresh-<< inputs.fresh_exported.tag >>')],
      }),
    ]);
    const held = await reconciler.reconcile(set, new Date());
    expect(ready(held.status)?.reason).toBe('EmptyInputs');
    const names = () =>
      kube.kubectl(['get', 'configmaps', '-n', NS, '-o', 'name']);
    expect(await names()).not.toContain('fresh-v1');
    // Once it exports, the product has one input set.
    await exportInputs('fresh-new', 'n1');
    const applied = await reconciler.reconcile(
      { ...set, status: held.status },
      new Date(),
    );
    expect(ready(applied.status)?.status).toBe('True');
    expect(await names()).toContain('configmap/fresh-v1');
  });

  it('applies an empty export when allowed, announcing only what it pruned', async () => {
    const set = await declare('emptied', [
      provider('emptied-p'),
      {
        ...resourceSet('emptied', {
          inputsFrom: [{ name: 'emptied-p' }],
          resources: [cm('emptied-<< inputs.tag >>')],
        }),
        metadata: {
          name: 'emptied',
          namespace: NS,
          annotations: {
            [CLUSTERS_ANNOTATION]: 'testbed',
            [ALLOW_EMPTY_INPUTS_ANNOTATION]: 'enabled',
          },
        },
      } as AutomationObject,
    ]);
    await exportInputs('emptied-p', 'v1');
    const first = await reconciler.reconcile(set, new Date());
    expect(ready(first.status)?.status).toBe('True');
    await exportInputs('emptied-p');
    const emptied = await reconciler.reconcile(
      { ...set, status: first.status },
      new Date(),
    );
    expect(ready(emptied.status)?.status).toBe('True');
    expect(
      (emptied.events ?? [])
        .filter(e => e.reason === 'ApplySucceeded')
        .map(e => e.message),
    ).toEqual([`ConfigMap/${NS}/emptied-v1 deleted`]);
  });
});
