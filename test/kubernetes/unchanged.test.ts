import knexFactory, { Knex } from 'knex';
import {
  ClusterDetails,
  InventoryApplier,
  KubeClient,
  KubernetesObject,
} from '@imageops/backstage-plugin-image-automation-backend/src/kubernetes';
import { DatabaseInventoryStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseInventoryStore';
import {
  AuditEvent,
  readAuditLog,
  startKubernetes,
  TestKubernetes,
} from '../testbed/kube/kubernetes';

// Issue #16: an unchanged render whose objects still carry the resourceVersions recorded after the
// last apply is neither dry-run nor written; a moved resourceVersion (drift) goes through the full
// apply, which corrects it. Against a real kube-apiserver whose audit log records every write
// request, dry runs included (they are PATCHes with dryRun=All).
jest.setTimeout(120_000);

let kube: TestKubernetes;
let knex: Knex;
let store: DatabaseInventoryStore;
let client: KubeClient;

const NS = 'unchanged';
const OWNER = 'ResourceSet/flux-system/unchanged';
const OWNER_LABELS = {
  'resourceset.fluxcd.controlplane.io/name': 'unchanged',
  'resourceset.fluxcd.controlplane.io/namespace': 'flux-system',
};

function cluster(): ClusterDetails {
  return {
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
}

const configMap = (
  name: string,
  data: Record<string, string>,
): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: NS },
  data,
});

const secret = (name: string, token: string): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: NS },
  stringData: { token },
});

function render(version: string): KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    ...Array.from({ length: 5 }, (_, i) =>
      configMap(`cm-${i}`, { version, index: String(i) }),
    ),
    secret('token', `secret-${version}`),
  ];
}

/** Requests of the API server on our objects after audit event `since`: writes and dry runs. */
async function requestsSince(since: number) {
  const events = (await readAuditLog(kube)).slice(since);
  const ours = (e: AuditEvent) =>
    e.objectRef?.namespace === NS ||
    (e.objectRef?.resource === 'namespaces' && e.objectRef.name === NS);
  return {
    dryRuns: events.filter(e => ours(e) && e.requestURI.includes('dryRun=All')),
    writes: events.filter(e => ours(e) && !e.requestURI.includes('dryRun=All')),
  };
}

const mark = async () => (await readAuditLog(kube)).length;
const lines = (changes: Array<{ subject: string; action: string }>) =>
  changes
    .filter(c => c.action !== 'unchanged')
    .map(c => `${c.subject} ${c.action}`);

beforeAll(async () => {
  kube = await startKubernetes();
  knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  store = await DatabaseInventoryStore.create({ knex });
  client = await KubeClient.forCluster(cluster());
}, 45 * 60_000);

afterAll(async () => {
  client?.close();
  await knex?.destroy();
  await kube?.stop();
});

describe('InventoryApplier on an unchanged render', () => {
  // Force, so that drift written by another field manager can be taken back (without it SSA reports
  // a conflict, which is the subject of apply.test.ts).
  const applier = () =>
    new InventoryApplier(store, {
      fieldManager: 'image-automation',
      force: true,
      concurrency: 8,
      clusters: [],
    });
  const apply = (objects: KubernetesObject[], extra: { wait?: boolean } = {}) =>
    applier().apply({
      owner: OWNER,
      cluster: cluster(),
      steps: [{ objects }],
      ownerLabels: OWNER_LABELS,
      ...extra,
    });

  it('records the resourceVersions, then skips dry runs and writes while nothing moved', async () => {
    const first = await apply(render('1'));
    expect(lines(first.changes)).toHaveLength(7);
    const record = await store.get(OWNER, 'testbed');
    expect(record?.state).toBe('applied');
    const cm0 = await client.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: NS,
      name: 'cm-0',
    });
    expect(record?.appliedVersions?.versions[`${NS}_cm-0__ConfigMap`]).toBe(
      cm0?.metadata.resourceVersion,
    );
    expect(Object.keys(record!.appliedVersions!.versions).sort()).toEqual(
      record!.entries.map(e => e.id).sort(),
    );

    for (let cycle = 0; cycle < 2; cycle++) {
      const since = await mark();
      const again = await apply(render('1'));
      expect(again.revision).toBe(first.revision);
      expect(again.changes).toHaveLength(7);
      expect(again.changes.every(c => c.action === 'unchanged')).toBe(true);
      expect(again.inventory).toEqual(first.inventory);
      const { dryRuns, writes } = await requestsSince(since);
      expect(dryRuns).toEqual([]);
      expect(writes).toEqual([]);
    }
  });

  it('corrects an object someone else changed: its resourceVersion moved', async () => {
    const { revision } = await apply(render('1'));
    await kube.kubectl([
      'patch',
      'configmap',
      '-n',
      NS,
      'cm-2',
      '--type=merge',
      '-p',
      '{"data":{"version":"hand-edited"}}',
    ]);
    const since = await mark();
    const corrected = await apply(render('1'));
    expect(corrected.revision).toBe(revision);
    expect(lines(corrected.changes)).toEqual([
      `ConfigMap/${NS}/cm-2 configured`,
    ]);
    const { dryRuns, writes } = await requestsSince(since);
    // The full apply: every object dry-run again, the drifted one written.
    expect(dryRuns.length).toBeGreaterThanOrEqual(6);
    expect(writes.map(e => `${e.verb} ${e.objectRef?.name}`)).toEqual([
      'patch cm-2',
    ]);
    expect(
      (
        await client.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: NS,
          name: 'cm-2',
        })
      )?.data,
    ).toEqual({
      version: '1',
      index: '2',
    });

    // The versions recorded after the correction hold: the next cycle is quiet again.
    const quiet = await mark();
    expect(lines((await apply(render('1'))).changes)).toEqual([]);
    expect(await requestsSince(quiet)).toEqual({ dryRuns: [], writes: [] });
  });

  it('puts back an object that was deleted or lost its owner labels', async () => {
    await apply(render('1'));
    await kube.kubectl(['delete', 'secret', '-n', NS, 'token']);
    await kube.kubectl([
      'label',
      'configmap',
      '-n',
      NS,
      'cm-4',
      'resourceset.fluxcd.controlplane.io/name-',
    ]);
    const corrected = await apply(render('1'));
    expect(lines(corrected.changes).sort()).toEqual([
      `ConfigMap/${NS}/cm-4 configured`,
      `Secret/${NS}/token created`,
    ]);
    expect(
      (
        await client.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: NS,
          name: 'cm-4',
        })
      )?.metadata.labels,
    ).toEqual(OWNER_LABELS);
    expect(
      await client.get({
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: NS,
        name: 'token',
      }),
    ).toBeDefined();
    const quiet = await mark();
    expect(lines((await apply(render('1'))).changes)).toEqual([]);
    expect(await requestsSince(quiet)).toEqual({ dryRuns: [], writes: [] });
  });

  it('applies a changed render, and prunes what left it', async () => {
    await apply(render('1'));
    const next = render('2').filter(o => o.metadata.name !== 'cm-3');
    const since = await mark();
    const changed = await apply(next);
    expect(lines(changed.changes).sort()).toEqual(
      [
        ...[0, 1, 2, 4].map(i => `ConfigMap/${NS}/cm-${i} configured`),
        `ConfigMap/${NS}/cm-3 deleted`,
        `Secret/${NS}/token configured`,
      ].sort(),
    );
    const { writes } = await requestsSince(since);
    expect(
      writes.filter(e => e.verb === 'delete').map(e => e.objectRef?.name),
    ).toEqual(['cm-3']);
    const cm0 = await client.get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: NS,
      name: 'cm-0',
    });
    expect((cm0?.data as Record<string, string> | undefined)?.version).toBe(
      '2',
    );
    const record = await store.get(OWNER, 'testbed');
    expect(Object.keys(record!.appliedVersions!.versions)).not.toContain(
      `${NS}_cm-3__ConfigMap`,
    );
    const quiet = await mark();
    expect(lines((await apply(next)).changes)).toEqual([]);
    expect(await requestsSince(quiet)).toEqual({ dryRuns: [], writes: [] });
  });

  it('does not take the shortcut with other apply settings, nor after a failed apply', async () => {
    await apply(render('2'));
    // Another field manager: the recorded versions were not made by it, so everything is dry-run.
    const since = await mark();
    const other = new InventoryApplier(store, {
      fieldManager: 'someone-else',
      force: true,
      concurrency: 8,
      clusters: [],
    });
    await other.apply({
      owner: OWNER,
      cluster: cluster(),
      steps: [{ objects: render('2') }],
      ownerLabels: OWNER_LABELS,
    });
    expect((await requestsSince(since)).dryRuns.length).toBeGreaterThanOrEqual(
      7,
    );

    // A failed apply forgets the versions: the next one dry-runs everything again.
    await expect(
      apply([
        ...render('2'),
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'BAD NAME', namespace: NS },
        },
      ]),
    ).rejects.toThrow(/BAD NAME/);
    expect(
      (await store.get(OWNER, 'testbed'))?.appliedVersions,
    ).toBeUndefined();
    const after = await mark();
    await apply(render('2'));
    expect((await requestsSince(after)).dryRuns.length).toBeGreaterThanOrEqual(
      7,
    );
    expect((await store.get(OWNER, 'testbed'))?.appliedVersions).toBeDefined();
  });
});
