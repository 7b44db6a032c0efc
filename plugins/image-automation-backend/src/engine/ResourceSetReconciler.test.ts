import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  Condition,
} from '@imageops/backstage-plugin-image-automation-common';
import { Knex } from 'knex';
import {
  startKubernetes,
  TestKubernetes,
} from '@internal/image-automation-test/testbed/kube/kubernetes';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { ClusterDetails, InventoryApplier, KubeClient } from '../kubernetes';
import { RegistryClient } from '../registry';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { Engine } from './Engine';
import { ResourceSetInputProviderReconciler } from './ResourceSetInputProviderReconciler';
import {
  ALLOW_EMPTY_INPUTS_ANNOTATION,
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from './ResourceSetReconciler';

// The reconciler against a real kube-apiserver with the Flux CRDs (test/testbed/kube), through the
// real engine, object store, inventory store and event store (SQLite).
jest.setTimeout(180_000);

const OWNER = 'resourceset.fluxcd.controlplane.io';

describe('ResourceSetReconciler', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let events: DatabaseEventStore;
  let inventories: DatabaseInventoryStore;
  let reconciler: ResourceSetReconciler;
  let engine: Engine;
  let client: KubeClient;
  const entityAnnotations = new Map<string, Record<string, string>>();
  /** What the reconciler published while applying: `<id> <Reconciling message>`. */
  const progress: string[] = [];

  const cluster = (
    overrides: Partial<ClusterDetails> = {},
  ): ClusterDetails => ({
    name: 'testbed',
    url: kube.url,
    source: 'config',
    auth: { type: 'serviceAccount', token: kube.admin.token },
    caData: kube.caData,
    // The test bed's cluster opts in to everything, explicitly (empty lists allow nothing).
    writePolicy: {
      allowedNamespaces: ['*'],
      allowedKinds: ['*'],
      allowedClusterScopedKinds: ['*'],
      allowedEntities: ['*'],
    },
    ...overrides,
  });
  /** Policies of further clusters of the test bed's API server, by name (tests set them). */
  const policies = new Map<string, ClusterDetails['writePolicy']>();
  const entityOwners = new Map<string, string>();

  beforeAll(async () => {
    kube = await startKubernetes();
    await kube.kubectl(['create', 'namespace', 'rset-a']);
    await kube.kubectl(['create', 'namespace', 'rset-b']);
    knex = await databases.init('SQLITE_3');
    objects = await DatabaseObjectStore.create({ knex });
    events = await DatabaseEventStore.create({ knex, skipMigrations: true });
    inventories = await DatabaseInventoryStore.create({
      knex,
      skipMigrations: true,
    });
    const settings = {
      fieldManager: 'image-automation',
      force: false,
      concurrency: 4,
      clusters: [],
    };
    reconciler = new ResourceSetReconciler({
      objects,
      inventories,
      applier: new InventoryApplier(inventories, settings),
      cluster: async name => {
        if (name === 'testbed') return cluster();
        // Only namespace rset-a may be written to.
        if (name === 'restricted')
          return cluster({
            name,
            writePolicy: {
              allowedNamespaces: ['rset-a'],
              allowedKinds: ['*'],
              allowedEntities: ['*'],
            },
          });
        const policy = policies.get(name);
        if (policy) return cluster({ name, writePolicy: policy });
        throw new Error(`unknown cluster '${name}'`);
      },
      entityAnnotations: async ref => entityAnnotations.get(ref),
      entityOwner: async ref => entityOwners.get(ref),
      progress: async (id, status) => {
        progress.push(
          `${id} ${
            status.conditions?.find(c => c.type === 'Reconciling')?.message
          }`,
        );
      },
    });
    engine = new Engine({
      objects,
      events,
      logger: mockServices.logger.mock(),
      batchSize: 50,
      leaseMs: 60_000,
      reconcilers: [
        reconciler,
        new ResourceSetInputProviderReconciler({
          objects,
          registry: new RegistryClient({}),
          credentials: NamedCredentials.fromConfig(new ConfigReader({})),
          logger: mockServices.logger.mock(),
        }),
      ],
    });
    client = await KubeClient.forCluster(cluster());
  });

  afterAll(async () => {
    client?.close();
    await kube?.stop();
    await knex?.destroy();
  });

  async function declare(
    source: string,
    manifests: AutomationObject[],
    entityRef?: string,
  ) {
    await objects.syncSource(
      source,
      manifests.map(manifest => ({
        manifest,
        entityRef,
        source: { type: 'config', location: source },
      })),
    );
  }

  /** Makes the objects due and runs engine passes until nothing is due. */
  async function reconcile(...ids: string[]) {
    await objects.markDue(ids, new Date());
    while ((await engine.runPass()) > 0) {
      // dependents made due by a pass run in the next one
    }
    return Promise.all(ids.map(async id => (await objects.get(id))!));
  }

  const ready = (status: { conditions?: Condition[] }) =>
    status.conditions?.find(c => c.type === 'Ready');
  const stalled = (status: { conditions?: Condition[] }) =>
    status.conditions?.find(c => c.type === 'Stalled');
  const configMapNames = async (namespace: string, name: string) =>
    (
      await kube.kubectl([
        'get',
        'configmaps',
        '-n',
        namespace,
        '-l',
        `${OWNER}/name=${name}`,
        '-o',
        'jsonpath={.items[*].metadata.name}',
      ])
    )
      .split(' ')
      .filter(Boolean)
      .sort();

  function resourceSet(
    name: string,
    spec: Record<string, unknown>,
    annotations: Record<string, string> = { [CLUSTERS_ANNOTATION]: 'testbed' },
  ): AutomationObject {
    return {
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSet',
      metadata: { name, namespace: 'rset-a', annotations },
      spec,
    } as AutomationObject;
  }

  const tenantConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm-<< inputs.tenant >>', namespace: 'rset-a' },
    data: {
      tenant: '<< inputs.tenant >>',
      replicas: '<< inputs.replicas | quote >>',
    },
  };

  it('applies inline inputs, records the inventory and prunes what is no longer rendered', async () => {
    const tenants = (...names: string[]) =>
      names.map((tenant, i) => ({ tenant, replicas: i + 1 }));
    await declare('inline', [
      resourceSet('tenants', {
        inputs: tenants('one', 'two'),
        resources: [tenantConfigMap],
      }),
    ]);
    const [first] = await reconcile('ResourceSet/rset-a/tenants');
    expect(ready(first.status)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
      message: expect.stringMatching(/^Reconciliation finished in /),
    });
    expect(first.status.lastAppliedRevision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.status.inventory?.entries).toEqual([
      { id: 'rset-a_cm-one__ConfigMap', v: 'v1' },
      { id: 'rset-a_cm-two__ConfigMap', v: 'v1' },
    ]);
    expect(first.status.appliedClusters).toEqual(['testbed']);
    expect(await configMapNames('rset-a', 'tenants')).toEqual([
      'cm-one',
      'cm-two',
    ]);
    const two = await client.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'rset-a',
      name: 'cm-two',
    });
    // Integers stay integers through the template (`2`, not `2.0`), quoted into a string.
    expect(two?.data).toEqual({ tenant: 'two', replicas: '2' });
    expect(
      (await events.list('ResourceSet/rset-a/tenants')).items.map(
        e => e.message,
      ),
    ).toContain(
      'ConfigMap/rset-a/cm-one created\nConfigMap/rset-a/cm-two created',
    );
    expect(
      (await inventories.get('ResourceSet/rset-a/tenants', 'testbed'))?.state,
    ).toBe('applied');

    // Unchanged: the Ready message (and so the event stream) does not move.
    const [again] = await reconcile('ResourceSet/rset-a/tenants');
    expect(ready(again.status)?.message).toBe(ready(first.status)?.message);
    expect(again.status.history).toEqual([
      {
        digest: first.status.lastAppliedRevision,
        firstReconciled: first.lastRunAt,
        lastReconciled: again.lastRunAt,
        lastReconciledDuration: expect.stringMatching(/^[0-9.]+(ms|s)$/),
        lastReconciledStatus: 'ReconciliationSucceeded',
        totalReconciliations: 2,
        metadata: { inputs: '2', resources: '2' },
      },
    ]);
    expect(again.nextRunAt).toBe(
      new Date(new Date(again.lastRunAt!).getTime() + 3_600_000).toISOString(),
    );

    await declare('inline', [
      resourceSet('tenants', {
        inputs: tenants('one'),
        resources: [tenantConfigMap],
      }),
    ]);
    const [pruned] = await reconcile('ResourceSet/rset-a/tenants');
    expect(ready(pruned.status)?.status).toBe('True');
    expect(pruned.status.inventory?.entries).toEqual([
      { id: 'rset-a_cm-one__ConfigMap', v: 'v1' },
    ]);
    expect(await configMapNames('rset-a', 'tenants')).toEqual(['cm-one']);
    expect(
      (await events.list('ResourceSet/rset-a/tenants')).items.map(
        e => e.message,
      ),
    ).toContain('ConfigMap/rset-a/cm-two deleted');
  });

  it('reads inputs from providers (Permute) and holds an empty input set unless allowed', async () => {
    const provider = (
      name: string,
      labels: Record<string, string>,
      defaultValues: Record<string, unknown>,
    ) =>
      ({
        apiVersion: 'fluxcd.controlplane.io/v1',
        kind: 'ResourceSetInputProvider',
        metadata: { name, namespace: 'rset-a', labels },
        spec: { type: 'Static', defaultValues },
      } as AutomationObject);
    const permuted = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'perm-<< inputs.color.value >>-<< inputs.size.value >>',
        namespace: 'rset-a',
      },
      data: {
        id: '<< inputs.id | quote >>',
        provider: '<< inputs.color.provider.kind >>',
      },
    };
    const spec = (selector: Record<string, string>) => ({
      inputStrategy: { name: 'Permute' },
      inputsFrom: [
        {
          kind: 'ResourceSetInputProvider',
          selector: { matchLabels: selector },
        },
      ],
      resources: [permuted],
    });
    await declare('providers', [
      provider('color', { set: 'perm' }, { value: 'red' }),
      provider('size', { set: 'perm' }, { value: 'xl' }),
      resourceSet('perm', spec({ set: 'perm' })),
    ]);
    await reconcile(
      'ResourceSetInputProvider/rset-a/color',
      'ResourceSetInputProvider/rset-a/size',
    );
    const [applied] = await reconcile('ResourceSet/rset-a/perm');
    expect(ready(applied.status)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
    });
    expect(await configMapNames('rset-a', 'perm')).toEqual(['perm-red-xl']);
    const cm = await client.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'rset-a',
      name: 'perm-red-xl',
    });
    // adler32("color=0/size=0")
    expect(cm?.data).toEqual({
      id: '651298020',
      provider: 'ResourceSetInputProvider',
    });

    // The selector matches nothing: the applied objects are held, with a condition saying why.
    await declare('providers', [
      provider('color', { set: 'perm' }, { value: 'red' }),
      provider('size', { set: 'perm' }, { value: 'xl' }),
      resourceSet('perm', spec({ set: 'none' })),
    ]);
    const [held] = await reconcile('ResourceSet/rset-a/perm');
    expect(ready(held.status)).toMatchObject({
      status: 'False',
      reason: 'EmptyInputs',
      message: `the input providers exported no inputs; the 1 applied objects are kept. Set the annotation ${ALLOW_EMPTY_INPUTS_ANNOTATION}: enabled to apply the empty set and prune them`,
    });
    expect(held.status.inventory?.entries).toHaveLength(1);
    expect(await configMapNames('rset-a', 'perm')).toEqual(['perm-red-xl']);

    // Opted in: the empty set is applied, as Flux does, and everything is pruned.
    await declare('providers', [
      resourceSet('perm', spec({ set: 'none' }), {
        [CLUSTERS_ANNOTATION]: 'testbed',
        [ALLOW_EMPTY_INPUTS_ANNOTATION]: 'enabled',
      }),
    ]);
    const [emptied] = await reconcile('ResourceSet/rset-a/perm');
    expect(ready(emptied.status)?.status).toBe('True');
    expect(emptied.status.inventory?.entries).toEqual([]);
    expect(await configMapNames('rset-a', 'perm')).toEqual([]);
  });

  it('stalls hostile templates with the limit named; a neighbour ResourceSet still applies (issue #13)', async () => {
    await declare('hostile', [
      resourceSet('huge-list', {
        inputs: [{ tenant: 'one' }],
        resources: [
          { ...tenantConfigMap, data: { n: '<< len (until 20000000) >>' } },
        ],
      }),
      resourceSet('redos', {
        inputs: [{ tenant: 'one' }],
        resources: [
          {
            ...tenantConfigMap,
            data: {
              m: `<< regexMatch "^(a+)+$" "${'a'.repeat(40)}b" | quote >>`,
            },
          },
        ],
      }),
      resourceSet('neighbour', {
        inputs: [{ tenant: 'calm', replicas: 1 }],
        resources: [tenantConfigMap],
      }),
    ]);
    const start = Date.now();
    const [huge, redos, neighbour] = await reconcile(
      'ResourceSet/rset-a/huge-list',
      'ResourceSet/rset-a/redos',
      'ResourceSet/rset-a/neighbour',
    );
    expect(Date.now() - start).toBeLessThan(20_000);
    expect(stalled(huge.status)).toMatchObject({
      status: 'True',
      reason: 'BuildFailed',
      message: expect.stringMatching(
        /^build failed: failed to build resources\[0\]: failed to execute template: template: resourceset:.*error calling until: until would make a list of 20000000 elements; the template limit is 10000$/,
      ),
    });
    // The backtracking engine would take hours on 40 a's; the Go engine answers false at once.
    expect(ready(redos.status)).toMatchObject({ status: 'True' });
    expect(ready(neighbour.status)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
    });
    expect(await configMapNames('rset-a', 'neighbour')).toEqual(['cm-calm']);
  });

  it('reports build failures, a missing provider and a missing target as Stalled', async () => {
    await declare('broken', [
      resourceSet('missing-key', {
        inputs: [{ tenant: 'one' }],
        resources: [{ ...tenantConfigMap, data: { v: '<< inputs.nope >>' } }],
      }),
      resourceSet('missing-provider', {
        inputsFrom: [{ name: 'ghost' }],
        resources: [tenantConfigMap],
      }),
      resourceSet('nowhere', { resources: [] }, {}),
    ]);
    const [missingKey, missingProvider, nowhere] = await reconcile(
      'ResourceSet/rset-a/missing-key',
      'ResourceSet/rset-a/missing-provider',
      'ResourceSet/rset-a/nowhere',
    );
    expect(stalled(missingKey.status)).toMatchObject({
      status: 'True',
      reason: 'BuildFailed',
      message:
        'build failed: failed to build resources[0]: failed to execute template: template: resourceset:3:8: executing "resourceset" at <inputs>: map has no entry for key "nope"',
    });
    expect(missingKey.status.history).toEqual([
      expect.objectContaining({
        digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        lastReconciledStatus: 'BuildFailed',
        totalReconciliations: 1,
      }),
    ]);
    expect(ready(missingProvider.status)).toMatchObject({
      status: 'False',
      reason: 'BuildFailed',
      message:
        'failed to compute inputs: failed to get provider rset-a/ghost: ResourceSetInputProvider.fluxcd.controlplane.io "ghost" not found',
    });
    expect(stalled(nowhere.status)).toMatchObject({
      reason: 'NoTargetCluster',
      message: `no target cluster: set the annotation ${CLUSTERS_ANNOTATION} on the ResourceSet or its entity`,
    });
  });

  it("takes the target clusters from the entity's annotation when the ResourceSet has none", async () => {
    entityAnnotations.set('component:default/shop', {
      [CLUSTERS_ANNOTATION]: 'testbed',
    });
    await declare(
      'entity',
      [
        resourceSet(
          'from-entity',
          {
            inputs: [{ tenant: 'entity', replicas: 1 }],
            resources: [tenantConfigMap],
          },
          {},
        ),
      ],
      'component:default/shop',
    );
    const [applied] = await reconcile('ResourceSet/rset-a/from-entity');
    expect(ready(applied.status)?.status).toBe('True');
    expect(await configMapNames('rset-a', 'from-entity')).toEqual([
      'cm-entity',
    ]);
  });

  it('refuses a set with an object outside the allow-list and applies nothing of it', async () => {
    await declare('restricted', [
      resourceSet(
        'outside',
        {
          resources: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'inside', namespace: 'rset-a' },
            },
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'outside', namespace: 'rset-b' },
            },
          ],
        },
        { [CLUSTERS_ANNOTATION]: 'restricted' },
      ),
    ]);
    const [refused] = await reconcile('ResourceSet/rset-a/outside');
    expect(ready(refused.status)).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: expect.stringContaining('ConfigMap/rset-b/outside refused: '),
    });
    expect(await configMapNames('rset-a', 'outside')).toEqual([]);
    expect(await configMapNames('rset-b', 'outside')).toEqual([]);
  });

  it('waits for dependencies in the cluster (readyExpr) and among the stored ResourceSets', async () => {
    const after = (name: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'rset-a' },
    });
    await declare('depends', [
      resourceSet('dependent', {
        dependsOn: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'prerequisite',
            ready: true,
            readyExpr: "data.ready == 'yes'",
          },
          // Ready since the first test: the built-in expression holds.
          {
            apiVersion: 'fluxcd.controlplane.io/v1',
            kind: 'ResourceSet',
            name: 'tenants',
            ready: true,
          },
        ],
        resources: [after('after')],
      }),
      resourceSet('on-stalled', {
        dependsOn: [
          {
            apiVersion: 'fluxcd.controlplane.io/v1',
            kind: 'ResourceSet',
            name: 'missing-key',
            ready: true,
          },
        ],
        resources: [after('never')],
      }),
      resourceSet('bad-expr', {
        dependsOn: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'x',
            ready: true,
            readyExpr: 'data.(',
          },
        ],
        resources: [after('never')],
      }),
    ]);
    const runOnce = async (id: string) => {
      await objects.markDue([id], new Date());
      await engine.runPass();
      return (await objects.get(id))!;
    };
    const waiting = await runOnce('ResourceSet/rset-a/dependent');
    // The Flux Operator's words: the API server's NotFound message appended; Reconciling says
    // the reconcile is in progress; the event is Normal (waiting is not a failure).
    const missing =
      'Retrying dependency check: dependency v1/ConfigMap/rset-a/prerequisite not found: configmaps "prerequisite" not found';
    expect(ready(waiting.status)).toMatchObject({
      status: 'False',
      reason: 'DependencyNotReady',
      message: missing,
    });
    expect(
      waiting.status.conditions?.find(c => c.type === 'Reconciling'),
    ).toMatchObject({
      status: 'True',
      reason: 'ProgressingWithRetry',
      message: 'Reconciliation in progress',
    });
    expect(
      (await events.list('ResourceSet/rset-a/dependent')).items.map(
        e => `${e.type} ${e.reason}: ${e.message}`,
      ),
    ).toEqual([`Normal DependencyNotReady: ${missing}`]);
    expect(
      new Date(waiting.nextRunAt).getTime() -
        new Date(waiting.lastRunAt!).getTime(),
    ).toBe(5_000);

    await kube.kubectl([
      'create',
      'configmap',
      'prerequisite',
      '-n',
      'rset-a',
      '--from-literal=ready=no',
    ]);
    expect(
      ready((await runOnce('ResourceSet/rset-a/dependent')).status)?.message,
    ).toBe(
      'Retrying dependency check: dependency v1/ConfigMap/rset-a/prerequisite not ready',
    );
    await kube.kubectl([
      'patch',
      'configmap',
      'prerequisite',
      '-n',
      'rset-a',
      '-p',
      '{"data":{"ready":"yes"}}',
    ]);
    const [applied] = await reconcile('ResourceSet/rset-a/dependent');
    expect(ready(applied.status)?.status).toBe('True');
    expect(await configMapNames('rset-a', 'dependent')).toEqual(['after']);

    expect(
      ready((await runOnce('ResourceSet/rset-a/on-stalled')).status),
    ).toMatchObject({
      reason: 'DependencyNotReady',
      message:
        'Retrying dependency check: dependency fluxcd.controlplane.io/v1/ResourceSet/rset-a/missing-key not ready',
    });
    const badExpr = await runOnce('ResourceSet/rset-a/bad-expr');
    expect(stalled(badExpr.status)).toMatchObject({
      reason: 'InvalidCELExpression',
      message: expect.stringMatching(
        /^Reconciliation failed terminally due to configuration error: failed to parse the CEL expression 'data\.\(' of dependency v1\/ConfigMap\/rset-a\/x: /,
      ),
    });
    expect(await configMapNames('rset-a', 'on-stalled')).toEqual([]);
  });

  it('applies steps with commonMetadata, keeps prune-disabled objects and recreates forced immutable ones', async () => {
    const cm = (name: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'rset-a' },
      ...extra,
    });
    const keep = {
      annotations: { 'fluxcd.controlplane.io/prune': 'disabled' },
    };
    await declare('steps', [
      resourceSet('stepped', {
        commonMetadata: {
          labels: { team: 'platform' },
          annotations: { owner: 'backstage' },
        },
        steps: [
          {
            name: 'config',
            resources: [
              cm('first', {
                metadata: { name: 'first', namespace: 'rset-a', ...keep },
              }),
            ],
          },
          {
            name: 'app',
            resourcesTemplate:
              'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  namespace: rset-a\n',
          },
        ],
      }),
    ]);
    progress.length = 0;
    const [stepped] = await reconcile('ResourceSet/rset-a/stepped');
    expect(ready(stepped.status)?.status).toBe('True');
    expect(progress).toEqual([
      'ResourceSet/rset-a/stepped Applying step 1/2 "config"',
      'ResourceSet/rset-a/stepped Applying step 2/2 "app"',
    ]);
    // As the Flux Operator reports them: one ApplySucceeded event per step before the last, then
    // the closing one with the last step's changes.
    const applyEvents = async () =>
      (await events.list('ResourceSet/rset-a/stepped')).items
        .filter(e => e.reason === 'ApplySucceeded')
        .map(e => e.message)
        .reverse();
    expect(await applyEvents()).toEqual([
      'step "config": ConfigMap/rset-a/first created',
      'ConfigMap/rset-a/second created',
    ]);
    expect(await configMapNames('rset-a', 'stepped')).toEqual([
      'first',
      'second',
    ]);
    const first = await client.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'rset-a',
      name: 'first',
    });
    expect(first?.metadata.labels).toMatchObject({
      team: 'platform',
      [`${OWNER}/name`]: 'stepped',
    });
    expect(first?.metadata.annotations).toMatchObject({ owner: 'backstage' });

    // Both leave the set: the one annotated prune: disabled stays.
    await declare('steps', [
      resourceSet('stepped', { resources: [cm('third')] }),
    ]);
    await reconcile('ResourceSet/rset-a/stepped');
    expect(await configMapNames('rset-a', 'stepped')).toEqual([
      'first',
      'third',
    ]);
    // Pruned in reverse apply order; the object kept by `prune: disabled` is listed as skipped.
    expect((await applyEvents()).slice(2)).toEqual([
      'ConfigMap/rset-a/third created\nConfigMap/rset-a/second deleted\nConfigMap/rset-a/first skipped',
    ]);

    // An immutable ConfigMap changed: refused by the API server until the object asks for force.
    const immutable = (value: string, annotations?: Record<string, string>) =>
      cm('frozen', {
        metadata: {
          name: 'frozen',
          namespace: 'rset-a',
          ...(annotations ? { annotations } : {}),
        },
        immutable: true,
        data: { value },
      });
    await declare('steps', [
      resourceSet('stepped', { resources: [immutable('v1')] }),
    ]);
    await reconcile('ResourceSet/rset-a/stepped');
    await declare('steps', [
      resourceSet('stepped', { resources: [immutable('v2')] }),
    ]);
    const [refused] = await reconcile('ResourceSet/rset-a/stepped');
    expect(ready(refused.status)).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
    });
    await declare('steps', [
      resourceSet('stepped', {
        resources: [
          immutable('v2', { 'fluxcd.controlplane.io/force': 'enabled' }),
        ],
      }),
    ]);
    const [forced] = await reconcile('ResourceSet/rset-a/stepped');
    expect(ready(forced.status)?.status).toBe('True');
    expect(
      (
        await client.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: 'rset-a',
          name: 'frozen',
        })
      )?.data,
    ).toEqual({
      value: 'v2',
    });
  });

  it('copies ConfigMap and Secret data from the cluster (copyFrom) and fails naming a missing source', async () => {
    await kube.kubectl([
      'create',
      'configmap',
      'shared-settings',
      '-n',
      'rset-b',
      '--from-literal=region=eu-west-1',
    ]);
    await kube.kubectl([
      'create',
      'secret',
      'generic',
      'shared-token',
      '-n',
      'rset-b',
      '--from-literal=token=s3cr3t',
    ]);
    const copying = (configMapSource: string) =>
      resourceSet('copying', {
        resources: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: 'settings-copy',
              namespace: 'rset-a',
              annotations: {
                'fluxcd.controlplane.io/copyFrom': configMapSource,
              },
            },
            data: { placeholder: 'replaced' },
          },
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name: 'token-copy',
              namespace: 'rset-a',
              annotations: {
                'fluxcd.controlplane.io/copyFrom': 'rset-b/shared-token',
              },
            },
            stringData: { placeholder: 'dropped' },
          },
        ],
      });
    const read = (kind: string, name: string) =>
      client.get({ apiVersion: 'v1', kind, namespace: 'rset-a', name });

    await declare('copy', [copying('rset-b/shared-settings')]);
    const [first] = await reconcile('ResourceSet/rset-a/copying');
    expect(ready(first.status)?.status).toBe('True');
    expect((await read('ConfigMap', 'settings-copy'))?.data).toEqual({
      region: 'eu-west-1',
    });
    const secret = await read('Secret', 'token-copy');
    expect(secret?.type).toBe('Opaque');
    expect(secret?.data).toEqual({
      token: Buffer.from('s3cr3t').toString('base64'),
    });

    // A changed source is a new revision, applied on the next reconcile.
    await kube.kubectl([
      'patch',
      'configmap',
      'shared-settings',
      '-n',
      'rset-b',
      '--type=merge',
      '-p',
      '{"data":{"region":"us-east-2"}}',
    ]);
    const [second] = await reconcile('ResourceSet/rset-a/copying');
    expect(second.status.lastAppliedRevision).not.toBe(
      first.status.lastAppliedRevision,
    );
    expect((await read('ConfigMap', 'settings-copy'))?.data).toEqual({
      region: 'us-east-2',
    });

    await declare('copy', [copying('rset-b/no-such-settings')]);
    const [missing] = await reconcile('ResourceSet/rset-a/copying');
    expect(ready(missing.status)).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: expect.stringContaining(
        'ConfigMap/rset-b/no-such-settings not found',
      ),
    });
    // Nothing of the set was written: the copy keeps the last applied data.
    expect((await read('ConfigMap', 'settings-copy'))?.data).toEqual({
      region: 'us-east-2',
    });

    await declare('copy', [copying('no-namespace')]);
    const [malformed] = await reconcile('ResourceSet/rset-a/copying');
    expect(ready(malformed.status)?.message).toContain(
      "invalid fluxcd.controlplane.io/copyFrom 'no-namespace'",
    );
  });

  it('re-creates a failed Job it owns that asks for recreateOnFailure, never one without the annotation or not applied by it', async () => {
    const job = (name: string, annotations: Record<string, string>) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'rset-a', annotations },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              { name: 'migrate', image: 'ghcr.io/acme/migrate:1.0.0' },
            ],
          },
        },
      },
    });
    const recreate = { 'fluxcd.controlplane.io/recreateOnFailure': 'enabled' };
    await declare('jobs', [
      resourceSet('jobs', {
        resources: [job('migrate', recreate), job('plain', {})],
      }),
    ]);
    const [created] = await reconcile('ResourceSet/rset-a/jobs');
    expect(ready(created.status)?.status).toBe('True');
    const read = (name: string) =>
      client.get({
        apiVersion: 'batch/v1',
        kind: 'Job',
        namespace: 'rset-a',
        name,
      });
    const before = {
      migrate: (await read('migrate'))!.metadata.uid,
      plain: (await read('plain'))!.metadata.uid,
    };

    // Not failed: an unchanged reconcile leaves both Jobs as they are.
    await reconcile('ResourceSet/rset-a/jobs');
    expect((await read('migrate'))!.metadata.uid).toBe(before.migrate);

    // Both fail (the test bed runs no Job controller: the status is written as it would).
    const fail = async (name: string) => {
      const now = new Date().toISOString();
      await kube.kubectl([
        'patch',
        'job',
        name,
        '-n',
        'rset-a',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({
          status: {
            startTime: now,
            failed: 1,
            conditions: [
              {
                type: 'FailureTarget',
                status: 'True',
                reason: 'BackoffLimitExceeded',
                message: 'Job has reached the specified backoff limit',
                lastProbeTime: now,
                lastTransitionTime: now,
              },
              {
                type: 'Failed',
                status: 'True',
                reason: 'BackoffLimitExceeded',
                message: 'Job has reached the specified backoff limit',
                lastProbeTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        }),
      ]);
    };
    await fail('migrate');
    await fail('plain');
    const [recreated] = await reconcile('ResourceSet/rset-a/jobs');
    expect(ready(recreated.status)?.status).toBe('True');
    const migrate = await read('migrate');
    expect(migrate!.metadata.uid).not.toBe(before.migrate);
    expect(migrate!.status).not.toHaveProperty('conditions');
    expect((await read('plain'))!.metadata.uid).toBe(before.plain);
    const applied = await events.list('ResourceSet/rset-a/jobs');
    expect(applied.items.map(e => e.message)).toContainEqual(
      expect.stringContaining('Job/rset-a/migrate created'),
    );

    // A failed Job of that name which the ResourceSet did not apply (no owner labels) is not deleted.
    await kube.kubectl(
      ['apply', '--server-side', '--field-manager=image-automation', '-f', '-'],
      JSON.stringify(job('foreign', recreate)),
    );
    await fail('foreign');
    const foreign = (await read('foreign'))!.metadata.uid;
    await declare('jobs', [
      resourceSet('jobs', {
        resources: [
          job('migrate', recreate),
          job('plain', {}),
          job('foreign', recreate),
        ],
      }),
    ]);
    const [adopted] = await reconcile('ResourceSet/rset-a/jobs');
    expect(ready(adopted.status)?.status).toBe('True');
    expect((await read('foreign'))!.metadata.uid).toBe(foreign);
  });

  it("bounds the wait for a step by the step's own timeout", async () => {
    // The ResourceSet's reconcileTimeout is the default 5 minutes; the step allows 1 second.
    await declare('step-timeout', [
      resourceSet('step-timeout', {
        steps: [
          {
            name: 'backend',
            timeout: '1s',
            resources: [
              {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                metadata: { name: 'slow-api', namespace: 'rset-a' },
                spec: {
                  selector: { matchLabels: { app: 'slow-api' } },
                  template: {
                    metadata: { labels: { app: 'slow-api' } },
                    spec: { containers: [{ name: 'api', image: 'nginx' }] },
                  },
                },
              },
            ],
          },
          {
            name: 'config',
            resources: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: 'after-slow-api', namespace: 'rset-a' },
              },
            ],
          },
        ],
      }),
    ]);
    const started = Date.now();
    const [timedOut] = await reconcile('ResourceSet/rset-a/step-timeout');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(ready(timedOut.status)).toMatchObject({
      status: 'False',
      reason: 'HealthCheckFailed',
      message: expect.stringMatching(
        /^step "backend": health check failed: timeout waiting for Deployment\/rset-a\/slow-api/,
      ),
    });
    expect(await configMapNames('rset-a', 'step-timeout')).toEqual([]);
  });

  it('uninstalls a deleted ResourceSet even when its reconciliation was disabled (Flux would orphan)', async () => {
    const paused = (annotations: Record<string, string>) =>
      resourceSet(
        'paused',
        {
          resources: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'paused-config', namespace: 'rset-a' },
            },
          ],
        },
        { [CLUSTERS_ANNOTATION]: 'testbed', ...annotations },
      );
    await declare('paused', [paused({})]);
    await reconcile('ResourceSet/rset-a/paused');
    expect(await configMapNames('rset-a', 'paused')).toEqual(['paused-config']);

    await declare('paused', [
      paused({ 'fluxcd.controlplane.io/reconcile': 'disabled' }),
    ]);
    await reconcile('ResourceSet/rset-a/paused');
    const warnings = await events.list('ResourceSet/rset-a/paused');
    expect(warnings.items.map(e => e.reason)).toContain(
      'ReconciliationDisabled',
    );
    expect(await configMapNames('rset-a', 'paused')).toEqual(['paused-config']);

    await declare('paused', []);
    expect(await reconciler.uninstallDeleted()).toContainEqual({
      owner: 'ResourceSet/rset-a/paused',
      changes: ['ConfigMap/rset-a/paused-config deleted'],
    });
    expect(await configMapNames('rset-a', 'paused')).toEqual([]);
  });

  it('uninstalls a ResourceSet gone from its source only after the grace period, and nothing if it comes back', async () => {
    const graced = resourceSet(
      'graced',
      {
        resources: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'graced-config', namespace: 'rset-a' },
          },
        ],
      },
      { [CLUSTERS_ANNOTATION]: 'testbed' },
    );
    const owner = 'ResourceSet/rset-a/graced';
    const graceMs = 600_000;
    const mine = (
      results: Awaited<ReturnType<typeof reconciler.uninstallDeleted>>,
    ) => results.filter(r => r.owner === owner);
    await declare('graced', [graced]);
    await reconcile(owner);
    expect(await configMapNames('rset-a', 'graced')).toEqual(['graced-config']);

    // Gone (a file moved, say): the first sync that notices starts the grace period.
    await declare('graced', []);
    const t0 = new Date('2026-12-03T10:00:00Z');
    expect(
      mine(await reconciler.uninstallDeleted({ now: t0, graceMs })),
    ).toEqual([
      { owner, changes: [], waitingUntil: new Date('2026-12-03T10:10:00Z') },
    ]);
    expect(
      mine(
        await reconciler.uninstallDeleted({
          now: new Date('2026-12-03T10:09:00Z'),
          graceMs,
        }),
      ),
    ).toEqual([
      { owner, changes: [], waitingUntil: new Date('2026-12-03T10:10:00Z') },
    ]);
    expect(await configMapNames('rset-a', 'graced')).toEqual(['graced-config']);

    // Back within the grace period: nothing is uninstalled, and the clock starts again next time.
    await declare('graced', [graced]);
    expect(
      mine(
        await reconciler.uninstallDeleted({
          now: new Date('2026-12-03T10:09:30Z'),
          graceMs,
        }),
      ),
    ).toEqual([]);
    await declare('graced', []);
    const t1 = new Date('2026-12-03T11:00:00Z');
    expect(
      mine(await reconciler.uninstallDeleted({ now: t1, graceMs })),
    ).toEqual([
      { owner, changes: [], waitingUntil: new Date('2026-12-03T11:10:00Z') },
    ]);
    expect(await configMapNames('rset-a', 'graced')).toEqual(['graced-config']);

    // Gone for the whole grace period: uninstalled.
    expect(
      mine(
        await reconciler.uninstallDeleted({
          now: new Date('2026-12-03T11:10:00Z'),
          graceMs,
        }),
      ),
    ).toEqual([{ owner, changes: ['ConfigMap/rset-a/graced-config deleted'] }]);
    expect(await configMapNames('rset-a', 'graced')).toEqual([]);
  });

  it('reports a failed health check with wait, stops at a step that is not ready, and applies as the service account it names', async () => {
    // No controller manager runs in the test bed: a Deployment never becomes ready.
    const deployment = (name: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'rset-a' },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'web', image: 'nginx' }] },
        },
      },
    });
    const quick = {
      [CLUSTERS_ANNOTATION]: 'testbed',
      'fluxcd.controlplane.io/reconcileTimeout': '2s',
    };
    await declare('health', [
      resourceSet(
        'waiting',
        { wait: true, resources: [deployment('web')] },
        quick,
      ),
      resourceSet(
        'stepwise',
        {
          steps: [
            { name: 'backend', resources: [deployment('api')] },
            {
              name: 'config',
              resources: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  metadata: { name: 'after-api', namespace: 'rset-a' },
                },
              ],
            },
          ],
        },
        quick,
      ),
    ]);
    const [unhealthy, stepwise] = await reconcile(
      'ResourceSet/rset-a/waiting',
      'ResourceSet/rset-a/stepwise',
    );
    expect(ready(unhealthy.status)).toMatchObject({
      status: 'False',
      reason: 'HealthCheckFailed',
      message: expect.stringContaining('health check failed'),
    });
    // The second step waits for the first one, which never gets ready.
    expect(ready(stepwise.status)).toMatchObject({
      status: 'False',
      reason: 'HealthCheckFailed',
      message: expect.stringMatching(/^step "backend": health check failed: /),
    });
    expect(await configMapNames('rset-a', 'stepwise')).toEqual([]);

    await kube.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: ServiceAccount
metadata: { name: deployer, namespace: rset-a }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmaps, namespace: rset-a }
rules:
  - { apiGroups: [''], resources: [configmaps], verbs: ['*'] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: deployer, namespace: rset-a }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmaps }
subjects:
  - { kind: ServiceAccount, name: deployer, namespace: rset-a }
`,
    );
    const impersonated = (name: string, namespace: string) =>
      resourceSet(name, {
        serviceAccountName: 'deployer',
        resources: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'as-deployer', namespace },
          },
        ],
      });
    await declare('health', [
      impersonated('impersonated', 'rset-b'),
      impersonated('impersonated-ok', 'rset-a'),
    ]);
    const [forbidden, allowed] = await reconcile(
      'ResourceSet/rset-a/impersonated',
      'ResourceSet/rset-a/impersonated-ok',
    );
    expect(ready(forbidden.status)).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: expect.stringContaining('system:serviceaccount:rset-a:deployer'),
    });
    expect(await configMapNames('rset-b', 'impersonated')).toEqual([]);
    expect(ready(allowed.status)?.status).toBe('True');
    expect(await configMapNames('rset-a', 'impersonated-ok')).toEqual([
      'as-deployer',
    ]);
  });

  describe('issue #13: a catalog author reaches no further than the cluster policy grants', () => {
    const SECRET_VALUE = 'hunter2-very-secret';
    const cm = (name: string, namespace = 'rset-a', extra = {}) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, ...extra },
      data: { a: 'b' },
    });
    /** Everything a status shows: no secret value may be in there. */
    const shown = (o: { status: unknown }) => JSON.stringify(o.status);

    beforeAll(async () => {
      await kube.kubectl(['create', 'namespace', 'rset-c']);
      await kube.kubectl([
        'create',
        'secret',
        'generic',
        'db',
        '-n',
        'rset-a',
        `--from-literal=password=${SECRET_VALUE}`,
      ]);
      await kube.kubectl([
        'create',
        'configmap',
        'tokens',
        '-n',
        'rset-a',
        `--from-literal=token=${SECRET_VALUE}`,
      ]);
      await kube.kubectl([
        'create',
        'secret',
        'generic',
        'elsewhere',
        '-n',
        'rset-c',
        `--from-literal=password=${SECRET_VALUE}`,
      ]);
    });

    it('never prints a readyExpr value or evaluation error, and refuses Secrets and ungranted targets as dependencies', async () => {
      const dependent = (
        name: string,
        dep: Record<string, unknown>,
        target = 'testbed',
      ) =>
        resourceSet(
          name,
          { dependsOn: [{ ready: true, ...dep }], resources: [cm(name)] },
          { [CLUSTERS_ANNOTATION]: target },
        );
      await declare('leaks', [
        // The tester's attack: the Secret's value as the expression's result.
        dependent('leak-secret', {
          apiVersion: 'v1',
          kind: 'Secret',
          name: 'db',
          readyExpr: 'string(data.password)',
        }),
        // The same on an allowed kind: the value is computed but never shown.
        dependent('leak-value', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'tokens',
          readyExpr: 'data.token',
        }),
        // An evaluation error whose text would carry the value.
        dependent('leak-error', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'tokens',
          readyExpr: 'int(data.token) > 0',
        }),
        // A namespace the cluster does not grant.
        dependent(
          'leak-namespace',
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'tokens',
            namespace: 'rset-c',
            readyExpr: 'true',
          },
          'restricted',
        ),
        // A kind the cluster does not grant.
        dependent(
          'leak-kind',
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'web',
          },
          'configmaps-only',
        ),
        // A legitimate neighbour: same cluster, a granted ConfigMap.
        dependent('legit-dependent', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'tokens',
          readyExpr: `has(data.token)`,
        }),
      ]);
      policies.set('configmaps-only', {
        allowedNamespaces: ['rset-a'],
        allowedKinds: ['ConfigMap'],
        allowedEntities: ['*'],
      });
      const runOnce = async (id: string) => {
        await objects.markDue([id], new Date());
        await engine.runPass();
        return (await objects.get(id))!;
      };

      const secret = await runOnce('ResourceSet/rset-a/leak-secret');
      expect(stalled(secret.status)).toMatchObject({
        reason: 'DependencyRefused',
        message:
          "dependency v1/Secret/rset-a/db refused on cluster 'testbed': Secrets cannot be dependencies (their content is never read for readiness)",
      });
      const value = await runOnce('ResourceSet/rset-a/leak-value');
      expect(ready(value.status)).toMatchObject({
        reason: 'DependencyNotReady',
        message:
          'Retrying dependency check: dependency v1/ConfigMap/rset-a/tokens not ready',
      });
      const error = await runOnce('ResourceSet/rset-a/leak-error');
      expect(ready(error.status)).toMatchObject({
        reason: 'DependencyNotReady',
        message:
          'Retrying dependency check: dependency v1/ConfigMap/rset-a/tokens not ready: its readiness expression could not be evaluated (not true)',
      });
      const namespace = await runOnce('ResourceSet/rset-a/leak-namespace');
      expect(stalled(namespace.status)).toMatchObject({
        reason: 'DependencyRefused',
        message:
          "dependency v1/ConfigMap/rset-c/tokens refused on cluster 'restricted': namespace 'rset-c' is not in the allowedNamespaces of cluster 'restricted'",
      });
      const kind = await runOnce('ResourceSet/rset-a/leak-kind');
      expect(stalled(kind.status)).toMatchObject({
        reason: 'DependencyRefused',
        message:
          "dependency apps/v1/Deployment/rset-a/web refused on cluster 'configmaps-only': kind apps/Deployment is not in the allowedKinds of cluster 'configmaps-only'",
      });
      for (const o of [secret, value, error, namespace, kind]) {
        expect(shown(o)).not.toContain(SECRET_VALUE);
        expect(shown(o)).not.toContain(
          Buffer.from(SECRET_VALUE).toString('base64'),
        );
      }
      const shownEvents = JSON.stringify(
        await Promise.all(
          ['leak-secret', 'leak-value', 'leak-error'].map(
            async n => (await events.list(`ResourceSet/rset-a/${n}`)).items,
          ),
        ),
      );
      expect(shownEvents).not.toContain(SECRET_VALUE);

      const [legit] = await reconcile('ResourceSet/rset-a/legit-dependent');
      expect(ready(legit.status)?.status).toBe('True');
      expect(await configMapNames('rset-a', 'legit-dependent')).toEqual([
        'legit-dependent',
      ]);
      expect(await configMapNames('rset-a', 'leak-secret')).toEqual([]);
    });

    it('decides cluster scope by discovery: a ClusterRoleBinding with an allowed namespace is refused, also in a dry run', async () => {
      const binding = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'rset-escalate', namespace: 'rset-a' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'cluster-admin',
        },
        subjects: [
          { kind: 'ServiceAccount', name: 'default', namespace: 'rset-a' },
        ],
      };
      await declare('scope', [
        resourceSet(
          'escalate',
          { resources: [cm('escalate-cm'), binding] },
          { [CLUSTERS_ANNOTATION]: 'restricted' },
        ),
        resourceSet(
          'scope-neighbour',
          { resources: [cm('neighbour')] },
          { [CLUSTERS_ANNOTATION]: 'restricted' },
        ),
      ]);
      const [escalate, neighbour] = await reconcile(
        'ResourceSet/rset-a/escalate',
        'ResourceSet/rset-a/scope-neighbour',
      );
      expect(ready(escalate.status)).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message:
          "ClusterRoleBinding/rset-a/rset-escalate refused: kind rbac.authorization.k8s.io/ClusterRoleBinding is cluster-scoped on cluster 'restricted' (its metadata.namespace 'rset-a' does not make it namespaced) and not in its allowedClusterScopedKinds",
      });
      await expect(
        kube.kubectl(['get', 'clusterrolebinding', 'rset-escalate']),
      ).rejects.toThrow(/NotFound/);
      // Nothing of the refused set was written.
      expect(await configMapNames('rset-a', 'escalate')).toEqual([]);
      expect(ready(neighbour.status)?.status).toBe('True');
      expect(await configMapNames('rset-a', 'scope-neighbour')).toEqual([
        'neighbour',
      ]);

      // A dry run (promotion preview) is checked the same way.
      await expect(
        new InventoryApplier(inventories, {
          fieldManager: 'image-automation',
          force: false,
          concurrency: 2,
          clusters: [],
        }).apply({
          owner: 'ResourceSet/rset-a/escalate',
          cluster: cluster({
            name: 'restricted',
            writePolicy: {
              allowedNamespaces: ['rset-a'],
              allowedKinds: ['*'],
              allowedEntities: ['*'],
            },
          }),
          steps: [{ objects: [binding] }],
          ownerLabels: {},
          dryRun: true,
        }),
      ).rejects.toThrow(
        /ClusterRoleBinding\/rset-a\/rset-escalate refused: kind rbac.authorization.k8s.io\/ClusterRoleBinding is cluster-scoped/,
      );
    });

    it('lets only listed entities or owners target a cluster; empty lists allow no one', async () => {
      policies.set('guarded', {
        allowedNamespaces: ['rset-a'],
        allowedKinds: ['ConfigMap'],
        allowedEntities: ['component:default/shop'],
        allowedOwners: ['group:default/team-a'],
      });
      policies.set('unconfigured', {});
      entityOwners.set('component:default/teamed', 'group:default/team-a');
      entityOwners.set('component:default/intruder', 'group:default/team-z');
      const target = (name: string, clusterName: string) =>
        resourceSet(
          name,
          { resources: [cm(name)] },
          { [CLUSTERS_ANNOTATION]: clusterName },
        );
      await declare(
        'guard-shop',
        [target('guard-shop', 'guarded')],
        'component:default/shop',
      );
      await declare(
        'guard-teamed',
        [target('guard-teamed', 'guarded')],
        'component:default/teamed',
      );
      await declare(
        'guard-intruder',
        [target('guard-intruder', 'guarded')],
        'component:default/intruder',
      );
      await declare('guard-none', [target('guard-none', 'guarded')]);
      await declare(
        'guard-empty',
        [target('guard-empty', 'unconfigured')],
        'component:default/shop',
      );
      const [shop, teamed, intruder, none, empty] = await reconcile(
        'ResourceSet/rset-a/guard-shop',
        'ResourceSet/rset-a/guard-teamed',
        'ResourceSet/rset-a/guard-intruder',
        'ResourceSet/rset-a/guard-none',
        'ResourceSet/rset-a/guard-empty',
      );
      expect(ready(shop.status)?.status).toBe('True');
      expect(ready(teamed.status)?.status).toBe('True');
      expect(stalled(intruder.status)).toMatchObject({
        reason: 'ClusterNotAllowed',
        message:
          "cluster 'guarded' does not allow entity component:default/intruder (owner group:default/team-z) to target it: list the entity in allowedEntities or its owner in allowedOwners of imageAutomation.kubernetes.clusters 'guarded'",
      });
      expect(stalled(none.status)).toMatchObject({
        reason: 'ClusterNotAllowed',
        message: expect.stringContaining(
          "cluster 'guarded' does not allow an object without a catalog entity",
        ),
      });
      expect(stalled(empty.status)).toMatchObject({
        reason: 'ClusterNotAllowed',
        message: expect.stringContaining(
          "cluster 'unconfigured' does not allow entity component:default/shop",
        ),
      });
      expect(await configMapNames('rset-a', 'guard-intruder')).toEqual([]);
      expect(await configMapNames('rset-a', 'guard-none')).toEqual([]);
      expect(await configMapNames('rset-a', 'guard-empty')).toEqual([]);

      // The same entity with a policy that grants no kinds or namespaces: nothing is written.
      policies.set('no-kinds', { allowedEntities: ['*'] });
      await declare('guard-nokinds', [target('guard-nokinds', 'no-kinds')]);
      const [noKinds] = await reconcile('ResourceSet/rset-a/guard-nokinds');
      expect(ready(noKinds.status)).toMatchObject({
        status: 'False',
        message:
          "ConfigMap/rset-a/guard-nokinds refused: kind ConfigMap is not in the allowedKinds of cluster 'no-kinds'",
      });
    });

    it('reads copyFrom sources only from granted namespaces', async () => {
      await declare('copy-guard', [
        resourceSet(
          'copy-steal',
          {
            resources: [
              {
                apiVersion: 'v1',
                kind: 'Secret',
                metadata: {
                  name: 'stolen',
                  namespace: 'rset-a',
                  annotations: {
                    'fluxcd.controlplane.io/copyFrom': 'rset-c/elsewhere',
                  },
                },
              },
            ],
          },
          { [CLUSTERS_ANNOTATION]: 'restricted' },
        ),
        resourceSet(
          'copy-legit',
          {
            resources: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: {
                  name: 'tokens-copy',
                  namespace: 'rset-a',
                  annotations: {
                    'fluxcd.controlplane.io/copyFrom': 'rset-a/tokens',
                  },
                },
              },
            ],
          },
          { [CLUSTERS_ANNOTATION]: 'restricted' },
        ),
      ]);
      const [steal, legit] = await reconcile(
        'ResourceSet/rset-a/copy-steal',
        'ResourceSet/rset-a/copy-legit',
      );
      expect(ready(steal.status)).toMatchObject({
        status: 'False',
        message:
          "Secret/rset-a/stolen: fluxcd.controlplane.io/copyFrom source Secret/rset-c/elsewhere refused: namespace 'rset-c' is not in the allowedNamespaces of cluster 'restricted'",
      });
      expect(shown(steal)).not.toContain(
        Buffer.from(SECRET_VALUE).toString('base64'),
      );
      await expect(
        kube.kubectl(['get', 'secret', 'stolen', '-n', 'rset-a']),
      ).rejects.toThrow(/NotFound/);
      expect(ready(legit.status)?.status).toBe('True');
      expect(
        (
          await client.get({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            namespace: 'rset-a',
            name: 'tokens-copy',
          })
        )?.data,
      ).toEqual({ token: SECRET_VALUE });
    });

    it('leaves an object the policy no longer covers in place instead of pruning it, and says so', async () => {
      policies.set('shifting', {
        allowedNamespaces: ['rset-a', 'rset-c'],
        allowedKinds: ['ConfigMap'],
        allowedEntities: ['*'],
      });
      const shifting = (...resources: unknown[]) =>
        resourceSet(
          'shifting',
          { resources },
          { [CLUSTERS_ANNOTATION]: 'shifting' },
        );
      await declare('shifting', [
        shifting(cm('kept-a'), cm('kept-c', 'rset-c'), cm('pruned-a')),
      ]);
      const [first] = await reconcile('ResourceSet/rset-a/shifting');
      expect(ready(first.status)?.status).toBe('True');
      expect(await configMapNames('rset-c', 'shifting')).toEqual(['kept-c']);

      // The platform team withdraws rset-c; the set drops both rset-c's and one rset-a object.
      policies.set('shifting', {
        allowedNamespaces: ['rset-a'],
        allowedKinds: ['ConfigMap'],
        allowedEntities: ['*'],
      });
      await declare('shifting', [shifting(cm('kept-a'))]);
      const [second] = await reconcile('ResourceSet/rset-a/shifting');
      expect(ready(second.status)).toMatchObject({
        status: 'False',
        reason: 'PruneRefused',
        message:
          "applied, but pruning was refused by the cluster's policy: ConfigMap/rset-c/kept-c left in place, not pruned: namespace 'rset-c' is not in the allowedNamespaces of cluster 'shifting'",
      });
      // Left alone, not deleted; the object still allowed was pruned as usual.
      expect(await configMapNames('rset-c', 'shifting')).toEqual(['kept-c']);
      expect(await configMapNames('rset-a', 'shifting')).toEqual(['kept-a']);
      const warnings = (await events.list('ResourceSet/rset-a/shifting')).items;
      expect(warnings).toContainEqual(
        expect.objectContaining({ type: 'Warning', reason: 'PruneRefused' }),
      );
    });

    describe('two entities on one shared cluster stay within their granted namespaces', () => {
      const A = 'component:default/tenant-a';
      const B = 'component:default/tenant-b';
      /** Declares an entity's objects as the manifest sync does: from the catalog, with its grants. */
      const declareFor = (
        entityRef: string,
        grantedNamespaces: string[],
        manifests: AutomationObject[],
      ) =>
        objects.syncSource(
          `catalog:${entityRef}`,
          manifests.map(manifest => ({
            manifest,
            entityRef,
            source: {
              type: 'catalog',
              location: `file:///catalog/${entityRef}.yaml`,
            },
            grantedNamespaces,
          })),
        );
      const tenantSet = (
        namespace: string,
        name: string,
        spec: Record<string, unknown>,
      ) =>
        ({
          ...resourceSet(name, spec, { [CLUSTERS_ANNOTATION]: 'shared' }),
          metadata: {
            name,
            namespace,
            annotations: { [CLUSTERS_ANNOTATION]: 'shared' },
          },
        } as AutomationObject);
      const notGranted = (namespace: string) =>
        `namespace '${namespace}' is not granted to entity ${A} (imageAutomation.tenancy.namespaces)`;
      const copying = (name: string, namespace: string, from: string) => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace,
          annotations: { 'fluxcd.controlplane.io/copyFrom': from },
        },
      });
      const exists = async (kind: string, namespace: string, name: string) =>
        (await client.get({ apiVersion: 'v1', kind, namespace, name })) !==
        undefined;

      beforeAll(async () => {
        // The test bed's namespaces team-a and team-b exist from the start.
        await kube.kubectl([
          'create',
          'secret',
          'generic',
          'b-db',
          '-n',
          'team-b',
          `--from-literal=password=${SECRET_VALUE}`,
        ]);
        await kube.kubectl([
          'create',
          'configmap',
          'b-ready',
          '-n',
          'team-b',
          '--from-literal=ok=yes',
        ]);
        // Both entities may target the cluster, which allows every namespace: only the grants
        // keep them apart.
        policies.set('shared', {
          allowedNamespaces: ['*'],
          allowedKinds: ['*'],
          allowedClusterScopedKinds: ['Namespace'],
          allowedEntities: [A, B],
        });
      });

      it("refuses entity A's writes, copyFrom, dependsOn and Namespace objects in team-b; entity B applies there", async () => {
        await declareFor(
          A,
          ['team-a'],
          [
            tenantSet('team-a', 'a-write', {
              resources: [cm('a-own', 'team-a'), cm('a-into-b', 'team-b')],
            }),
            tenantSet('team-a', 'a-copy', {
              resources: [copying('a-stolen', 'team-a', 'team-b/b-db')],
            }),
            tenantSet('team-a', 'a-depends', {
              dependsOn: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  name: 'b-ready',
                  namespace: 'team-b',
                  ready: true,
                },
              ],
              resources: [cm('a-depends', 'team-a')],
            }),
            tenantSet('team-a', 'a-depends-ns', {
              dependsOn: [
                {
                  apiVersion: 'v1',
                  kind: 'Namespace',
                  name: 'team-b',
                  ready: true,
                  readyExpr: 'true',
                },
              ],
              resources: [cm('a-depends-ns', 'team-a')],
            }),
            tenantSet('team-a', 'a-namespace', {
              resources: [
                {
                  apiVersion: 'v1',
                  kind: 'Namespace',
                  metadata: { name: 'team-b' },
                },
                cm('a-ns-cm', 'team-a'),
              ],
            }),
            tenantSet('team-a', 'a-legit', {
              resources: [cm('a-legit', 'team-a')],
            }),
          ],
        );
        await declareFor(
          B,
          ['team-b'],
          [
            tenantSet('team-b', 'b-apply', {
              dependsOn: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  name: 'b-ready',
                  namespace: 'team-b',
                  ready: true,
                },
              ],
              resources: [
                cm('b-own', 'team-b'),
                copying('b-copy', 'team-b', 'team-b/b-db'),
              ],
            }),
          ],
        );
        const [write, copy, depends, dependsNs, namespace, legit, neighbour] =
          await reconcile(
            'ResourceSet/team-a/a-write',
            'ResourceSet/team-a/a-copy',
            'ResourceSet/team-a/a-depends',
            'ResourceSet/team-a/a-depends-ns',
            'ResourceSet/team-a/a-namespace',
            'ResourceSet/team-a/a-legit',
            'ResourceSet/team-b/b-apply',
          );

        // Apply: the whole set is refused, nothing of it written (not even its team-a object).
        expect(ready(write.status)).toMatchObject({
          status: 'False',
          reason: 'ReconciliationFailed',
          message: `ConfigMap/team-b/a-into-b refused: ${notGranted('team-b')}`,
        });
        expect(await configMapNames('team-b', 'a-write')).toEqual([]);
        expect(await configMapNames('team-a', 'a-write')).toEqual([]);
        // copyFrom: the source in team-b is not read, the Secret not written, the value never shown.
        expect(ready(copy.status)).toMatchObject({
          status: 'False',
          reason: 'ReconciliationFailed',
          message: `Secret/team-a/a-stolen: fluxcd.controlplane.io/copyFrom source Secret/team-b/b-db refused: ${notGranted(
            'team-b',
          )}`,
        });
        expect(await exists('Secret', 'team-a', 'a-stolen')).toBe(false);
        expect(shown(copy)).not.toContain(
          Buffer.from(SECRET_VALUE).toString('base64'),
        );
        expect(shown(copy)).not.toContain(SECRET_VALUE);
        // dependsOn into team-b: refused before anything is read.
        expect(stalled(depends.status)).toMatchObject({
          reason: 'AccessDenied',
          message: expect.stringContaining(
            `namespace 'team-b' is not granted to ${A}`,
          ),
        });
        expect(stalled(dependsNs.status)).toMatchObject({
          reason: 'DependencyRefused',
          message: `dependency v1/Namespace/team-b refused on cluster 'shared': ${notGranted(
            'team-b',
          )}`,
        });
        expect(await configMapNames('team-a', 'a-depends')).toEqual([]);
        expect(await configMapNames('team-a', 'a-depends-ns')).toEqual([]);
        // A Namespace object is cluster-scoped, but only a granted one may be applied.
        expect(ready(namespace.status)).toMatchObject({
          status: 'False',
          message: `Namespace/team-b refused: ${notGranted('team-b')}`,
        });
        const teamB = await client.get({
          apiVersion: 'v1',
          kind: 'Namespace',
          name: 'team-b',
        });
        expect(teamB?.metadata.labels?.[`${OWNER}/name`]).toBeUndefined();
        expect(await configMapNames('team-a', 'a-namespace')).toEqual([]);

        // The same entity's legitimate set, and the neighbour entity in team-b, apply.
        expect(ready(legit.status)?.status).toBe('True');
        expect(await configMapNames('team-a', 'a-legit')).toEqual(['a-legit']);
        expect(ready(neighbour.status)).toMatchObject({
          status: 'True',
          reason: 'ReconciliationSucceeded',
        });
        expect(await configMapNames('team-b', 'b-apply')).toEqual(['b-own']);
        expect(await exists('Secret', 'team-b', 'b-copy')).toBe(true);

        // A dry run (promotion preview) of A's set is refused the same way.
        await expect(
          reconciler.preview(write, 'shared', 'none', {
            revision: 'none',
          } as never),
        ).rejects.toThrow(
          `ConfigMap/team-b/a-into-b refused: ${notGranted('team-b')}`,
        );
      });

      it('does not prune an object in a namespace no longer granted to the entity, and says so', async () => {
        // Entity A was granted team-b once, and applied there.
        await declareFor(
          A,
          ['team-a', 'team-b'],
          [
            tenantSet('team-a', 'a-shift', {
              resources: [
                cm('shift-a', 'team-a'),
                cm('shift-b', 'team-b'),
                cm('shift-gone', 'team-a'),
              ],
            }),
          ],
        );
        const [first] = await reconcile('ResourceSet/team-a/a-shift');
        expect(ready(first.status)?.status).toBe('True');
        expect(await configMapNames('team-b', 'a-shift')).toEqual(['shift-b']);

        // team-b is given to entity B only; A's set drops its team-b object (and one in team-a).
        await declareFor(
          A,
          ['team-a'],
          [
            tenantSet('team-a', 'a-shift', {
              resources: [cm('shift-a', 'team-a')],
            }),
          ],
        );
        const [second] = await reconcile('ResourceSet/team-a/a-shift');
        expect(ready(second.status)).toMatchObject({
          status: 'False',
          reason: 'PruneRefused',
          message: `applied, but pruning was refused by the cluster's policy: ConfigMap/team-b/shift-b left in place, not pruned: ${notGranted(
            'team-b',
          )}`,
        });
        expect(await configMapNames('team-b', 'a-shift')).toEqual(['shift-b']);
        expect(await configMapNames('team-a', 'a-shift')).toEqual(['shift-a']);

        // Nor when A's set is deleted (its last inventory no longer holds the team-b object).
        await objects.syncSource(`catalog:${A}`, []);
        await reconciler.uninstallDeleted();
        expect(await configMapNames('team-b', 'a-shift')).toEqual(['shift-b']);
        expect(await configMapNames('team-a', 'a-shift')).toEqual([]);
      });
    });
  });

  it('retries while the API server is down, keeps the inventory, and uninstalls a deleted ResourceSet', async () => {
    await declare('lifecycle', [
      resourceSet('lifecycle', {
        inputs: [{ tenant: 'life', replicas: 1 }],
        resources: [tenantConfigMap],
      }),
    ]);
    await reconcile('ResourceSet/rset-a/lifecycle');
    expect(await configMapNames('rset-a', 'lifecycle')).toEqual(['cm-life']);

    await declare('lifecycle', [
      resourceSet('lifecycle', {
        inputs: [
          { tenant: 'life', replicas: 1 },
          { tenant: 'more', replicas: 2 },
        ],
        resources: [tenantConfigMap],
      }),
    ]);
    await kube.stopApiServer();
    try {
      await objects.markDue(['ResourceSet/rset-a/lifecycle'], new Date());
      await engine.runPass();
      const down = (await objects.get('ResourceSet/rset-a/lifecycle'))!;
      expect(ready(down.status)).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
      });
      expect(
        new Date(down.nextRunAt).getTime() -
          new Date(down.lastRunAt!).getTime(),
      ).toBe(10_000);
      const record = await inventories.get(
        'ResourceSet/rset-a/lifecycle',
        'testbed',
      );
      expect(record?.state).toBe('failed');
      expect(record?.entries.map(e => e.id)).toEqual([
        'rset-a_cm-life__ConfigMap',
        'rset-a_cm-more__ConfigMap',
      ]);
    } finally {
      await kube.startApiServer();
    }
    const [recovered] = await reconcile('ResourceSet/rset-a/lifecycle');
    expect(ready(recovered.status)?.status).toBe('True');
    expect(await configMapNames('rset-a', 'lifecycle')).toEqual([
      'cm-life',
      'cm-more',
    ]);

    // Removed from its source: the next sweep deletes what it applied (in reverse apply order, as
    // Flux deletes) and forgets the inventory.
    await declare('lifecycle', []);
    const swept = await reconciler.uninstallDeleted();
    expect(swept).toContainEqual({
      owner: 'ResourceSet/rset-a/lifecycle',
      changes: [
        'ConfigMap/rset-a/cm-more deleted',
        'ConfigMap/rset-a/cm-life deleted',
      ],
    });
    expect(await configMapNames('rset-a', 'lifecycle')).toEqual([]);
    expect(
      await inventories.get('ResourceSet/rset-a/lifecycle', 'testbed'),
    ).toBeUndefined();
  });
});
