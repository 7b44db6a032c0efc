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

function declared(manifest: AutomationObject, entityRef = 'component:default/shop'): DeclaredObject {
  return { manifest, entityRef, source: { type: 'catalog', location: 'file:///catalog/shop.yaml' } };
}

describe.each(databases.eachSupportedId())('DatabaseObjectStore on %p', databaseId => {
  async function createStore() {
    const knex = await databases.init(databaseId);
    return DatabaseObjectStore.create({ knex });
  }

  it('creates, updates with a new generation and deletes what a source declares', async () => {
    const store = await createStore();
    await store.syncSource('entity:component:default/shop', [declared(repo('web')), declared(repo('api'))]);
    expect((await store.list({ entityRef: 'component:default/shop' })).map(o => o.id)).toEqual([
      'ImageRepository/apps/api',
      'ImageRepository/apps/web',
    ]);

    await store.syncSource('entity:component:default/shop', [declared(repo('web', '1m'))]);
    const web = await store.get('ImageRepository/apps/web');
    expect(web?.generation).toBe(2);
    expect((web?.manifest.spec as any).interval).toBe('1m');
    expect(await store.get('ImageRepository/apps/api')).toBeUndefined();

    await store.syncSource('entity:component:default/shop', [declared(repo('web', '1m'))]);
    expect((await store.get('ImageRepository/apps/web'))?.generation).toBe(2);
  });

  it('leaves an object to the source that declared it first', async () => {
    const store = await createStore();
    await store.syncSource('entity:component:default/shop', [declared(repo('web'))]);
    const { conflicts } = await store.syncSource('entity:component:default/other', [
      declared(repo('web', '1h'), 'component:default/other'),
    ]);
    expect(conflicts).toEqual([{ id: 'ImageRepository/apps/web', ownerSourceKey: 'entity:component:default/shop' }]);
    expect((await store.get('ImageRepository/apps/web'))?.entityRef).toBe('component:default/shop');
  });

  it('leases each due object to one owner at a time', async () => {
    const store = await createStore();
    await store.syncSource('s', [declared(repo('a')), declared(repo('b')), declared(repo('c'))]);
    const now = new Date(Date.now() + 1000);
    const [first, second] = await Promise.all([
      store.claimDue({ owner: 'one', now, limit: 10, leaseMs: 60_000 }),
      store.claimDue({ owner: 'two', now, limit: 10, leaseMs: 60_000 }),
    ]);
    const ids = [...first, ...second].map(o => o.id).sort();
    expect(ids).toEqual(['ImageRepository/apps/a', 'ImageRepository/apps/b', 'ImageRepository/apps/c']);
    expect(await store.claimDue({ owner: 'three', now, limit: 10, leaseMs: 60_000 })).toEqual([]);

    // An expired lease (its owner died) makes the object available again.
    const later = new Date(now.getTime() + 61_000);
    expect((await store.claimDue({ owner: 'three', now: later, limit: 10, leaseMs: 60_000 })).length).toBe(3);
  });

  it('stores a run only for the lease owner and keeps a due-now request made during the run', async () => {
    const store = await createStore();
    await store.syncSource('s', [declared(repo('a'))]);
    const now = new Date(Date.now() + 1000);
    const [object] = await store.claimDue({ owner: 'one', now, limit: 1, leaseMs: 60_000 });
    const status = { observedGeneration: 1 };
    expect(await store.completeRun(object.id, 'two', { status, nextRunAt: now, ranAt: now })).toBe(false);

    await store.requestReconcile(object.id, 'user:default/jane', now);
    const nextRunAt = new Date(now.getTime() + 300_000);
    expect(await store.completeRun(object.id, 'one', { status, nextRunAt, ranAt: now })).toBe(true);
    const stored = await store.get(object.id);
    expect(stored?.status).toEqual(status);
    expect(stored?.nextRunAt).toBe(now.toISOString());
    expect(stored?.reconcileRequestedBy).toBe('user:default/jane');
  });

  it('renews a lease for its owner only, keeping a due-now request made during the run', async () => {
    const store = await createStore();
    await store.syncSource('s', [declared(repo('a')), declared(repo('b'))]);
    const now = new Date(Date.now() + 1000);
    const claimed = await store.claimDue({ owner: 'one', now, limit: 2, leaseMs: 60_000 });
    expect(claimed).toHaveLength(2);
    const later = new Date(now.getTime() + 600_000);
    expect(await store.renewLease('ImageRepository/apps/a', 'two', later)).toBe(false);
    await store.markDue(['ImageRepository/apps/b'], now);
    expect(await store.renewLease('ImageRepository/apps/a', 'one', later)).toBe(true);
    expect(await store.renewLease('ImageRepository/apps/b', 'one', later)).toBe(true);
    // Past the first lease but within the renewed one, nobody else can take them.
    const afterFirstLease = new Date(now.getTime() + 120_000);
    expect(await store.claimDue({ owner: 'two', now: afterFirstLease, limit: 2, leaseMs: 60_000 })).toEqual([]);
    expect((await store.get('ImageRepository/apps/a'))?.nextRunAt).toBe(later.toISOString());
    expect((await store.get('ImageRepository/apps/b'))?.nextRunAt).toBe(now.toISOString());

    // Progress is shown only by the holder of the lease.
    const progress = { conditions: [] , observedGeneration: 7 };
    expect(await store.reportProgress('ImageRepository/apps/a', 'two', progress)).toBe(false);
    expect(await store.reportProgress('ImageRepository/apps/a', 'one', progress)).toBe(true);
    expect((await store.get('ImageRepository/apps/a'))?.status).toEqual(progress);
  });

  it('records who suspended and resumed an object; resuming makes it due', async () => {
    const store = await createStore();
    await store.syncSource('s', [declared(repo('a'))]);
    const t1 = new Date('2030-01-01T00:00:00.000Z');
    const suspended = await store.setSuspended('ImageRepository/apps/a', true, 'user:default/jane', t1);
    expect(suspended).toMatchObject({ suspended: true, suspendedBy: 'user:default/jane', suspendedAt: t1.toISOString() });
    const t2 = new Date('2030-01-02T00:00:00.000Z');
    const resumed = await store.setSuspended('ImageRepository/apps/a', false, 'user:default/joe', t2);
    expect(resumed).toMatchObject({ suspended: false, suspendedBy: 'user:default/joe', nextRunAt: t2.toISOString() });
  });
});
