import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseObjectStore } from './DatabaseObjectStore';
import { DeclaredObject } from './ObjectStore';
import { createStoreTestDatabases } from './testDatabases';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

function repo(name: string, interval = '5m'): AutomationObject {
  return {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageRepository',
    metadata: { name, namespace: 'apps' },
    spec: { image: `ghcr.io/acme/${name}`, interval },
  };
}

function declared(
  manifest: AutomationObject,
  entityRef = 'component:default/shop',
): DeclaredObject {
  return {
    manifest,
    entityRef,
    source: { type: 'catalog', location: 'file:///catalog/shop.yaml' },
  };
}

describe.each(databases.eachSupportedId())(
  'DatabaseObjectStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      return DatabaseObjectStore.create({ knex });
    }

    it('creates, updates with a new generation and deletes what a source declares', async () => {
      const store = await createStore();
      await store.syncSource('entity:component:default/shop', [
        declared(repo('web')),
        declared(repo('api')),
      ]);
      expect(
        (await store.list({ entityRef: 'component:default/shop' })).map(
          o => o.id,
        ),
      ).toEqual(['ImageRepository/apps/api', 'ImageRepository/apps/web']);

      await store.syncSource('entity:component:default/shop', [
        declared(repo('web', '1m')),
      ]);
      const web = await store.get('ImageRepository/apps/web');
      expect(web?.generation).toBe(2);
      expect((web?.manifest.spec as any).interval).toBe('1m');
      expect(await store.get('ImageRepository/apps/api')).toBeUndefined();

      await store.syncSource('entity:component:default/shop', [
        declared(repo('web', '1m')),
      ]);
      expect((await store.get('ImageRepository/apps/web'))?.generation).toBe(2);
    });

    it('leaves an object to the source that declared it first', async () => {
      const store = await createStore();
      await store.syncSource('entity:component:default/shop', [
        declared(repo('web')),
      ]);
      const { conflicts } = await store.syncSource(
        'entity:component:default/other',
        [declared(repo('web', '1h'), 'component:default/other')],
      );
      expect(conflicts).toEqual([
        {
          id: 'ImageRepository/apps/web',
          ownerSourceKey: 'entity:component:default/shop',
          ownerEntityRef: 'component:default/shop',
        },
      ]);
      expect((await store.get('ImageRepository/apps/web'))?.entityRef).toBe(
        'component:default/shop',
      );
    });

    it('lets a platform location take over an id an entity declared, starting it over', async () => {
      const store = await createStore();
      await store.syncSource('entity:component:default/shop', [
        declared(repo('web')),
      ]);
      const { conflicts, takenOver } = await store.syncSource(
        'config:platform.yaml',
        [
          {
            manifest: repo('web', '1h'),
            source: { type: 'config', location: 'platform.yaml' },
          },
        ],
      );
      expect(conflicts).toEqual([]);
      expect(takenOver).toEqual([
        {
          id: 'ImageRepository/apps/web',
          fromSourceKey: 'entity:component:default/shop',
        },
      ]);
      const web = await store.get('ImageRepository/apps/web');
      expect(web).toMatchObject({
        sourceKey: 'config:platform.yaml',
        entityRef: undefined,
        generation: 2,
        status: { observedGeneration: -1 },
      });
      // The entity's next sync no longer owns it: it is a conflict, and its own stale rows do not delete it.
      const again = await store.syncSource('entity:component:default/shop', [
        declared(repo('web')),
      ]);
      expect(again.conflicts.map(c => c.ownerSourceKey)).toEqual([
        'config:platform.yaml',
      ]);
      expect(await store.get('ImageRepository/apps/web')).toBeDefined();
    });

    it('stores the granted namespaces and makes the object due when they change', async () => {
      const store = await createStore();
      await store.syncSource('s', [
        { ...declared(repo('a')), grantedNamespaces: ['apps'] },
      ]);
      expect(
        (await store.get('ImageRepository/apps/a'))?.grantedNamespaces,
      ).toEqual(['apps']);
      const claimed = await store.claimDue({
        owner: 'one',
        now: new Date(Date.now() + 1000),
        limit: 1,
        leaseMs: 60_000,
      });
      await store.completeRun(claimed[0].id, 'one', {
        status: {},
        nextRunAt: new Date(Date.now() + 3_600_000),
        ranAt: new Date(),
      });
      await store.syncSource('s', [
        { ...declared(repo('a')), grantedNamespaces: ['apps', 'shared'] },
      ]);
      const regranted = await store.get('ImageRepository/apps/a');
      expect(regranted?.grantedNamespaces).toEqual(['apps', 'shared']);
      expect(regranted?.generation).toBe(1);
      expect(Date.parse(regranted!.nextRunAt)).toBeLessThanOrEqual(Date.now());
    });

    it('keeps the DeclarationConflict condition across runs until the sync clears it', async () => {
      const store = await createStore();
      await store.syncSource('s', [declared(repo('a'))]);
      const id = 'ImageRepository/apps/a';
      await store.setDeclarationConflict(
        id,
        'also declared by component:default/x',
        new Date(),
      );
      const [claimed] = await store.claimDue({
        owner: 'one',
        now: new Date(Date.now() + 1000),
        limit: 1,
        leaseMs: 60_000,
      });
      const ready = {
        type: 'Ready',
        status: 'True' as const,
        reason: 'Succeeded',
        message: 'ok',
        lastTransitionTime: 'x',
      };
      await store.reportProgress(id, 'one', { conditions: [ready] });
      await store.completeRun(claimed.id, 'one', {
        status: { conditions: [ready] },
        nextRunAt: new Date(),
        ranAt: new Date(),
      });
      expect((await store.get(id))?.status.conditions).toEqual([
        ready,
        expect.objectContaining({
          type: 'DeclarationConflict',
          status: 'True',
          reason: 'AlsoDeclared',
          message: 'also declared by component:default/x',
        }),
      ]);
      await store.setDeclarationConflict(id, undefined, new Date());
      expect((await store.get(id))?.status.conditions).toEqual([ready]);
    });

    it('leases each due object to one owner at a time', async () => {
      const store = await createStore();
      await store.syncSource('s', [
        declared(repo('a')),
        declared(repo('b')),
        declared(repo('c')),
      ]);
      const now = new Date(Date.now() + 1000);
      const [first, second] = await Promise.all([
        store.claimDue({ owner: 'one', now, limit: 10, leaseMs: 60_000 }),
        store.claimDue({ owner: 'two', now, limit: 10, leaseMs: 60_000 }),
      ]);
      const ids = [...first, ...second].map(o => o.id).sort();
      expect(ids).toEqual([
        'ImageRepository/apps/a',
        'ImageRepository/apps/b',
        'ImageRepository/apps/c',
      ]);
      expect(
        await store.claimDue({
          owner: 'three',
          now,
          limit: 10,
          leaseMs: 60_000,
        }),
      ).toEqual([]);

      // An expired lease (its owner died) makes the object available again.
      const later = new Date(now.getTime() + 61_000);
      expect(
        (
          await store.claimDue({
            owner: 'three',
            now: later,
            limit: 10,
            leaseMs: 60_000,
          })
        ).length,
      ).toBe(3);
    });

    it('counts the objects due and not leased (the queue-depth gauge)', async () => {
      const store = await createStore();
      await store.syncSource('s', [
        declared(repo('a')),
        declared(repo('b')),
        declared(repo('c')),
      ]);
      const now = new Date(Date.now() + 1000);
      expect(await store.countDue(now)).toBe(3);
      await store.claimDue({ owner: 'one', now, limit: 1, leaseMs: 60_000 });
      expect(await store.countDue(now)).toBe(2);
      const [b] = await store.claimDue({
        owner: 'one',
        now,
        limit: 1,
        leaseMs: 60_000,
      });
      await store.completeRun(b.id, 'one', {
        status: { conditions: [] },
        nextRunAt: new Date(now.getTime() + 3_600_000),
        ranAt: now,
      });
      expect(await store.countDue(now)).toBe(1);
      // Past the lease, the first object is due again; the completed one is not due for an hour.
      expect(await store.countDue(new Date(now.getTime() + 61_000))).toBe(2);
    });

    it('stores a run only for the lease owner and keeps a due-now request made during the run', async () => {
      const store = await createStore();
      await store.syncSource('s', [declared(repo('a'))]);
      const now = new Date(Date.now() + 1000);
      const [object] = await store.claimDue({
        owner: 'one',
        now,
        limit: 1,
        leaseMs: 60_000,
      });
      const status = { observedGeneration: 1 };
      expect(
        await store.completeRun(object.id, 'two', {
          status,
          nextRunAt: now,
          ranAt: now,
        }),
      ).toBe(false);

      await store.requestReconcile(object.id, 'user:default/jane', now);
      const nextRunAt = new Date(now.getTime() + 300_000);
      expect(
        await store.completeRun(object.id, 'one', {
          status,
          nextRunAt,
          ranAt: now,
        }),
      ).toBe(true);
      const stored = await store.get(object.id);
      expect(stored?.status).toEqual(status);
      expect(stored?.nextRunAt).toBe(now.toISOString());
      expect(stored?.reconcileRequestedBy).toBe('user:default/jane');
    });

    it('renews a lease for its owner only, keeping a due-now request made during the run', async () => {
      const store = await createStore();
      await store.syncSource('s', [declared(repo('a')), declared(repo('b'))]);
      const now = new Date(Date.now() + 1000);
      const claimed = await store.claimDue({
        owner: 'one',
        now,
        limit: 2,
        leaseMs: 60_000,
      });
      expect(claimed).toHaveLength(2);
      const later = new Date(now.getTime() + 600_000);
      expect(
        await store.renewLease('ImageRepository/apps/a', 'two', later),
      ).toBe(false);
      await store.markDue(['ImageRepository/apps/b'], now);
      expect(
        await store.renewLease('ImageRepository/apps/a', 'one', later),
      ).toBe(true);
      expect(
        await store.renewLease('ImageRepository/apps/b', 'one', later),
      ).toBe(true);
      // Past the first lease but within the renewed one, nobody else can take them.
      const afterFirstLease = new Date(now.getTime() + 120_000);
      expect(
        await store.claimDue({
          owner: 'two',
          now: afterFirstLease,
          limit: 2,
          leaseMs: 60_000,
        }),
      ).toEqual([]);
      expect((await store.get('ImageRepository/apps/a'))?.nextRunAt).toBe(
        later.toISOString(),
      );
      expect((await store.get('ImageRepository/apps/b'))?.nextRunAt).toBe(
        now.toISOString(),
      );

      // Progress is shown only by the holder of the lease.
      const progress = { conditions: [], observedGeneration: 7 };
      expect(
        await store.reportProgress('ImageRepository/apps/a', 'two', progress),
      ).toBe(false);
      expect(
        await store.reportProgress('ImageRepository/apps/a', 'one', progress),
      ).toBe(true);
      expect((await store.get('ImageRepository/apps/a'))?.status).toEqual(
        progress,
      );
    });

    it('records who suspended and resumed an object; resuming makes it due', async () => {
      const store = await createStore();
      await store.syncSource('s', [declared(repo('a'))]);
      const t1 = new Date('2030-01-01T00:00:00.000Z');
      const suspended = await store.setSuspended(
        'ImageRepository/apps/a',
        true,
        'user:default/jane',
        t1,
      );
      expect(suspended).toMatchObject({
        suspended: true,
        suspendedBy: 'user:default/jane',
        suspendedAt: t1.toISOString(),
      });
      const t2 = new Date('2030-01-02T00:00:00.000Z');
      const resumed = await store.setSuspended(
        'ImageRepository/apps/a',
        false,
        'user:default/joe',
        t2,
      );
      expect(resumed).toMatchObject({
        suspended: false,
        suspendedBy: 'user:default/joe',
        nextRunAt: t2.toISOString(),
      });
    });
  },
);
