import express from 'express';
import request from 'supertest';
import {
  AuditorService,
  AuditorServiceCreateEventOptions,
  BackstageCredentials,
  PermissionsService,
  PermissionsServiceRequestOptions,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import {
  AuthorizePermissionRequest,
  AuthorizeResult,
} from '@backstage/plugin-permission-common';
import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { AuthorizedObjectService } from './AuthorizedObjectService';
import { AuthorizedPromotionService } from './AuthorizedPromotionService';
import { DefaultObjectService } from './DefaultObjectService';
import { DefaultPromotionService } from './DefaultPromotionService';
import { HealthCheck } from './HealthCheck';
import { createRouter } from './router';

/*
 * What the routes decide once a caller is known, through the router and the permission layer
 * (AuthorizedObjectService, AuthorizedPromotionService) over the real stores: the actions each view
 * offers and why not, the refusals' texts, the 409 for an action the object's state does not allow,
 * the "you approved this version already" rule, request validation with the texts a user or the
 * CLI sees, and the audit events of every decision. authorizationMatrix.test.ts checks who gets
 * which status on every route in a whole backend; this file checks what the answers say.
 *
 * The router is built inside each test (not in beforeAll), so mutation testing attributes the
 * routes' setup to the tests that exercise it.
 */

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const SHOP = 'component:default/shop';
const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const READER = 'user:default/reader';
const NOBODY = 'user:default/mallory';

const READ = 'image-automation.object.read';
const UPDATE = 'image-automation.object.update';
const APPROVE = 'image-automation.promotion.approve';
const FORCE = 'image-automation.promotion.force';

/** The policy: user → permission → entities. Alice and Bob own shop; the reader may only read it. */
const GRANTS: Record<string, Record<string, string[]>> = {
  [ALICE]: {
    [READ]: [SHOP],
    [UPDATE]: [SHOP],
    [APPROVE]: [SHOP],
    [FORCE]: [SHOP],
  },
  [BOB]: {
    [READ]: [SHOP],
    [UPDATE]: [SHOP],
    [APPROVE]: [SHOP],
    [FORCE]: [SHOP],
  },
  [READER]: { [READ]: [SHOP] },
};

/** Answers from GRANTS (service principals: everything, as Backstage's ServerPermissionClient) and records each request. */
class PolicyPermissions implements PermissionsService {
  readonly requests: string[][] = [];

  async authorize(
    requests: AuthorizePermissionRequest[],
    options: PermissionsServiceRequestOptions,
  ) {
    this.requests.push(
      requests.map(r => `${r.permission.name} ${r.resourceRef}`),
    );
    const principal = (
      options.credentials as BackstageCredentials<{
        type: string;
        userEntityRef?: string;
      }>
    ).principal;
    return requests.map(r => ({
      result:
        principal.type === 'service' ||
        Boolean(
          r.resourceRef &&
            GRANTS[principal.userEntityRef ?? '']?.[
              r.permission.name
            ]?.includes(r.resourceRef),
        )
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    })) as any;
  }

  async authorizeConditional(): Promise<never> {
    throw new Error('definitive decisions only');
  }
}

interface AuditRecord {
  eventId: string;
  severityLevel?: string;
  meta?: unknown;
  outcome?: 'success' | 'fail';
  error?: string;
}

/** Keeps every audit event with its outcome. */
class RecordingAuditor {
  readonly events: AuditRecord[] = [];

  async createEvent(options: AuditorServiceCreateEventOptions) {
    const event: AuditRecord = {
      eventId: options.eventId,
      severityLevel: options.severityLevel,
      meta: options.meta,
    };
    this.events.push(event);
    return {
      async success() {
        event.outcome = 'success';
      },
      async fail(opts: { error: Error }) {
        event.outcome = 'fail';
        event.error = `${opts.error.name}: ${opts.error.message}`;
      },
    };
  }
}

function declared(kind: string, name: string, spec: Record<string, unknown>) {
  const manifest = {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind,
    metadata: { name, namespace: 'apps' },
    spec,
  } as AutomationObject;
  return {
    manifest,
    entityRef: SHOP,
    source: { type: 'catalog' as const, location: 'file:///catalog/shop.yaml' },
    grantedNamespaces: ['apps'],
  };
}

const DIGEST = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const version = (tag: string, n: number) => ({
  image: 'registry.example.com/acme/shop',
  tag,
  digest: DIGEST(n),
});

const REPO = 'ImageRepository/apps/shop';
const TARGET = 'git:ImageUpdateAutomation/apps/shop';
const SUBJECT = 'ImagePolicy/apps/shop';

type Caller = 'alice' | 'bob' | 'reader' | 'nobody' | 'anonymous' | 'service';
const HEADERS: Record<Caller, string> = {
  alice: mockCredentials.user.header(ALICE),
  bob: mockCredentials.user.header(BOB),
  reader: mockCredentials.user.header(READER),
  nobody: mockCredentials.user.header(NOBODY),
  anonymous: mockCredentials.none.header(),
  service: mockCredentials.service.header({
    onBehalfOf: mockCredentials.service('external:deploy-bot'),
    targetPluginId: 'image-automation',
  }),
};

/** shop's automation (a repository, a manifest-suspended repository, a policy, a Git automation) with an applied and a pending promotion. */
async function setUp(
  databaseId: Parameters<typeof databases.init>[0],
  options: { healthy?: boolean } = {},
) {
  const knex = await databases.init(databaseId);
  const objects = await DatabaseObjectStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const events = await DatabaseEventStore.create({
    knex,
    skipMigrations: true,
  });
  const promotions = await DatabasePromotionStore.create({
    knex,
    skipMigrations: true,
  });
  await objects.syncSource(`entity:${SHOP}`, [
    declared('ImageRepository', 'shop', {
      image: 'registry.example.com/acme/shop',
      interval: '1h',
    }),
    declared('ImageRepository', 'frozen', {
      image: 'registry.example.com/acme/frozen',
      interval: '1h',
      suspend: true,
    }),
    declared('ImagePolicy', 'shop', {
      imageRepositoryRef: { name: 'shop' },
      policy: { semver: { range: '>=1.0.0' } },
    }),
    declared('ImageUpdateAutomation', 'shop', {
      sourceRef: { kind: 'GitRepository', name: 'shop' },
      git: { commit: { author: { name: 'bot', email: 'bot@example.com' } } },
      update: { strategy: 'Setters' },
      interval: '1h',
    }),
  ]);
  const target = {
    id: TARGET,
    type: 'git' as const,
    objectId: 'ImageUpdateAutomation/apps/shop',
  };
  const now = new Date();
  const applied = await promotions.create({
    entityRef: SHOP,
    target,
    subject: SUBJECT,
    from: version('1.0.0', 1),
    to: version('1.1.0', 2),
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
    entityRef: SHOP,
    target,
    subject: SUBJECT,
    from: version('1.1.0', 2),
    to: version('1.2.0', 3),
    by: 'image-automation',
    now,
  });

  const permissions = new PolicyPermissions();
  const auditor = new RecordingAuditor();
  const health = { healthy: options.healthy ?? true };
  const app = express()
    .use(
      await createRouter({
        httpAuth: mockServices.httpAuth({
          pluginId: 'image-automation',
          defaultCredentials: mockCredentials.none(),
        }),
        objects: new AuthorizedObjectService(
          new DefaultObjectService({ objects, scans, events }),
          permissions,
        ),
        promotions: new AuthorizedPromotionService(
          new DefaultPromotionService({ promotions, objects, events }),
          permissions,
        ),
        auditor: auditor as unknown as AuditorService,
        health: new HealthCheck({
          ping: async () => {
            if (!health.healthy) throw new Error('database gone');
          },
          engine: {
            activity: () => ({
              lastPassAt: new Date(),
              lastProgressAt: new Date(),
            }),
          },
          stalledAfterMs: 60_000,
        }),
      }),
    )
    .use(mockErrorHandler());
  const call = (
    caller: Caller,
    method: 'get' | 'post' | 'delete',
    path: string,
    body?: object,
  ) => {
    const req = request(app)
      [method](path)
      .set('Authorization', HEADERS[caller]);
    return body === undefined ? req : req.send(body);
  };
  return {
    knex,
    objects,
    promotions,
    events,
    permissions,
    auditor,
    call,
    pending: pending.id,
    applied: applied.id,
    health,
  };
}

const lacks = (permission: string) => ({
  allowed: false,
  reason: `You lack the ${permission} permission for ${SHOP}`,
});

describe.each(databases.eachSupportedId())(
  'route decisions on %p',
  databaseId => {
    describe('object actions', () => {
      it("answers an action with the object's new view and the actions that follow from it", async () => {
        const { call } = await setUp(databaseId);
        const suspended = await call(
          'alice',
          'post',
          '/objects/ImageRepository/apps/shop/suspend',
        );
        expect(suspended.status).toBe(200);
        expect(suspended.body).toMatchObject({
          id: REPO,
          suspended: true,
          suspendedBy: ALICE,
        });
        expect(suspended.body.actions).toEqual({
          suspend: { allowed: false, reason: 'Already suspended' },
          resume: { allowed: true },
          reconcile: {
            allowed: false,
            reason: 'Suspended objects are not reconciled: resume first',
          },
        });
        const resumed = await call(
          'service',
          'post',
          '/objects/ImageRepository/apps/shop/resume',
        );
        expect(resumed.status).toBe(200);
        expect(resumed.body.suspended).toBe(false);
        expect(resumed.body.actions.suspend).toEqual({ allowed: true });
      });

      it.each([
        ['suspend', 'shop', true, 'Already suspended'],
        ['resume', 'shop', false, 'Not suspended'],
        [
          'reconcile',
          'shop',
          true,
          'Suspended objects are not reconciled: resume first',
        ],
        [
          'resume',
          'frozen',
          false,
          'Suspended by spec.suspend in the manifest: change the manifest to resume',
        ],
      ])(
        'refuses %s of %s (suspended first: %p) with 409 and the reason, changing nothing',
        async (action, name, suspendFirst, reason) => {
          const { call, objects, events } = await setUp(databaseId);
          const suspended = suspendFirst
            ? (
                await call(
                  'alice',
                  'post',
                  `/objects/ImageRepository/apps/${name}/suspend`,
                )
              ).status
            : 200;
          expect(suspended).toBe(200);
          const id = `ImageRepository/apps/${name}`;
          const before = {
            object: await objects.get(id),
            events: await events.list(id, { limit: 100 }),
          };
          const response = await call(
            'alice',
            'post',
            `/objects/ImageRepository/apps/${name}/${action}`,
          );
          expect(response.status).toBe(409);
          expect(response.body.error).toMatchObject({
            name: 'ConflictError',
            message: `cannot ${action} ${id}: ${reason}`,
          });
          expect({
            object: await objects.get(id),
            events: await events.list(id, { limit: 100 }),
          }).toEqual(before);
        },
      );

      it('refuses a reader with 403 naming the action, the entity and the update permission; offers it nothing', async () => {
        const { call, objects } = await setUp(databaseId);
        const response = await call(
          'reader',
          'post',
          '/objects/ImageRepository/apps/shop/reconcile',
        );
        expect(response.status).toBe(403);
        expect(response.body.error.message).toBe(
          `you may not reconcile the image automation of ${SHOP} (${UPDATE})`,
        );
        expect((await objects.get(REPO))?.reconcileRequestedAt).toBeUndefined();
        const view = await call(
          'reader',
          'get',
          '/objects/ImageRepository/apps/shop',
        );
        expect(view.body.actions.reconcile).toEqual(lacks(UPDATE));
        const nobody = await call(
          'nobody',
          'get',
          '/objects/ImageRepository/apps/shop',
        );
        expect(nobody.status).toBe(403);
        expect(nobody.body.error.message).toBe(
          `you may not read the image automation of ${SHOP} (${READ})`,
        );
      });
    });

    describe('promotion views', () => {
      it('offers the owner every decision on a pending promotion, and none on an applied one, saying why', async () => {
        const { call, pending, applied } = await setUp(databaseId);
        const open = await call('alice', 'get', `/promotions/${pending}`);
        expect(open.status).toBe(200);
        expect(open.body.actions).toEqual({
          approve: { allowed: true },
          reject: { allowed: true },
          promoteNow: { allowed: true },
        });
        const closed = await call('alice', 'get', `/promotions/${applied}`);
        const why = { allowed: false, reason: 'The promotion is applied' };
        expect(closed.body.actions).toEqual({
          approve: why,
          reject: why,
          promoteNow: why,
        });
      });

      it('tells a reader which permission each decision lacks', async () => {
        const { call, pending } = await setUp(databaseId);
        const response = await call('reader', 'get', `/promotions/${pending}`);
        expect(response.status).toBe(200);
        expect(response.body.actions).toEqual({
          approve: lacks(APPROVE),
          reject: lacks(APPROVE),
          promoteNow: lacks(FORCE),
        });
      });

      it('refuses a second approval of the same version by the same user, not by another, nor after other votes', async () => {
        const { call, pending, promotions } = await setUp(databaseId);
        const approved = await call(
          'alice',
          'post',
          `/promotions/${pending}/approve`,
          { comment: '  looks good ' },
        );
        expect(approved.status).toBe(200);
        expect(approved.body.state).toBe('pending');
        expect(approved.body.votes).toEqual([
          expect.objectContaining({
            actor: ALICE,
            decision: 'approve',
            digest: DIGEST(3),
            reason: 'looks good',
          }),
        ]);
        expect(approved.body.actions).toEqual({
          approve: {
            allowed: false,
            reason: 'You approved this version already',
          },
          reject: { allowed: true },
          promoteNow: { allowed: true },
        });
        // Bob has not voted: he may still approve.
        expect(
          (await call('bob', 'get', `/promotions/${pending}`)).body.actions
            .approve,
        ).toEqual({ allowed: true });
        // Bob's approval of another version, and his rejection of this one, are not an approval of this version.
        const at = new Date().toISOString();
        await promotions.vote(pending, {
          actor: BOB,
          decision: 'approve',
          digest: DIGEST(2),
          at,
        });
        await promotions.vote(pending, {
          actor: BOB,
          decision: 'reject',
          digest: DIGEST(3),
          at,
        });
        expect(
          (await call('bob', 'get', `/promotions/${pending}`)).body.actions
            .approve,
        ).toEqual({ allowed: true });
        // Alice's vote still counts for her.
        expect(
          (await call('alice', 'get', `/promotions/${pending}`)).body.actions
            .approve.reason,
        ).toBe('You approved this version already');
      });

      it('offers no decision on a promotion whose object is no longer owned by an entity', async () => {
        const { call, objects, pending } = await setUp(databaseId);
        // The object moves to app-config: the promotion still lists under shop, but nobody may decide on it there.
        await objects.syncSource(`entity:${SHOP}`, []);
        await objects.syncSource('config:file:///config/automation.yaml', [
          {
            ...declared('ImageUpdateAutomation', 'shop', {
              sourceRef: { kind: 'GitRepository', name: 'shop' },
              interval: '1h',
            }),
            entityRef: undefined,
            source: {
              type: 'config' as const,
              location: 'file:///config/automation.yaml',
            },
          },
        ] as any);
        const response = await call(
          'alice',
          'get',
          `/entities/component/default/shop/promotions?state=pending`,
        );
        expect(response.status).toBe(200);
        const why = {
          allowed: false,
          reason:
            'promotions of objects without an owning entity are managed through app-config only',
        };
        expect(response.body.items.map((p: any) => [p.id, p.actions])).toEqual([
          [pending, { approve: why, reject: why, promoteNow: why }],
        ]);
      });
    });

    describe('listing promotions', () => {
      it('filters by state, trimming and skipping empty entries; refuses an unknown state naming it and the known ones', async () => {
        const { call, pending, applied } = await setUp(databaseId);
        const ids = async (state: string) => {
          const response = await call(
            'alice',
            'get',
            `/entities/component/default/shop/promotions?state=${encodeURIComponent(
              state,
            )}`,
          );
          expect({ state, status: response.status }).toEqual({
            state,
            status: 200,
          });
          return response.body.items.map((p: any) => p.id).sort();
        };
        expect(await ids('pending')).toEqual([pending]);
        expect(await ids('applied')).toEqual([applied]);
        expect(await ids(' applied , pending,,')).toEqual(
          [pending, applied].sort(),
        );
        const unknown = await call(
          'alice',
          'get',
          '/entities/component/default/shop/promotions?state=pending,bogus',
        );
        expect(unknown.status).toBe(400);
        expect(unknown.body.error).toMatchObject({
          name: 'InputError',
          message:
            "unknown promotion state 'bogus'; known: pending, approved, rejected, applying, applied, failed, superseded",
        });
      });

      it("decides every promotion's actions in one permission request, and asks none when nothing is listed", async () => {
        const { call, permissions } = await setUp(databaseId);
        permissions.requests.length = 0;
        const all = await call(
          'alice',
          'get',
          '/entities/component/default/shop/promotions',
        );
        expect(all.body.items).toHaveLength(2);
        expect(permissions.requests).toEqual([
          [`${READ} ${SHOP}`],
          [`${APPROVE} ${SHOP}`, `${FORCE} ${SHOP}`],
        ]);
        permissions.requests.length = 0;
        const none = await call(
          'alice',
          'get',
          '/entities/component/default/shop/promotions?state=rejected',
        );
        expect(none.body.items).toEqual([]);
        expect(permissions.requests).toEqual([[`${READ} ${SHOP}`]]);
      });
    });

    describe('refusals', () => {
      it.each([
        [
          'nobody',
          'get',
          '/entities/component/default/shop/promotions',
          `read the promotions`,
          READ,
          undefined,
        ],
        [
          'nobody',
          'get',
          '/promotions/:pending',
          'read the promotions',
          READ,
          undefined,
        ],
        [
          'nobody',
          'post',
          '/promotions/:pending/approve',
          'read the promotions',
          READ,
          {},
        ],
        [
          'reader',
          'post',
          '/promotions/:pending/approve',
          'approve the promotions',
          APPROVE,
          {},
        ],
        [
          'reader',
          'post',
          '/promotions/:pending/reject',
          'reject the promotions',
          APPROVE,
          { reason: 'no' },
        ],
        [
          'reader',
          'post',
          '/promotions/:pending/promote',
          'promote now',
          FORCE,
          { justification: 'now' },
        ],
        [
          'reader',
          'post',
          '/promotions/:applied/rollback',
          'roll back the image automation',
          UPDATE,
          { reason: 'broken' },
        ],
        [
          'nobody',
          'post',
          '/pins',
          'read the image automation',
          READ,
          {
            targetId: TARGET,
            subject: SUBJECT,
            version: { tag: '1.0.0' },
            reason: 'hold',
          },
        ],
        [
          'reader',
          'post',
          '/pins',
          'pin the image automation',
          UPDATE,
          {
            targetId: TARGET,
            subject: SUBJECT,
            version: { tag: '1.0.0' },
            reason: 'hold',
          },
        ],
        [
          'reader',
          'delete',
          `/pins?targetId=${encodeURIComponent(
            TARGET,
          )}&subject=${encodeURIComponent(SUBJECT)}`,
          'pin the image automation',
          UPDATE,
          undefined,
        ],
      ] as const)(
        '%s %s %s → 403 "you may not %s of shop (%s)"',
        async (caller, method, path, what, permission, body) => {
          const { call, pending, applied } = await setUp(databaseId);
          const response = await call(
            caller,
            method,
            path.replace(':pending', pending).replace(':applied', applied),
            body,
          );
          expect(response.status).toBe(403);
          expect(response.body.error).toMatchObject({
            name: 'NotAllowedError',
            message: `you may not ${what} of ${SHOP} (${permission})`,
          });
        },
      );

      it.each([
        ['post', '/objects/ImageRepository/apps/shop/suspend', undefined],
        ['post', '/promotions/:pending/approve', {}],
        ['post', '/promotions/:pending/reject', { reason: 'no' }],
        ['post', '/promotions/:pending/promote', { justification: 'now' }],
        ['post', '/promotions/:applied/rollback', { reason: 'broken' }],
        [
          'post',
          '/pins',
          {
            targetId: TARGET,
            subject: SUBJECT,
            version: { tag: '1.0.0' },
            reason: 'hold',
          },
        ],
        [
          'delete',
          `/pins?targetId=${encodeURIComponent(
            TARGET,
          )}&subject=${encodeURIComponent(SUBJECT)}`,
          undefined,
        ],
        ['get', '/health', undefined],
      ] as const)(
        '%s %s refuses a request without credentials itself (401), asking no permission',
        async (method, path, body) => {
          // Backstage's httpRouter refuses these already; the router does not rely on it.
          const { call, pending, applied, permissions, auditor } = await setUp(
            databaseId,
          );
          permissions.requests.length = 0;
          const response = await call(
            'anonymous',
            method,
            path.replace(':pending', pending).replace(':applied', applied),
            body,
          );
          expect(response.status).toBe(401);
          expect(response.body.error.name).toBe('AuthenticationError');
          expect(permissions.requests).toEqual([]);
          expect(auditor.events).toEqual([]);
        },
      );
    });

    describe('audit events', () => {
      it('records each decision with its event id and promotion, and whether it succeeded', async () => {
        const { call, auditor, pending, applied } = await setUp(databaseId);
        expect(
          (await call('alice', 'post', `/promotions/${pending}/approve`, {}))
            .status,
        ).toBe(200);
        expect(
          (
            await call('reader', 'post', `/promotions/${pending}/reject`, {
              reason: 'no',
            })
          ).status,
        ).toBe(403);
        expect(
          (
            await call('alice', 'post', `/promotions/${pending}/promote`, {
              justification: 'hotfix',
            })
          ).status,
        ).toBe(200);
        expect(
          (
            await call('alice', 'post', `/promotions/${applied}/rollback`, {
              reason: 'broken',
            })
          ).status,
        ).toBe(200);
        expect(
          (
            await call('alice', 'post', `/promotions/${pending}/reject`, {
              reason: 'changed my mind',
            })
          ).status,
        ).toBe(200);
        expect(auditor.events).toEqual([
          {
            eventId: 'promotion-approve',
            severityLevel: 'medium',
            meta: { promotionId: pending },
            outcome: 'success',
          },
          {
            eventId: 'promotion-reject',
            severityLevel: 'medium',
            meta: { promotionId: pending },
            outcome: 'fail',
            error: `NotAllowedError: you may not reject the promotions of ${SHOP} (${APPROVE})`,
          },
          {
            eventId: 'promotion-promote-now',
            severityLevel: 'medium',
            meta: { promotionId: pending },
            outcome: 'success',
          },
          {
            eventId: 'promotion-rollback',
            severityLevel: 'medium',
            meta: { promotionId: applied },
            outcome: 'success',
          },
          {
            eventId: 'promotion-reject',
            severityLevel: 'medium',
            meta: { promotionId: pending },
            outcome: 'success',
          },
        ]);
      });

      it('records pins and unpins with the target, the subject and the pinned tag', async () => {
        const { call, auditor } = await setUp(databaseId);
        const pin = {
          targetId: TARGET,
          subject: SUBJECT,
          version: { tag: '1.0.0' },
          reason: 'hold',
        };
        expect((await call('alice', 'post', '/pins', pin)).status).toBe(200);
        const unpin = `/pins?targetId=${encodeURIComponent(
          TARGET,
        )}&subject=${encodeURIComponent(SUBJECT)}`;
        expect((await call('alice', 'delete', unpin)).status).toBe(204);
        const again = await call('alice', 'delete', unpin);
        expect(again.status).toBe(404);
        expect(auditor.events).toEqual([
          {
            eventId: 'promotion-pin',
            severityLevel: 'medium',
            meta: { targetId: TARGET, subject: SUBJECT, tag: '1.0.0' },
            outcome: 'success',
          },
          {
            eventId: 'promotion-unpin',
            severityLevel: 'medium',
            meta: { targetId: TARGET, subject: SUBJECT },
            outcome: 'success',
          },
          {
            eventId: 'promotion-unpin',
            severityLevel: 'medium',
            meta: { targetId: TARGET, subject: SUBJECT },
            outcome: 'fail',
            error: `NotFoundError: ${SUBJECT} is not pinned on ${TARGET}`,
          },
        ]);
      });
    });

    describe('request validation', () => {
      const expectInputError = (response: request.Response, message: string) =>
        expect({ status: response.status, error: response.body.error }).toEqual(
          {
            status: 400,
            error: expect.objectContaining({ name: 'InputError', message }),
          },
        );

      it('names the missing text of a decision, and keeps an approval comment trimmed', async () => {
        const { call, pending, applied } = await setUp(databaseId);
        expectInputError(
          await call('alice', 'post', `/promotions/${pending}/reject`, {}),
          'reason is required',
        );
        expectInputError(
          await call('alice', 'post', `/promotions/${pending}/promote`, {
            justification: ' ',
          }),
          'justification is required',
        );
        expectInputError(
          await call('alice', 'post', `/promotions/${applied}/rollback`, {
            reason: 7,
          }),
          'reason is required',
        );
        expectInputError(
          await call('alice', 'post', `/promotions/${pending}/approve`, {
            comment: '',
          }),
          'comment is required',
        );
        expectInputError(
          await call('alice', 'post', `/promotions/${pending}/approve`, {
            comment: 'x'.repeat(2001),
          }),
          'comment is longer than 2000 characters',
        );
        const approved = await call(
          'alice',
          'post',
          `/promotions/${pending}/approve`,
          {},
        );
        expect(approved.status).toBe(200);
        expect(approved.body.votes).toHaveLength(1);
        expect(approved.body.votes[0].reason).toBeUndefined();
      });

      it('names each missing or malformed field of a pin', async () => {
        const { call, promotions } = await setUp(databaseId);
        const valid = {
          targetId: TARGET,
          subject: SUBJECT,
          version: { tag: '1.0.0' },
          reason: 'hold',
        };
        const pin = (body: object) => call('alice', 'post', '/pins', body);
        expectInputError(
          await pin({ ...valid, targetId: undefined }),
          'targetId is required',
        );
        expectInputError(
          await pin({ ...valid, subject: '' }),
          'subject is required',
        );
        expectInputError(
          await pin({ ...valid, reason: undefined }),
          'reason is required',
        );
        expectInputError(
          await pin({ ...valid, expiresAt: '' }),
          'expiresAt is required',
        );
        for (const v of [
          undefined,
          null,
          'v1',
          { tag: '' },
          { tag: 5 },
          { digest: DIGEST(1) },
        ]) {
          expectInputError(
            await pin({ ...valid, version: v }),
            'version.tag is required',
          );
        }
        expectInputError(
          await pin({ ...valid, version: { tag: '1.0.0', digest: 5 } }),
          'version.digest must be a string',
        );
        expectInputError(
          await pin({ ...valid, version: { tag: '1.0.0', image: ['x'] } }),
          'version.image must be a string',
        );
        for (const digest of [
          `x${DIGEST(1)}`,
          `${DIGEST(1)}0`,
          `sha256:${'AB'.repeat(32)}`,
          'sha256:abc',
        ]) {
          expectInputError(
            await pin({ ...valid, version: { tag: '1.0.0', digest } }),
            `version.digest must be sha256:<64 hex digits>, got '${digest}'`,
          );
        }
        // Nothing was pinned by the refused requests.
        expect(
          await promotions.getPin(TARGET, SUBJECT, new Date()),
        ).toBeUndefined();
      });

      it('pins exactly the version given: the tag alone, or with digest and image; with an expiry when given', async () => {
        const { call, promotions } = await setUp(databaseId);
        const base = { targetId: TARGET, subject: SUBJECT, reason: 'hold' };
        const tagOnly = await call('alice', 'post', '/pins', {
          ...base,
          version: { tag: '1.0.0' },
        });
        expect(tagOnly.status).toBe(200);
        expect(tagOnly.body.version).toEqual({ tag: '1.0.0' });
        expect(tagOnly.body.expiresAt).toBeUndefined();
        const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
        const full = await call('alice', 'post', '/pins', {
          ...base,
          version: version('1.1.0', 2),
          expiresAt,
        });
        expect(full.status).toBe(200);
        expect(full.body).toMatchObject({
          version: version('1.1.0', 2),
          expiresAt,
          by: ALICE,
          reason: 'hold',
        });
        expect(
          (await promotions.getPin(TARGET, SUBJECT, new Date()))?.version,
        ).toEqual(version('1.1.0', 2));
      });

      // expectInputError asserts the answer.
      // eslint-disable-next-line jest/expect-expect
      it('names the missing query parameter of an unpin', async () => {
        const { call } = await setUp(databaseId);
        expectInputError(
          await call(
            'alice',
            'delete',
            `/pins?subject=${encodeURIComponent(SUBJECT)}`,
          ),
          'targetId is required',
        );
        expectInputError(
          await call(
            'alice',
            'delete',
            `/pins?targetId=${encodeURIComponent(TARGET)}`,
          ),
          'subject is required',
        );
      });

      it('refuses a policy preview without a namespace and a spec object', async () => {
        const { call } = await setUp(databaseId);
        const message =
          'expected a JSON body { "namespace": "…", "spec": { …ImagePolicy spec… } }';
        const spec = {
          imageRepositoryRef: { name: 'shop' },
          policy: { semver: { range: '>=1.0.0' } },
        };
        for (const body of [
          {},
          { spec },
          { namespace: 5, spec },
          { namespace: '', spec },
          { namespace: 'apps' },
          { namespace: 'apps', spec: null },
          { namespace: 'apps', spec: 'x' },
        ]) {
          expectInputError(
            await call('alice', 'post', '/policy-preview', body),
            message,
          );
        }
        expect(
          (
            await call('alice', 'post', '/policy-preview', {
              namespace: 'apps',
              spec,
            })
          ).status,
        ).toBe(200);
      });
    });

    it('answers /health with 200 when ready and 503 when not', async () => {
      const { call, health } = await setUp(databaseId);
      const ok = await call('reader', 'get', '/health');
      expect({ status: ok.status, body: ok.body.status }).toEqual({
        status: 200,
        body: 'ok',
      });
      health.healthy = false;
      const degraded = await call('service', 'get', '/health');
      expect({ status: degraded.status, body: degraded.body }).toMatchObject({
        status: 503,
        body: { status: 'degraded', database: 'unreachable' },
      });
    });
  },
);
