import { mockCredentials } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import {
  AutomationObject,
  AutomationObjectView,
} from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { DefaultObjectService } from './DefaultObjectService';
import { actionsForState, withObjectActions } from './objectActions';

const SHOP = 'component:default/shop';
const REPO = 'ImageRepository/apps/shop';

const view = (
  suspended: boolean,
  specSuspend?: boolean,
  entityRef: string | null = SHOP,
) =>
  ({
    id: REPO,
    entityRef: entityRef ?? undefined,
    spec: specSuspend === undefined ? {} : { suspend: specSuspend },
    suspended,
    actions: {},
  } as unknown as AutomationObjectView);

const NOT_RECONCILED = {
  allowed: false,
  reason: 'Suspended objects are not reconciled: resume first',
};

describe('actionsForState', () => {
  it('allows suspend and reconcile of a running object, not resume', () => {
    expect(actionsForState(view(false))).toEqual({
      suspend: { allowed: true },
      resume: { allowed: false, reason: 'Not suspended' },
      reconcile: { allowed: true },
    });
  });

  it('allows only resume of an object suspended by an action', () => {
    expect(actionsForState(view(true))).toEqual({
      suspend: { allowed: false, reason: 'Already suspended' },
      resume: { allowed: true },
      reconcile: NOT_RECONCILED,
    });
    // spec.suspend: false is no suspension by the manifest.
    expect(actionsForState(view(true, false)).resume).toEqual({
      allowed: true,
    });
  });

  it('allows nothing on an object its manifest suspends: only a change of the manifest resumes it', () => {
    expect(actionsForState(view(true, true))).toEqual({
      suspend: { allowed: false, reason: 'Already suspended' },
      resume: {
        allowed: false,
        reason:
          'Suspended by spec.suspend in the manifest: change the manifest to resume',
      },
      reconcile: NOT_RECONCILED,
    });
  });
});

describe('withObjectActions', () => {
  it('offers what the state allows to a caller who may update, keeping the rest of the view', () => {
    for (const [suspended, specSuspend] of [
      [false, undefined],
      [true, undefined],
      [true, true],
    ] as const) {
      expect(
        withObjectActions(view(suspended, specSuspend), true).actions,
      ).toEqual(actionsForState(view(suspended, specSuspend)));
    }
    expect(withObjectActions(view(false), true)).toMatchObject({
      id: REPO,
      entityRef: SHOP,
      suspended: false,
    });
  });

  it('offers nothing without the update permission, whatever the state, naming the permission or app-config', () => {
    for (const suspended of [false, true]) {
      const denied = {
        allowed: false,
        reason: `You lack the image-automation.object.update permission for ${SHOP}`,
      };
      expect(withObjectActions(view(suspended), false).actions).toEqual({
        suspend: denied,
        resume: denied,
        reconcile: denied,
      });
      const config = {
        allowed: false,
        reason:
          'objects without an owning entity are managed through app-config only',
      };
      expect(
        withObjectActions(view(suspended, undefined, null), false).actions,
      ).toEqual({
        suspend: config,
        resume: config,
        reconcile: config,
      });
    }
  });
});

describe('DefaultObjectService enforces the state rules itself', () => {
  const databases = createStoreTestDatabases();

  async function setUp(databaseId: Parameters<typeof databases.init>[0]) {
    const knex = await databases.init(databaseId);
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const events = await DatabaseEventStore.create({
      knex,
      skipMigrations: true,
    });
    const declared = (name: string, spec: Record<string, unknown>) => ({
      manifest: {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageRepository',
        metadata: { name, namespace: 'apps' },
        spec,
      } as AutomationObject,
      entityRef: SHOP,
      source: { type: 'catalog' as const, location: 'file:///shop.yaml' },
      grantedNamespaces: ['apps'],
    });
    await objects.syncSource(`entity:${SHOP}`, [
      declared('shop', { image: 'registry.example.com/acme/shop' }),
      declared('frozen', {
        image: 'registry.example.com/acme/frozen',
        suspend: true,
      }),
    ]);
    const service = new DefaultObjectService({ objects, scans, events });
    return { service, objects, events };
  }

  it.each(databases.eachSupportedId())(
    'views carry the actions the state allows, and act refuses the others with a ConflictError, changing nothing (%p)',
    async databaseId => {
      const { service, objects, events } = await setUp(databaseId);
      const user = mockCredentials.user('user:default/alice');
      expect((await service.get(REPO)).actions).toEqual(
        actionsForState(view(false)),
      );

      await expect(service.act(REPO, 'resume', user)).rejects.toThrow(
        new ConflictError(`cannot resume ${REPO}: Not suspended`),
      );
      const suspended = await service.act(REPO, 'suspend', user);
      expect(suspended.suspended).toBe(true);
      expect(suspended.actions).toEqual(actionsForState(view(true)));

      const before = {
        object: await objects.get(REPO),
        events: await events.list(REPO, { limit: 100 }),
      };
      for (const [action, reason] of [
        ['suspend', 'Already suspended'],
        ['reconcile', 'Suspended objects are not reconciled: resume first'],
      ] as const) {
        await expect(service.act(REPO, action, user)).rejects.toThrow(
          new ConflictError(`cannot ${action} ${REPO}: ${reason}`),
        );
      }
      expect({
        object: await objects.get(REPO),
        events: await events.list(REPO, { limit: 100 }),
      }).toEqual(before);

      const frozen = 'ImageRepository/apps/frozen';
      await expect(service.act(frozen, 'resume', user)).rejects.toThrow(
        new ConflictError(
          `cannot resume ${frozen}: Suspended by spec.suspend in the manifest: change the manifest to resume`,
        ),
      );
      expect((await service.act(REPO, 'resume', user)).suspended).toBe(false);
    },
  );
});
