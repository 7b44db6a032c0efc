import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { firstSeenOf, gitTarget } from '../promotions/gitTargets';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { TimelineService } from './TimelineService';
import { VersionsService } from './VersionsService';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const shop = 'component:default/shop';
const bank = 'component:default/bank';
const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });

function manifest(
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): AutomationObject {
  return {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind,
    metadata: { name, namespace },
    spec,
  } as AutomationObject;
}

/** Tags only the bank tenant's repository has: none may show in the shop's view. */
const BANK_TAGS = ['31.4.159', '27.1.828-payroll'];

/**
 * Two tenants from the catalog: the bank (granted `bank`) scans its private repository; the shop
 * (granted `apps`) has its own repository and policy, and a second policy whose
 * `imageRepositoryRef` points into the bank's namespace (Stalled AccessDenied in the engine), both
 * written by one automation. A platform repository in `shared` admits `apps` with `accessFrom`.
 */
async function createTenants(databaseId: Parameters<typeof databases.init>[0]) {
  const knex = await databases.init(databaseId);
  const objects = await DatabaseObjectStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const promotions = await DatabasePromotionStore.create({
    knex,
    skipMigrations: true,
  });
  const source = {
    type: 'catalog' as const,
    location: 'file:///catalog/x.yaml',
  };
  await objects.syncSource('entity:component:default/bank', [
    {
      entityRef: bank,
      source,
      grantedNamespaces: ['bank'],
      manifest: manifest('ImageRepository', 'bank', 'vault', {
        image: 'ghcr.io/bank/vault',
        interval: '5m',
      }),
    },
  ]);
  await objects.syncSource('config:platform.yaml', [
    {
      source: { type: 'config', location: 'platform.yaml' },
      manifest: manifest('ImageRepository', 'shared', 'base', {
        image: 'ghcr.io/platform/base',
        interval: '5m',
        accessFrom: {
          namespaceSelectors: [
            { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } },
          ],
        },
      }),
    },
  ]);
  const semver = { semver: { range: '>=0.0.0' } };
  await objects.syncSource('entity:component:default/shop', [
    {
      entityRef: shop,
      source,
      grantedNamespaces: ['apps'],
      manifest: manifest('ImageRepository', 'apps', 'web', {
        image: 'ghcr.io/acme/web',
        interval: '5m',
      }),
    },
    {
      entityRef: shop,
      source,
      grantedNamespaces: ['apps'],
      manifest: manifest('ImagePolicy', 'apps', 'web', {
        imageRepositoryRef: { name: 'web' },
        policy: semver,
      }),
    },
    {
      entityRef: shop,
      source,
      grantedNamespaces: ['apps'],
      manifest: manifest('ImagePolicy', 'apps', 'stolen', {
        imageRepositoryRef: { name: 'vault', namespace: 'bank' },
        policy: semver,
      }),
    },
    {
      entityRef: shop,
      source,
      grantedNamespaces: ['apps'],
      manifest: manifest('ImagePolicy', 'apps', 'base', {
        imageRepositoryRef: { name: 'base', namespace: 'shared' },
        policy: semver,
      }),
    },
    {
      entityRef: shop,
      source,
      grantedNamespaces: ['apps'],
      manifest: manifest('ImageUpdateAutomation', 'apps', 'staging', {
        interval: '5m',
        update: { path: './clusters/staging' },
      }),
    },
  ]);
  const statuses: Record<string, ObjectStatus> = {
    'ImagePolicy/apps/web': {
      latestRef: { name: 'ghcr.io/acme/web', tag: '1.5.0' },
    },
    // A selection left from before a grant was withdrawn (the engine keeps latestRef when Stalled).
    'ImagePolicy/apps/stolen': {
      latestRef: { name: 'ghcr.io/bank/vault', tag: BANK_TAGS[0] },
    },
    'ImagePolicy/apps/base': {
      latestRef: { name: 'ghcr.io/platform/base', tag: '3.0.0' },
    },
    'ImageUpdateAutomation/apps/staging': {
      markers: [
        {
          file: 'clusters/staging/web.yaml',
          line: 7,
          setter: 'apps:web',
          value: 'ghcr.io/acme/web:1.4.0',
        },
        {
          file: 'clusters/staging/vault.yaml',
          line: 9,
          setter: 'apps:stolen',
          value: 'ghcr.io/acme/vault:1.0.0',
        },
        {
          file: 'clusters/staging/base.yaml',
          line: 3,
          setter: 'apps:base',
          value: 'ghcr.io/platform/base:2.0.0',
        },
      ],
    },
  };
  const claimed = await objects.claimDue({
    owner: 'test',
    now: new Date(Date.now() + 1000),
    limit: 20,
    leaseMs: 60_000,
  });
  for (const object of claimed) {
    await objects.completeRun(object.id, 'test', {
      status: statuses[object.id] ?? {},
      nextRunAt: new Date(Date.now() + 3_600_000),
      ranAt: new Date(),
    });
  }
  const scan = (objectId: string, tags: string[]) =>
    scans.recordScan({
      objectId,
      startedAt: new Date(Date.now() - 60_000),
      durationMs: 5,
      requests: 1,
      tags,
    });
  await scan('ImageRepository/apps/web', ['1.4.0', '1.5.0', '1.6.0']);
  await scan('ImageRepository/bank/vault', BANK_TAGS);
  await scan('ImageRepository/shared/base', ['2.0.0', '3.0.0']);
  const service = new VersionsService({
    objects,
    scans,
    promotions,
    permissions: allow,
  });
  const events = await DatabaseEventStore.create({
    knex,
    skipMigrations: true,
  });
  const timeline = new TimelineService({
    objects,
    scans,
    promotions,
    events,
    permissions: allow,
  });
  return { knex, objects, scans, service, timeline };
}

describe.each(databases.eachSupportedId())(
  'VersionsService on %p',
  databaseId => {
    it("never shows the tags of another tenant's repository a policy points at, while legitimate rows show theirs (#13)", async () => {
      const { knex, service } = await createTenants(databaseId);
      try {
        const view = await service.versions(shop, mockCredentials.user());
        const row = (policy: string) =>
          view.items.find(r => r.subject === `ImagePolicy/apps/${policy}`);
        expect(view.items.map(r => r.target.id)).toEqual(
          Array(3).fill(gitTarget('ImageUpdateAutomation/apps/staging').id),
        );

        // The attack: the row keeps what the shop's own repository says (markers, deployed) and nothing else.
        const stolen = row('stolen')!;
        expect(stolen.newest).toBeUndefined();
        expect(stolen.behind).toBeUndefined();
        expect(stolen.selected).toBeUndefined();
        expect(stolen.image).toBe('ghcr.io/acme/vault');
        expect(stolen.deployed).toEqual({
          image: 'ghcr.io/acme/vault',
          tag: '1.0.0',
        });
        expect(stolen.tagsUnavailable).toBe(
          "reference not allowed: spec.imageRepositoryRef: cross-namespace reference to ImageRepository 'bank/vault' denied: namespace 'bank' is not granted to component:default/shop and the ImageRepository's accessFrom does not admit namespace 'apps' (imageAutomation.tenancy.namespaces)",
        );
        const json = JSON.stringify(view);
        for (const tag of BANK_TAGS) expect(json).not.toContain(tag);
        expect(json).not.toContain('ghcr.io/bank/vault');

        // The neighbours: its own repository, and a platform repository whose accessFrom admits `apps`.
        expect(row('web')).toMatchObject({
          selected: { tag: '1.5.0' },
          newest: { tag: '1.6.0' },
          deployed: { tag: '1.4.0' },
        });
        expect(row('web')!.behind?.tags).toBeGreaterThan(0);
        expect(row('web')!.tagsUnavailable).toBeUndefined();
        expect(row('base')).toMatchObject({
          selected: { tag: '3.0.0' },
          newest: { tag: '3.0.0' },
        });
      } finally {
        await knex.destroy();
      }
    });

    it("keeps another tenant's tag sightings out of the timeline of an entity whose policy points at its repository (#13)", async () => {
      const { knex, timeline } = await createTenants(databaseId);
      try {
        const view = await timeline.timeline(shop, {}, mockCredentials.user());
        const seen = view.items.filter(e => e.kind === 'tag-seen');
        expect(seen.map(e => e.objectId).sort()).toEqual([
          'ImageRepository/apps/web',
          'ImageRepository/apps/web',
          'ImageRepository/apps/web',
          'ImageRepository/shared/base',
          'ImageRepository/shared/base',
        ]);
        const json = JSON.stringify(view);
        for (const tag of BANK_TAGS) expect(json).not.toContain(tag);
        expect(json).not.toContain('bank/vault');
      } finally {
        await knex.destroy();
      }
    });

    it("does not look up first sightings in another tenant's repository for a promotion (#13)", async () => {
      const { knex, objects, scans } = await createTenants(databaseId);
      try {
        expect(
          await firstSeenOf(objects, scans, 'apps', 'stolen', BANK_TAGS[0]),
        ).toBeUndefined();
        expect(
          await firstSeenOf(objects, scans, 'apps', 'web', '1.6.0'),
        ).toBeInstanceOf(Date);
      } finally {
        await knex.destroy();
      }
    });
  },
);
