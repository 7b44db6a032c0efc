import express from 'express';
import request from 'supertest';
import {
  BackstageCredentials,
  PermissionsService,
  PermissionsServiceRequestOptions,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  AuthorizePermissionRequest,
  AuthorizeResult,
} from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  AutomationObject,
  Condition,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { DeclaredObject } from '../store/ObjectStore';
import { AuthorizedObjectService } from './AuthorizedObjectService';
import { AuthorizedPromotionService } from './AuthorizedPromotionService';
import { DefaultObjectService } from './DefaultObjectService';
import { DefaultPromotionService } from './DefaultPromotionService';
import { FleetService, parseFleetFilter } from './FleetService';
import { createRouter } from './router';

jest.setTimeout(120_000);

const databases = TestDatabases.create({
  ids: ['SQLITE_3'],
  disableDocker: true,
});

const ALICE = 'user:default/alice';
const NOBODY = 'user:default/nobody';
const SHOP = 'component:default/shop';
const CART = 'component:default/cart';
const VAULT = 'component:default/vault';
/** A Kubernetes Secret's data, as a rendered preview stored with a promotion could carry it. */
const SECRET = 'c3VwZXItc2VjcmV0LXJlZ2lzdHJ5LXBhc3N3b3Jk';

type Grants = Record<string, Record<string, string[]>>;

/**
 * The stub permissions: allows exactly the granted (user, permission, entity) triples and records
 * the size of every authorize request, so a test can count round trips.
 */
class StubPermissions implements PermissionsService {
  readonly requests: number[] = [];

  constructor(private readonly grants: Grants) {}

  async authorize(
    requests: AuthorizePermissionRequest[],
    options: PermissionsServiceRequestOptions,
  ) {
    this.requests.push(requests.length);
    const user =
      (options.credentials as BackstageCredentials<{ userEntityRef?: string }>)
        .principal.userEntityRef ?? '';
    return requests.map(r => ({
      result: this.grants[user]?.[r.permission.name]?.includes(
        r.resourceRef ?? '',
      )
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
    })) as any;
  }

  async authorizeConditional(): Promise<never> {
    throw new Error('the fleet page needs definitive decisions only');
  }
}

function ago(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString();
}

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  minutesAgo: number,
): Condition {
  return { type, status, reason, message, lastTransitionTime: ago(minutesAgo) };
}

const READY: ObjectStatus = {
  conditions: [condition('Ready', 'True', 'Succeeded', 'all good', 60)],
};

function declared(
  kind: string,
  name: string,
  entityRef: string | undefined,
  spec: Record<string, unknown> = {},
): DeclaredObject {
  let apiVersion = 'image.toolkit.fluxcd.io/v1';
  if (kind === 'GitRepository') apiVersion = 'source.toolkit.fluxcd.io/v1';
  else if (kind.startsWith('ResourceSet'))
    apiVersion = 'fluxcd.controlplane.io/v1';
  const manifest: AutomationObject = {
    apiVersion,
    kind,
    metadata: { name, namespace: 'apps' },
    spec,
  };
  return entityRef
    ? {
        manifest,
        entityRef,
        source: { type: 'catalog', location: `file:///catalog/${name}.yaml` },
      }
    : {
        manifest,
        source: { type: 'config', location: 'file:///config/automation.yaml' },
      };
}

function entity(name: string, owner: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec: { type: 'service', owner },
  };
}

async function setUp(grants: Grants, entities: Entity[]) {
  const knex = await databases.init('SQLITE_3');
  const objects = await DatabaseObjectStore.create({ knex });
  const promotionStore = await DatabasePromotionStore.create({
    knex,
    skipMigrations: true,
  });
  const events = await DatabaseEventStore.create({
    knex,
    skipMigrations: true,
  });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const permissions = new StubPermissions(grants);
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
    catalog: catalogServiceMock({ entities }),
  });
  /** Stores each object's status as the engine would after a run (objects not named never ran). */
  const complete = async (statuses: Record<string, ObjectStatus>) => {
    const claimed = await objects.claimDue({
      owner: 'test',
      now: new Date(Date.now() + 1000),
      limit: 10_000,
      leaseMs: 60_000,
    });
    for (const object of claimed) {
      const status = statuses[object.id];
      if (status)
        await objects.completeRun(object.id, 'test', {
          status,
          nextRunAt: new Date(Date.now() + 3_600_000),
          ranAt: new Date(),
        });
    }
  };
  return {
    knex,
    objects,
    promotionStore,
    events,
    scans,
    permissions,
    fleet,
    complete,
  };
}

const ALICE_GRANTS: Grants = {
  [ALICE]: {
    'image-automation.object.read': [SHOP, CART],
    'image-automation.object.update': [SHOP],
    'image-automation.promotion.approve': [SHOP],
  },
};

/**
 * Three entities: shop (team-a) with a stalled policy and a pending promotion Alice may approve;
 * cart (team-b) with a failing repository, a suspended ResourceSet, a policy reconciling for half
 * an hour, one reconciling for a minute, one never run, and a promotion Alice may not act on;
 * vault, which Alice may not read, with a stalled repository and a promotion. Plus an object of
 * app-config, owned by no entity.
 */
async function shopAndCart() {
  const env = await setUp(ALICE_GRANTS, [
    entity('shop', 'team-a'),
    entity('cart', 'group:default/team-b'),
    entity('vault', 'team-vault'),
  ]);
  const { objects, promotionStore, complete } = env;
  await objects.syncSource('entity:shop', [
    declared('ImageRepository', 'shop', SHOP, {
      image: 'ghcr.io/acme/shop',
      secretRef: { name: 'registry-credentials' },
    }),
    declared('ImagePolicy', 'shop', SHOP),
    declared('ImageUpdateAutomation', 'shop', SHOP),
  ]);
  await objects.syncSource('entity:cart', [
    declared('ImageRepository', 'cart', CART),
    declared('ImageRepository', 'cart-new', CART),
    declared('ImagePolicy', 'cart-slow', CART),
    declared('ImagePolicy', 'cart-fresh', CART),
    declared('ResourceSet', 'cart', CART),
  ]);
  await objects.syncSource('entity:vault', [
    declared('ImageRepository', 'vault', VAULT),
  ]);
  await objects.syncSource('config', [
    declared('GitRepository', 'platform', undefined),
  ]);
  const stalled = (message: string): ObjectStatus => ({
    conditions: [
      condition('Ready', 'False', 'InvalidSemverRange', message, 5),
      condition('Stalled', 'True', 'InvalidSemverRange', message, 5),
    ],
  });
  await complete({
    'ImageRepository/apps/shop': READY,
    'ImagePolicy/apps/shop': stalled('invalid semver range ">=1.x"'),
    'ImageUpdateAutomation/apps/shop': READY,
    'ImageRepository/apps/cart': {
      conditions: [
        condition(
          'Ready',
          'False',
          'AuthenticationFailed',
          'registry answered 401',
          3,
        ),
        condition(
          'Reconciling',
          'True',
          'ProgressingWithRetry',
          'registry answered 401',
          3,
        ),
      ],
    },
    'ImagePolicy/apps/cart-slow': {
      conditions: [
        condition(
          'Ready',
          'Unknown',
          'Progressing',
          'reconciliation in progress',
          30,
        ),
        condition(
          'Reconciling',
          'True',
          'Progressing',
          'waiting for the repository',
          30,
        ),
      ],
    },
    'ImagePolicy/apps/cart-fresh': {
      conditions: [
        condition('Reconciling', 'True', 'Progressing', 'scanning', 1),
      ],
    },
    'ResourceSet/apps/cart': READY,
    'ImageRepository/apps/vault': stalled('vault registry host is not allowed'),
    'GitRepository/apps/platform': stalled('platform repository is gone'),
  });
  const suspendedAt = new Date(ago(20));
  await objects.setSuspended('ResourceSet/apps/cart', true, ALICE, suspendedAt);

  const version = (tag: string) => ({
    image: 'ghcr.io/acme/shop',
    tag,
    digest: `sha256:${tag.replace(/\D/g, '').padEnd(64, '0')}`,
  });
  const shopPromotion = await promotionStore.create({
    entityRef: SHOP,
    target: {
      id: 'git:ImageUpdateAutomation/apps/shop',
      type: 'git',
      objectId: 'ImageUpdateAutomation/apps/shop',
    },
    subject: 'ImagePolicy/apps/shop',
    from: version('1.4.1'),
    to: version('1.5.0'),
    by: 'image-automation',
    now: new Date(ago(10)),
  });
  await promotionStore.update(
    shopPromotion.id,
    shopPromotion.revision,
    { preview: JSON.stringify({ data: { password: SECRET } }) },
    new Date(),
  );
  // Being applied: nobody can act on it any more.
  const applying = await promotionStore.create({
    entityRef: SHOP,
    target: {
      id: 'git:ImageUpdateAutomation/apps/shop',
      type: 'git',
      objectId: 'ImageUpdateAutomation/apps/shop',
    },
    subject: 'ImagePolicy/apps/shop-api',
    to: version('2.0.0'),
    by: 'image-automation',
    now: new Date(ago(9)),
  });
  await promotionStore.update(
    applying.id,
    applying.revision,
    { state: 'applying' },
    new Date(),
  );
  const cartPromotion = await promotionStore.create({
    entityRef: CART,
    target: {
      id: 'cluster:ResourceSet/apps/cart@prod',
      type: 'cluster',
      objectId: 'ResourceSet/apps/cart',
      cluster: 'prod',
    },
    subject: 'ResourceSetInputProvider/apps/cart',
    to: version('3.0.0'),
    by: 'image-automation',
    now: new Date(ago(8)),
  });
  const vaultPromotion = await promotionStore.create({
    entityRef: VAULT,
    target: {
      id: 'git:ImageUpdateAutomation/apps/vault',
      type: 'git',
      objectId: 'ImageUpdateAutomation/apps/vault',
    },
    subject: 'ImagePolicy/apps/vault',
    to: version('9.9.9'),
    by: 'image-automation',
    now: new Date(ago(7)),
  });
  return { ...env, suspendedAt, shopPromotion, cartPromotion, vaultPromotion };
}

describe('FleetService', () => {
  it("lists the promotions the caller may act on and the objects that are not Ready, on entities they may read, with each entity's owner", async () => {
    const { fleet, shopPromotion, suspendedAt } = await shopAndCart();
    const view = await fleet.fleet({}, mockCredentials.user(ALICE));

    expect(view.promotions).toHaveLength(1);
    expect(view.promotions[0]).toMatchObject({
      id: shopPromotion.id,
      entityRef: SHOP,
      owner: 'group:default/team-a',
      from: { tag: '1.4.1' },
      to: { tag: '1.5.0' },
      state: 'pending',
      actions: {
        approve: { allowed: true },
        reject: { allowed: true },
        promoteNow: {
          allowed: false,
          reason: `You lack the image-automation.promotion.force permission for ${SHOP}`,
        },
      },
    });

    expect(view.failing.map(o => [o.id, o.health, o.owner])).toEqual([
      ['ImagePolicy/apps/shop', 'Stalled', 'group:default/team-a'],
      ['ResourceSet/apps/cart', 'Suspended', 'group:default/team-b'],
      ['ImageRepository/apps/cart', 'Failing', 'group:default/team-b'],
      ['ImagePolicy/apps/cart-slow', 'Reconciling', 'group:default/team-b'],
    ]);
    const [stalled, suspended, failing, reconciling] = view.failing;
    expect(stalled).toMatchObject({
      entityRef: SHOP,
      reason: 'InvalidSemverRange',
      message: 'invalid semver range ">=1.x"',
      since: expect.any(String),
      // Alice may update the shop's objects...
      actions: { reconcile: { allowed: true } },
    });
    expect(Date.now() - Date.parse(stalled.since!)).toBeGreaterThanOrEqual(
      5 * 60_000 - 5_000,
    );
    expect(suspended).toMatchObject({
      message: `Suspended by ${ALICE}`,
      since: suspendedAt.toISOString(),
    });
    expect(failing).toMatchObject({
      reason: 'AuthenticationFailed',
      message: 'registry answered 401',
    });
    expect(reconciling).toMatchObject({
      message: 'waiting for the repository',
    });
    // ...but not the cart's.
    expect(failing.actions.reconcile).toEqual({
      allowed: false,
      reason: `You lack the image-automation.object.update permission for ${CART}`,
    });

    expect(view.facets).toEqual({
      owners: ['group:default/team-a', 'group:default/team-b'],
      kinds: [
        'ImagePolicy',
        'ImageRepository',
        'ImageUpdateAutomation',
        'ResourceSet',
      ],
      states: ['pending', 'Stalled', 'Suspended', 'Failing', 'Reconciling'],
    });
  });

  it('shows a caller who may read nothing nothing at all, not even the facets', async () => {
    const { fleet, permissions } = await shopAndCart();
    expect(await fleet.fleet({}, mockCredentials.user(NOBODY))).toEqual({
      promotions: [],
      failing: [],
      facets: { owners: [], kinds: [], states: [] },
    });
    expect(permissions.requests).toHaveLength(2);
  });

  it('never returns what the caller may not see or any secret: no preview, no unreadable entity', async () => {
    const { fleet, vaultPromotion, cartPromotion } = await shopAndCart();
    const json = JSON.stringify(
      await fleet.fleet({}, mockCredentials.user(ALICE)),
    );
    expect(json).not.toContain(SECRET);
    expect(json).not.toContain('preview');
    expect(json).not.toContain('vault');
    expect(json).not.toContain(vaultPromotion.id);
    expect(json).not.toContain('platform repository is gone');
    // Cart is readable, but Alice can neither approve, reject nor promote its promotion.
    expect(json).not.toContain(cartPromotion.id);
  });

  it('filters by owner, kind and state, keeping the facets of everything the caller sees', async () => {
    const { fleet } = await shopAndCart();
    const alice = mockCredentials.user(ALICE);
    const ids = async (filter: Parameters<FleetService['fleet']>[0]) => {
      const view = await fleet.fleet(filter, alice);
      expect(view.facets.owners).toEqual([
        'group:default/team-a',
        'group:default/team-b',
      ]);
      return {
        promotions: view.promotions.map(p => p.subject),
        failing: view.failing.map(o => o.id),
      };
    };

    expect(await ids(parseFleetFilter({ owner: 'team-b' }))).toEqual({
      promotions: [],
      failing: [
        'ResourceSet/apps/cart',
        'ImageRepository/apps/cart',
        'ImagePolicy/apps/cart-slow',
      ],
    });
    // A promotion's kinds are its subject's and its target's.
    expect(await ids({ kind: 'ImagePolicy' })).toEqual({
      promotions: ['ImagePolicy/apps/shop'],
      failing: ['ImagePolicy/apps/shop', 'ImagePolicy/apps/cart-slow'],
    });
    expect(await ids({ kind: 'ImageUpdateAutomation' })).toEqual({
      promotions: ['ImagePolicy/apps/shop'],
      failing: [],
    });
    expect(await ids({ state: 'pending' })).toEqual({
      promotions: ['ImagePolicy/apps/shop'],
      failing: [],
    });
    expect(
      await ids({ state: 'Stalled', owner: 'group:default/team-a' }),
    ).toEqual({
      promotions: [],
      failing: ['ImagePolicy/apps/shop'],
    });
    expect(
      await ids({ state: 'Failing', owner: 'group:default/team-a' }),
    ).toEqual({ promotions: [], failing: [] });
  });

  it('decides permissions in two batched requests, however many entities the catalog has', async () => {
    const count = 500;
    const refs = Array.from(
      { length: count },
      (_, i) => `component:default/svc-${i}`,
    );
    const { objects, promotionStore, permissions, fleet, complete } =
      await setUp(
        {
          [ALICE]: {
            'image-automation.object.read': refs,
            'image-automation.promotion.approve': refs,
          },
        },
        refs.map((_, i) => entity(`svc-${i}`, `team-${i % 7}`)),
      );
    await objects.syncSource(
      'entity:all',
      refs.map((ref, i) => declared('ImagePolicy', `svc-${i}`, ref)),
    );
    await complete(
      Object.fromEntries(
        refs.map((_, i) => [
          `ImagePolicy/apps/svc-${i}`,
          {
            conditions: [
              condition(
                'Stalled',
                'True',
                'InvalidSemverRange',
                'bad range',
                1,
              ),
            ],
          },
        ]),
      ),
    );
    for (const [i, ref] of refs.entries()) {
      await promotionStore.create({
        entityRef: ref,
        target: {
          id: `git:ImageUpdateAutomation/apps/svc-${i}`,
          type: 'git',
          objectId: `ImageUpdateAutomation/apps/svc-${i}`,
        },
        subject: `ImagePolicy/apps/svc-${i}`,
        to: { tag: '1.0.0' },
        by: 'image-automation',
        now: new Date(),
      });
    }

    const view = await fleet.fleet({}, mockCredentials.user(ALICE));
    expect(view.promotions).toHaveLength(count);
    expect(view.failing).toHaveLength(count);
    expect(view.facets.owners).toHaveLength(7);
    // Approve and promote now for every entity, then read and update for every entity.
    expect(permissions.requests).toEqual([count * 2, count * 2]);
  });
});

describe('GET /fleet', () => {
  async function app() {
    const env = await shopAndCart();
    const router = await createRouter({
      httpAuth: mockServices.httpAuth({
        defaultCredentials: mockCredentials.user(ALICE),
      }),
      objects: new AuthorizedObjectService(
        new DefaultObjectService({
          objects: env.objects,
          scans: env.scans,
          events: env.events,
        }),
        env.permissions,
      ),
      fleet: env.fleet,
    });
    return express().use(router).use(mockErrorHandler());
  }

  it('answers with the fleet of the caller, filtered', async () => {
    const response = await request(await app()).get(
      '/fleet?owner=team-a&state=Stalled',
    );
    expect(response.status).toBe(200);
    expect(response.body.failing.map((o: { id: string }) => o.id)).toEqual([
      'ImagePolicy/apps/shop',
    ]);
    expect(response.body.promotions).toEqual([]);
  });

  it.each([
    ['kind=Deployment', "unknown kind 'Deployment'"],
    [
      'state=broken',
      "unknown state 'broken'; known: pending, approved, applying, failed, Stalled, Suspended, Failing, Reconciling, Unknown",
    ],
    [
      'owner=group:',
      "owner must be an entity ref such as group:default/team-a, got 'group:'",
    ],
    ['owner=team-a&owner=team-b', 'owner must be given at most once'],
  ])('rejects %s with a 400 naming the parameter', async (query, message) => {
    const response = await request(await app()).get(`/fleet?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(message);
  });
});
