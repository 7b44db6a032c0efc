import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { clusterTarget } from '../promotions/clusterTargets';
import { PromotionStore } from '../store/PromotionStore';
import {
  declareOwned,
  openTestStores,
  testManifest,
} from '../store/testStores';
import {
  DefaultPromotionService,
  requiredText,
  toPromotionView,
} from './DefaultPromotionService';

// DefaultPromotionService at its edges: the length bound of free text, a view before actions are
// known, a target id with text around it, what a rejection and an unpin record, and a promotion
// that changed while someone acted on it. Real stores (SQLite); the clock is the test's.

const databases = TestDatabases.create({
  ids: ['SQLITE_3'],
  disableDocker: true,
});

const NS = 'shop';
const SET = `ResourceSet/${NS}/web`;
const PROVIDER = `ResourceSetInputProvider/${NS}/releases`;
const TARGET = clusterTarget(SET, 'prod');
const NOW = new Date('2026-06-01T12:00:00.000Z');

describe('free text', () => {
  it('takes 2000 characters and refuses 2001', () => {
    expect(requiredText('x'.repeat(2000), 'reason')).toHaveLength(2000);
    expect(() => requiredText('x'.repeat(2001), 'reason')).toThrow(
      new InputError('reason is longer than 2000 characters'),
    );
  });
});

describe('DefaultPromotionService', () => {
  async function setup(wrap?: (promotions: PromotionStore) => PromotionStore) {
    const { objects, promotions, events } = await openTestStores(
      await databases.init('SQLITE_3'),
    );
    await declareOwned(objects, 'component:default/shop', [
      testManifest('ResourceSet', NS, 'web', { resources: [] }),
      testManifest('ResourceSetInputProvider', NS, 'releases', {
        type: 'Static',
      }),
    ]);
    const service = new DefaultPromotionService({
      promotions: wrap ? wrap(promotions) : promotions,
      objects,
      events,
      now: () => NOW,
    });
    const created = await promotions.create({
      entityRef: 'component:default/shop',
      target: TARGET,
      subject: PROVIDER,
      from: { tag: 'v1', revision: 'sha256:1' },
      to: { tag: 'v2', revision: 'sha256:2' },
      by: 'image-automation',
      now: new Date(NOW.getTime() - 60_000),
    });
    const eventsOf = async (id: string) =>
      (await events.list(id, {})).items.map(e => `${e.reason}: ${e.message}`);
    return { objects, promotions, service, created, eventsOf };
  }

  it('shows no action as allowed before the caller is known', async () => {
    const { created } = await setup();
    const view = toPromotionView(created, []);
    const denied = { allowed: false, reason: 'not evaluated' };
    expect(view.actions).toEqual({
      approve: denied,
      reject: denied,
      promoteNow: denied,
    });
    expect(view).not.toHaveProperty('revision');
  });

  it('records a rejection in the history and as an event, and makes the target due', async () => {
    const { objects, service, created, eventsOf } = await setup();
    const rejected = await service.reject(
      created.id,
      'user:default/bob',
      'broken',
    );
    expect(rejected.state).toBe('rejected');
    expect(rejected.history[rejected.history.length - 1]).toEqual({
      state: 'rejected',
      at: NOW.toISOString(),
      by: 'user:default/bob',
      note: 'broken',
    });
    expect(await eventsOf(SET)).toEqual([
      `PromotionRejected: user:default/bob rejected ${PROVIDER} on ${TARGET.id} (v1 → v2): broken`,
    ]);
    expect((await objects.get(SET))!.nextRunAt).toBe(NOW.toISOString());
    // Closed: promote now names its verb.
    await expect(
      service.promoteNow(created.id, 'user:default/bob', 'hotfix'),
    ).rejects.toThrow(
      new ConflictError(
        `cannot promote promotion ${created.id}: it is rejected`,
      ),
    );
  });

  it('records an unpin as an event, and knows no target with text around its id', async () => {
    const { service, eventsOf } = await setup();
    await service.pin({
      targetId: TARGET.id,
      subject: PROVIDER,
      version: { tag: 'v1', revision: 'sha256:1' },
      reason: 'freeze',
      actor: 'user:default/bob',
    });
    await service.unpin(TARGET.id, PROVIDER, 'user:default/carol');
    expect(await eventsOf(SET)).toEqual([
      `PromotionUnpinned: user:default/carol unpinned ${PROVIDER} on ${TARGET.id}`,
      `PromotionPinned: user:default/bob pinned ${PROVIDER} on ${TARGET.id} at v1: freeze`,
    ]);
    await expect(
      service.unpin(`x${TARGET.id}`, PROVIDER, 'user:default/carol'),
    ).rejects.toThrow(new NotFoundError(`no promotion target x${TARGET.id}`));
  });

  it('refuses a rejection of a promotion that changed while it was decided, and leaves it as the other change left it', async () => {
    const { service, created, promotions } = await setup(store => {
      const racing = Object.create(store) as PromotionStore;
      racing.update = async (id, revision, patch, now, states) => {
        // Another instance moves the promotion on first.
        await store.update(id, revision, { state: 'approved' }, now);
        return store.update(id, revision, patch, now, states);
      };
      return racing;
    });
    await expect(
      service.reject(created.id, 'user:default/bob', 'broken'),
    ).rejects.toThrow(
      new ConflictError(
        `promotion ${created.id} changed while you acted on it; reload and try again`,
      ),
    );
    expect((await promotions.get(created.id))!.state).toBe('approved');
  });
});
