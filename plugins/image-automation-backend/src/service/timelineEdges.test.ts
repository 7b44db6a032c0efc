import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { PromotionVersion } from '@imageops/backstage-plugin-image-automation-common';
import { clusterTarget } from '../promotions/clusterTargets';
import { gitTarget } from '../promotions/gitTargets';
import { createStoreTestDatabases } from '../store/testDatabases';
import {
  declareOwned,
  openTestStores,
  testManifest,
} from '../store/testStores';
import { storeObjectStatus } from '../store/testObjectStatus';
import { parseTimelineQuery, TimelineService } from './TimelineService';

// The timeline at its edges: the bounds of its query, the labels of its lanes, no lane for a set
// never applied, the fields and ids of promotion, pin and suspension events, and the order of
// events at the same instant. Real stores.

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const SHOP = 'component:default/shop';
const NS = 'apps';
const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });
const credentials = mockCredentials.user('user:default/alice');
const T = '2030-01-02T10:00:00.000Z';

describe('timeline query bounds', () => {
  it('accepts a range of one instant, and a limit of 1 and of 1000', () => {
    const instant = new Date(T);
    expect(parseTimelineQuery({ since: T, until: T })).toEqual({
      since: instant,
      until: instant,
      limit: undefined,
      cursor: undefined,
    });
    expect(parseTimelineQuery({ limit: '1' }).limit).toBe(1);
    expect(parseTimelineQuery({ limit: '1000' }).limit).toBe(1000);
  });

  it('refuses a cursor whose time is a number, even one that reads as a year', () => {
    const cursor = Buffer.from(JSON.stringify([2026, 'scan:1:1.0.0'])).toString(
      'base64url',
    );
    expect(() => parseTimelineQuery({ cursor })).toThrow(
      `cursor is not one this endpoint returned: '${cursor}'`,
    );
  });
});

const manifest = (kind: string, name: string, spec: Record<string, unknown>) =>
  testManifest(kind, NS, name, spec);

const version = (tag: string): PromotionVersion => ({
  image: 'ghcr.io/shop/web',
  tag,
  digest: `sha256:${tag.replace(/\./g, '').padEnd(64, '0')}`,
});

describe.each(databases.eachSupportedId())(
  'timeline events, %p',
  databaseId => {
    it('labels lanes by path or name, gives no lane to a set never applied, and orders events of one instant by id', async () => {
      const { objects, scans, promotions } = await openTestStores(
        await databases.init(databaseId),
      );
      await declareOwned(objects, SHOP, [
        manifest('ImageUpdateAutomation', 'plain', { interval: '5m' }),
        // A path that only has "./" inside it keeps it.
        manifest('ImageUpdateAutomation', 'odd', {
          interval: '5m',
          update: { path: 'clusters/../staging' },
        }),
        manifest('ResourceSet', 'idle', { resources: [] }),
        manifest('ResourceSet', 'web', { resources: [] }),
      ]);
      const web = `ResourceSet/${NS}/web`;
      const prod = clusterTarget(web, 'prod');
      const plain = gitTarget(`ImageUpdateAutomation/${NS}/plain`);
      await storeObjectStatus(objects, web, { appliedClusters: ['prod'] });

      // Requested and approved in one instant.
      const promotion = await promotions.create({
        entityRef: SHOP,
        target: plain,
        subject: `ImagePolicy/${NS}/web`,
        to: version('1.2.0'),
        by: 'image-automation',
        now: new Date(T),
      });
      await promotions.update(
        promotion.id,
        promotion.revision,
        { state: 'approved', step: { state: 'approved', at: T, by: 'bob' } },
        new Date(T),
      );
      // A pin and a suspension in one later instant.
      const later = '2030-01-02T11:00:00.000Z';
      await promotions.pin({
        targetId: prod.id,
        subject: `ResourceSetInputProvider/${NS}/releases`,
        version: version('1.1.0'),
        reason: 'freeze',
        by: 'user:default/alice',
        at: later,
      });
      await objects.setSuspended(
        web,
        true,
        'user:default/bob',
        new Date(later),
      );

      const view = await new TimelineService({
        objects,
        scans,
        promotions,
        permissions: allow,
        now: () => new Date('2030-01-02T12:00:00.000Z'),
      }).timeline(SHOP, {}, credentials);

      expect(view.lanes).toEqual([
        {
          id: gitTarget(`ImageUpdateAutomation/${NS}/odd`).id,
          label: 'git: clusters/../staging (odd)',
        },
        { id: plain.id, label: 'git: plain' },
        { id: prod.id, label: 'cluster prod (web)' },
      ]);
      expect(view.items).toEqual([
        {
          id: `pin:${prod.id}:ResourceSetInputProvider/${NS}/releases:${later}`,
          time: later,
          kind: 'pinned',
          targetId: prod.id,
          image: 'ghcr.io/shop/web',
          objectId: `ResourceSetInputProvider/${NS}/releases`,
          tag: '1.1.0',
          digest: version('1.1.0').digest,
          actor: 'user:default/alice',
          message: '1.1.0 pinned on cluster prod (web): freeze',
        },
        {
          id: `object:${web}:suspended:${prod.id}`,
          time: later,
          kind: 'suspended',
          targetId: prod.id,
          objectId: web,
          actor: 'user:default/bob',
          message: `${web} suspended`,
        },
        ...[1, 0].map(index => ({
          id: `promotion:${promotion.id}:${index}`,
          time: T,
          kind: index ? 'approved' : 'requested',
          targetId: plain.id,
          image: 'ghcr.io/shop/web',
          objectId: `ImagePolicy/${NS}/web`,
          tag: '1.2.0',
          digest: version('1.2.0').digest,
          actor: index ? 'bob' : 'image-automation',
          promotionId: promotion.id,
          message: `1.2.0 ${index ? 'approved' : 'requested'} for git: plain`,
        })),
      ]);
    });
    it('shows the registry lane for repositories never scanned, their last scan and next one, and an event at the start of the range', async () => {
      const { objects, scans, promotions } = await openTestStores(
        await databases.init(databaseId),
      );
      const repository = (name: string) =>
        manifest('ImageRepository', name, {
          image: `ghcr.io/shop/${name}`,
          interval: '5m',
        });
      await declareOwned(objects, SHOP, [
        repository('api'),
        repository('web'),
        repository('new'),
      ]);
      // Statuses only: no scan records, so no tag was seen.
      const scanned = (scanTime: string) => ({
        lastScanResult: { tagCount: 1, scanTime, revision: 'sha256:1' },
      });
      await storeObjectStatus(
        objects,
        `ImageRepository/${NS}/api`,
        scanned('2030-01-02T09:00:00.000Z'),
      );
      await storeObjectStatus(
        objects,
        `ImageRepository/${NS}/web`,
        scanned('2030-01-02T08:00:00.000Z'),
      );
      // Due next: api in an hour, new (never run) now, web before either.
      await objects.markDue(
        [`ImageRepository/${NS}/web`],
        new Date('2026-01-01T00:00:00.000Z'),
      );
      const timeline = new TimelineService({
        objects,
        scans,
        promotions,
        permissions: allow,
      });
      const view = await timeline.timeline(SHOP, {}, credentials);
      expect(view.items).toEqual([]);
      expect(view.lanes).toEqual([{ id: 'registry', label: 'registry' }]);
      expect(view.lastScanAt).toBe('2030-01-02T09:00:00.000Z');
      expect(view.nextScanAt).toBe('2026-01-01T00:00:00.000Z');

      await objects.setSuspended(
        `ImageRepository/${NS}/api`,
        true,
        'user:default/bob',
        new Date(T),
      );
      const since = await timeline.timeline(
        SHOP,
        { since: new Date(T) },
        credentials,
      );
      expect(since.items.map(e => `${e.time} ${e.message}`)).toEqual([
        `${T} ImageRepository/${NS}/api suspended`,
      ]);
    });
  },
);
