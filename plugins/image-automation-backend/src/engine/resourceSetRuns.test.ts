import crypto from 'node:crypto';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  AutomationObject,
  Condition,
  OBJECT_ANNOTATIONS,
  ObjectStatus,
  PROMOTION_ANNOTATIONS,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  startKubernetes,
  TestKubernetes,
} from '@internal/image-automation-test/testbed/kube/kubernetes';
import knexFactory, { Knex } from 'knex';
import { ClusterDetails, InventoryApplier, KubeClient } from '../kubernetes';
import { PromotionPlanner } from '../promotions/PromotionPlanner';
import { clusterTarget } from '../promotions/clusterTargets';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { StoredObject } from '../store/ObjectStore';
import { storeObjectStatus } from '../store/testObjectStatus';
import { ReconcileResult } from './Reconciler';
import {
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from './ResourceSetReconciler';

// What one ResourceSet run says and decides, run by run: the reconciler called directly, each run
// from the status the last one returned (or one the test sets), against a real kube-apiserver with
// the Flux CRDs (test/testbed/kube) and the real object and inventory stores (SQLite). Further
// cluster names reach the same API server under their own write policy. Input providers get their
// exported inputs from the object store, as their reconciler leaves them.
jest.setTimeout(180_000);

const NS = 'runs';

describe('ResourceSet runs', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let inventories: DatabaseInventoryStore;
  let reconciler: ResourceSetReconciler;
  /** What the reconciler was built with, for reconcilers with promotions. */
  let deps: ConstructorParameters<typeof ResourceSetReconciler>[0];
  let client: KubeClient;
  /** Statuses the reconciler published while applying named steps. */
  const progress: ObjectStatus[] = [];
  /** How long publishing progress takes (a slow database), to make a run last over a second. */
  let progressDelayMs = 0;
  /** Write policies of cluster names, all on the test bed's API server. */
  const policies = new Map<string, ClusterDetails['writePolicy']>();
  /** Cluster names that fail as an unreachable cluster does. */
  const unreachable = new Set<string>();
  const everything: ClusterDetails['writePolicy'] = {
    allowedNamespaces: ['*'],
    allowedKinds: ['*'],
    allowedClusterScopedKinds: ['*'],
    allowedEntities: ['*'],
  };

  beforeAll(async () => {
    kube = await startKubernetes();
    for (const namespace of [NS, `${NS}-c`])
      await kube.kubectl(['create', 'namespace', namespace]);
    knex = await databases.init('SQLITE_3');
    objects = await DatabaseObjectStore.create({ knex });
    inventories = await DatabaseInventoryStore.create({
      knex,
      skipMigrations: true,
    });
    deps = {
      objects,
      inventories,
      applier: new InventoryApplier(inventories, {
        fieldManager: 'image-automation',
        force: false,
        concurrency: 4,
        clusters: [],
      }),
      cluster: async name => {
        if (unreachable.has(name))
          throw new Error(`cluster '${name}' is unreachable`);
        const writePolicy =
          name === 'testbed' || name === 'mirror'
            ? everything
            : policies.get(name);
        if (!writePolicy) throw new Error(`unknown cluster '${name}'`);
        return {
          name,
          url: kube.url,
          source: 'config',
          auth: { type: 'serviceAccount', token: kube.admin.token },
          caData: kube.caData,
          writePolicy,
        };
      },
      progress: async (_id, status) => {
        await new Promise(resolve => setTimeout(resolve, progressDelayMs));
        progress.push(status);
      },
    };
    reconciler = new ResourceSetReconciler(deps);
    client = await KubeClient.forCluster({
      name: 'testbed',
      url: kube.url,
      source: 'config',
      auth: { type: 'serviceAccount', token: kube.admin.token },
      caData: kube.caData,
      writePolicy: everything,
    });
  });

  afterAll(async () => {
    client?.close();
    await kube?.stop();
    await knex?.destroy();
  });

  /** Declares the objects of one source (replacing what it declared before); returns them stored. */
  async function declare(source: string, manifests: AutomationObject[]) {
    await objects.syncSource(
      source,
      manifests.map(manifest => ({
        manifest,
        source: { type: 'config', location: source },
      })),
    );
    return Promise.all(
      manifests.map(
        async m =>
          (await objects.get(
            `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`,
          ))!,
      ),
    );
  }

  const setStatus = (id: string, status: ObjectStatus) =>
    storeObjectStatus(objects, id, status);

  /** The next run of an object, from the status the last one returned. */
  const after = (object: StoredObject, result: ReconcileResult) => ({
    ...object,
    status: result.status,
  });

  const condition = (status: ObjectStatus, type: string) =>
    status.conditions?.find(c => c.type === type);
  const applyEvents = (result: ReconcileResult) =>
    (result.events ?? [])
      .filter(e => e.reason === 'ApplySucceeded')
      .map(e => e.message);

  function resourceSet(
    name: string,
    spec: Record<string, unknown>,
    annotations: Record<string, string> = { [CLUSTERS_ANNOTATION]: 'testbed' },
  ): AutomationObject {
    return {
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSet',
      metadata: { name, namespace: NS, annotations },
      spec,
    } as AutomationObject;
  }

  function provider(name: string): AutomationObject {
    return {
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSetInputProvider',
      metadata: { name, namespace: NS, labels: { app: name } },
      spec: { type: 'Static', defaultValues: {} },
    } as AutomationObject;
  }

  const cm = (
    name: string,
    extra: Record<string, unknown> = {},
    namespace = NS,
  ) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    ...extra,
  });

  const configMap = (name: string, namespace = NS) =>
    client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });

  it('publishes each named step keeping the transition times of unchanged conditions, and says whole seconds for a run over a second', async () => {
    const [stepped] = await declare('progress', [
      resourceSet('progress', {
        steps: [
          { name: 'one', resources: [cm('progress-one')] },
          { name: 'two', resources: [cm('progress-two')] },
        ],
      }),
    ]);
    // Stored by a run that was applying when it was stopped: Reconciling first, then Ready.
    const reconcilingSince = '2026-01-01T00:00:00.000Z';
    const unknownSince = '2026-01-02T00:00:00.000Z';
    const previous: Condition[] = [
      {
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message: 'Applying step 2/2 "two"',
        lastTransitionTime: reconcilingSince,
        observedGeneration: stepped.generation,
      },
      {
        type: 'Ready',
        status: 'Unknown',
        reason: 'Progressing',
        message: 'Reconciliation in progress',
        lastTransitionTime: unknownSince,
        observedGeneration: stepped.generation,
      },
    ];
    progress.length = 0;
    progressDelayMs = 600;
    const now = new Date();
    const result = await reconciler.reconcile(
      { ...stepped, status: { conditions: previous } },
      now,
    );
    progressDelayMs = 0;

    expect(progress.map(s => s.conditions)).toEqual([
      [
        {
          type: 'Ready',
          status: 'Unknown',
          reason: 'Progressing',
          message: 'Reconciliation in progress',
          observedGeneration: stepped.generation,
          lastTransitionTime: unknownSince,
        },
        {
          type: 'Reconciling',
          status: 'True',
          reason: 'Progressing',
          message: 'Applying step 1/2 "one"',
          observedGeneration: stepped.generation,
          lastTransitionTime: reconcilingSince,
        },
      ],
      [
        expect.objectContaining({ lastTransitionTime: unknownSince }),
        expect.objectContaining({
          message: 'Applying step 2/2 "two"',
          lastTransitionTime: reconcilingSince,
        }),
      ],
    ]);
    // Two steps of over half a second each: whole seconds.
    expect(condition(result.status, 'Ready')).toMatchObject({
      status: 'True',
      message: expect.stringMatching(/^Reconciliation finished in [1-9]\d*s$/),
    });
  });

  it('keeps the Ready message only while nothing changed, the revision stands and the last run succeeded', async () => {
    const [steady] = await declare('steady', [
      resourceSet('steady', { resources: [cm('steady')] }),
    ]);
    const first = await reconciler.reconcile(steady, new Date());
    expect(condition(first.status, 'Ready')?.status).toBe('True');
    expect(first.dueNow).toBeUndefined();
    const kept = 'Reconciliation finished in 1h0m0s';
    const withReady = (
      ready: Partial<Condition>,
      status: Partial<ObjectStatus> = {},
    ): StoredObject => ({
      ...after(steady, first),
      status: {
        ...first.status,
        ...status,
        conditions: first.status.conditions?.map(c =>
          c.type === 'Ready' ? { ...c, message: kept, ...ready } : c,
        ),
      },
    });
    const message = async (object: StoredObject) => {
      const result = await reconciler.reconcile(object, new Date());
      expect(applyEvents(result)).toEqual([]);
      expect(result.dueNow).toBeUndefined();
      return condition(result.status, 'Ready')?.message;
    };

    expect(await message(withReady({}))).toBe(kept);
    // Another revision applied before (the same objects now, so nothing changes in the cluster).
    expect(
      await message(withReady({}, { lastAppliedRevision: 'sha256:before' })),
    ).toMatch(/^Reconciliation finished in \d/);
    // Ready, but not from a finished apply.
    expect(await message(withReady({ reason: 'Succeeded' }))).toMatch(
      /^Reconciliation finished in \d/,
    );
    expect(await message(withReady({ status: 'False' }))).toMatch(
      /^Reconciliation finished in \d/,
    );
  });

  it('warns with every object pruning left in place, and names them all in Ready', async () => {
    policies.set('shrinking', {
      allowedNamespaces: [NS, `${NS}-c`],
      allowedKinds: ['ConfigMap'],
      allowedEntities: ['*'],
    });
    const shrinking = (...resources: unknown[]) =>
      resourceSet(
        'shrinking',
        { resources },
        { [CLUSTERS_ANNOTATION]: 'shrinking' },
      );
    const [all] = await declare('shrinking', [
      shrinking(
        cm('left-a'),
        cm('left-1', {}, `${NS}-c`),
        cm('left-2', {}, `${NS}-c`),
      ),
    ]);
    const first = await reconciler.reconcile(all, new Date());
    expect(condition(first.status, 'Ready')?.status).toBe('True');

    policies.set('shrinking', {
      allowedNamespaces: [NS],
      allowedKinds: ['ConfigMap'],
      allowedEntities: ['*'],
    });
    const [fewer] = await declare('shrinking', [shrinking(cm('left-a'))]);
    const second = await reconciler.reconcile(after(fewer, first), new Date());
    const left = (name: string) =>
      `ConfigMap/${NS}-c/${name} left in place, not pruned: namespace '${NS}-c' is not in the allowedNamespaces of cluster 'shrinking'`;
    const warnings = (second.events ?? []).filter(
      e => e.reason === 'PruneRefused',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].type).toBe('Warning');
    const lines = warnings[0].message.split('\n');
    expect([...lines].sort()).toEqual([left('left-1'), left('left-2')]);
    expect(condition(second.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PruneRefused',
      message: `applied, but pruning was refused by the cluster's policy: ${lines.join(
        '; ',
      )}`,
    });
    expect(await configMap('left-1', `${NS}-c`)).toBeDefined();
  });

  it('does nothing but say so while reconciliation is disabled', async () => {
    const [disabled] = await declare('disabled', [
      resourceSet(
        'disabled',
        { resources: [cm('never-applied')] },
        {
          [CLUSTERS_ANNOTATION]: 'testbed',
          [OBJECT_ANNOTATIONS.reconcile]: 'Disabled',
        },
      ),
    ]);
    const result = await reconciler.reconcile(disabled, new Date());
    expect(result.events).toEqual([
      {
        type: 'Warning',
        reason: 'ReconciliationDisabled',
        message: 'Reconciliation is disabled',
      },
    ]);
    expect(await configMap('never-applied')).toBeUndefined();
  });

  it('bounds a run by the step timeouts times the clusters, and reads cluster names with spaces', async () => {
    const [spaced] = await declare('spaced', [
      resourceSet(
        'spaced',
        {
          steps: [
            { name: 'first', timeout: '30s', resources: [cm('spaced-1')] },
            { name: 'second', resources: [cm('spaced-2')] },
          ],
        },
        {
          [CLUSTERS_ANNOTATION]: ' testbed , mirror,testbed',
          [OBJECT_ANNOTATIONS.reconcileTimeout]: '1m',
        },
      ),
    ]);
    // (30s + 1m) per cluster, two clusters.
    expect(await reconciler.timeoutMs(spaced)).toBe(180_000);
    const result = await reconciler.reconcile(spaced, new Date());
    expect(condition(result.status, 'Ready')?.status).toBe('True');
    expect(result.status.appliedClusters).toEqual(['testbed', 'mirror']);
  });

  it('announces the named steps that changed something, per cluster, and nothing on a run that changed nothing', async () => {
    const [stepped] = await declare('announced', [
      resourceSet(
        'announced',
        {
          steps: [
            { name: 'one', resources: [cm('announced-1')] },
            { name: 'two', resources: [cm('announced-2')] },
          ],
        },
        { [CLUSTERS_ANNOTATION]: 'testbed,mirror' },
      ),
    ]);
    const first = await reconciler.reconcile(stepped, new Date());
    expect(condition(first.status, 'Ready')?.status).toBe('True');
    // Step names are required (manifest validation). The second cluster, on the same API server,
    // finds everything in place.
    expect(applyEvents(first)).toEqual([
      `step "one": testbed: ConfigMap/${NS}/announced-1 created`,
      `testbed: ConfigMap/${NS}/announced-2 created`,
    ]);
    const second = await reconciler.reconcile(
      after(stepped, first),
      new Date(),
    );
    expect(applyEvents(second)).toEqual([]);

    // A set that renders nothing announces nothing either.
    const [empty] = await declare('announced-empty', [
      resourceSet('announced-empty', { resources: [] }),
    ]);
    const nothing = await reconciler.reconcile(empty, new Date());
    expect(condition(nothing.status, 'Ready')?.status).toBe('True');
    expect(nothing.events ?? []).toEqual([]);
  });

  it('records a failed build with the digest of the spec', async () => {
    const spec = {
      inputs: [{ tenant: 'one' }],
      resources: [cm('digest', { data: { v: '<< inputs.absent >>' } })],
    };
    const [broken] = await declare('digest', [resourceSet('digest', spec)]);
    const result = await reconciler.reconcile(broken, new Date());
    expect(condition(result.status, 'Stalled')?.reason).toBe('BuildFailed');
    expect(result.status.history?.[0]).toMatchObject({
      digest: `sha256:${crypto
        .createHash('sha256')
        .update(JSON.stringify(broken.manifest.spec))
        .digest('hex')}`,
      lastReconciledStatus: 'BuildFailed',
    });
  });

  it('uninstalls from a cluster no longer targeted: deleted, left in place, or failing by name', async () => {
    for (const name of ['far-deleted', 'far-refused', 'far-failing'])
      policies.set(name, everything);
    const retiring = (name: string, clusters: string) =>
      resourceSet(
        name,
        { resources: [cm(name)] },
        { [CLUSTERS_ANNOTATION]: clusters },
      );
    const run = async (name: string, far: string) => {
      const [both] = await declare(name, [retiring(name, `testbed,${far}`)]);
      const first = await reconciler.reconcile(both, new Date());
      expect(condition(first.status, 'Ready')?.status).toBe('True');
      return async () => {
        const [one] = await declare(name, [retiring(name, 'testbed')]);
        return reconciler.reconcile(after(one, first), new Date());
      };
    };

    // Deleted there (the same API server: the object is gone for testbed too, until it re-applies).
    const deleted = await (await run('retire-deleted', 'far-deleted'))();
    expect(applyEvents(deleted)).toEqual([
      `far-deleted: ConfigMap/${NS}/retire-deleted deleted`,
    ]);
    expect(deleted.status.appliedClusters).toEqual(['testbed']);

    // The retired cluster's policy no longer covers the object: left in place, said per cluster.
    const refused = await run('retire-refused', 'far-refused');
    policies.set('far-refused', {
      ...everything,
      allowedNamespaces: ['other'],
    });
    const kept = await refused();
    expect(
      (kept.events ?? []).find(e => e.reason === 'PruneRefused')?.message,
    ).toBe(
      `far-refused: ConfigMap/${NS}/retire-refused left in place, not pruned: namespace '${NS}' is not in the allowedNamespaces of cluster 'far-refused'`,
    );
    expect(await configMap('retire-refused')).toBeDefined();

    // The retired cluster cannot be reached: the run fails naming it, and tries again later.
    const failing = await run('retire-failing', 'far-failing');
    unreachable.add('far-failing');
    const failed = await failing();
    unreachable.delete('far-failing');
    expect(condition(failed.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message:
        "cluster 'far-failing' is no longer a target, uninstalling failed: cluster 'far-failing' is unreachable",
    });
    expect(
      await inventories.list({ owner: `ResourceSet/${NS}/retire-failing` }),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ cluster: 'far-failing' }),
      ]),
    );
  });

  it('uninstalls a deleted ResourceSet once the grace period since it was first missed ran out, and reports a cluster that fails', async () => {
    policies.set('far-gone', everything);
    await declare('graced', [
      resourceSet('graced', { resources: [cm('graced')] }),
      resourceSet(
        'gone-far',
        { resources: [cm('gone-far')] },
        { [CLUSTERS_ANNOTATION]: 'far-gone' },
      ),
    ]);
    for (const name of ['graced', 'gone-far']) {
      const stored = (await objects.get(`ResourceSet/${NS}/${name}`))!;
      const result = await reconciler.reconcile(stored, new Date());
      expect(condition(result.status, 'Ready')?.status).toBe('True');
    }
    await declare('graced', []);
    const of = async (owner: string, now: Date, graceMs: number) =>
      (await reconciler.uninstallDeleted({ now, graceMs })).filter(
        r => r.owner === `ResourceSet/${NS}/${owner}`,
      );

    unreachable.add('far-gone');
    const missed = new Date();
    const at = (ms: number) => new Date(missed.getTime() + ms);
    expect(await of('graced', missed, 60_000)).toEqual([
      {
        owner: `ResourceSet/${NS}/graced`,
        changes: [],
        waitingUntil: at(60_000),
      },
    ]);
    // Still missing: the grace period runs from the first sync that missed it.
    expect((await of('graced', at(30_000), 60_000))[0].waitingUntil).toEqual(
      at(60_000),
    );
    expect(await configMap('graced')).toBeDefined();
    expect(await of('graced', at(61_000), 60_000)).toEqual([
      {
        owner: `ResourceSet/${NS}/graced`,
        changes: [`ConfigMap/${NS}/graced deleted`],
      },
    ]);
    expect(await configMap('graced')).toBeUndefined();

    // The cluster of a deleted set cannot be reached: said, nothing dropped, tried again next time.
    expect(await of('gone-far', at(61_000), 0)).toEqual([
      {
        owner: `ResourceSet/${NS}/gone-far`,
        changes: [],
        error: "cluster 'far-gone' is unreachable",
      },
    ]);
    unreachable.delete('far-gone');
    expect(await of('gone-far', at(62_000), 0)).toEqual([
      {
        owner: `ResourceSet/${NS}/gone-far`,
        changes: [`ConfigMap/${NS}/gone-far deleted`],
      },
    ]);
  });

  it('selects providers by name, and holds a provider that exported nothing yet', async () => {
    const [named] = await declare('named', [
      provider('named-provider'),
      resourceSet('named', {
        inputsFrom: [{ name: 'named-provider' }],
        resources: [cm('named-<< inputs.tag >>')],
      }),
      resourceSet('not-a-provider', {
        inputsFrom: [{ name: 'named' }],
        resources: [cm('never')],
      }),
      resourceSet('unexported', {
        inputsFrom: [{ selector: { matchLabels: { app: 'named-provider' } } }],
        resources: [cm('unexported')],
      }),
    ]);
    // Not exported yet: nothing to apply, and nothing applied.
    const unexported = (await objects.get(`ResourceSet/${NS}/unexported`))!;
    const held = await reconciler.reconcile(unexported, new Date());
    expect(condition(held.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'EmptyInputs',
    });
    expect(held.status.inventory).toBeUndefined();

    await setStatus(named.id, {
      lastExportedRevision: 'sha256:1',
      exportedInputs: [{ id: '1', tag: 'v1' }],
    });
    const byName = (await objects.get(`ResourceSet/${NS}/named`))!;
    const applied = await reconciler.reconcile(byName, new Date());
    expect(condition(applied.status, 'Ready')?.status).toBe('True');
    expect(await configMap('named-v1')).toBeDefined();

    // A ResourceSet of that name is not a provider.
    const wrongKind = (await objects.get(`ResourceSet/${NS}/not-a-provider`))!;
    const refused = await reconciler.reconcile(wrongKind, new Date());
    expect(condition(refused.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'BuildFailed',
      message: `failed to compute inputs: failed to get provider ${NS}/named: ResourceSetInputProvider.fluxcd.controlplane.io "named" not found`,
    });
  });

  it('previews one provider at a version and the others as exported, refusing what a run would refuse', async () => {
    const [first, second] = await declare('preview', [
      provider('preview-first'),
      provider('preview-second'),
      resourceSet('preview', {
        inputsFrom: [{ name: 'preview-first' }, { name: 'preview-second' }],
        resources: [cm('preview-<< inputs.tag >>')],
      }),
      resourceSet('preview-missing', {
        inputsFrom: [{ name: 'preview-ghost' }],
        resources: [cm('preview-missing')],
      }),
      resourceSet('preview-broken', {
        inputs: [{ tenant: 'one' }],
        resources: [
          cm('preview-broken', { data: { v: '<< inputs.absent >>' } }),
        ],
      }),
      resourceSet(
        'preview-closed',
        { resources: [cm('preview-closed')] },
        { [CLUSTERS_ANNOTATION]: 'closed' },
      ),
    ]);
    await setStatus(first.id, {
      lastExportedRevision: 'sha256:a1',
      exportedInputs: [{ id: '1', tag: 'a1' }],
    });
    await setStatus(second.id, {
      lastExportedRevision: 'sha256:b1',
      exportedInputs: [{ id: '1', tag: 'b1' }],
    });
    const stored = async (name: string) =>
      (await objects.get(`ResourceSet/${NS}/${name}`))!;
    const preview = await stored('preview');
    const a2 = {
      tag: 'a2',
      revision: 'sha256:a2',
      inputs: [{ id: '1', tag: 'a2' }],
    };
    const changes = await reconciler.preview(preview, 'testbed', first.id, a2);
    expect(changes.map(c => `${c.subject} ${c.action}`).sort()).toEqual([
      `ConfigMap/${NS}/preview-a2 created`,
      `ConfigMap/${NS}/preview-b1 created`,
    ]);
    expect(await configMap('preview-a2')).toBeUndefined();

    const version = { tag: 'x', revision: 'sha256:x', inputs: [] };
    await expect(
      reconciler.preview(
        await stored('preview-missing'),
        'testbed',
        'p',
        version,
      ),
    ).rejects.toThrow(
      `failed to compute inputs: failed to get provider ${NS}/preview-ghost: ResourceSetInputProvider.fluxcd.controlplane.io "preview-ghost" not found`,
    );
    await expect(
      reconciler.preview(
        await stored('preview-broken'),
        'testbed',
        'p',
        version,
      ),
    ).rejects.toThrow(/^build failed: .*map has no entry for key "absent"$/);
    policies.set('closed', { ...everything, allowedEntities: [] });
    const closed = await stored('preview-closed');
    const run = await reconciler.reconcile(closed, new Date());
    const refusal = condition(run.status, 'Ready')!.message;
    expect(condition(run.status, 'Stalled')?.reason).toBe('ClusterNotAllowed');
    await expect(
      reconciler.preview(closed, 'closed', 'p', version),
    ).rejects.toThrow(refusal);

    // From the catalog, in a namespace not granted to its entity: not previewed at all.
    const catalog = (entityRef?: string): StoredObject => ({
      ...preview,
      source: { type: 'catalog', location: 'url:https://example.test/a' },
      grantedNamespaces: ['elsewhere'],
      entityRef,
    });
    await expect(
      reconciler.preview(
        catalog('component:default/shop'),
        'testbed',
        first.id,
        version,
      ),
    ).rejects.toThrow(
      `namespace '${NS}' is not granted to component:default/shop`,
    );
    await expect(
      reconciler.preview(catalog(), 'testbed', first.id, version),
    ).rejects.toThrow(`namespace '${NS}' is not granted to this object`);
    await expect(
      reconciler.preview(
        { ...catalog('component:default/shop'), grantedNamespaces: [NS] },
        'testbed',
        first.id,
        a2,
      ),
    ).resolves.toHaveLength(2);
  });

  it('previews a changed immutable object as re-created only when the ResourceSet asks for force', async () => {
    const frozen = (value: string, annotations: Record<string, string> = {}) =>
      resourceSet(
        'frozen',
        { resources: [cm('frozen', { immutable: true, data: { value } })] },
        { [CLUSTERS_ANNOTATION]: 'testbed', ...annotations },
      );
    const [v1] = await declare('frozen', [frozen('v1')]);
    const applied = await reconciler.reconcile(v1, new Date());
    expect(condition(applied.status, 'Ready')?.status).toBe('True');
    const version = { tag: 'x', revision: 'sha256:x', inputs: [] };

    const [v2] = await declare('frozen', [frozen('v2')]);
    await expect(
      reconciler.preview(v2, 'testbed', 'p', version),
    ).rejects.toThrow(/immutable/);
    const [forced] = await declare('frozen', [
      frozen('v2', { [OBJECT_ANNOTATIONS.force]: 'enabled' }),
    ]);
    const changes = await reconciler.preview(forced, 'testbed', 'p', version);
    expect(changes.map(c => c.subject)).toEqual([`ConfigMap/${NS}/frozen`]);
    expect(changes[0].action).not.toBe('unchanged');
    // A dry run: the cluster still has the first value.
    expect((await configMap('frozen'))?.data).toEqual({ value: 'v1' });
  });

  describe('dependencies in the target clusters', () => {
    const dependent = (name: string, dependsOn: unknown[], spec = {}) =>
      resourceSet(name, {
        dependsOn,
        resources: [cm(`${name}-applied`)],
        ...spec,
      });
    const waiting = async (manifest: AutomationObject) => {
      const [object] = await declare(manifest.metadata.name, [manifest]);
      const result = await reconciler.reconcile(object, new Date());
      const ready = condition(result.status, 'Ready');
      expect(ready).toMatchObject({
        status: 'False',
        reason: 'DependencyNotReady',
      });
      expect(
        await configMap(`${manifest.metadata.name}-applied`),
      ).toBeUndefined();
      return ready!.message;
    };

    it('names what is missing the way the API server does, with the group of the kind', async () => {
      expect(
        await waiting(
          dependent('needs-deployment', [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: 'absent' },
          ]),
        ),
      ).toMatch(/ not found: deployments\.apps "absent" not found$/);
      expect(
        await waiting(
          dependent('needs-configmap', [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'absent' },
          ]),
        ),
      ).toMatch(/ not found: configmaps "absent" not found$/);
    });

    it('waits for a cluster object to be Current when ready is set without readyExpr', async () => {
      await kube.kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'rolling', namespace: NS },
          spec: {
            selector: { matchLabels: { app: 'rolling' } },
            template: {
              metadata: { labels: { app: 'rolling' } },
              spec: {
                containers: [{ name: 'app', image: 'example.test/app:1' }],
              },
            },
          },
        }),
      );
      // No controller runs in the test bed: the Deployment never rolls out.
      expect(
        await waiting(
          dependent('needs-rollout', [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'rolling',
              ready: true,
            },
          ]),
        ),
      ).toMatch(
        /^Retrying dependency check: dependency .*rolling not ready: \S.*/,
      );
      // Present is enough without `ready`.
      const [present] = await declare('present', [
        dependent('present', [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rolling' },
        ]),
      ]);
      const result = await reconciler.reconcile(present, new Date());
      expect(condition(result.status, 'Ready')?.status).toBe('True');
    });

    it("reads dependencies as the ResourceSet's service account", async () => {
      await kube.kubectl(['create', 'configmap', 'readable', '-n', NS]);
      const message = await waiting(
        dependent(
          'as-nobody',
          [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'readable' }],
          { serviceAccountName: 'nobody' },
        ),
      );
      expect(message).toContain(`system:serviceaccount:${NS}:nobody`);
      expect(message).toMatch(/forbidden/);
    });
  });
  describe('with promotions', () => {
    let promotions: DatabasePromotionStore;
    let promoting: ResourceSetReconciler;
    const interval = 60 * 60_000;

    beforeAll(async () => {
      promotions = await DatabasePromotionStore.create({
        knex,
        skipMigrations: true,
      });
      promoting = new ResourceSetReconciler({
        ...deps,
        promotions: new PromotionPlanner({ promotions, objects }),
      });
    });

    /** Providers exporting one input each, named `<name>-<tag>`, and a ResourceSet using them by name. */
    async function declareSet(
      name: string,
      providers: string[],
      annotations: Record<string, string> = {},
      resources: unknown[] = [cm(`${name}-<< inputs.tag >>`)],
    ) {
      const stored = await declare(name, [
        ...providers.map(p => provider(p)),
        resourceSet(
          name,
          { inputsFrom: providers.map(p => ({ name: p })), resources },
          { [CLUSTERS_ANNOTATION]: 'testbed', ...annotations },
        ),
      ]);
      return stored[stored.length - 1];
    }
    const exportVersion = (
      providerName: string,
      tag: string,
      extra: Record<string, string> = {},
    ) =>
      setStatus(`ResourceSetInputProvider/${NS}/${providerName}`, {
        lastExportedRevision: `sha256:${providerName}-${tag}`,
        exportedInputs: tag ? [{ id: '1', tag, ...extra }] : [],
      });
    const promotionOf = (set: StoredObject, cluster: string, p: string) =>
      promotions.latest(
        clusterTarget(set.id, cluster).id,
        `ResourceSetInputProvider/${NS}/${p}`,
      );
    const later = (at: Date, ms: number) => new Date(at.getTime() + ms);

    it('requeues held promotions for when the earliest of their gates passes', async () => {
      const set = await declareSet('soaked', ['soaked-p', 'soaked-q'], {
        [PROMOTION_ANNOTATIONS.soak]: '1m',
      });
      await exportVersion('soaked-p', 'p1');
      await exportVersion('soaked-q', 'q1');
      const t0 = new Date();
      const first = await promoting.reconcile(set, t0);
      expect(condition(first.status, 'Ready')?.status).toBe('True');
      expect(first.requeueAfterMs).toBe(interval);

      // Both held by the soak, which ends a minute from now: due again a second after.
      await exportVersion('soaked-p', 'p2');
      await exportVersion('soaked-q', 'q2');
      const t1 = later(t0, 5_000);
      const held = await promoting.reconcile(after(set, first), t1);
      expect((await promotionOf(set, 'testbed', 'soaked-p'))?.eta).toBe(
        later(t1, 60_000).toISOString(),
      );
      expect(held.requeueAfterMs).toBe(61_000);
      expect(await configMap('soaked-p2')).toBeUndefined();

      // A newer export of one provider starts its soak again; the other's ends first.
      await exportVersion('soaked-q', 'q3');
      const t2 = later(t1, 10_000);
      const again = await promoting.reconcile(after(set, held), t2);
      expect((await promotionOf(set, 'testbed', 'soaked-q'))?.eta).toBe(
        later(t2, 60_000).toISOString(),
      );
      expect(again.requeueAfterMs).toBe(51_000);
    });

    it('builds once per set of versions: a cluster held at one version and one new at the next get their own', async () => {
      const resources = [cm('split', { data: { tag: '<< inputs.tag >>' } })];
      const gate = { [PROMOTION_ANNOTATIONS.soak]: '1h' };
      const set = await declareSet('split', ['split-p'], gate, resources);
      await exportVersion('split-p', 'v1');
      const first = await promoting.reconcile(set, new Date());
      expect(condition(first.status, 'Ready')?.status).toBe('True');

      // testbed holds v1 behind the soak; mirror (the same API server) has nothing to hold.
      const [, both] = await declare('split', [
        provider('split-p'),
        resourceSet(
          'split',
          { inputsFrom: [{ name: 'split-p' }], resources },
          { [CLUSTERS_ANNOTATION]: 'testbed,mirror', ...gate },
        ),
      ]);
      await exportVersion('split-p', 'v2');
      const second = await promoting.reconcile(after(both, first), new Date());
      expect(condition(second.status, 'Ready')?.status).toBe('True');
      expect((await promotionOf(set, 'testbed', 'split-p'))?.state).toBe(
        'pending',
      );
      expect(await promotionOf(set, 'mirror', 'split-p')).toMatchObject({
        state: 'applied',
        to: expect.objectContaining({ tag: 'v2' }),
        diff: `ConfigMap/${NS}/split configured`,
      });
      // Applied last, by mirror, at its own version.
      expect((await configMap('split'))?.data).toEqual({ tag: 'v2' });
    });

    it('fails the promotion with the reason nothing was applied: a failed build, no inputs', async () => {
      const resources = [
        cm('failing-<< inputs.tag >>', {
          data: { extra: '<< inputs.extra >>' },
        }),
      ];
      const set = await declareSet('failing', ['failing-p'], {}, resources);
      await exportVersion('failing-p', 'v1', { extra: 'x' });
      const first = await promoting.reconcile(set, new Date());
      expect(condition(first.status, 'Ready')?.status).toBe('True');

      await exportVersion('failing-p', 'v2');
      const broken = await promoting.reconcile(after(set, first), new Date());
      expect(condition(broken.status, 'Stalled')?.reason).toBe('BuildFailed');
      expect(await promotionOf(set, 'testbed', 'failing-p')).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(
          /^build failed: .*map has no entry for key "extra"$/,
        ),
      });

      await exportVersion('failing-p', '');
      const empty = await promoting.reconcile(after(set, broken), new Date());
      expect(condition(empty.status, 'Ready')?.reason).toBe('EmptyInputs');
      expect(await promotionOf(set, 'testbed', 'failing-p')).toMatchObject({
        state: 'failed',
        error: 'the input providers exported no inputs',
      });
      expect(await configMap('failing-v1')).toBeDefined();
    });

    it('applies what is exported while another instance applies the first promotion', async () => {
      const set = await declareSet('busy', ['busy-p']);
      await exportVersion('busy-p', 'v1');
      const now = new Date();
      const open = await promotions.create({
        target: clusterTarget(set.id, 'testbed'),
        subject: `ResourceSetInputProvider/${NS}/busy-p`,
        to: { tag: 'v1', revision: 'sha256:busy-p-v1', inputs: [] },
        by: 'another instance',
        now,
      });
      expect(
        await promotions.update(
          open.id,
          open.revision,
          { state: 'applying' },
          now,
        ),
      ).toBeDefined();
      const result = await promoting.reconcile(set, now);
      expect(condition(result.status, 'Ready')?.status).toBe('True');
      expect(await configMap('busy-v1')).toBeDefined();
    });

    it('previews the other providers at what the cluster carries', async () => {
      const set = await declareSet('carry', ['carry-p', 'carry-q'], {
        [PROMOTION_ANNOTATIONS.soak]: '1h',
      });
      await exportVersion('carry-p', 'p1');
      await exportVersion('carry-q', 'q1');
      const first = await promoting.reconcile(set, new Date());
      expect(condition(first.status, 'Ready')?.status).toBe('True');
      await exportVersion('carry-q', 'q2');
      const changes = await promoting.preview(
        set,
        'testbed',
        `ResourceSetInputProvider/${NS}/carry-p`,
        { tag: 'p2', revision: 'sha256:p2', inputs: [{ id: '1', tag: 'p2' }] },
      );
      expect(changes.map(c => `${c.subject} ${c.action}`).sort()).toEqual([
        `ConfigMap/${NS}/carry-p1 deleted`,
        `ConfigMap/${NS}/carry-p2 created`,
        `ConfigMap/${NS}/carry-q1 unchanged`,
      ]);
    });

    it('fails the run naming the planning error when the promotion database is gone', async () => {
      const gone = knexFactory({
        client: 'better-sqlite3',
        connection: { filename: ':memory:' },
        useNullAsDefault: true,
      });
      const unplanned = new ResourceSetReconciler({
        ...deps,
        promotions: new PromotionPlanner({
          promotions: await DatabasePromotionStore.create({ knex: gone }),
          objects,
        }),
      });
      await gone.destroy();
      const set = await declareSet('unplanned', ['unplanned-p']);
      await exportVersion('unplanned-p', 'v1');
      const result = await unplanned.reconcile(set, new Date());
      expect(condition(result.status, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: expect.stringMatching(/^failed to plan promotions: \S/),
      });
      expect(result.status.history?.[0]?.lastReconciledStatus).toBe(
        'ReconciliationFailed',
      );
      expect(await configMap('unplanned-v1')).toBeUndefined();
    });
  });
});
