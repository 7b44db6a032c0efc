import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  ObjectStatus,
  PromotionVersion,
} from '@imageops/backstage-plugin-image-automation-common';
import { clusterTarget } from '../promotions/clusterTargets';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { storeObjectStatus } from '../store/testObjectStatus';
import { TimelineService } from './TimelineService';
import { VersionsService } from './VersionsService';

// The versions matrix and the timeline of an entity whose ResourceSet applies into clusters: one
// row and one lane per cluster it applied to, its providers' versions, promotions, pins and
// suspensions. Real object, scan and promotion stores.

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const SHOP = 'component:default/shop';
const NS = 'shop';
const SET = `ResourceSet/${NS}/web`;
const RELEASES = `ResourceSetInputProvider/${NS}/releases`;
const PROD = clusterTarget(SET, 'prod');
const STAGING = clusterTarget(SET, 'staging');
const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });
const credentials = mockCredentials.user('user:default/alice');
const at = (minute: number) =>
  new Date(Date.UTC(2026, 5, 1, 12, minute)).toISOString();

const version = (tag: string): PromotionVersion => ({
  image: 'ghcr.io/shop/web',
  tag,
  digest: `sha256:${tag.replace(/\./g, '').padEnd(64, '0')}`,
  revision: `sha256:rev-${tag}`,
  inputs: [{ id: '1', tag }],
});

function manifest(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): AutomationObject {
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind,
    metadata: { name, namespace: NS, ...(labels ? { labels } : {}) },
    spec,
  } as AutomationObject;
}

describe.each(databases.eachSupportedId())(
  'ResourceSet targets in the versions and the timeline, %p',
  databaseId => {
    async function setup() {
      const knex = await databases.init(databaseId);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({
        knex,
        skipMigrations: true,
      });
      const promotions = await DatabasePromotionStore.create({
        knex,
        skipMigrations: true,
      });
      await objects.syncSource(
        'shop',
        [
          manifest(
            'ResourceSet',
            'web',
            {
              inputsFrom: [{ selector: { matchLabels: { app: 'web' } } }],
              resources: [],
            },
            { 'backstage.io/kubernetes-id': 'web' },
          ),
          // Selected by label; the other provider is not.
          manifest(
            'ResourceSetInputProvider',
            'releases',
            { type: 'OCIArtifactTag', url: 'oci://ghcr.io/shop/web' },
            { app: 'web' },
          ),
          manifest('ResourceSetInputProvider', 'unrelated', {
            type: 'Static',
          }),
          // An invalid selector: no rows (the ResourceSet itself is Stalled and says why).
          manifest('ResourceSet', 'broken', {
            inputsFrom: [
              {
                selector: {
                  matchExpressions: [{ key: 'app', operator: 'Nope' }],
                },
              },
            ],
            resources: [],
          }),
        ].map(m => ({
          manifest: m,
          entityRef: SHOP,
          source: { type: 'config', location: 'shop' },
        })),
      );
      const setStatus = (id: string, status: ObjectStatus) =>
        storeObjectStatus(objects, id, status);
      const applied = {
        appliedClusters: ['prod', 'staging'],
        inventory: {
          entries: [
            { id: 'web-apps_web_apps_Deployment', v: 'v1' },
            { id: 'shop_web__ConfigMap', v: 'v1' },
            { id: 'web-apps_web-2_apps_Deployment', v: 'v1' },
          ],
        },
      };
      await setStatus(SET, applied);
      await setStatus(`ResourceSet/${NS}/broken`, applied);
      await setStatus(RELEASES, {
        lastExportedRevision: 'sha256:rev-1.3.0',
        exportedInputs: [
          { id: '1', tag: '1.3.0', digest: version('1.3.0').digest },
        ],
      });
      await setStatus(`ResourceSetInputProvider/${NS}/unrelated`, {
        lastExportedRevision: 'sha256:unrelated',
        exportedInputs: [{ id: '1', tag: 'x' }],
      });
      /** A promotion of the provider to `to` on `target`, at `minute`, then moved to `state`. */
      const promote = async (
        target: typeof PROD,
        to: string,
        minute: number,
        state?: 'applied' | 'approved',
      ) => {
        const created = await promotions.create({
          entityRef: SHOP,
          target,
          subject: RELEASES,
          to: version(to),
          by: 'image-automation',
          now: new Date(at(minute)),
        });
        if (!state) return created;
        return (await promotions.update(
          created.id,
          created.revision,
          {
            state,
            step: { state, at: at(minute + 1), by: 'image-automation' },
          },
          new Date(at(minute + 1)),
        ))!;
      };
      return { objects, scans, promotions, promote, setStatus };
    }

    it('lists one row per cluster applied to and selected provider, with what it carries, its pin and its newest open promotion', async () => {
      const { objects, scans, promotions, promote } = await setup();
      await promote(PROD, '1.1.0', 0, 'applied');
      await promote(PROD, '1.2.0', 10, 'applied');
      const older = await promote(STAGING, '1.2.0', 20);
      const newer = await promote(STAGING, '1.3.0', 30, 'approved');
      expect(newer.id).not.toBe(older.id);
      await promotions.pin({
        targetId: PROD.id,
        subject: RELEASES,
        version: version('1.2.0'),
        reason: 'freeze',
        by: 'user:default/alice',
        at: at(40),
      });
      const podReads: string[] = [];
      const service = (
        pods?: ConstructorParameters<typeof VersionsService>[0]['pods'],
      ) =>
        new VersionsService({
          objects,
          scans,
          promotions,
          permissions: allow,
          pods,
        });

      const { items } = await service().versions(SHOP, credentials);
      expect(items).toEqual([
        {
          target: PROD,
          subject: RELEASES,
          image: 'ghcr.io/shop/web',
          deployed: version('1.2.0'),
          selected: expect.objectContaining({ tag: '1.3.0' }),
          pin: expect.objectContaining({ reason: 'freeze' }),
          promotionId: undefined,
        },
        {
          target: STAGING,
          subject: RELEASES,
          image: 'ghcr.io/shop/web',
          deployed: undefined,
          selected: expect.objectContaining({ tag: '1.3.0' }),
          pin: undefined,
          promotionId: newer.id,
        },
      ]);

      // The pods of each cluster, read in the namespaces the set applied into (a stand-in for the
      // cluster read, which ResourceSetPromotions.test.ts runs against a kube-apiserver).
      const read = await service(async (cluster, selector, namespaces) => {
        podReads.push(`${cluster} ${selector} ${namespaces.join(',')}`);
        if (cluster === 'staging') throw new Error('connection refused');
        return [
          {
            namespace: 'web-apps',
            pod: 'a',
            images: ['ghcr.io/shop/web:1.2.0'],
          },
          {
            namespace: 'web-apps',
            pod: 'b',
            images: ['ghcr.io/shop/web:1.1.0'],
          },
        ];
      }).versions(SHOP, credentials);
      expect(podReads).toEqual([
        'prod backstage.io/kubernetes-id=web shop,web-apps',
        'staging backstage.io/kubernetes-id=web shop,web-apps',
      ]);
      expect(read.items.map(i => i.running)).toEqual([
        expect.objectContaining({
          summary: '1/2 pods on 1.2.0',
          images: [
            { image: 'ghcr.io/shop/web:1.1.0', pods: 1 },
            { image: 'ghcr.io/shop/web:1.2.0', pods: 1 },
          ],
        }),
        {
          summary: "cluster 'staging' could not be read: connection refused",
          images: [],
          error: "cluster 'staging' could not be read: connection refused",
        },
      ]);
    });

    it('shows a lane per cluster and per retired target, pins with their expiry, and suspensions of objects without a lane on the registry lane', async () => {
      const { objects, scans, promotions, promote } = await setup();
      await promote(PROD, '1.1.0', 0, 'applied');
      await promote(PROD, '1.2.0', 10, 'applied');
      // A cluster the set no longer applies to: its promotions keep a lane.
      await promote(clusterTarget(SET, 'retired'), '1.0.0', 5, 'applied');
      await promotions.pin({
        targetId: PROD.id,
        subject: RELEASES,
        version: version('1.1.0'),
        reason: 'freeze',
        by: 'user:default/alice',
        at: at(40),
        expiresAt: at(100),
      });
      await objects.setSuspended(
        RELEASES,
        true,
        'user:default/bob',
        new Date(at(50)),
      );
      const view = await new TimelineService({
        objects,
        scans,
        promotions,
        permissions: allow,
        now: () => new Date(at(60)),
      }).timeline(SHOP, { since: new Date(at(12)) }, credentials);

      const broken = `ResourceSet/${NS}/broken`;
      // Lanes in the order of the objects (by id), then those only promotions name.
      expect(view.lanes).toEqual([
        { id: 'registry', label: 'registry' },
        {
          id: clusterTarget(broken, 'prod').id,
          label: 'cluster prod (broken)',
        },
        {
          id: clusterTarget(broken, 'staging').id,
          label: 'cluster staging (broken)',
        },
        { id: PROD.id, label: 'cluster prod (web)' },
        { id: STAGING.id, label: 'cluster staging (web)' },
        {
          id: clusterTarget(SET, 'retired').id,
          label: 'cluster retired (web)',
        },
      ]);
      expect(
        view.items.map(e => `${e.kind} ${e.targetId ?? '-'} ${e.message}`),
      ).toEqual([
        `suspended - ${RELEASES} suspended`,
        `pinned ${
          PROD.id
        } 1.1.0 pinned on cluster prod (web): freeze (until ${at(100)})`,
      ]);
      expect(view.items[0].id).toBe(`object:${RELEASES}:suspended`);
      expect(view.items[1].digest).toBe(version('1.1.0').digest);
      // What each lane carried when the range starts: the newest applied before it.
      expect(
        view.appliedBefore?.map(e => `${e.targetId} ${e.tag} ${e.time}`),
      ).toEqual([
        `${PROD.id} 1.2.0 ${at(11)}`,
        `${clusterTarget(SET, 'retired').id} 1.0.0 ${at(6)}`,
      ]);
    });
  },
);
