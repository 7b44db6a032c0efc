import knexFactory, { Knex } from 'knex';
import {
  ApplyConflictError,
  ApplyError,
  classifyApplyFailure,
  ClusterDetails,
  ClusterUnreachableError,
  dependencyRefusal,
  InventoryApplier,
  KubeApiError,
  KubeClient,
  KubernetesObject,
  readObjectReadiness,
  ServerSideApplier,
} from '@imageops/backstage-plugin-image-automation-backend/src/kubernetes';
import { DatabaseInventoryStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseInventoryStore';
import {
  readAuditLog,
  startKubernetes,
  TestKubernetes,
} from '../testbed/kube/kubernetes';

// Tests against a real kube-apiserver and etcd with the Flux CRDs installed (test/testbed/kube).
// The binaries are built on first use (build.sh), hence the long beforeAll.
jest.setTimeout(120_000);

let kube: TestKubernetes;
let knex: Knex;
let store: DatabaseInventoryStore;

const OWNER_LABELS = {
  'resourceset.fluxcd.controlplane.io/name': 'apps',
  'resourceset.fluxcd.controlplane.io/namespace': 'flux-system',
};
const settings = {
  fieldManager: 'image-automation',
  force: false,
  concurrency: 8,
  clusters: [],
};

function adminCluster(overrides: Partial<ClusterDetails> = {}): ClusterDetails {
  return {
    name: 'testbed',
    url: kube.url,
    source: 'config',
    auth: { type: 'serviceAccount', token: kube.admin.token },
    caData: kube.caData,
    // Everything, explicitly: empty or missing policy lists allow nothing.
    writePolicy: {
      allowedNamespaces: ['*'],
      allowedKinds: ['*'],
      allowedClusterScopedKinds: ['*'],
      allowedEntities: ['*'],
    },
    ...overrides,
  };
}

const configMap = (
  namespace: string,
  name: string,
  data: Record<string, string>,
  extra: Partial<KubernetesObject['metadata']> = {},
): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...extra },
  data,
});

const namespace = (name: string): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name },
});

const deployment = (
  ns: string,
  name: string,
  image: string,
): KubernetesObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name,
    namespace: ns,
    labels: { 'backstage.io/kubernetes-id': 'shop' },
  },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [{ name: 'app', image }],
        initContainers: [{ name: 'migrate', image: `${image}-migrate` }],
      },
    },
  },
});

const gitRepository = (
  ns: string,
  name: string,
  url: string,
  interval = '5m',
): KubernetesObject => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  metadata: { name, namespace: ns },
  spec: { url, interval, ref: { branch: 'main' } },
});

const kustomization = (ns: string, name: string): KubernetesObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace: ns },
  spec: {
    interval: '10m',
    path: './deploy',
    prune: true,
    sourceRef: { kind: 'GitRepository', name: 'repo' },
  },
});

/** Writes the API server received after `since` (dry runs excluded): the proof that nothing was written. */
async function writesSince(
  since: number,
  filter: (uri: string) => boolean = () => true,
) {
  const events = await readAuditLog(kube);
  return events
    .slice(since)
    .filter(e => !e.requestURI.includes('dryRun=All') && filter(e.requestURI));
}

async function kubeGet(
  client: KubeClient,
  apiVersion: string,
  kind: string,
  ns: string | undefined,
  name: string,
) {
  return client.get({ apiVersion, kind, namespace: ns, name });
}

beforeAll(async () => {
  kube = await startKubernetes();
  knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  store = await DatabaseInventoryStore.create({ knex });
}, 45 * 60_000);

afterAll(async () => {
  await knex?.destroy();
  await kube?.stop();
});

describe('InventoryApplier against kube-apiserver', () => {
  it('applies, re-applies without writing, changes and prunes, keeping the inventory', async () => {
    const applier = new InventoryApplier(store, settings);
    const owner = 'ResourceSet/flux-system/apps';
    const v1 = [
      deployment('apps', 'web', 'ghcr.io/acme/web:1.0.0'),
      configMap('apps', 'cm-b', { k: 'b' }),
      configMap('apps', 'cm-a', { k: 'a' }),
      configMap(
        'apps',
        'kept',
        { k: 'kept' },
        { annotations: { 'fluxcd.controlplane.io/prune': 'disabled' } },
      ),
      kustomization('apps', 'ks'),
      gitRepository('apps', 'repo', 'https://github.com/acme/apps'),
      namespace('apps'),
    ];

    const first = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: v1 }],
      ownerLabels: OWNER_LABELS,
    });
    expect(first.changes.map(c => `${c.subject} ${c.action}`)).toEqual([
      'Namespace/apps created',
      'ConfigMap/apps/cm-a created',
      'ConfigMap/apps/cm-b created',
      'ConfigMap/apps/kept created',
      'Deployment/apps/web created',
      'Kustomization/apps/ks created',
      'GitRepository/apps/repo created',
    ]);
    const inventory = await store.get(owner, 'testbed');
    expect(inventory).toMatchObject({
      state: 'applied',
      lastAppliedRevision: first.revision,
    });
    expect(inventory!.entries).toContainEqual({
      id: 'apps_web_apps_Deployment',
      v: 'v1',
    });
    expect(inventory!.entries).toContainEqual({
      id: '_apps__Namespace',
      v: 'v1',
    });
    expect(inventory!.entries).toHaveLength(7);
    // In apply order (as the Flux Operator records its change sets), not in the order given.
    expect(inventory!.entries.map(e => e.id)).toEqual([
      '_apps__Namespace',
      'apps_cm-a__ConfigMap',
      'apps_cm-b__ConfigMap',
      'apps_kept__ConfigMap',
      'apps_web_apps_Deployment',
      'apps_ks_kustomize.toolkit.fluxcd.io_Kustomization',
      'apps_repo_source.toolkit.fluxcd.io_GitRepository',
    ]);
    expect(first.inventory).toEqual(inventory!.entries);

    const client = await KubeClient.forCluster(adminCluster());
    const cm = await kubeGet(client, 'v1', 'ConfigMap', 'apps', 'cm-a');
    expect(cm?.metadata.labels).toEqual(OWNER_LABELS);
    const managers = (cm?.metadata.managedFields as any[]).map(
      m => `${m.manager}:${m.operation}`,
    );
    expect(managers).toEqual(['image-automation:Apply']);

    // Unchanged: dry runs only, not one write reaches the API server.
    const before = (await readAuditLog(kube)).length;
    const second = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: v1 }],
      ownerLabels: OWNER_LABELS,
    });
    expect(second.changes.every(c => c.action === 'unchanged')).toBe(true);
    expect(second.revision).toBe(first.revision);
    expect(await writesSince(before)).toEqual([]);
    expect(
      (await kubeGet(client, 'v1', 'ConfigMap', 'apps', 'cm-a'))?.metadata
        .resourceVersion,
    ).toBe(cm?.metadata.resourceVersion);

    // Changed: one object configured, three left the set. The Kustomization goes first (Flux's
    // prune phases), the rest in reverse apply order; `prune: disabled` keeps its object.
    const v2 = [
      namespace('apps'),
      configMap('apps', 'cm-a', { k: 'a2' }),
      deployment('apps', 'web', 'ghcr.io/acme/web:1.1.0'),
      gitRepository('apps', 'repo', 'https://github.com/acme/apps'),
    ];
    const mark = (await readAuditLog(kube)).length;
    const third = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: v2 }],
      ownerLabels: OWNER_LABELS,
    });
    expect(third.changes.map(c => `${c.subject} ${c.action}`)).toEqual([
      'Namespace/apps unchanged',
      'ConfigMap/apps/cm-a configured',
      'Deployment/apps/web configured',
      'GitRepository/apps/repo unchanged',
      'Kustomization/apps/ks deleted',
      'ConfigMap/apps/kept skipped',
      'ConfigMap/apps/cm-b deleted',
    ]);
    const deletes = (await writesSince(mark))
      .filter(e => e.verb === 'delete')
      .map(e => e.objectRef?.name);
    expect(deletes).toEqual(['ks', 'cm-b']);
    expect(
      await kubeGet(client, 'v1', 'ConfigMap', 'apps', 'cm-b'),
    ).toBeUndefined();
    expect(
      await kubeGet(
        client,
        'kustomize.toolkit.fluxcd.io/v1',
        'Kustomization',
        'apps',
        'ks',
      ),
    ).toBeUndefined();
    expect(
      (await kubeGet(client, 'v1', 'ConfigMap', 'apps', 'kept'))?.data,
    ).toEqual({ k: 'kept' });
    expect(
      (await kubeGet(client, 'v1', 'ConfigMap', 'apps', 'cm-a'))?.data,
    ).toEqual({ k: 'a2' });
    expect(
      (await store.get(owner, 'testbed'))!.entries.map(e => e.id).sort(),
    ).toEqual([
      '_apps__Namespace',
      'apps_cm-a__ConfigMap',
      'apps_repo_source.toolkit.fluxcd.io_GitRepository',
      'apps_web_apps_Deployment',
    ]);

    // An object someone else relabelled is not ours any more: pruning leaves it alone.
    await kube.kubectl([
      'label',
      'configmap',
      '-n',
      'apps',
      'cm-a',
      'resourceset.fluxcd.controlplane.io/name-',
    ]);
    const fourth = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: [namespace('apps')] }],
      ownerLabels: OWNER_LABELS,
    });
    expect(
      fourth.changes.find(c => c.subject === 'ConfigMap/apps/cm-a')?.action,
    ).toBe('skipped');
    expect(
      await kubeGet(client, 'v1', 'ConfigMap', 'apps', 'cm-a'),
    ).toBeDefined();
    expect(
      await kubeGet(client, 'apps/v1', 'Deployment', 'apps', 'web'),
    ).toBeUndefined();

    // Uninstall: everything left in the inventory goes, then the inventory.
    const removed = await applier.uninstall({
      owner,
      cluster: adminCluster(),
      ownerLabels: OWNER_LABELS,
    });
    expect(removed.map(c => `${c.subject} ${c.action}`)).toEqual([
      'Namespace/apps deleted',
    ]);
    expect(await store.get(owner, 'testbed')).toBeUndefined();
    client.close();
  });

  it('dry-runs a diff: created / configured / unchanged, and writes nothing', async () => {
    const applier = new InventoryApplier(store, settings);
    const owner = 'ResourceSet/flux-system/diff';
    await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [
        {
          objects: [
            namespace('diff'),
            configMap('diff', 'same', { k: '1' }),
            configMap('diff', 'changing', { k: '1' }),
          ],
        },
      ],
      ownerLabels: OWNER_LABELS,
    });
    const stored = await store.get(owner, 'testbed');
    const mark = (await readAuditLog(kube)).length;
    const diff = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [
        {
          objects: [
            namespace('diff'),
            configMap('diff', 'same', { k: '1' }),
            configMap('diff', 'changing', { k: '2' }),
            configMap('diff', 'new', { k: '1' }),
          ],
        },
      ],
      ownerLabels: OWNER_LABELS,
      dryRun: true,
    });
    expect(diff.changes.map(c => `${c.subject} ${c.action}`)).toEqual([
      'Namespace/diff unchanged',
      'ConfigMap/diff/changing configured',
      'ConfigMap/diff/new created',
      'ConfigMap/diff/same unchanged',
    ]);
    expect(await writesSince(mark)).toEqual([]);
    expect(await store.get(owner, 'testbed')).toEqual(stored);

    // A dry run also previews pruning, without deleting.
    const prunePreview = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [
        { objects: [namespace('diff'), configMap('diff', 'same', { k: '1' })] },
      ],
      ownerLabels: OWNER_LABELS,
      dryRun: true,
    });
    expect(
      prunePreview.changes
        .filter(c => c.action === 'deleted')
        .map(c => c.subject),
    ).toEqual(['ConfigMap/diff/changing']);
    expect(await writesSince(mark)).toEqual([]);
  });

  it('answers 403 for the restricted user with a message naming object, cluster and user', async () => {
    const restricted = adminCluster({
      name: 'restricted',
      auth: { type: 'serviceAccount', token: kube.restricted.token },
    });
    const client = await KubeClient.forCluster(restricted);
    const applier = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
    });
    expect(
      (await applier.applyOne(configMap('team-a', 'allowed', { k: 'v' })))
        .action,
    ).toBe('created');
    const denied = await applier
      .applyOne(configMap('team-b', 'denied', { k: 'v' }))
      .catch(e => e);
    expect(denied).toBeInstanceOf(KubeApiError);
    expect(denied.statusCode).toBe(403);
    expect(denied.message).toMatch(
      /^ConfigMap\/team-b\/denied forbidden on cluster 'restricted': configmaps "denied" is forbidden: User "restricted" cannot get resource "configmaps" in API group "" in the namespace "team-b"/,
    );
    expect(classifyApplyFailure(denied)).toMatchObject({
      kind: 'Forbidden',
      retrySoon: false,
    });
    // The staged path lists first; a forbidden list falls back to reading each object, with the same answer.
    const staged = await applier
      .applyAllStaged([
        configMap('team-b', 'one', { k: 'v' }),
        configMap('team-b', 'two', { k: 'v' }),
      ])
      .catch(e => e);
    expect(staged).toBeInstanceOf(ApplyError);
    expect(staged.message.split('\n')).toEqual([
      expect.stringMatching(
        /^ConfigMap\/team-b\/one forbidden on cluster 'restricted': .*User "restricted" cannot get resource "configmaps"/,
      ),
      expect.stringMatching(
        /^ConfigMap\/team-b\/two forbidden on cluster 'restricted': .*User "restricted" cannot get resource "configmaps"/,
      ),
    ]);
    // In its own namespace the restricted user's staged apply works, listing included.
    expect(
      (
        await applier.applyAllStaged([
          configMap('team-a', 'one', { k: 'v' }),
          configMap('team-a', 'two', { k: 'v' }),
        ])
      ).map(c => c.action),
    ).toEqual(['created', 'created']);
    client.close();
  });

  it('impersonates the ResourceSet service account, whose RBAC then decides', async () => {
    const applier = new InventoryApplier(store, settings);
    const error = await applier
      .apply({
        owner: 'ResourceSet/team-a/sa',
        cluster: adminCluster(),
        steps: [{ objects: [configMap('team-a', 'as-sa', { k: 'v' })] }],
        ownerLabels: OWNER_LABELS,
        serviceAccount: { namespace: 'team-a', name: 'deployer' },
      })
      .catch(e => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect(error.message).toContain(
      'User "system:serviceaccount:team-a:deployer" cannot get resource "configmaps"',
    );
    expect(await store.get('ResourceSet/team-a/sa', 'testbed')).toMatchObject({
      state: 'failed',
      message: error.message,
    });

    await kube.kubectl([
      'create',
      'rolebinding',
      'deployer',
      '-n',
      'team-a',
      '--role=automation',
      '--serviceaccount=team-a:deployer',
    ]);
    const result = await applier.apply({
      owner: 'ResourceSet/team-a/sa',
      cluster: adminCluster(),
      steps: [{ objects: [configMap('team-a', 'as-sa', { k: 'v' })] }],
      ownerLabels: OWNER_LABELS,
      serviceAccount: { namespace: 'team-a', name: 'deployer' },
    });
    expect(result.changes.map(c => c.action)).toEqual(['created']);
  });

  it('says which object lacks a namespace', async () => {
    const client = await KubeClient.forCluster(adminCluster());
    const applier = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
    });
    const noNamespace = (name: string): KubernetesObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: {},
    });
    const error = await applier
      .applyAllStaged([noNamespace('a'), noNamespace('b')])
      .catch(e => e);
    expect(error.message.split('\n')).toEqual([
      // Refused by the write policy check before anything is sent.
      'ConfigMap/a refused: ConfigMap is namespaced but the object has no namespace',
      'ConfigMap/b refused: ConfigMap is namespaced but the object has no namespace',
    ]);
    client.close();
  });

  it('authenticates with a client certificate', async () => {
    const cluster = adminCluster({
      name: 'mtls',
      auth: {
        type: 'clientCertificate',
        certData: kube.certificates.clientCert,
        keyData: kube.certificates.clientKey,
      },
    });
    const client = await KubeClient.forCluster(cluster);
    const applier = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
    });
    expect(
      (await applier.applyOne(configMap('team-b', 'mtls', { k: 'v' }))).action,
    ).toBe('created');
    client.close();
  });

  it('refuses objects outside the cluster allow-list before writing anything', async () => {
    const applier = new InventoryApplier(store, settings);
    const mark = (await readAuditLog(kube)).length;
    const error = await applier
      .apply({
        owner: 'ResourceSet/team-a/limited',
        cluster: adminCluster({
          writePolicy: {
            allowedNamespaces: ['team-a'],
            allowedKinds: ['ConfigMap'],
          },
        }),
        steps: [
          {
            objects: [
              configMap('team-a', 'ok', { k: 'v' }),
              configMap('team-b', 'no', { k: 'v' }),
              gitRepository('team-a', 'no', 'https://x'),
            ],
          },
        ],
        ownerLabels: OWNER_LABELS,
      })
      .catch(e => e);
    expect(error.message.split('\n')).toEqual([
      "ConfigMap/team-b/no refused: namespace 'team-b' is not in the allowedNamespaces of cluster 'testbed'",
      "GitRepository/team-a/no refused: kind source.toolkit.fluxcd.io/GitRepository is not in the allowedKinds of cluster 'testbed'",
    ]);
    expect(await writesSince(mark)).toEqual([]);
  });

  it('ends a conflict with another field manager in a clear error, and forces only when configured', async () => {
    await kube.kubectl(
      ['apply', '--server-side', '--field-manager=platform-team', '-f', '-'],
      JSON.stringify(configMap('team-a', 'shared', { owner: 'platform' })),
    );
    const client = await KubeClient.forCluster(adminCluster());
    const polite = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
    });
    const conflict = await polite
      .applyOne(configMap('team-a', 'shared', { owner: 'automation' }))
      .catch(e => e);
    expect(conflict).toBeInstanceOf(ApplyConflictError);
    expect(conflict.conflicts).toEqual([
      { manager: 'platform-team', field: '.data.owner' },
    ]);
    expect(classifyApplyFailure(conflict)).toMatchObject({
      kind: 'Conflict',
      retrySoon: false,
    });
    expect(conflict.message).toBe(
      'ConfigMap/team-a/shared apply conflict: field manager "image-automation" would change .data.owner (owned by "platform-team"); set force in imageAutomation.kubernetes (or for this cluster) to take these fields over',
    );
    expect(
      (await kubeGet(client, 'v1', 'ConfigMap', 'team-a', 'shared'))?.data,
    ).toEqual({ owner: 'platform' });

    const forcing = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: true,
    });
    expect(
      (
        await forcing.applyOne(
          configMap('team-a', 'shared', { owner: 'automation' }),
        )
      ).action,
    ).toBe('configured');
    expect(
      (await kubeGet(client, 'v1', 'ConfigMap', 'team-a', 'shared'))?.data,
    ).toEqual({ owner: 'automation' });
    client.close();
  });

  it('re-creates an object on an immutable-field change only when force is enabled', async () => {
    const client = await KubeClient.forCluster(adminCluster());
    const applier = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
    });
    const frozen = (
      value: string,
      annotations?: Record<string, string>,
    ): KubernetesObject => ({
      ...configMap(
        'team-a',
        'frozen',
        { k: value },
        annotations ? { annotations } : {},
      ),
      immutable: true,
    });
    expect((await applier.applyOne(frozen('1'))).action).toBe('created');
    const refused = await applier.applyOne(frozen('2')).catch(e => e);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect(refused.message).toMatch(
      /^ConfigMap\/team-a\/frozen invalid: .*field is immutable/,
    );
    const uid = (await kubeGet(client, 'v1', 'ConfigMap', 'team-a', 'frozen'))
      ?.metadata.uid;

    expect(
      (
        await applier.applyOne(
          frozen('2', { 'fluxcd.controlplane.io/force': 'enabled' }),
        )
      ).action,
    ).toBe('configured');
    const recreated = await kubeGet(
      client,
      'v1',
      'ConfigMap',
      'team-a',
      'frozen',
    );
    expect(recreated?.data).toEqual({ k: '2' });
    expect(recreated?.metadata.uid).not.toBe(uid);

    const forcing = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
      recreateImmutable: true,
    });
    expect((await forcing.applyOne(frozen('3'))).action).toBe('configured');
    expect(
      (await kubeGet(client, 'v1', 'ConfigMap', 'team-a', 'frozen'))?.data,
    ).toEqual({ k: '3' });
    client.close();
  });

  it('surfaces a CRD schema violation with its field path', async () => {
    const client = await KubeClient.forCluster(adminCluster());
    const applier = new ServerSideApplier(client, {
      fieldManager: 'image-automation',
      force: false,
    });
    const invalid = await applier
      .applyOne(
        gitRepository('team-a', 'bad', 'ftp://example.com/repo', 'soon'),
      )
      .catch(e => e);
    expect(invalid).toBeInstanceOf(KubeApiError);
    expect(invalid.statusCode).toBe(422);
    expect(invalid.message).toMatch(
      /^GitRepository\/team-a\/bad invalid: GitRepository.source.toolkit.fluxcd.io "bad" is invalid: /,
    );
    expect(invalid.message).toContain(
      'spec.url: Invalid value: "ftp://example.com/repo"',
    );
    expect(invalid.message).toContain('spec.interval: Invalid value: "soon"');
    expect(
      invalid.causes.map((c: { field: string }) => c.field).sort(),
    ).toEqual(['spec.interval', 'spec.url']);
    expect(classifyApplyFailure(invalid)).toMatchObject({
      kind: 'Invalid',
      retrySoon: false,
    });
    client.close();
  });

  it('applies a new CRD before its custom resources (staged), and dry-runs such a set', async () => {
    const crd: KubernetesObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: {
          kind: 'Widget',
          plural: 'widgets',
          singular: 'widget',
          listKind: 'WidgetList',
        },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: { size: { type: 'integer' } },
                  },
                },
              },
            },
          },
        ],
      },
    };
    const widget: KubernetesObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'team-a' },
      spec: { size: 3 },
    };
    const applier = new InventoryApplier(store, settings);
    const request = {
      owner: 'ResourceSet/team-a/widgets',
      cluster: adminCluster(),
      steps: [{ objects: [widget, crd] }],
      ownerLabels: OWNER_LABELS,
    };
    const preview = await applier.apply({ ...request, dryRun: true });
    expect(preview.changes.map(c => `${c.subject} ${c.action}`)).toEqual([
      'CustomResourceDefinition/widgets.example.com created',
      'Widget/team-a/w created',
    ]);
    const applied = await applier.apply(request);
    expect(applied.changes.map(c => `${c.subject} ${c.action}`)).toEqual(
      preview.changes.map(c => `${c.subject} ${c.action}`),
    );
    const client = await KubeClient.forCluster(adminCluster());
    expect(
      (await kubeGet(client, 'example.com/v1', 'Widget', 'team-a', 'w'))?.spec,
    ).toEqual({ size: 3 });
    client.close();
  });

  it('reads readiness for dependsOn and wait (only the API server runs: Deployments never become ready)', async () => {
    const client = await KubeClient.forCluster(adminCluster());
    await kube.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify(configMap('team-a', 'dep', { k: 'v' })),
    );
    // What a ResourceSet's dependsOn reads (engine/resourceSetDependencies.ts): the policy's
    // refusal first, then the object and its kstatus-like readiness.
    const dep = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'team-a',
      name: 'dep',
    };
    expect(await dependencyRefusal(client, dep)).toBeUndefined();
    expect(readObjectReadiness(await client.get(dep)).status).toBe('Current');
    expect(await client.get({ ...dep, name: 'missing' })).toBeUndefined();
    // Never a Secret, and only where the cluster's policy grants the kind and namespace.
    expect(
      await dependencyRefusal(client, {
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: 'team-a',
        name: 'any',
      }),
    ).toBe(
      'Secrets cannot be dependencies (their content is never read for readiness)',
    );
    const narrow = await KubeClient.forCluster(
      adminCluster({
        writePolicy: {
          allowedNamespaces: ['team-b'],
          allowedKinds: ['ConfigMap'],
        },
      }),
    );
    expect(await dependencyRefusal(narrow, dep)).toBe(
      "namespace 'team-a' is not in the allowedNamespaces of cluster 'testbed'",
    );
    narrow.close();
    const applier = new InventoryApplier(store, settings);
    const error = await applier
      .apply({
        owner: 'ResourceSet/team-a/wait',
        cluster: adminCluster(),
        steps: [
          {
            objects: [deployment('team-a', 'waits', 'ghcr.io/acme/web:1.0.0')],
          },
        ],
        ownerLabels: OWNER_LABELS,
        wait: true,
        timeoutMs: 1500,
      })
      .catch(e => e);
    expect(error.message).toBe(
      'health check failed: timeout waiting for Deployment/team-a/waits (InProgress: Deployment: 0/1 replicas ready, 0 updated)',
    );
    expect(
      readObjectReadiness(
        await client.get({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'team-a',
          name: 'waits',
        }),
      ),
    ).toEqual({
      status: 'InProgress',
      message: 'Deployment: 0/1 replicas ready, 0 updated',
    });
    client.close();
  });

  it('survives the API server going away mid-run: clear error, nothing lost, retried later', async () => {
    // Two requests at a time and a thousand objects: the run is still going when the server is killed.
    const applier = new InventoryApplier(store, {
      ...settings,
      concurrency: 2,
    });
    const owner = 'ResourceSet/flux-system/crash';
    const old = [namespace('crash'), configMap('crash', 'old', { k: 'v' })];
    const firstRun = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: old }],
      ownerLabels: OWNER_LABELS,
    });

    const many = Array.from({ length: 1000 }, (_, i) =>
      configMap('crash', `cm-${String(i).padStart(4, '0')}`, { i: String(i) }),
    );
    const desired = [namespace('crash'), ...many];
    const mark = (await readAuditLog(kube)).length;
    const running = applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: desired }],
      ownerLabels: OWNER_LABELS,
    });
    // Kill the API server once some of the set has been written.
    for (;;) {
      const written = (
        await writesSince(mark, uri =>
          uri.includes('/namespaces/crash/configmaps/'),
        )
      ).length;
      if (written >= 40) {
        break;
      }
      await new Promise(r => setTimeout(r, 20));
    }
    await kube.stopApiServer();
    const error = await running.catch(e => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect(error.cause).toBeInstanceOf(ClusterUnreachableError);
    // Requests in flight and requests after the kill fail differently (reset, refused): one line each.
    for (const line of error.message.split('\n')) {
      expect(line).toMatch(
        /^cluster 'testbed' \(https:\/\/127\.0\.0\.1:\d+\) is unreachable: .*; will retry$/,
      );
    }
    expect(classifyApplyFailure(error)).toMatchObject({
      kind: 'Unreachable',
      reason: 'ReconciliationFailed',
      retrySoon: true,
    });
    const failed = await store.get(owner, 'testbed');
    expect(failed?.state).toBe('failed');
    expect(failed?.lastAppliedRevision).toBe(firstRun.revision);
    // Old and new together: the old object is still to be pruned, every new one may exist.
    expect(failed?.entries).toHaveLength(1002);

    await kube.startApiServer();
    const retry = await applier.apply({
      owner,
      cluster: adminCluster(),
      steps: [{ objects: desired }],
      ownerLabels: OWNER_LABELS,
    });
    const actions = retry.changes.reduce<Record<string, number>>(
      (acc, c) => ({ ...acc, [c.action]: (acc[c.action] ?? 0) + 1 }),
      {},
    );
    expect(actions.unchanged).toBeGreaterThanOrEqual(41); // the namespace and what the first run wrote
    expect(actions.created).toBeGreaterThan(0);
    expect(actions.unchanged + actions.created).toBe(1001);
    expect(actions.deleted).toBe(1);
    const client = await KubeClient.forCluster(adminCluster());
    const list = await client.request(
      'GET',
      '/api/v1/namespaces/crash/configmaps',
      {
        query: {
          labelSelector: 'resourceset.fluxcd.controlplane.io/name=apps',
        },
      },
    );
    expect(
      list.items.map((i: KubernetesObject) => i.metadata.name).sort(),
    ).toEqual(many.map(m => m.metadata.name));
    expect(await store.get(owner, 'testbed')).toMatchObject({
      state: 'applied',
      lastAppliedRevision: retry.revision,
    });
    expect((await store.get(owner, 'testbed'))?.entries).toHaveLength(1001);
    client.close();
  });
});
