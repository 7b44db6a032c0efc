import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  PromotionTarget,
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
import { TimelineService } from './TimelineService';

// What the timeline reads of an entity's history: its own promotions only, past the first page of
// them; what each lane carried when the range starts (newest first, and not what was applied at
// its very start); the canonical name a scan resolved; and a page that holds exactly the rest.
// Real stores.

jest.setTimeout(120_000);

const databases = createStoreTestDatabases();

const SHOP = 'component:default/shop';
const OTHER = 'component:default/other';
const NS = 'apps';
const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });
const credentials = mockCredentials.user('user:default/alice');
/** 2030-01-02 at `minute` past ten, UTC. */
const at = (minute: number) =>
  new Date(Date.UTC(2030, 0, 2, 10, minute)).toISOString();

const manifest = (kind: string, name: string, spec: Record<string, unknown>) =>
  testManifest(kind, NS, name, spec);

describe.each(databases.eachSupportedId())(
  'the history in the timeline, %p',
  databaseId => {
    async function setUp() {
      const { objects, scans, promotions } = await openTestStores(
        await databases.init(databaseId),
      );
      const owned = (entityRef: string, manifests: AutomationObject[]) =>
        declareOwned(objects, entityRef, manifests);
      /** A promotion created at `created`, applied at `applied` when given. */
      const promote = async (
        entityRef: string,
        target: PromotionTarget,
        subject: string,
        tag: string,
        created: string,
        applied?: string,
      ) => {
        const promotion = await promotions.create({
          entityRef,
          target,
          subject,
          to: { image: 'ghcr.io/shop/web', tag },
          by: 'image-automation',
          now: new Date(created),
        });
        if (applied) {
          await promotions.update(
            promotion.id,
            promotion.revision,
            {
              state: 'applied',
              step: { state: 'applied', at: applied, by: 'image-automation' },
            },
            new Date(applied),
          );
        }
        return promotion;
      };
      const timeline = new TimelineService({
        objects,
        scans,
        promotions,
        permissions: allow,
      });
      return { objects, scans, owned, promote, timeline };
    }

    it("reads every promotion of the entity and no other entity's, and what each lane carried when the range starts", async () => {
      const { objects, owned, promote, timeline } = await setUp();
      await owned(SHOP, [
        manifest('ImageUpdateAutomation', 'main', { interval: '5m' }),
        manifest('ResourceSet', 'api', { resources: [] }),
      ]);
      await owned(OTHER, [
        manifest('ImageUpdateAutomation', 'other', { interval: '5m' }),
      ]);
      await storeObjectStatus(objects, `ResourceSet/${NS}/api`, {
        appliedClusters: ['prod'],
      });
      const git = gitTarget(`ImageUpdateAutomation/${NS}/main`);
      const prod = clusterTarget(`ResourceSet/${NS}/api`, 'prod');
      const provider = (name: string) =>
        `ResourceSetInputProvider/${NS}/${name}`;
      // Created first and applied last of those before the range: it comes first.
      await promote(SHOP, git, `ImagePolicy/${NS}/web`, '1.1.0', at(0), at(4));
      await promote(SHOP, prod, provider('releases'), '2.1.0', at(1), at(2));
      // Applied at the very start of the range: inside it, not before it.
      await promote(SHOP, prod, provider('hotfix'), '3.0.0', at(3), at(6));
      await promote(
        OTHER,
        gitTarget(`ImageUpdateAutomation/${NS}/other`),
        `ImagePolicy/${NS}/other`,
        '9.9.9',
        at(1),
        at(2),
      );
      // 500 newer promotions of the entity: those above are on the second page.
      for (let i = 0; i < 500; i++) {
        await promote(
          SHOP,
          git,
          `ImagePolicy/${NS}/filler-${i}`,
          `0.${i}.0`,
          new Date(Date.parse(at(10)) + i * 1000).toISOString(),
        );
      }

      const view = await timeline.timeline(
        SHOP,
        { since: new Date(at(6)), limit: 1000 },
        credentials,
      );
      expect(
        view.appliedBefore?.map(e => `${e.targetId} ${e.tag} ${e.time}`),
      ).toEqual([`${git.id} 1.1.0 ${at(4)}`, `${prod.id} 2.1.0 ${at(2)}`]);
      expect(view.items).toHaveLength(501);
      expect(view.items[500].message).toBe(
        '3.0.0 applied to cluster prod (api)',
      );
      expect(JSON.stringify(view)).not.toContain('9.9.9');
    });

    it('names the image as the scan resolved it, and leaves out the cursor and scan times when there are none', async () => {
      const { objects, scans, owned, promote, timeline } = await setUp();
      await owned(SHOP, [
        manifest('ImageRepository', 'web', { image: 'web', interval: '5m' }),
      ]);
      await scans.recordScan({
        objectId: `ImageRepository/${NS}/web`,
        startedAt: new Date(at(0)),
        durationMs: 5,
        requests: 1,
        tags: ['1.0.0'],
        canonicalImageName: 'docker.io/library/web',
      });
      const seen = await timeline.timeline(SHOP, { limit: 1 }, credentials);
      expect(seen.items).toEqual([
        expect.objectContaining({
          kind: 'tag-seen',
          image: 'docker.io/library/web',
          message: '1.0.0 seen in docker.io/library/web',
        }),
      ]);
      // One event, a page of one: no next page.
      expect(seen).not.toHaveProperty('nextCursor');

      // An entity without repositories: no scan times at all.
      await owned(OTHER, [
        manifest('ImageUpdateAutomation', 'other', { interval: '5m' }),
      ]);
      await promote(
        OTHER,
        gitTarget(`ImageUpdateAutomation/${NS}/other`),
        `ImagePolicy/${NS}/other`,
        '1.0.0',
        at(1),
      );
      expect(await objects.list({ entityRef: OTHER })).toHaveLength(1);
      const quiet = await timeline.timeline(OTHER, {}, credentials);
      expect(quiet.items).toHaveLength(1);
      expect(quiet).not.toHaveProperty('lastScanAt');
      expect(quiet).not.toHaveProperty('nextScanAt');
    });
  },
);
