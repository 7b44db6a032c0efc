import { mockCredentials } from '@backstage/backend-test-utils';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import { ObjectStore } from '../store/ObjectStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { openTestStores, testManifest } from '../store/testStores';
import { DefaultObjectService, toView } from './DefaultObjectService';

// DefaultObjectService at its edges: the order of an inventory's references, an entity's objects
// only, the tenancy check of a policy explanation (accessFrom admits; no grant refuses), what a
// reconcile records, and an object deleted while an action ran. Real stores.

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const SHOP = 'component:default/shop';
const OTHER = 'component:default/other';
const NOW = new Date('2030-05-01T08:00:00.000Z');

describe.each(databases.eachSupportedId())(
  'DefaultObjectService on %p',
  databaseId => {
    async function setUp(wrap?: (objects: ObjectStore) => ObjectStore) {
      const { objects, scans, events, inventories } = await openTestStores(
        await databases.init(databaseId),
      );
      const catalog = (entityRef: string) => ({
        entityRef,
        grantedNamespaces: ['apps'],
        source: { type: 'catalog' as const, location: `file:///${entityRef}` },
      });
      const semver = { semver: { range: '>=1.0.0' } };
      await objects.syncSource(SHOP, [
        {
          ...catalog(SHOP),
          manifest: testManifest('ResourceSet', 'apps', 'web', {
            resources: [],
          }),
        },
        {
          ...catalog(SHOP),
          manifest: testManifest('ImagePolicy', 'apps', 'base', {
            imageRepositoryRef: { name: 'base', namespace: 'shared' },
            policy: semver,
          }),
        },
        {
          ...catalog(SHOP),
          manifest: testManifest('ImagePolicy', 'apps', 'vault', {
            imageRepositoryRef: { name: 'vault', namespace: 'bank' },
            policy: semver,
          }),
        },
      ]);
      await objects.syncSource(OTHER, [
        {
          ...catalog(OTHER),
          manifest: testManifest('ResourceSet', 'apps', 'other', {
            resources: [],
          }),
        },
      ]);
      const platform = {
        source: { type: 'config' as const, location: 'platform.yaml' },
      };
      await objects.syncSource('config', [
        {
          ...platform,
          manifest: testManifest('ImageRepository', 'shared', 'base', {
            image: 'ghcr.io/platform/base',
            interval: '5m',
            accessFrom: {
              namespaceSelectors: [
                { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } },
              ],
            },
          }),
        },
        {
          ...platform,
          manifest: testManifest('ImageRepository', 'bank', 'vault', {
            image: 'ghcr.io/bank/vault',
            interval: '5m',
          }),
        },
      ]);
      await scans.recordScan({
        objectId: 'ImageRepository/shared/base',
        startedAt: NOW,
        durationMs: 5,
        requests: 1,
        tags: ['1.0.0', '1.2.0'],
      });
      const service = new DefaultObjectService({
        objects: wrap ? wrap(objects) : objects,
        scans,
        events,
        inventories,
        now: () => NOW,
      });
      return { objects, inventories, service };
    }

    it('lists inventory references by kind, namespace and name', async () => {
      const { inventories, service } = await setUp();
      await inventories.put({
        owner: 'ResourceSet/apps/web',
        cluster: 'prod',
        entries: [
          { id: 'web_b_apps_Deployment', v: 'v1' },
          { id: 'web_a_apps_Deployment', v: 'v1' },
          { id: 'apps_c_apps_Deployment', v: 'v1' },
          { id: '_reader_rbac.authorization.k8s.io_ClusterRole', v: 'v1' },
          { id: 'apps_a__ConfigMap', v: 'v1' },
        ],
        state: 'applied',
      });
      const view = await service.resourceSetInventory('ResourceSet/apps/web');
      expect(
        view.clusters[0].entries.map(
          e => `${e.kind} ${e.namespace ?? '-'} ${e.name}`,
        ),
      ).toEqual([
        'ClusterRole - reader',
        'ConfigMap apps a',
        'Deployment apps c',
        'Deployment web a',
        'Deployment web b',
      ]);
    });

    it('reads an object without a spec as not suspended', async () => {
      const { objects } = await setUp();
      const stored = (await objects.get('ResourceSet/apps/web'))!;
      const { spec: _spec, ...withoutSpec } = stored.manifest;
      expect(
        toView({ ...stored, manifest: withoutSpec as typeof stored.manifest }),
      ).toMatchObject({ spec: {}, suspended: false });
    });

    it("lists the entity's own objects only", async () => {
      const { service } = await setUp();
      expect((await service.listForEntity(SHOP)).map(o => o.id)).toEqual([
        'ImagePolicy/apps/base',
        'ImagePolicy/apps/vault',
        'ResourceSet/apps/web',
      ]);
    });

    it("explains a policy on a repository whose accessFrom admits the policy's namespace, and refuses one on a namespace not granted", async () => {
      const { service } = await setUp();
      const explained = await service.explainPolicy('ImagePolicy/apps/base');
      expect(explained.repositoryId).toBe('ImageRepository/shared/base');
      expect(explained.selection).toEqual({ ok: true, tag: '1.2.0' });

      const refused = service.explainPolicy('ImagePolicy/apps/vault');
      await expect(refused).rejects.toThrow(NotAllowedError);
      await expect(refused).rejects.toThrow(
        "spec.imageRepositoryRef: cross-namespace reference to ImageRepository 'bank/vault' denied: namespace 'bank' is not granted to component:default/shop and the ImageRepository's accessFrom does not admit namespace 'apps' (imageAutomation.tenancy.namespaces)",
      );
    });

    it('records a reconcile request, by whom, and makes the object due; it stays running', async () => {
      const { service } = await setUp();
      const view = await service.act(
        'ResourceSet/apps/web',
        'reconcile',
        mockCredentials.user('user:default/jane'),
      );
      expect(view).toMatchObject({
        suspended: false,
        reconcileRequestedBy: 'user:default/jane',
        reconcileRequestedAt: NOW.toISOString(),
        nextRunAt: NOW.toISOString(),
      });
    });

    it('answers not found when the object is deleted while the action runs', async () => {
      const { service } = await setUp(objects => {
        const racing = Object.create(objects) as ObjectStore;
        racing.requestReconcile = async (id, actor, now) => {
          await objects.syncSource(SHOP, []);
          return objects.requestReconcile(id, actor, now);
        };
        return racing;
      });
      const action = service.act(
        'ResourceSet/apps/web',
        'reconcile',
        mockCredentials.user('user:default/jane'),
      );
      await expect(action).rejects.toThrow(NotFoundError);
      await expect(action).rejects.toThrow(
        'no automation object ResourceSet/apps/web',
      );
    });
  },
);
