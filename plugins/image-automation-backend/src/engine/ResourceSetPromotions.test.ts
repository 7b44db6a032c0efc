import crypto from 'node:crypto';
import {
  mockCredentials,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  Condition,
  PROMOTION_ANNOTATIONS,
} from '@imageops/backstage-plugin-image-automation-common';
import { Knex } from 'knex';
import { freePort } from '@internal/image-automation-test/testbed/freePort';
import {
  readAuditLog,
  startKubernetes,
  TestKubernetes,
} from '@internal/image-automation-test/testbed/kube/kubernetes';
import { NamedCredentials } from '../credentials/NamedCredentials';
import {
  ClusterDetails,
  InventoryApplier,
  KubeClient,
  readPodImages,
} from '../kubernetes';
import { PromotionPlanner } from '../promotions/PromotionPlanner';
import { RegistryClient } from '../registry';
import { DefaultPromotionService } from '../service/DefaultPromotionService';
import { PromotionPreviewService } from '../service/PromotionPreviewService';
import { VersionsService } from '../service/VersionsService';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { PromotionRecord } from '../store/PromotionStore';
import { Engine } from './Engine';
import { ResourceSetInputProviderReconciler } from './ResourceSetInputProviderReconciler';
import {
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from './ResourceSetReconciler';

// Promotions of cluster targets end to end: the ResourceSet reconciler with the promotion planner,
// against a real kube-apiserver (test/testbed/kube), through the real engine, object, inventory,
// event and promotion stores (SQLite), and the promotion and preview services people act through.
// Inputs come from Static ResourceSetInputProviders whose default values carry a tag and a digest,
// as an OCIArtifactTag provider tracking one tag exports them: no registry is needed.
jest.setTimeout(180_000);

const NS = 'promo';
const ENGINE = 'image-automation';

const digestOf = (tag: string) =>
  `sha256:${crypto.createHash('sha256').update(`image ${tag}`).digest('hex')}`;

describe('ResourceSet promotions of cluster targets', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let events: DatabaseEventStore;
  let inventories: DatabaseInventoryStore;
  let promotions: DatabasePromotionStore;
  let reconciler: ResourceSetReconciler;
  let engine: Engine;
  let client: KubeClient;
  let service: DefaultPromotionService;
  let previews: PromotionPreviewService;
  let closedPort: number;
  const entityAnnotations = new Map<string, Record<string, string>>([
    ['component:default/web', {}],
    ['component:default/staging', {}],
    ['component:default/prod', {}],
  ]);

  const cluster = (
    overrides: Partial<ClusterDetails> = {},
  ): ClusterDetails => ({
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
  });

  beforeAll(async () => {
    kube = await startKubernetes();
    for (const namespace of [NS, 'promo-staging', 'promo-prod']) {
      await kube.kubectl(['create', 'namespace', namespace]);
    }
    // Nothing listens there: a cluster whose API server cannot be reached.
    closedPort = await freePort();
    knex = await databases.init('SQLITE_3');
    objects = await DatabaseObjectStore.create({ knex });
    events = await DatabaseEventStore.create({ knex, skipMigrations: true });
    inventories = await DatabaseInventoryStore.create({
      knex,
      skipMigrations: true,
    });
    promotions = await DatabasePromotionStore.create({
      knex,
      skipMigrations: true,
    });
    const lookup = async (ref: string) => entityAnnotations.get(ref);
    reconciler = new ResourceSetReconciler({
      objects,
      inventories,
      applier: new InventoryApplier(inventories, {
        fieldManager: 'image-automation',
        force: false,
        concurrency: 4,
        clusters: [],
      }),
      cluster: async name => {
        switch (name) {
          case 'testbed':
            return cluster();
          // Two clusters on the one API server of the test bed, each allowed one namespace.
          case 'staging':
            return cluster({
              name,
              writePolicy: {
                allowedNamespaces: ['promo-staging'],
                allowedKinds: ['*'],
                allowedEntities: ['*'],
              },
            });
          case 'prod':
            return cluster({
              name,
              writePolicy: {
                allowedNamespaces: ['promo-prod'],
                allowedKinds: ['*'],
                allowedEntities: ['*'],
              },
            });
          case 'down':
            return cluster({ name, url: `https://127.0.0.1:${closedPort}` });
          default:
            throw new Error(`unknown cluster '${name}'`);
        }
      },
      entityAnnotations: lookup,
      promotions: new PromotionPlanner({
        promotions,
        objects,
        entityAnnotations: lookup,
      }),
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
    service = new DefaultPromotionService({ promotions, objects, events });
    previews = new PromotionPreviewService({
      promotions,
      objects,
      permissions: mockServices.permissions({ result: AuthorizeResult.ALLOW }),
      automations: {
        preview: async () => {
          throw new Error('no Git targets in this test');
        },
      },
      resourceSets: reconciler,
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
      // ResourceSets made due by a provider's new revision run in the next pass
    }
    return Promise.all(ids.map(async id => (await objects.get(id))!));
  }

  const ready = (status: { conditions?: Condition[] }) =>
    status.conditions?.find(c => c.type === 'Ready');

  /** A Static provider exporting one input: the release's tag and digest and any extra values. */
  function provider(
    name: string,
    namespace: string,
    tag: string,
    extra: Record<string, string> = {},
  ): AutomationObject {
    return {
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSetInputProvider',
      metadata: { name, namespace },
      spec: {
        type: 'Static',
        defaultValues: { tag, digest: digestOf(tag), ...extra },
      },
    } as AutomationObject;
  }

  function resourceSet(
    name: string,
    namespace: string,
    options: {
      provider: string;
      annotations: Record<string, string>;
      resources?: unknown[];
      dependsOn?: unknown[];
      labels?: Record<string, string>;
    },
  ): AutomationObject {
    return {
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSet',
      metadata: {
        name,
        namespace,
        annotations: options.annotations,
        ...(options.labels ? { labels: options.labels } : {}),
      },
      spec: {
        inputsFrom: [
          { kind: 'ResourceSetInputProvider', name: options.provider },
        ],
        ...(options.dependsOn ? { dependsOn: options.dependsOn } : {}),
        resources: options.resources ?? [releaseConfigMap(name, namespace)],
      },
    } as AutomationObject;
  }

  /** `<name>-release` carrying the input's tag and digest. */
  function releaseConfigMap(name: string, namespace: string) {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-release`, namespace },
      data: { tag: '<< inputs.tag >>', digest: '<< inputs.digest >>' },
    };
  }

  const readObject = (kind: string, namespace: string, name: string) =>
    client.get({ apiVersion: 'v1', kind, namespace, name });
  const release = async (name: string, namespace = NS) =>
    (await readObject('ConfigMap', namespace, `${name}-release`))?.data as
      | Record<string, string>
      | undefined;

  /** The promotions of a target, newest first. */
  const promotionsOf = async (targetId: string) =>
    (await promotions.list({ targetId, limit: 100 })).items;
  const eventsOf = async (objectId: string) =>
    (await events.list(objectId, { limit: 200 })).items;
  const messagesOf = async (objectId: string, reason: string) =>
    (await eventsOf(objectId))
      .filter(e => e.reason === reason)
      .map(e => e.message);
  const steps = (record: PromotionRecord) =>
    record.history.map(s => [s.state, s.by, s.note]);

  /** Declares a provider at `tag` (its own source) and runs it, with the ResourceSets it makes due. */
  async function exportTag(
    name: string,
    tag: string,
    namespace = NS,
    extra: Record<string, string> = {},
  ) {
    await declare(`provider-${namespace}-${name}`, [
      provider(name, namespace, tag, extra),
    ]);
    const [exported] = await reconcile(
      `ResourceSetInputProvider/${namespace}/${name}`,
    );
    expect(exported.status.exportedInputs).toEqual([
      expect.objectContaining({ tag, digest: digestOf(tag) }),
    ]);
    return exported;
  }

  it('applies the first export at once, holds the next behind an approval, previews it without writing, and applies it once approved', async () => {
    const id = `ResourceSet/${NS}/web`;
    const subject = `ResourceSetInputProvider/${NS}/web-app`;
    const targetId = `cluster:${id}@testbed`;
    await exportTag('web-app', '1.0.0');
    await declare(
      'web',
      [
        resourceSet('web', NS, {
          provider: 'web-app',
          // The gate is there from the start: the first apply has nothing to hold and goes through.
          annotations: {
            [CLUSTERS_ANNOTATION]: 'testbed',
            [PROMOTION_ANNOTATIONS.approvals]: '1',
          },
        }),
      ],
      'component:default/web',
    );
    const [first] = await reconcile(id);
    expect(ready(first.status)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
    });
    expect(await release('web')).toEqual({
      tag: '1.0.0',
      digest: digestOf('1.0.0'),
    });
    const [initial, ...none] = await promotionsOf(targetId);
    expect(none).toEqual([]);
    expect(initial).toMatchObject({
      entityRef: 'component:default/web',
      target: {
        id: targetId,
        type: 'cluster',
        objectId: id,
        cluster: 'testbed',
      },
      subject,
      to: { tag: '1.0.0', digest: digestOf('1.0.0') },
      state: 'applied',
      appliedRevision: first.status.lastAppliedRevision,
      diff: `ConfigMap/${NS}/web-release created`,
      closedAt: first.lastRunAt,
    });
    expect(initial.from).toBeUndefined();
    const firstNote =
      'first apply to this target: nothing carried before, so nothing to hold';
    expect(steps(initial)).toEqual([
      ['pending', ENGINE, firstNote],
      ['approved', ENGINE, firstNote],
      ['applying', ENGINE, undefined],
      ['applied', ENGINE, `revision ${first.status.lastAppliedRevision}`],
    ]);
    expect(await messagesOf(id, 'PromotionApplied')).toEqual([
      `${subject} on ${targetId}: (nothing) → 1.0.0`,
    ]);

    // 1.1.0 is exported: the cluster keeps 1.0.0 until someone approves.
    await exportTag('web-app', '1.1.0');
    const held = (await objects.get(id))!;
    expect(ready(held.status)).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
    });
    expect(held.status.lastAppliedRevision).toBe(
      first.status.lastAppliedRevision,
    );
    expect(await release('web')).toEqual({
      tag: '1.0.0',
      digest: digestOf('1.0.0'),
    });
    const [pending] = await promotionsOf(targetId);
    expect(pending).toMatchObject({
      state: 'pending',
      from: { tag: '1.0.0', digest: digestOf('1.0.0') },
      to: { tag: '1.1.0', digest: digestOf('1.1.0') },
      gates: [
        {
          gate: 'approval',
          state: 'waiting',
          summary: 'approval 0/1',
          evidence: expect.objectContaining({
            required: 1,
            approvedBy: [],
            digest: digestOf('1.1.0'),
          }),
        },
      ],
    });
    expect(pending.eta).toBeUndefined();
    expect(pending.appliedRevision).toBeUndefined();
    expect(steps(pending)).toEqual([
      ['pending', ENGINE, `${subject} selected 1.1.0`],
    ]);
    expect(await messagesOf(id, 'PromotionCreated')).toEqual([
      `${subject} on ${targetId}: 1.0.0 → 1.1.0`,
    ]);
    expect(await messagesOf(id, 'PromotionWaiting')).toEqual([
      `${subject} on ${targetId}: 1.0.0 → 1.1.0 waits: approval 0/1`,
    ]);
    // Held, the next reconcile changes nothing: no second promotion, no new event.
    const eventCount = (await eventsOf(id)).length;
    await reconcile(id);
    expect((await promotionsOf(targetId)).map(p => p.id)).toEqual([
      pending.id,
      initial.id,
    ]);
    expect(await eventsOf(id)).toHaveLength(eventCount);

    // The preview: the server-side dry run of 1.1.0 against the cluster, which it leaves alone.
    const resourceVersion = (await readObject('ConfigMap', NS, 'web-release'))!
      .metadata.resourceVersion;
    const auditMark = (await readAuditLog(kube)).length;
    const preview = await previews.preview(pending.id, mockCredentials.user());
    expect(preview).toMatchObject({
      promotionId: pending.id,
      objects: [
        {
          cluster: 'testbed',
          object: `ConfigMap/${NS}/web-release`,
          action: 'configured',
        },
      ],
    });
    expect(preview.objects![0].diff).toMatch(/^\+ +tag: 1\.1\.0$/m);
    expect(preview.objects![0].diff).toMatch(/^- +tag: 1\.0\.0$/m);
    expect(preview.diff).toContain(`+  digest: ${digestOf('1.1.0')}`);
    expect(preview.diff).toContain(`-  digest: ${digestOf('1.0.0')}`);
    const previewWrites = (await readAuditLog(kube)).slice(auditMark);
    expect(previewWrites.length).toBeGreaterThan(0);
    for (const write of previewWrites) {
      expect(write.requestURI).toContain('dryRun=All');
    }
    expect(
      (await readObject('ConfigMap', NS, 'web-release'))!.metadata
        .resourceVersion,
    ).toBe(resourceVersion);
    expect(await release('web')).toEqual({
      tag: '1.0.0',
      digest: digestOf('1.0.0'),
    });
    // Stored with the promotion, which stays pending.
    const withPreview = (await promotions.get(pending.id))!;
    expect(withPreview.state).toBe('pending');
    expect(JSON.parse(withPreview.preview!)).toEqual(preview);
    // Reading a preview needs read permission on the entity.
    const denied = new PromotionPreviewService({
      promotions,
      objects,
      permissions: mockServices.permissions({ result: AuthorizeResult.DENY }),
      automations: { preview: async () => ({ diff: '' }) },
      resourceSets: reconciler,
    });
    await expect(
      denied.preview(pending.id, mockCredentials.user()),
    ).rejects.toThrow(NotAllowedError);

    // Approved: the next reconcile applies 1.1.0.
    await service.approve(pending.id, 'user:default/alice', 'looks good');
    expect(await messagesOf(id, 'PromotionVote')).toEqual([
      `user:default/alice approved ${subject} on ${targetId} (1.0.0 → 1.1.0)`,
    ]);
    expect((await objects.get(id))!.nextRunAt <= new Date().toISOString()).toBe(
      true,
    );
    const [approved] = await reconcile(id);
    expect(ready(approved.status)?.status).toBe('True');
    expect(await release('web')).toEqual({
      tag: '1.1.0',
      digest: digestOf('1.1.0'),
    });
    expect(approved.status.lastAppliedRevision).not.toBe(
      first.status.lastAppliedRevision,
    );
    const applied = (await promotions.get(pending.id))!;
    expect(applied).toMatchObject({
      state: 'applied',
      appliedRevision: approved.status.lastAppliedRevision,
      diff: `ConfigMap/${NS}/web-release configured`,
      closedAt: approved.lastRunAt,
      gates: [
        {
          gate: 'approval',
          state: 'passed',
          summary: 'approval 1/1',
          evidence: expect.objectContaining({
            approvedBy: ['user:default/alice'],
          }),
        },
      ],
    });
    expect(applied.error).toBeUndefined();
    expect(steps(applied)).toEqual([
      ['pending', ENGINE, `${subject} selected 1.1.0`],
      ['approved', ENGINE, 'every gate passed'],
      ['applying', ENGINE, undefined],
      ['applied', ENGINE, `revision ${approved.status.lastAppliedRevision}`],
    ]);
    expect(await messagesOf(id, 'PromotionApproved')).toEqual([
      `${subject} on ${targetId}: 1.0.0 → 1.1.0: every gate passed`,
    ]);
    expect(await messagesOf(id, 'PromotionApplied')).toEqual([
      `${subject} on ${targetId}: 1.0.0 → 1.1.0`,
      `${subject} on ${targetId}: (nothing) → 1.0.0`,
    ]);
    expect(await messagesOf(id, 'ApplySucceeded')).toContain(
      `ConfigMap/${NS}/web-release configured`,
    );
    // A decided promotion cannot be voted on again.
    await expect(
      service.approve(pending.id, 'user:default/bob'),
    ).rejects.toThrow(/it is applied/);
  });

  it('applies a new export on the next reconcile when there are no gates, as Flux does, and records it', async () => {
    const id = `ResourceSet/${NS}/plain`;
    const subject = `ResourceSetInputProvider/${NS}/plain-app`;
    const targetId = `cluster:${id}@testbed`;
    await exportTag('plain-app', '1.0.0');
    await declare(
      'plain',
      [
        resourceSet('plain', NS, {
          provider: 'plain-app',
          annotations: { [CLUSTERS_ANNOTATION]: 'testbed' },
        }),
      ],
      'component:default/web',
    );
    const [first] = await reconcile(id);
    expect(await release('plain')).toEqual({
      tag: '1.0.0',
      digest: digestOf('1.0.0'),
    });

    await exportTag('plain-app', '1.1.0');
    const second = (await objects.get(id))!;
    expect(ready(second.status)?.status).toBe('True');
    expect(await release('plain')).toEqual({
      tag: '1.1.0',
      digest: digestOf('1.1.0'),
    });
    const [promoted, initial] = await promotionsOf(targetId);
    expect(initial).toMatchObject({
      state: 'applied',
      to: { tag: '1.0.0' },
      appliedRevision: first.status.lastAppliedRevision,
    });
    expect(promoted).toMatchObject({
      state: 'applied',
      from: { tag: '1.0.0', digest: digestOf('1.0.0') },
      to: { tag: '1.1.0', digest: digestOf('1.1.0') },
      gates: [],
      appliedRevision: second.status.lastAppliedRevision,
      diff: `ConfigMap/${NS}/plain-release configured`,
    });
    expect(steps(promoted)).toEqual([
      ['pending', ENGINE, `${subject} selected 1.1.0`],
      [
        'approved',
        ENGINE,
        'no gates: carried out on the next pass, as Flux does',
      ],
      ['applying', ENGINE, undefined],
      ['applied', ENGINE, `revision ${second.status.lastAppliedRevision}`],
    ]);
    const reasons = (await eventsOf(id)).map(e => `${e.reason}: ${e.message}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        `PromotionCreated: ${subject} on ${targetId}: 1.0.0 → 1.1.0`,
        `PromotionApproved: ${subject} on ${targetId}: 1.0.0 → 1.1.0: no gates: carried out on the next pass, as Flux does`,
        `PromotionApplied: ${subject} on ${targetId}: 1.0.0 → 1.1.0`,
        `ApplySucceeded: ConfigMap/${NS}/plain-release configured`,
      ]),
    );
    expect(reasons.some(r => r.startsWith('PromotionWaiting'))).toBe(false);
  });

  it("holds prod until the upstream entity's cluster runs the same digest and its ResourceSet is Ready", async () => {
    const staging = 'ResourceSet/promo-staging/web';
    const prod = 'ResourceSet/promo-prod/web';
    const stagingTarget = `cluster:${staging}@staging`;
    const prodTarget = `cluster:${prod}@prod`;
    const prodSubject = 'ResourceSetInputProvider/promo-prod/web-app';
    const declareStaging = (dependsOn?: unknown[]) =>
      declare(
        'staging',
        [
          resourceSet('web', 'promo-staging', {
            provider: 'web-app',
            annotations: { [CLUSTERS_ANNOTATION]: 'staging' },
            dependsOn,
          }),
        ],
        'component:default/staging',
      );
    await exportTag('web-app', '1.0.0', 'promo-staging');
    await exportTag('web-app', '1.0.0', 'promo-prod');
    await declareStaging();
    await declare(
      'prod',
      [
        resourceSet('web', 'promo-prod', {
          provider: 'web-app',
          annotations: {
            [CLUSTERS_ANNOTATION]: 'prod',
            [PROMOTION_ANNOTATIONS.after]: 'component:default/staging',
          },
        }),
      ],
      'component:default/prod',
    );
    const [stagingFirst, prodFirst] = await reconcile(staging, prod);
    expect(ready(stagingFirst.status)?.status).toBe('True');
    expect(ready(prodFirst.status)?.status).toBe('True');
    expect(stagingFirst.status.appliedClusters).toEqual(['staging']);
    expect(prodFirst.status.appliedClusters).toEqual(['prod']);
    expect((await release('web', 'promo-staging'))?.tag).toBe('1.0.0');
    expect((await release('web', 'promo-prod'))?.tag).toBe('1.0.0');
    // The first apply to prod goes through: there is nothing to hold.
    expect((await promotionsOf(prodTarget))[0]).toMatchObject({
      state: 'applied',
      to: { tag: '1.0.0' },
    });

    // Staging applies 1.1.0 (no gates); then it stops being Ready: a dependency is missing.
    await exportTag('web-app', '1.1.0', 'promo-staging');
    expect((await release('web', 'promo-staging'))?.tag).toBe('1.1.0');
    const [stagingApplied] = await promotionsOf(stagingTarget);
    expect(stagingApplied).toMatchObject({
      state: 'applied',
      entityRef: 'component:default/staging',
      to: { tag: '1.1.0', digest: digestOf('1.1.0') },
    });
    await declareStaging([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'smoke-test',
        namespace: 'promo-staging',
      },
    ]);
    const [stagingNotReady] = await reconcile(staging);
    expect(ready(stagingNotReady.status)).toMatchObject({
      status: 'False',
      reason: 'DependencyNotReady',
    });

    // prod's provider sees 1.1.0: staging runs it, but is not Ready.
    await exportTag('web-app', '1.1.0', 'promo-prod');
    expect((await release('web', 'promo-prod'))?.tag).toBe('1.0.0');
    const [waiting] = await promotionsOf(prodTarget);
    expect(waiting).toMatchObject({
      state: 'pending',
      entityRef: 'component:default/prod',
      subject: prodSubject,
      to: { tag: '1.1.0', digest: digestOf('1.1.0') },
      gates: [
        {
          gate: 'upstream',
          state: 'waiting',
          summary: `component:default/staging runs 1.1.0 but is not Ready: ${
            ready(stagingNotReady.status)!.message
          }`,
          evidence: expect.objectContaining({
            targetId: stagingTarget,
            ready: false,
          }),
        },
      ],
    });
    expect(await messagesOf(prod, 'PromotionWaiting')).toEqual([
      `${prodSubject} on ${prodTarget}: 1.0.0 → 1.1.0 waits: component:default/staging runs 1.1.0 but is not Ready: ${
        ready(stagingNotReady.status)!.message
      }`,
    ]);

    // Staging Ready again: prod applies the digest staging runs.
    await kube.kubectl([
      'create',
      'configmap',
      'smoke-test',
      '-n',
      'promo-staging',
    ]);
    const [stagingReady] = await reconcile(staging);
    expect(ready(stagingReady.status)?.status).toBe('True');
    const [prodApplied] = await reconcile(prod);
    expect(ready(prodApplied.status)?.status).toBe('True');
    expect(await release('web', 'promo-prod')).toEqual({
      tag: '1.1.0',
      digest: digestOf('1.1.0'),
    });
    const applied = (await promotions.get(waiting.id))!;
    expect(applied).toMatchObject({
      state: 'applied',
      appliedRevision: prodApplied.status.lastAppliedRevision,
      diff: 'ConfigMap/promo-prod/web-release configured',
      gates: [
        {
          gate: 'upstream',
          state: 'passed',
          summary: expect.stringMatching(
            /^component:default\/staging has run 1\.1\.0 for \d+s$/,
          ),
          evidence: expect.objectContaining({
            targetId: stagingTarget,
            ready: true,
          }),
        },
      ],
    });
    expect(steps(applied).map(([state, , note]) => [state, note])).toEqual([
      ['pending', `${prodSubject} selected 1.1.0`],
      ['approved', 'every gate passed'],
      ['applying', undefined],
      ['applied', `revision ${prodApplied.status.lastAppliedRevision}`],
    ]);
    expect((await release('web', 'promo-staging'))?.tag).toBe('1.1.0');

    // prod waits for 1.2.0; staging carrying it out makes prod due at once, so prod follows in
    // the same run of passes without waiting for its interval.
    await exportTag('web-app', '1.2.0', 'promo-prod');
    expect((await promotionsOf(prodTarget))[0]).toMatchObject({
      state: 'pending',
      to: { tag: '1.2.0' },
    });
    await exportTag('web-app', '1.2.0', 'promo-staging');
    expect((await release('web', 'promo-staging'))?.tag).toBe('1.2.0');
    expect((await release('web', 'promo-prod'))?.tag).toBe('1.2.0');
    expect((await promotionsOf(prodTarget))[0]).toMatchObject({
      state: 'applied',
      to: { tag: '1.2.0' },
    });
  });

  it('rolls back through the real cluster with a pin, never proposes a rejected export again, holds newer exports behind a pin, and moves on when unpinned', async () => {
    const id = `ResourceSet/${NS}/pinned`;
    const subject = `ResourceSetInputProvider/${NS}/pinned-app`;
    const targetId = `cluster:${id}@testbed`;
    await exportTag('pinned-app', '1.0.0');
    await declare(
      'pinned',
      [
        resourceSet('pinned', NS, {
          provider: 'pinned-app',
          annotations: { [CLUSTERS_ANNOTATION]: 'testbed' },
        }),
      ],
      'component:default/web',
    );
    await reconcile(id);
    await exportTag('pinned-app', '1.1.0');
    expect((await release('pinned'))?.tag).toBe('1.1.0');
    const [to110, to100] = await promotionsOf(targetId);
    expect(to110).toMatchObject({ state: 'applied', to: { tag: '1.1.0' } });

    // Only an applied promotion with an earlier version can be rolled back.
    await expect(
      service.rollback(to100.id, 'user:default/bob', 'no'),
    ).rejects.toThrow(/has no earlier version/);

    const pin = await service.rollback(
      to110.id,
      'user:default/bob',
      'bad release',
    );
    const reason = `rollback of ${to110.id}: bad release`;
    expect(pin).toMatchObject({
      targetId,
      subject,
      version: { tag: '1.0.0', digest: digestOf('1.0.0') },
      reason,
      by: 'user:default/bob',
    });
    expect(await messagesOf(id, 'PromotionPinned')).toEqual([
      `user:default/bob pinned ${subject} on ${targetId} at 1.0.0: ${reason}`,
    ]);
    const [rolledBack] = await reconcile(id);
    expect(ready(rolledBack.status)?.status).toBe('True');
    expect(await release('pinned')).toEqual({
      tag: '1.0.0',
      digest: digestOf('1.0.0'),
    });
    const afterRollback = await promotionsOf(targetId);
    const rollback = afterRollback.find(
      p => p.to.tag === '1.0.0' && p.from?.tag === '1.1.0',
    )!;
    expect(rollback).toMatchObject({
      state: 'applied',
      appliedRevision: rolledBack.status.lastAppliedRevision,
      diff: `ConfigMap/${NS}/pinned-release configured`,
    });
    expect(steps(rollback)).toEqual([
      ['pending', 'user:default/bob', `pinned at 1.0.0: ${reason}`],
      ['approved', 'user:default/bob', `pinned at 1.0.0: ${reason}`],
      ['applying', ENGINE, undefined],
      ['applied', ENGINE, `revision ${rolledBack.status.lastAppliedRevision}`],
    ]);
    // The same revision as the first apply of 1.0.0: the rollback rendered the old inputs.
    expect(rolledBack.status.lastAppliedRevision).toBe(to100.appliedRevision);
    // The rolled-back 1.1.0, still exported, is shown at once, waiting behind the pin, and
    // listed as what it is: the newest promotion of the target.
    const [behindPin] = afterRollback;
    expect(behindPin).toMatchObject({
      state: 'pending',
      from: { tag: '1.0.0' },
      to: { tag: '1.1.0' },
      gates: [
        {
          gate: 'pin',
          state: 'waiting',
          summary: `pinned at 1.0.0 by user:default/bob: ${reason}`,
        },
      ],
    });
    expect(afterRollback.map(p => p.id)).toEqual([
      behindPin.id,
      rollback.id,
      to110.id,
      to100.id,
    ]);
    expect(behindPin.createdAt > rollback.createdAt).toBe(true);
    // Another pass changes nothing.
    await reconcile(id);
    expect((await promotionsOf(targetId)).map(p => p.id)).toEqual(
      afterRollback.map(p => p.id),
    );

    // Rejected for good: while 1.1.0 stays exported it is not proposed again, pinned or not.
    await service.reject(behindPin.id, 'user:default/bob', 'never again');
    await reconcile(id);
    await service.unpin(targetId, subject, 'user:default/bob');
    expect(await messagesOf(id, 'PromotionUnpinned')).toEqual([
      `user:default/bob unpinned ${subject} on ${targetId}`,
    ]);
    await reconcile(id);
    await reconcile(id);
    expect((await release('pinned'))?.tag).toBe('1.0.0');
    expect(
      (await promotionsOf(targetId)).map(p => [p.to.tag, p.state]),
    ).toEqual([
      ['1.1.0', 'rejected'],
      ['1.0.0', 'applied'],
      ['1.1.0', 'applied'],
      ['1.0.0', 'applied'],
    ]);

    // Pinned by hand: a newer export waits for the pin to be lifted.
    await service.pin({
      targetId,
      subject,
      version: rollback.to,
      reason: 'freeze',
      actor: 'user:default/bob',
    });
    await exportTag('pinned-app', '1.2.0');
    const [held] = await reconcile(id);
    expect(ready(held.status)?.status).toBe('True');
    expect((await release('pinned'))?.tag).toBe('1.0.0');
    const open = (await promotionsOf(targetId)).filter(
      p => p.state === 'pending',
    );
    expect(open).toHaveLength(1);
    const [to120] = open;
    expect(to120).toMatchObject({
      from: { tag: '1.0.0' },
      to: { tag: '1.2.0', digest: digestOf('1.2.0') },
      gates: [
        {
          gate: 'pin',
          state: 'waiting',
          summary: 'pinned at 1.0.0 by user:default/bob: freeze',
        },
      ],
    });
    expect(to120.eta).toBeUndefined();
    // A pin is lifted by unpinning, never bypassed.
    await expect(
      service.promoteNow(to120.id, 'user:default/carol', 'hurry'),
    ).rejects.toThrow(/is pinned at 1\.0\.0 .*unpin it first/);

    await service.unpin(targetId, subject, 'user:default/bob');
    const [moved] = await reconcile(id);
    expect(await release('pinned')).toEqual({
      tag: '1.2.0',
      digest: digestOf('1.2.0'),
    });
    expect((await promotions.get(to120.id))!).toMatchObject({
      state: 'applied',
      gates: [],
      appliedRevision: moved.status.lastAppliedRevision,
      diff: `ConfigMap/${NS}/pinned-release configured`,
    });
    await expect(
      service.unpin(targetId, subject, 'user:default/bob'),
    ).rejects.toThrow(/is not pinned/);
  });

  it('marks the promotion of an unreachable cluster failed and still applies to the reachable one listed before it', async () => {
    const id = `ResourceSet/${NS}/spread`;
    const subject = `ResourceSetInputProvider/${NS}/spread-app`;
    const up = `cluster:${id}@testbed`;
    const down = `cluster:${id}@down`;
    await exportTag('spread-app', '1.0.0');
    await declare(
      'spread',
      [
        resourceSet('spread', NS, {
          provider: 'spread-app',
          annotations: { [CLUSTERS_ANNOTATION]: 'testbed,down' },
        }),
      ],
      'component:default/web',
    );
    const [result] = await reconcile(id);
    const unreachable = `cluster 'down': cluster 'down' (https://127.0.0.1:${closedPort}) is unreachable: `;
    expect(ready(result.status)).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: expect.stringContaining(unreachable),
    });
    // An unreachable cluster is retried soon.
    expect(Date.parse(result.nextRunAt) - Date.parse(result.lastRunAt!)).toBe(
      10_000,
    );
    expect(await release('spread')).toEqual({
      tag: '1.0.0',
      digest: digestOf('1.0.0'),
    });
    const [applied] = await promotionsOf(up);
    expect(applied).toMatchObject({
      state: 'applied',
      to: { tag: '1.0.0' },
      diff: `ConfigMap/${NS}/spread-release created`,
      appliedRevision: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    const [failed, ...others] = await promotionsOf(down);
    expect(others).toEqual([]);
    expect(failed).toMatchObject({
      state: 'failed',
      to: { tag: '1.0.0' },
      error: ready(result.status)!.message,
    });
    expect(failed.appliedRevision).toBeUndefined();
    expect(failed.closedAt).toBeUndefined();
    expect(failed.history.at(-1)).toEqual({
      state: 'failed',
      at: result.lastRunAt,
      by: ENGINE,
      note: ready(result.status)!.message,
    });
    expect(await messagesOf(id, 'PromotionApplied')).toEqual([
      `${subject} on ${up}: (nothing) → 1.0.0`,
    ]);
    const warnings = (await eventsOf(id)).filter(
      e => e.reason === 'PromotionFailed',
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        type: 'Warning',
        message: `${subject} on ${down}: (nothing) → 1.0.0 failed: ${
          ready(result.status)!.message
        }`,
      }),
    ]);
    expect((await inventories.get(id, 'testbed'))?.state).toBe('applied');
    expect((await inventories.get(id, 'down'))?.state).toBe('failed');

    // Retried on the next pass: the same promotion, failed again; the reachable cluster is left as it is.
    await reconcile(id);
    const [retried] = await promotionsOf(down);
    expect(retried.id).toBe(failed.id);
    expect(retried.state).toBe('failed');
    expect(retried.history.map(s => s.state)).toEqual([
      'pending',
      'approved',
      'applying',
      'failed',
      'applying',
      'failed',
    ]);
    expect((await promotionsOf(up)).map(p => p.id)).toEqual([applied.id]);

    // Listed first, the unreachable cluster stops the pass: the reachable one is not attempted,
    // and its promotion is marked failed with the unreachable cluster's error.
    await declare(
      'spread-reverse',
      [
        resourceSet('spread-reverse', NS, {
          provider: 'spread-app',
          annotations: { [CLUSTERS_ANNOTATION]: 'down,testbed' },
        }),
      ],
      'component:default/web',
    );
    const reverseId = `ResourceSet/${NS}/spread-reverse`;
    const [reverse] = await reconcile(reverseId);
    expect(ready(reverse.status)?.message).toContain(unreachable);
    expect(await release('spread-reverse')).toBeUndefined();
    const [notAttempted] = await promotionsOf(`cluster:${reverseId}@testbed`);
    expect(notAttempted).toMatchObject({
      state: 'failed',
      error: ready(reverse.status)!.message,
    });
    expect((await promotionsOf(`cluster:${reverseId}@down`))[0].state).toBe(
      'failed',
    );
  });

  it('does not propose a rejected export again, and applies one promoted now past its gates', async () => {
    const id = `ResourceSet/${NS}/gated`;
    const subject = `ResourceSetInputProvider/${NS}/gated-app`;
    const targetId = `cluster:${id}@testbed`;
    await exportTag('gated-app', '1.0.0');
    await declare(
      'gated',
      [
        resourceSet('gated', NS, {
          provider: 'gated-app',
          annotations: {
            [CLUSTERS_ANNOTATION]: 'testbed',
            [PROMOTION_ANNOTATIONS.approvals]: '2',
          },
        }),
      ],
      'component:default/web',
    );
    await reconcile(id);
    await exportTag('gated-app', '1.1.0');
    const [to110] = await promotionsOf(targetId);
    expect(to110).toMatchObject({ state: 'pending', to: { tag: '1.1.0' } });
    await service.approve(to110.id, 'user:default/alice');
    const rejected = await service.reject(
      to110.id,
      'user:default/bob',
      'breaks checkout',
    );
    expect(rejected).toMatchObject({ state: 'rejected' });
    expect(await messagesOf(id, 'PromotionRejected')).toEqual([
      `user:default/bob rejected ${subject} on ${targetId} (1.0.0 → 1.1.0): breaks checkout`,
    ]);
    await reconcile(id);
    expect((await release('gated'))?.tag).toBe('1.0.0');
    // Still exported, not proposed again.
    expect(
      (await promotionsOf(targetId)).map(p => [p.to.tag, p.state]),
    ).toEqual([
      ['1.1.0', 'rejected'],
      ['1.0.0', 'applied'],
    ]);

    await exportTag('gated-app', '1.2.0');
    const [to120] = await promotionsOf(targetId);
    expect(to120).toMatchObject({
      state: 'pending',
      from: { tag: '1.0.0' },
      to: { tag: '1.2.0' },
      gates: [{ gate: 'approval', state: 'waiting', summary: 'approval 0/2' }],
    });
    expect((await release('gated'))?.tag).toBe('1.0.0');
    const forced = await service.promoteNow(
      to120.id,
      'user:default/carol',
      'security fix',
    );
    expect(forced).toMatchObject({
      state: 'approved',
      bypassedGates: ['approval'],
      justification: 'security fix',
    });
    const [applied] = await reconcile(id);
    expect(await release('gated')).toEqual({
      tag: '1.2.0',
      digest: digestOf('1.2.0'),
    });
    const done = (await promotions.get(to120.id))!;
    expect(done).toMatchObject({
      state: 'applied',
      bypassedGates: ['approval'],
      appliedRevision: applied.status.lastAppliedRevision,
      diff: `ConfigMap/${NS}/gated-release configured`,
    });
    expect(steps(done)).toEqual([
      ['pending', ENGINE, `${subject} selected 1.2.0`],
      [
        'approved',
        'user:default/carol',
        'promoted now, bypassing approval: security fix',
      ],
      ['applying', ENGINE, undefined],
      ['applied', ENGINE, `revision ${applied.status.lastAppliedRevision}`],
    ]);
    expect(await messagesOf(id, 'PromotionForced')).toEqual([
      `user:default/carol promoted ${subject} on ${targetId} (1.0.0 → 1.2.0) now, bypassing approval: security fix`,
    ]);
  });

  it('never shows Secret values in the preview of a promotion', async () => {
    const id = `ResourceSet/${NS}/secrets`;
    const targetId = `cluster:${id}@testbed`;
    const password = (tag: string) => `hunter2-for-${tag}`;
    const exportSecret = (tag: string) =>
      exportTag('secret-app', tag, NS, { password: password(tag) });
    await exportSecret('1.0.0');
    await declare(
      'secrets',
      [
        resourceSet('secrets', NS, {
          provider: 'secret-app',
          annotations: {
            [CLUSTERS_ANNOTATION]: 'testbed',
            [PROMOTION_ANNOTATIONS.approvals]: '1',
          },
          resources: [
            releaseConfigMap('secrets', NS),
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: 'app-credentials', namespace: NS },
              stringData: { password: '<< inputs.password >>' },
              data: { token: '<< inputs.password | b64enc >>' },
            },
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: {
                name: 'release-<< inputs.tag | replace "." "-" >>',
                namespace: NS,
              },
              stringData: { password: '<< inputs.password >>' },
            },
          ],
        }),
      ],
      'component:default/web',
    );
    await reconcile(id);
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    expect((await readObject('Secret', NS, 'app-credentials'))?.data).toEqual({
      password: b64(password('1.0.0')),
      token: b64(password('1.0.0')),
    });

    await exportSecret('1.1.0');
    const [pending] = await promotionsOf(targetId);
    expect(pending).toMatchObject({ state: 'pending', to: { tag: '1.1.0' } });
    expect((await readObject('Secret', NS, 'app-credentials'))?.data).toEqual({
      password: b64(password('1.0.0')),
      token: b64(password('1.0.0')),
    });

    const preview = await previews.preview(pending.id, mockCredentials.user());
    expect(preview.objects!.map(o => `${o.object} ${o.action}`).sort()).toEqual(
      [
        `ConfigMap/${NS}/secrets-release configured`,
        `Secret/${NS}/app-credentials configured`,
        `Secret/${NS}/release-1-0-0 deleted`,
        `Secret/${NS}/release-1-1-0 created`,
      ],
    );
    const diffOf = (object: string) =>
      preview.objects!.find(o => o.object === object)!.diff!;
    // Only the values changed: no diff lines (keys are the same), a note that values changed.
    expect(diffOf(`Secret/${NS}/app-credentials`)).toBe(
      [
        '===================================================================',
        `--- Secret/${NS}/app-credentials`,
        `+++ Secret/${NS}/app-credentials`,
        '# Secret values changed (not shown)',
        '',
      ].join('\n'),
    );
    const created = diffOf(`Secret/${NS}/release-1-1-0`);
    expect(created).toMatch(/^\+ +password: \(redacted\)$/m);
    // Neither the values nor their base64 anywhere: not in the diffs, not in what is stored.
    const stored = (await promotions.get(pending.id))!.preview!;
    for (const text of [JSON.stringify(preview), stored, preview.diff]) {
      for (const tag of ['1.0.0', '1.1.0']) {
        expect(text).not.toContain(password(tag));
        expect(text).not.toContain(b64(password(tag)));
        expect(text).not.toContain(b64(b64(password(tag))));
      }
    }
    // And the preview wrote nothing.
    expect(await readObject('Secret', NS, 'release-1-1-0')).toBeUndefined();
    expect((await readObject('Secret', NS, 'app-credentials'))?.data).toEqual({
      password: b64(password('1.0.0')),
      token: b64(password('1.0.0')),
    });

    // Someone created the new Secret by hand with a client-side `kubectl apply`: kubectl keeps the
    // whole manifest, values included, in the last-applied-configuration annotation. The preview
    // adopts the Secret (owner labels added) and must not print the annotation's copy either.
    await kube.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'release-1-1-0', namespace: NS },
        stringData: { password: password('1.1.0') },
      }),
    );
    expect(
      (await readObject('Secret', NS, 'release-1-1-0'))?.metadata.annotations?.[
        'kubectl.kubernetes.io/last-applied-configuration'
      ],
    ).toContain(password('1.1.0'));
    const adopting = await previews.preview(pending.id, mockCredentials.user());
    const adopted = adopting.objects!.find(
      o => o.object === `Secret/${NS}/release-1-1-0`,
    )!;
    expect(adopted.action).toBe('configured');
    expect(adopted.diff).toMatch(
      /^\+ +resourceset\.fluxcd\.controlplane\.io\/name: secrets$/m,
    );
    expect(adopted.diff).toMatch(
      /^ +kubectl\.kubernetes\.io\/last-applied-configuration: \(redacted\)$/m,
    );
    const storedAgain = (await promotions.get(pending.id))!.preview!;
    for (const text of [JSON.stringify(adopting), storedAgain, adopting.diff]) {
      for (const tag of ['1.0.0', '1.1.0']) {
        expect(text).not.toContain(password(tag));
        expect(text).not.toContain(b64(password(tag)));
      }
    }
  });
  it('shows per cluster what was applied, selected and what the pods run, and says when a cluster cannot be read', async () => {
    const id = `ResourceSet/${NS}/shown`;
    const subject = `ResourceSetInputProvider/${NS}/shown-app`;
    await exportTag('shown-app', '1.0.0');
    await declare(
      'shown',
      [
        resourceSet('shown', NS, {
          provider: 'shown-app',
          annotations: { [CLUSTERS_ANNOTATION]: 'testbed' },
          labels: { 'backstage.io/kubernetes-id': 'shown' },
        }),
      ],
      'component:default/shown',
    );
    await reconcile(id);
    // Three pods of the service: two run what was applied, one an older image.
    for (const [pod, tag] of [
      ['shown-a', '1.0.0'],
      ['shown-b', '1.0.0'],
      ['shown-c', '0.9.0'],
    ]) {
      await kube.kubectl([
        'run',
        pod,
        '-n',
        NS,
        `--image=registry.example.com/shown:${tag}`,
        '--labels=backstage.io/kubernetes-id=shown',
        '--restart=Never',
      ]);
    }
    // An unrelated pod in the namespace does not count.
    await kube.kubectl([
      'run',
      'other',
      '-n',
      NS,
      '--image=registry.example.com/other:1.0.0',
      '--restart=Never',
    ]);
    const podsOf =
      (url: string) =>
      async (name: string, labelSelector: string, namespaces: string[]) => {
        const reader = await KubeClient.forCluster(cluster({ name, url }));
        try {
          return await readPodImages(reader, { labelSelector, namespaces });
        } finally {
          reader.close();
        }
      };
    const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const view = await new VersionsService({
      objects,
      scans,
      promotions,
      permissions: allow,
      pods: podsOf(kube.url),
    }).versions('component:default/shown', mockCredentials.user());
    expect(view.items).toEqual([
      {
        target: {
          id: `cluster:${id}@testbed`,
          type: 'cluster',
          objectId: id,
          cluster: 'testbed',
        },
        subject,
        image: 'shown-app',
        deployed: expect.objectContaining({
          tag: '1.0.0',
          digest: digestOf('1.0.0'),
        }),
        selected: expect.objectContaining({
          tag: '1.0.0',
          digest: digestOf('1.0.0'),
        }),
        running: {
          summary: '2/3 pods on 1.0.0',
          images: [
            { image: 'registry.example.com/shown:1.0.0', pods: 2 },
            { image: 'registry.example.com/shown:0.9.0', pods: 1 },
          ],
        },
        pin: undefined,
        promotionId: undefined,
      },
    ]);

    // The cluster stops answering: its cell says so, the rest of the row is still there.
    const down = await new VersionsService({
      objects,
      scans,
      promotions,
      permissions: allow,
      pods: podsOf(`https://127.0.0.1:${closedPort}`),
    }).versions('component:default/shown', mockCredentials.user());
    expect(down.items[0].deployed?.tag).toBe('1.0.0');
    expect(down.items[0].running).toEqual({
      summary: expect.stringMatching(
        /^cluster 'testbed' could not be read: .*ECONNREFUSED/,
      ),
      images: [],
      error: expect.stringMatching(/^cluster 'testbed' could not be read: /),
    });

    // Without read permission on the entity there is no view at all.
    const denied = new VersionsService({
      objects,
      scans,
      promotions,
      permissions: mockServices.permissions({ result: AuthorizeResult.DENY }),
    });
    await expect(
      denied.versions('component:default/shown', mockCredentials.user()),
    ).rejects.toThrow(
      'you may not read the image automation of component:default/shown (image-automation.object.read)',
    );
  });
});
