import express from 'express';
import { Knex } from 'knex';
import request from 'supertest';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  AutomationObject,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { ImageUpdateAutomationReconciler } from '../engine/ImageUpdateAutomationReconciler';
import { imageAutomationPlugin } from '../plugin';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DeclaredObject } from '../store/ObjectStore';
import { DefaultObjectService } from './DefaultObjectService';
import { DefaultPromotionService } from './DefaultPromotionService';
import { FleetService } from './FleetService';
import { HealthCheck } from './HealthCheck';
import { createRouter } from './router';

/*
 * The route × caller authorization matrix of issue #13: every route of the HTTP API, called by
 * every kind of caller, through the real plugin in a real Backstage backend (the real HTTP router
 * with its credentials barrier, the real permissions client, ServerPermissionClient) against a
 * permission backend whose policy grants exactly the table below.
 *
 * Callers:
 * - anonymous: no token at all → 401 on every route (the plugin adds no unauthenticated policy);
 * - nobody: a signed-in user with no grant → 403 on the entity's objects, promotions and actions;
 * - reader: `image-automation.object.read` only → reads 200, every change 403;
 * - owner: every permission on the entity → 2xx (or the business answer, e.g. 409);
 * - service: a service principal. Backstage's ServerPermissionClient allows service principals
 *   every permission (unless their token carries access restrictions), and the change routes
 *   accept `allow: ['user', 'service']`: a backend-to-backend call is trusted like the owner.
 * Objects and promotions without an owning entity (declared in app-config `locations`) are
 * managed through app-config only: 403 for every authenticated caller, services included.
 *
 * A route added to router.ts without a row here fails the first test.
 *
 * A denied request (401/403) must stop before the work: every row names the method its route
 * reaches only past the permission check (`reaches`, spied on the classes the plugin builds its
 * services from), which a denied request must not call and an allowed one must; and the plugin's
 * tables must be exactly as they were (a change route that acted first and checked after would
 * still answer 403). Allowed calls of a change route must change them, so the comparison can fail.
 */

jest.setTimeout(120_000);

const databases = TestDatabases.create({
  ids: ['SQLITE_3'],
  disableDocker: true,
});

const SHOP = 'component:default/shop';
const OWNER = 'user:default/alice';
const READER = 'user:default/reader';
const NOBODY = 'user:default/mallory';
const SERVICE = 'external:deploy-bot';

const READ = 'image-automation.object.read';
const UPDATE = 'image-automation.object.update';
const APPROVE = 'image-automation.promotion.approve';
const FORCE = 'image-automation.promotion.force';

/** The policy: (user, permission) → entities. Service principals never reach it. */
const GRANTS: Record<string, Record<string, string[]>> = {
  [OWNER]: {
    [READ]: [SHOP],
    [UPDATE]: [SHOP],
    [APPROVE]: [SHOP],
    [FORCE]: [SHOP],
  },
  [READER]: { [READ]: [SHOP] },
};

type Caller = 'anonymous' | 'nobody' | 'reader' | 'owner' | 'service';
const CALLERS: Caller[] = ['anonymous', 'nobody', 'reader', 'owner', 'service'];

function authorization(caller: Caller): string | undefined {
  switch (caller) {
    case 'anonymous':
      return undefined;
    case 'nobody':
      return mockCredentials.user.header(NOBODY);
    case 'reader':
      return mockCredentials.user.header(READER);
    case 'owner':
      return mockCredentials.user.header(OWNER);
    case 'service':
      return mockCredentials.service.header({
        onBehalfOf: mockCredentials.service(SERVICE),
        targetPluginId: 'image-automation',
      });
    default:
      throw new Error(caller);
  }
}

/** A stand-in permission backend: answers `POST /authorize` from GRANTS and counts the questions. */
const asked: Array<{ user: string; permission: string; resourceRef?: string }> =
  [];
const permissionBackend = createBackendPlugin({
  pluginId: 'permission',
  register(env) {
    env.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
      },
      async init({ httpRouter, httpAuth }) {
        const router = express.Router();
        router.use(express.json());
        router.post('/authorize', async (req, res) => {
          const credentials = await httpAuth.credentials(req, {
            allow: ['user'],
          });
          const user = credentials.principal.userEntityRef;
          res.json({
            items: req.body.items.map(
              (item: {
                id: string;
                permission: { name: string };
                resourceRef?: string;
              }) => {
                asked.push({
                  user,
                  permission: item.permission.name,
                  resourceRef: item.resourceRef,
                });
                const allowed = Boolean(
                  item.resourceRef &&
                    GRANTS[user]?.[item.permission.name]?.includes(
                      item.resourceRef,
                    ),
                );
                return { id: item.id, result: allowed ? 'ALLOW' : 'DENY' };
              },
            ),
          });
        });
        httpRouter.use(router);
      },
    });
  },
});

/** The object id of an entry of the fleet page's failing list. */
function failingId(entry: any): string | undefined {
  return entry.id ?? entry.object?.id;
}

function declared(
  kind: string,
  name: string,
  entityRef: string | undefined,
  spec: Record<string, unknown>,
): DeclaredObject {
  let apiVersion = 'image.toolkit.fluxcd.io/v1';
  if (kind === 'GitRepository') apiVersion = 'source.toolkit.fluxcd.io/v1';
  else if (kind.startsWith('ResourceSet'))
    apiVersion = 'fluxcd.controlplane.io/v1';
  const manifest = {
    apiVersion,
    kind,
    metadata: { name, namespace: 'apps' },
    spec,
  } as AutomationObject;
  return entityRef
    ? {
        manifest,
        entityRef,
        source: { type: 'catalog', location: `file:///catalog/${name}.yaml` },
        grantedNamespaces: ['apps'],
      }
    : {
        manifest,
        source: { type: 'config', location: 'file:///config/automation.yaml' },
      };
}

/** One entity's (or app-config's) automation: a repository, a policy, a Git automation and a ResourceSet. */
function automation(
  name: string,
  entityRef: string | undefined,
): DeclaredObject[] {
  return [
    declared('ImageRepository', name, entityRef, {
      image: `registry.example.com/acme/${name}`,
      interval: '1h',
    }),
    declared('ImagePolicy', name, entityRef, {
      imageRepositoryRef: { name },
      policy: { semver: { range: '>=1.0.0' } },
    }),
    declared('ImageUpdateAutomation', name, entityRef, {
      sourceRef: { kind: 'GitRepository', name },
      git: { commit: { author: { name: 'bot', email: 'bot@example.com' } } },
      update: { strategy: 'Setters' },
      interval: '1h',
    }),
    declared('ResourceSet', name, entityRef, { resources: [] }),
  ];
}

const version = (tag: string) => ({
  image: 'registry.example.com/acme/shop',
  tag,
  digest: `sha256:${tag.replace(/\D/g, '').padEnd(64, '0')}`,
});

interface Fixture {
  /** The target's objects live in namespace `apps` under this name. */
  name: string;
  pending: string;
  applied: string;
  gitTarget: string;
  subject: string;
}

/** Empties the plugin's tables and declares shop's automation and app-config's, each with a pending and an applied promotion and a pin. */
async function seed(
  knex: Knex,
  options: { pinned: boolean; suspended?: boolean },
): Promise<{ shop: Fixture; config: Fixture }> {
  const tables = (await knex.raw(
    `SELECT name FROM sqlite_master WHERE type = 'table'`,
  )) as Array<{ name: string }>;
  for (const { name } of tables) {
    if (
      name.startsWith('image_automation') &&
      !name.includes('knex_migrations')
    )
      await knex(name).delete();
  }
  const objects = await DatabaseObjectStore.create({
    knex,
    skipMigrations: true,
  });
  const promotions = await DatabasePromotionStore.create({
    knex,
    skipMigrations: true,
  });
  await objects.syncSource(`entity:${SHOP}`, automation('shop', SHOP));
  await objects.syncSource(
    'config:file:///config/automation.yaml',
    automation('platform', undefined),
  );
  // Both repositories stalled: the fleet page lists them to whoever may read them.
  const stalled = {
    conditions: [
      {
        type: 'Stalled',
        status: 'True',
        reason: 'AuthenticationFailed',
        message: 'registry answered 401',
        lastTransitionTime: new Date().toISOString(),
      },
    ],
  } as ObjectStatus;
  for (const object of await objects.claimDue({
    owner: 'test',
    now: new Date(Date.now() + 1000),
    limit: 100,
    leaseMs: 60_000,
  })) {
    const status =
      object.kind === 'ImageRepository' ? stalled : { conditions: [] };
    await objects.completeRun(object.id, 'test', {
      status,
      nextRunAt: new Date(Date.now() + 3_600_000),
      ranAt: new Date(),
    });
  }
  if (options.suspended) {
    for (const id of [
      'ImageRepository/apps/shop',
      'ImageRepository/apps/platform',
    ]) {
      await objects.setSuspended(
        id,
        true,
        OWNER,
        new Date(Date.now() - 60_000),
      );
    }
  }
  const fixture = async (
    name: string,
    entityRef: string | undefined,
  ): Promise<Fixture> => {
    const gitTarget = `git:ImageUpdateAutomation/apps/${name}`;
    const subject = `ImagePolicy/apps/${name}`;
    const target = {
      id: gitTarget,
      type: 'git' as const,
      objectId: `ImageUpdateAutomation/apps/${name}`,
    };
    const now = new Date();
    const applied = await promotions.create({
      entityRef,
      target,
      subject,
      from: version('1.0.0'),
      to: version('1.1.0'),
      by: 'image-automation',
      now,
    });
    await promotions.update(
      applied.id,
      applied.revision,
      { state: 'applied', closedAt: now.toISOString() },
      now,
    );
    const pending = await promotions.create({
      entityRef,
      target,
      subject,
      from: version('1.1.0'),
      to: version('1.2.0'),
      by: 'image-automation',
      now,
    });
    if (options.pinned) {
      await promotions.pin({
        targetId: gitTarget,
        subject,
        version: version('1.0.0'),
        reason: 'hold',
        by: OWNER,
        at: now.toISOString(),
      });
    }
    return {
      name,
      pending: pending.id,
      applied: applied.id,
      gitTarget,
      subject,
    };
  };
  return {
    shop: await fixture('shop', SHOP),
    config: await fixture('platform', undefined),
  };
}

interface Call {
  method: 'get' | 'post' | 'delete';
  path: string;
  body?: object;
}

/** Who may do what: the expected status per caller, for an entity's fixture and for app-config's. */
interface Row {
  call: (f: Fixture) => Call;
  /** Expected statuses on shop's fixture. */
  shop: Record<Caller, number>;
  /** Expected statuses on app-config's fixture; null for routes addressed by entity only. */
  config: Record<Caller, number> | null;
  /** The fixture has a pin on each target's policy (it blocks promote now, so only where needed). */
  pinned?: boolean;
  /** The fixture's ImageRepositories are suspended. */
  suspended?: boolean;
  /**
   * What the route reaches only past its permission check (`Class.method` of {@link SPIED}): not
   * called on a deny, called when allowed.
   */
  reaches: string[];
  /** The route changes the plugin's tables when allowed (a deny must leave them as they were). */
  changes?: boolean;
  /** A check of the body, e.g. that a list leaves out what the caller may not read. */
  body?: (caller: Caller, body: any) => void;
  /** The route asks no permission: every signed-in caller gets the same answer. */
  signedInOnly?: boolean;
}

const read = (ok = 200): Record<Caller, number> => ({
  anonymous: 401,
  nobody: 403,
  reader: ok,
  owner: ok,
  service: ok,
});
const change = (ok = 200): Record<Caller, number> => ({
  anonymous: 401,
  nobody: 403,
  reader: 403,
  owner: ok,
  service: ok,
});
/** Objects and promotions without an entity are never reachable through the API. */
const CONFIG_ONLY: Record<Caller, number> = {
  anonymous: 401,
  nobody: 403,
  reader: 403,
  owner: 403,
  service: 403,
};
/** Entity-wide routes: who may read shop; app-config's objects never listed. */
const entityPath = (f: Fixture, tail: string) => ({
  method: 'get' as const,
  path: `/entities/component/default/${f.name}/${tail}`,
});

const MATRIX: Record<string, Row> = {
  'GET /entities/:kind/:namespace/:name/objects': {
    call: f => entityPath(f, 'objects'),
    shop: read(),
    config: null,
    reaches: ['DefaultObjectService.listForEntity'],
  },
  'GET /objects/:kind/:namespace/:name': {
    call: f => ({
      method: 'get',
      path: `/objects/ImageRepository/apps/${f.name}`,
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.get'],
    body: (caller, body) => {
      // The view says which actions the caller may take: none without the update permission.
      expect(body.actions.suspend.allowed).toBe(
        caller === 'owner' || caller === 'service',
      );
    },
  },
  'GET /objects/:kind/:namespace/:name/scans': {
    call: f => ({
      method: 'get',
      path: `/objects/ImageRepository/apps/${f.name}/scans`,
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.listScans'],
  },
  'GET /objects/ImagePolicy/:namespace/:name/explain': {
    call: f => ({
      method: 'get',
      path: `/objects/ImagePolicy/apps/${f.name}/explain`,
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.explainPolicy'],
  },
  'GET /objects/ResourceSet/:namespace/:name/inventory': {
    call: f => ({
      method: 'get',
      path: `/objects/ResourceSet/apps/${f.name}/inventory`,
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.resourceSetInventory'],
  },
  'POST /policy-preview': {
    call: f => ({
      method: 'post',
      path: '/policy-preview',
      body: {
        namespace: 'apps',
        spec: {
          imageRepositoryRef: { name: f.name },
          policy: { semver: { range: '>=1.0.0' } },
        },
      },
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.previewPolicy'],
  },
  'GET /objects/:kind/:namespace/:name/events': {
    call: f => ({
      method: 'get',
      path: `/objects/ImageRepository/apps/${f.name}/events`,
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.listEvents'],
  },
  'GET /objects/:kind/:namespace/:name/tags': {
    call: f => ({
      method: 'get',
      path: `/objects/ImageRepository/apps/${f.name}/tags`,
    }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.listTags'],
  },
  'POST /objects/:kind/:namespace/:name/:action(suspend|resume|reconcile)': {
    call: f => ({
      method: 'post',
      path: `/objects/ImageRepository/apps/${f.name}/suspend`,
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.act'],
    changes: true,
  },
  'GET /entities/:kind/:namespace/:name/promotions': {
    call: f => entityPath(f, 'promotions'),
    shop: read(),
    config: null,
    reaches: ['DefaultPromotionService.list'],
  },
  'GET /promotions/:id': {
    call: f => ({ method: 'get', path: `/promotions/${f.pending}` }),
    shop: read(),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.view'],
  },
  'POST /promotions/:id/approve': {
    call: f => ({
      method: 'post',
      path: `/promotions/${f.pending}/approve`,
      body: {},
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.approve'],
    changes: true,
  },
  'POST /promotions/:id/reject': {
    call: f => ({
      method: 'post',
      path: `/promotions/${f.pending}/reject`,
      body: { reason: 'not now' },
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.reject'],
    changes: true,
  },
  'POST /promotions/:id/promote': {
    call: f => ({
      method: 'post',
      path: `/promotions/${f.pending}/promote`,
      body: { justification: 'hotfix' },
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.promoteNow'],
    changes: true,
  },
  'POST /promotions/:id/rollback': {
    call: f => ({
      method: 'post',
      path: `/promotions/${f.applied}/rollback`,
      body: { reason: 'broken' },
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.rollback'],
    changes: true,
  },
  'POST /promotions/:id/preview': {
    call: f => ({ method: 'post', path: `/promotions/${f.pending}/preview` }),
    // Readers may preview. The fixture declares no GitRepository: past the permission check the
    // preview itself fails, naming the missing source (an error of the automation, not of access).
    shop: read(500),
    config: CONFIG_ONLY,
    reaches: ['ImageUpdateAutomationReconciler.preview'],
    body: (_caller, body) =>
      expect(body.error.message).toMatch(
        /unable to get source 'GitRepository\/apps\/shop'/,
      ),
  },
  'POST /pins': {
    call: f => ({
      method: 'post',
      path: '/pins',
      body: {
        targetId: f.gitTarget,
        subject: f.subject,
        version: version('1.1.0'),
        reason: 'freeze',
      },
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.pin'],
    changes: true,
  },
  'DELETE /pins': {
    call: f => ({
      method: 'delete',
      path: `/pins?targetId=${encodeURIComponent(
        f.gitTarget,
      )}&subject=${encodeURIComponent(f.subject)}`,
    }),
    shop: change(204),
    config: CONFIG_ONLY,
    reaches: ['DefaultPromotionService.unpin'],
    changes: true,
    pinned: true,
  },
  'GET /entities/:kind/:namespace/:name/versions': {
    call: f => entityPath(f, 'versions'),
    shop: read(),
    config: null,
    reaches: ['DatabaseObjectStore.list'],
  },
  'GET /entities/:kind/:namespace/:name/timeline': {
    call: f => entityPath(f, 'timeline'),
    shop: read(),
    config: null,
    reaches: ['DatabaseObjectStore.list'],
  },
  'GET /fleet': {
    call: () => ({ method: 'get', path: '/fleet' }),
    // Everyone signed in gets the page; it lists only what the caller may read.
    shop: {
      anonymous: 401,
      nobody: 200,
      reader: 200,
      owner: 200,
      service: 200,
    },
    config: null,
    reaches: ['FleetService.fleet'],
    body: (caller, body) => {
      const text = JSON.stringify(body);
      expect(text).not.toContain('platform');
      if (caller === 'nobody') expect(text).not.toContain('shop');
      else
        expect(body.failing.map(failingId)).toContain(
          'ImageRepository/apps/shop',
        );
      // Only who may act on it sees the pending promotion.
      expect(body.promotions.length).toBe(
        caller === 'owner' || caller === 'service' ? 1 : 0,
      );
    },
  },
  'GET /health': {
    call: () => ({ method: 'get', path: '/health' }),
    // Readiness for monitors (a service or user token): nothing of any entity's, no permission asked.
    shop: {
      anonymous: 401,
      nobody: 200,
      reader: 200,
      owner: 200,
      service: 200,
    },
    config: null,
    reaches: ['HealthCheck.check'],
    signedInOnly: true,
    body: (_caller, body) => {
      expect(Object.keys(body).sort()).toEqual([
        'database',
        'engine',
        'status',
      ]);
      expect(JSON.stringify(body)).not.toMatch(/shop|platform|registry/);
    },
  },
};

/**
 * More calls of the change routes above (not more routes): resume on a suspended repository and
 * reconcile, each denied or allowed like suspend.
 */
const VARIANTS: Record<string, Row> = {
  'POST /objects/:kind/:namespace/:name/resume': {
    call: f => ({
      method: 'post',
      path: `/objects/ImageRepository/apps/${f.name}/resume`,
    }),
    shop: change(),
    config: CONFIG_ONLY,
    suspended: true,
    reaches: ['DefaultObjectService.act'],
    changes: true,
  },
  'POST /objects/:kind/:namespace/:name/reconcile': {
    call: f => ({
      method: 'post',
      path: `/objects/ImageRepository/apps/${f.name}/reconcile`,
    }),
    shop: change(),
    config: CONFIG_ONLY,
    reaches: ['DefaultObjectService.act'],
    changes: true,
  },
};

/** The classes whose methods rows name in `reaches`; the plugin builds its services from them. */
const SPIED: Record<string, { prototype: object }> = {
  DefaultObjectService,
  DefaultPromotionService,
  DatabaseObjectStore,
  ImageUpdateAutomationReconciler,
  FleetService,
  HealthCheck,
};

function spyOf(name: string): jest.SpyInstance {
  const [cls, method] = name.split('.');
  const prototype = SPIED[cls]?.prototype as
    | Record<string, unknown>
    | undefined;
  if (!prototype || typeof prototype[method] !== 'function')
    throw new Error(`no method ${name} to spy on`);
  return jest.spyOn(prototype as any, method);
}

/** Every row of the plugin's tables (not knex's), in a stable order. */
async function snapshot(knex: Knex): Promise<Record<string, string[]>> {
  const tables = (await knex.raw(
    `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`,
  )) as Array<{ name: string }>;
  const result: Record<string, string[]> = {};
  for (const { name } of tables) {
    if (
      !name.startsWith('image_automation') ||
      name.includes('knex_migrations')
    )
      continue;
    result[name] = ((await knex(name).select()) as object[])
      .map(row => JSON.stringify(row))
      .sort();
  }
  return result;
}

/** Every route of the router, as `METHOD path`. */
async function routesOfRouter(): Promise<string[]> {
  const any = {} as any;
  const router = await createRouter({
    httpAuth: any,
    objects: any,
    promotions: any,
    previews: any,
    versions: any,
    timeline: any,
    fleet: any,
    health: any,
  });
  return (router.stack as any[])
    .filter(layer => layer.route)
    .flatMap(layer =>
      Object.keys(layer.route.methods)
        .filter(method => method !== '_all')
        .map(method => `${method.toUpperCase()} ${layer.route.path}`),
    );
}

describe('the route × caller authorization matrix', () => {
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let knex: Knex;
  let fixtures: { shop: Fixture; config: Fixture };

  beforeAll(async () => {
    knex = await databases.init('SQLITE_3');
    const entities: Entity[] = [
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'shop', namespace: 'default' },
        spec: { type: 'service', owner: OWNER },
      },
    ];
    backend = await startTestBackend({
      features: [
        imageAutomationPlugin,
        permissionBackend,
        catalogServiceMock.factory({ entities }),
        // No token at all is an anonymous request (the mock's default would be a signed-in user).
        mockServices.httpAuth.factory({
          defaultCredentials: mockCredentials.none(),
        }),
        mockServices.database.factory({ knex }),
        // Nothing runs in the background: the engine must not change what the matrix reads.
        mockServices.scheduler.mock({
          async scheduleTask() {},
          async triggerTask() {},
        }).factory,
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            // Nor the receivers' own timer (not the scheduler's), which lists the stored objects
            // every 10 s by default: a tick within a request would count as the route reaching
            // DatabaseObjectStore.list (it did, once, under mutation testing's slower runs).
            imageAutomation: { receivers: { refreshSeconds: 86_400 } },
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('has a row for every route of the router, and no row for a route that is gone', async () => {
    const routes = await routesOfRouter();
    expect(routes.length).toBeGreaterThan(15);
    expect([...routes].sort()).toEqual(Object.keys(MATRIX).sort());
  });

  const cases = Object.entries({ ...MATRIX, ...VARIANTS }).flatMap(
    ([route, row]) =>
      (['shop', 'config'] as const).flatMap(target =>
        row[target]
          ? CALLERS.map(caller => ({
              route,
              row,
              target,
              caller,
              status: row[target]![caller],
            }))
          : [],
      ),
  );

  type Case = (typeof cases)[number];
  const isDenied = (c: Case) => c.status === 401 || c.status === 403;
  const rows = (list: Case[]) =>
    list.map(c => [c.route, c.target, c.caller, c.status, c] as const);
  const USERS: Partial<Record<Caller, string>> = {
    owner: OWNER,
    reader: READER,
    nobody: NOBODY,
  };
  /** What a 403 says, by target: what was refused, on which entity, and the permission it needs. */
  const REFUSALS: Record<Case['target'], RegExp> = {
    config: /managed through app-config only/,
    shop: /^you may not \w[\w ]* component:default\/shop \(image-automation\.(object|promotion)\.[a-z]+\)$/,
  };

  /** Seeds the fixtures, calls the route as the caller, and tells what it reached and changed. */
  async function exercise({ row, target, caller, status }: Case) {
    fixtures = await seed(knex, {
      pinned: Boolean(row.pinned),
      suspended: Boolean(row.suspended),
    });
    asked.length = 0;
    const spies = row.reaches.map(name => [name, spyOf(name)] as const);
    spies.forEach(([, spy]) => spy.mockClear());
    const before = await snapshot(knex);
    const call = row.call(fixtures[target]);
    let req = request(backend.server)[call.method](
      `/api/image-automation${call.path}`,
    );
    const header = authorization(caller);
    if (header) req = req.set('Authorization', header);
    const response = call.body ? await req.send(call.body) : await req;
    const answered = {
      status: response.status,
      error: response.status >= 400 ? response.body?.error?.message : undefined,
    };
    if (status !== 401 && status !== 403) row.body?.(caller, response.body);
    const after = await snapshot(knex);
    const reached = spies
      .filter(([, spy]) => spy.mock.calls.length > 0)
      .map(([name]) => name);
    return { response, answered, before, after, reached };
  }

  /** The permissions asked: a signed-in user's answer on the entity was decided by the permission backend, never by default. */
  function permissionChecks({ row, target, caller }: Case) {
    const user = USERS[caller];
    const decidedForUser =
      user !== undefined && !row.signedInOnly && target === 'shop';
    const asksNone =
      caller === 'anonymous' ||
      caller === 'service' ||
      Boolean(row.signedInOnly);
    return {
      askedForUser: decidedForUser
        ? asked.some(a => a.user === user)
        : 'not checked',
      askedWhenNone: asksNone ? asked : [],
    };
  }

  it.each(rows(cases.filter(isDenied)))(
    '%s on %s by %s → %d',
    async (_route, target, caller, status, c) => {
      const { response, answered, before, after, reached } = await exercise(c);
      expect(answered).toEqual(expect.objectContaining({ status }));
      // Denied: stopped before the work, nothing changed, and no data of the object answered.
      expect(reached).toEqual([]);
      expect(after).toEqual(before);
      expect(Object.keys(response.body)).toContain('error');
      const text = JSON.stringify(response.body);
      for (const data of [
        'registry.example.com',
        'sha256:',
        '1.1.0',
        '1.2.0',
        'AuthenticationFailed',
        'semver',
      ]) {
        expect(text).not.toContain(data);
      }
      const decided = permissionChecks(c);
      expect(decided.askedForUser).not.toBe(false);
      expect(decided.askedWhenNone).toEqual([]);
      // A 403 says why; a reader is refused a change for the change's permission, never for reading.
      const message: string = status === 403 ? response.body.error.message : '';
      expect(message).toMatch(status === 403 ? REFUSALS[target] : /^$/);
      expect(
        caller === 'reader' && target === 'shop' ? message : '',
      ).not.toContain(`(${READ})`);
    },
  );

  it.each(rows(cases.filter(c => !isDenied(c))))(
    '%s on %s by %s → %d',
    async (_route, _target, _caller, status, c) => {
      const { answered, before, after, reached } = await exercise(c);
      expect(answered).toEqual(expect.objectContaining({ status }));
      // Allowed: the work was done (so the deny assertions above are able to fail).
      expect(reached).toEqual(c.row.reaches);
      // A route that changes the plugin's tables changed them.
      expect(c.row.changes ? after : { unchanged: 'not checked' }).not.toEqual(
        before,
      );
      const decided = permissionChecks(c);
      expect(decided.askedForUser).not.toBe(false);
      expect(decided.askedWhenNone).toEqual([]);
    },
  );
});
