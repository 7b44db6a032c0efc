import {
  mockCredentials,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { storeObjectStatus } from '../store/testObjectStatus';
import { openTestStores, testManifest } from '../store/testStores';
import { AuthorizedPromotionService } from './AuthorizedPromotionService';
import { DefaultPromotionService } from './DefaultPromotionService';
import { FleetService, parseFleetFilter } from './FleetService';

// The fleet page at its edges: the filters it parses, an entity that only has objects and one
// that only has promotions, open promotions beyond one page, and the last instant of the grace a
// reconcile gets. Real stores (SQLite); permissions allow everything.

jest.setTimeout(120_000);

const databases = TestDatabases.create({
  ids: ['SQLITE_3'],
  disableDocker: true,
});

describe('fleet filters', () => {
  it('takes every kind of automation object, trimmed', () => {
    for (const kind of [
      'ImageRepository',
      'ImagePolicy',
      'ImageUpdateAutomation',
      'GitRepository',
      'ResourceSet',
      'ResourceSetInputProvider',
    ]) {
      expect(parseFleetFilter({ kind: ` ${kind} ` })).toEqual({ kind });
    }
    expect(parseFleetFilter({ kind: '  ', owner: '' })).toEqual({});
  });
});

const NOW = new Date('2030-03-01T12:00:00.000Z');
const GRACE_MS = 60_000;
const OBJECTS_ONLY = 'component:default/objects-only';
const PROMOTIONS_ONLY = 'component:default/promotions-only';

const policy = (name: string, spec: Record<string, unknown> = {}) =>
  testManifest('ImagePolicy', 'apps', name, spec);

describe('FleetService', () => {
  it('lists an entity that has only objects and one that has only promotions, every open promotion, a reconcile at the end of its grace, a readiness nobody knows, and a suspension by the manifest', async () => {
    const {
      objects,
      promotions: promotionStore,
      events,
    } = await openTestStores(await databases.init('SQLITE_3'));
    const permissions = mockServices.permissions({
      result: AuthorizeResult.ALLOW,
    });
    const entity = (name: string, owner: string) => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: { name, namespace: 'default' },
      spec: { type: 'service', owner },
    });
    const fleet = new FleetService({
      objects,
      promotionStore,
      promotions: new AuthorizedPromotionService(
        new DefaultPromotionService({
          promotions: promotionStore,
          objects,
          events,
        }),
        permissions,
      ),
      permissions,
      catalog: catalogServiceMock({
        entities: [
          entity('objects-only', 'team-o'),
          entity('promotions-only', 'team-p'),
        ],
      }),
      now: () => NOW,
      reconcilingGraceMs: GRACE_MS,
    });

    await objects.syncSource(OBJECTS_ONLY, [
      {
        manifest: policy('due'),
        entityRef: OBJECTS_ONLY,
        source: { type: 'config', location: OBJECTS_ONLY },
      },
      {
        manifest: policy('unsure'),
        entityRef: OBJECTS_ONLY,
        source: { type: 'config', location: OBJECTS_ONLY },
      },
      // Suspended by its manifest, not by a person.
      {
        manifest: policy('paused', { suspend: true }),
        entityRef: OBJECTS_ONLY,
        source: { type: 'config', location: OBJECTS_ONLY },
      },
    ]);
    const reconciling = (msAgo: number) => ({
      conditions: [
        {
          type: 'Ready',
          status: 'Unknown' as const,
          reason: 'Progressing',
          message: 'reconciliation in progress',
          lastTransitionTime: new Date(NOW.getTime() - msAgo).toISOString(),
        },
        {
          type: 'Reconciling',
          status: 'True' as const,
          reason: 'Progressing',
          message: 'waiting for the repository',
          lastTransitionTime: new Date(NOW.getTime() - msAgo).toISOString(),
        },
      ],
    });
    await storeObjectStatus(
      objects,
      'ImagePolicy/apps/due',
      reconciling(GRACE_MS),
    );
    // Ready Unknown without a reconcile in progress, after a run.
    await storeObjectStatus(objects, 'ImagePolicy/apps/unsure', {
      conditions: [
        {
          type: 'Ready',
          status: 'Unknown',
          reason: 'DependencyNotReady',
          message: 'waiting for ImageRepository/apps/web',
          lastTransitionTime: NOW.toISOString(),
        },
      ],
    });

    // 501 open promotions: the oldest is on the second page.
    const target = {
      id: 'git:ImageUpdateAutomation/apps/main',
      type: 'git' as const,
      objectId: 'ImageUpdateAutomation/apps/main',
    };
    const created = [];
    for (let i = 0; i <= 500; i++) {
      created.push(
        await promotionStore.create({
          entityRef: PROMOTIONS_ONLY,
          target,
          subject: `ImagePolicy/apps/p${i}`,
          to: { image: 'ghcr.io/acme/app', tag: `1.${i}.0` },
          by: 'image-automation',
          now: new Date(NOW.getTime() - (1000 - i) * 1000),
        }),
      );
    }

    const view = await fleet.fleet({}, mockCredentials.user());
    expect(view.failing.map(o => [o.id, o.health, o.owner])).toEqual([
      ['ImagePolicy/apps/paused', 'Suspended', 'group:default/team-o'],
      ['ImagePolicy/apps/due', 'Reconciling', 'group:default/team-o'],
      ['ImagePolicy/apps/unsure', 'Unknown', 'group:default/team-o'],
    ]);
    expect(view.failing[0].message).toBe(
      'Suspended by spec.suspend in the manifest',
    );
    expect(view.failing[2]).toMatchObject({
      reason: 'DependencyNotReady',
      message: 'waiting for ImageRepository/apps/web',
    });
    expect(view.promotions).toHaveLength(501);
    expect(new Set(view.promotions.map(p => p.id))).toEqual(
      new Set(created.map(p => p.id)),
    );
    expect(new Set(view.promotions.map(p => p.owner))).toEqual(
      new Set(['group:default/team-p']),
    );

    // A millisecond younger, it is still within its grace.
    await storeObjectStatus(
      objects,
      'ImagePolicy/apps/due',
      reconciling(GRACE_MS - 1),
    );
    expect(
      (await fleet.fleet({}, mockCredentials.user())).failing.map(o => o.id),
    ).toEqual(['ImagePolicy/apps/paused', 'ImagePolicy/apps/unsure']);
  });
});
