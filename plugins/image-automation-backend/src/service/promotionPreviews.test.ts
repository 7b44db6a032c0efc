import {
  mockCredentials,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { Knex } from 'knex';
import {
  startKubernetes,
  TestKubernetes,
} from '@internal/image-automation-test/testbed/kube/kubernetes';
import {
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from '../engine/ResourceSetReconciler';
import { InventoryApplier } from '../kubernetes';
import { clusterTarget } from '../promotions/clusterTargets';
import { DatabaseInventoryStore } from '../store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { storeObjectStatus } from '../store/testObjectStatus';
import { PromotionPreviewService } from './PromotionPreviewService';

// The preview of a cluster promotion as people read it: the ResourceSet's server-side dry run
// against a real kube-apiserver (test/testbed/kube), shown as the objects that would change, and
// stored with the promotion. Real object, inventory and promotion stores (SQLite).
jest.setTimeout(180_000);

const NS = 'previews';
const SET = `ResourceSet/${NS}/web`;
const PROVIDER = `ResourceSetInputProvider/${NS}/releases`;
const WEB = 'component:default/web';
const NOW = new Date('2026-06-01T12:00:00.000Z');

describe('cluster promotion previews', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let promotions: DatabasePromotionStore;
  let resourceSets: ResourceSetReconciler;
  let previews: PromotionPreviewService;

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
    resourceSets = new ResourceSetReconciler({
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
    });
    previews = new PromotionPreviewService({
      promotions,
      objects,
      permissions: mockServices.permissions({ result: AuthorizeResult.ALLOW }),
      automations: {
        preview: async () => {
          throw new Error('no Git targets in this test');
        },
      },
      resourceSets,
      now: () => NOW,
    });
  });

  afterAll(async () => {
    await kube?.stop();
    await knex?.destroy();
  });

  const configMap = (name: string, data: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: NS },
    data,
  });

  it('shows only the objects that would change, with their diffs, and stores the preview with the promotion', async () => {
    const declare = (resources: object[]) =>
      objects.syncSource('web', [
        {
          manifest: {
            apiVersion: 'fluxcd.controlplane.io/v1',
            kind: 'ResourceSetInputProvider',
            metadata: { name: 'releases', namespace: NS },
            spec: { type: 'Static' },
          } as AutomationObject,
          entityRef: WEB,
          source: { type: 'config', location: 'web' },
        },
        {
          manifest: {
            apiVersion: 'fluxcd.controlplane.io/v1',
            kind: 'ResourceSet',
            metadata: {
              name: 'web',
              namespace: NS,
              annotations: { [CLUSTERS_ANNOTATION]: 'testbed' },
            },
            spec: {
              inputsFrom: [{ name: 'releases' }],
              resources,
            },
          } as AutomationObject,
          entityRef: WEB,
          source: { type: 'config', location: 'web' },
        },
      ]);
    const resources = [
      configMap('static'),
      configMap('release', { tag: '<< inputs.tag >>' }),
      configMap('only-<< inputs.tag >>'),
    ];
    // An object pruning must leave in place.
    const kept = configMap('kept');
    (kept.metadata as Record<string, unknown>).annotations = {
      'fluxcd.controlplane.io/prune': 'disabled',
    };
    await declare([...resources, kept]);
    // The provider exports 1.0.0, and the set applied it.
    const exported: ObjectStatus = {
      lastExportedRevision: 'sha256:one',
      exportedInputs: [{ id: '1', tag: '1.0.0' }],
    };
    await storeObjectStatus(objects, PROVIDER, exported);
    const applied = await resourceSets.reconcile(
      (await objects.get(SET))!,
      new Date(),
    );
    expect(
      applied.status.conditions?.find(c => c.type === 'Ready')?.status,
    ).toBe('True');
    // The set no longer renders `kept`: pruning would skip it, and the preview does not list it.
    await declare(resources);

    const promotion = await promotions.create({
      entityRef: WEB,
      target: clusterTarget(SET, 'testbed'),
      subject: PROVIDER,
      from: { tag: '1.0.0', revision: 'sha256:one' },
      to: {
        tag: '1.1.0',
        revision: 'sha256:two',
        inputs: [{ id: '1', tag: '1.1.0' }],
      },
      by: 'image-automation',
      now: NOW,
    });
    const preview = await previews.preview(
      promotion.id,
      mockCredentials.user(),
    );
    expect(preview.promotionId).toBe(promotion.id);
    expect(preview.computedAt).toBe(NOW.toISOString());
    expect(preview).not.toHaveProperty('commitMessage');
    // `static` stays as it is: not listed.
    expect(
      preview.objects!.map(o => `${o.cluster} ${o.object} ${o.action}`),
    ).toEqual([
      `testbed ConfigMap/${NS}/only-1.1.0 created`,
      `testbed ConfigMap/${NS}/release configured`,
      `testbed ConfigMap/${NS}/only-1.0.0 deleted`,
    ]);
    // A pruned object has no diff: the combined diff names it instead.
    const [created, configured, deleted] = preview.objects!;
    expect(created.diff).toMatch(/^\+\+\+ ConfigMap\/previews\/only-1\.1\.0$/m);
    expect(configured.diff).toMatch(/^- +tag: 1\.0\.0$/m);
    expect(deleted).not.toHaveProperty('diff');
    expect(preview.diff).toBe(
      `${created.diff}${configured.diff}ConfigMap/${NS}/only-1.0.0 deleted\n`,
    );
    expect(preview.diff).toMatch(/^\+ +tag: 1\.1\.0$/m);
    expect(JSON.parse((await promotions.get(promotion.id))!.preview!)).toEqual(
      preview,
    );

    await expect(
      previews.preview('nope', mockCredentials.user()),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
      message: 'no promotion nope',
    });
    await objects.syncSource('web', []);
    await expect(
      previews.preview(promotion.id, mockCredentials.user()),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
      message: `${SET} no longer exists`,
    });
  });
});
