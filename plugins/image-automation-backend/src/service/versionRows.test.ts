import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { clusterTarget } from '../promotions/clusterTargets';
import { gitTarget } from '../promotions/gitTargets';
import { createStoreTestDatabases } from '../store/testDatabases';
import {
  declareOwned,
  openTestStores,
  testManifest,
} from '../store/testStores';
import { storeObjectStatus } from '../store/testObjectStatus';
import { VersionsService } from './VersionsService';

// Which rows the versions matrix of an entity has, and what each carries: only the entity's own
// objects, only the providers its ResourceSet selects (several of them, one of them pinned), no row
// for a cluster a set never applied to, pods read in the namespaces a set applied into, a policy
// owned by another entity, and an open promotion beyond the first page. Real stores.

jest.setTimeout(120_000);

const databases = createStoreTestDatabases();

const SHOP = 'component:default/shop';
const BANK = 'component:default/bank';
const NS = 'shop';
const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });
const credentials = mockCredentials.user('user:default/alice');
const WEB = `ResourceSet/${NS}/web`;
const BARE = `ResourceSet/${NS}/bare`;
const RELEASES = `ResourceSetInputProvider/${NS}/releases`;
const CANARY = `ResourceSetInputProvider/${NS}/canary`;

const version = (tag: string): PromotionVersion => ({
  image: 'ghcr.io/shop/web',
  tag,
  inputs: [{ id: '1', tag }],
});

const selectWeb = {
  inputsFrom: [{ selector: { matchLabels: { app: 'web' } } }],
  resources: [],
};

describe.each(databases.eachSupportedId())(
  'rows of the versions matrix, %p',
  databaseId => {
    async function setup() {
      const { objects, scans, promotions } = await openTestStores(
        await databases.init(databaseId),
      );
      const owned = (entityRef: string, manifests: AutomationObject[]) =>
        declareOwned(objects, entityRef, manifests);
      await owned(SHOP, [
        testManifest('ResourceSet', NS, 'web', selectWeb, {
          'backstage.io/kubernetes-id': 'web',
        }),
        // Applied, but with an empty inventory: its pods are looked for in its own namespace.
        testManifest('ResourceSet', NS, 'bare', selectWeb, {
          'backstage.io/kubernetes-id': 'bare',
        }),
        // Never applied: no cluster, no row.
        testManifest('ResourceSet', NS, 'idle', selectWeb),
        testManifest(
          'ResourceSetInputProvider',
          NS,
          'releases',
          {},
          { app: 'web' },
        ),
        testManifest(
          'ResourceSetInputProvider',
          NS,
          'canary',
          {},
          { app: 'web' },
        ),
        // An object of another kind with the label is no provider.
        testManifest(
          'ImageRepository',
          NS,
          'web',
          { image: 'ghcr.io/shop/web', interval: '5m' },
          { app: 'web' },
        ),
        // Markers of a policy this entity does not own.
        testManifest('ImageUpdateAutomation', NS, 'staging', {
          interval: '5m',
          update: { path: './clusters/staging' },
        }),
      ]);
      // Another entity's objects: a set applied to the same cluster, and a provider with the label
      // in its own namespace.
      await owned(BANK, [
        testManifest('ResourceSet', 'bank', 'vault', selectWeb),
        testManifest(
          'ResourceSetInputProvider',
          'bank',
          'releases',
          {},
          {
            app: 'web',
          },
        ),
      ]);
      await objects.syncSource('config:platform.yaml', [
        {
          source: { type: 'config', location: 'platform.yaml' },
          manifest: testManifest('ImagePolicy', NS, 'base', {
            imageRepositoryRef: { name: 'web' },
            policy: { semver: { range: '>=0.0.0' } },
          }),
        },
      ]);
      const exported = (tag: string) => ({
        lastExportedRevision: `sha256:rev-${tag}`,
        exportedInputs: [{ id: '1', tag }],
      });
      await storeObjectStatus(objects, WEB, {
        appliedClusters: ['prod'],
        inventory: {
          entries: [
            { id: 'web-apps_web_apps_Deployment', v: 'v1' },
            // Cluster-scoped: no namespace to read pods in.
            {
              id: '_web-reader_rbac.authorization.k8s.io_ClusterRole',
              v: 'v1',
            },
          ],
        },
      });
      await storeObjectStatus(objects, BARE, { appliedClusters: ['prod'] });
      await storeObjectStatus(objects, 'ResourceSet/bank/vault', {
        appliedClusters: ['prod'],
      });
      await storeObjectStatus(objects, RELEASES, exported('1.3.0'));
      await storeObjectStatus(objects, CANARY, exported('2.0.0-rc.1'));
      await storeObjectStatus(
        objects,
        'ResourceSetInputProvider/bank/releases',
        exported('9.9.9'),
      );
      await storeObjectStatus(objects, `ImagePolicy/${NS}/base`, {
        latestRef: { name: 'ghcr.io/shop/base', tag: '4.2.0' },
      });
      await storeObjectStatus(objects, `ImageUpdateAutomation/${NS}/staging`, {
        markers: [
          {
            file: 'clusters/staging/base.yaml',
            line: 3,
            setter: `${NS}:base`,
            value: 'ghcr.io/shop/base:4.1.0',
          },
        ],
      });
      const podReads: string[] = [];
      const service = new VersionsService({
        objects,
        scans,
        promotions,
        permissions: allow,
        pods: async (cluster, selector, namespaces) => {
          podReads.push(`${cluster} ${selector} [${namespaces.join(',')}]`);
          return [];
        },
      });
      return { objects, promotions, service, podReads };
    }

    it("lists the entity's own targets and the providers its sets select, and reads pods where each set applied", async () => {
      const { service, podReads, promotions } = await setup();
      const prod = clusterTarget(WEB, 'prod');
      await promotions.pin({
        targetId: prod.id,
        subject: CANARY,
        version: version('1.9.0'),
        reason: 'canary frozen',
        by: 'user:default/alice',
        at: new Date().toISOString(),
      });

      const { items } = await service.versions(SHOP, credentials);
      expect(
        items.map(
          r =>
            `${r.target.id} ${r.subject} ${r.selected?.tag} pin=${
              r.pin?.reason ?? '-'
            }`,
        ),
      ).toEqual([
        `${
          gitTarget(`ImageUpdateAutomation/${NS}/staging`).id
        } ImagePolicy/${NS}/base 4.2.0 pin=-`,
        `${clusterTarget(BARE, 'prod').id} ${CANARY} 2.0.0-rc.1 pin=-`,
        `${clusterTarget(BARE, 'prod').id} ${RELEASES} 1.3.0 pin=-`,
        `${prod.id} ${CANARY} 2.0.0-rc.1 pin=canary frozen`,
        `${prod.id} ${RELEASES} 1.3.0 pin=-`,
      ]);
      // The policy belongs to no entity, and is read for the row all the same.
      expect(items[0]).toMatchObject({
        image: 'ghcr.io/shop/base',
        deployed: { image: 'ghcr.io/shop/base', tag: '4.1.0' },
      });
      expect(podReads).toEqual([
        `prod backstage.io/kubernetes-id=bare [${NS}]`,
        'prod backstage.io/kubernetes-id=web [web-apps]',
      ]);
    });

    it('finds the open promotion of a row beyond the first page of its target', async () => {
      const { service, promotions } = await setup();
      const prod = clusterTarget(WEB, 'prod');
      const start = Date.parse('2026-06-01T12:00:00.000Z');
      const promote = (subject: string, i: number) =>
        promotions.create({
          entityRef: SHOP,
          target: prod,
          subject,
          to: version(`1.${i}.0`),
          by: 'image-automation',
          now: new Date(start + i * 1000),
        });
      const canary = await promote(CANARY, 0);
      // 500 newer open promotions of other subjects fill the first page.
      for (let i = 1; i <= 500; i++) {
        await promote(`ResourceSetInputProvider/${NS}/filler-${i}`, i);
      }
      const { items } = await service.versions(SHOP, credentials);
      expect(
        items.find(r => r.target.id === prod.id && r.subject === CANARY)
          ?.promotionId,
      ).toBe(canary.id);
    });
  },
);
