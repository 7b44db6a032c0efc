import { DatabaseObjectStore } from './DatabaseObjectStore';
import { DatabaseScanStore } from './DatabaseScanStore';
import { applyMigrations, rollbackMigrations } from './migrations';
import { createStoreTestDatabases } from './testDatabases';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();
const id = 'ImageRepository/apps/web';

describe.each(databases.eachSupportedId())(
  'DatabaseScanStore on %p',
  databaseId => {
    async function createStores() {
      const knex = await databases.init(databaseId);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({
        knex,
        skipMigrations: true,
      });
      await objects.syncSource('s', [
        {
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: 'web', namespace: 'apps' },
            spec: { image: 'ghcr.io/acme/web', interval: '5m' },
          },
          source: { type: 'config', location: 'file:///x.yaml' },
        },
      ]);
      return { knex, objects, scans };
    }

    it('records scans with the tags added and removed, and keeps tag history', async () => {
      const { scans } = await createStores();
      const t1 = new Date('2030-01-01T00:00:00.000Z');
      const first = await scans.recordScan({
        objectId: id,
        startedAt: t1,
        durationMs: 12,
        requests: 2,
        tags: ['1.0.0', '1.1.0'],
        revision: '111',
      });
      expect(first).toMatchObject({
        outcome: 'success',
        tagCount: 2,
        tagsAdded: ['1.0.0', '1.1.0'],
        tagsRemoved: [],
      });

      const t2 = new Date('2030-01-01T00:05:00.000Z');
      const second = await scans.recordScan({
        objectId: id,
        startedAt: t2,
        durationMs: 9,
        requests: 1,
        tags: ['1.1.0', '1.2.0'],
        revision: '222',
      });
      expect(second).toMatchObject({
        tagsAdded: ['1.2.0'],
        tagsRemoved: ['1.0.0'],
      });
      expect((await scans.currentTags(id)).sort()).toEqual(['1.1.0', '1.2.0']);

      const all = await scans.listTags(id, { includeGone: true });
      expect(all.items).toEqual([
        {
          tag: '1.0.0',
          firstSeenAt: t1.toISOString(),
          lastSeenAt: t1.toISOString(),
          goneSince: t2.toISOString(),
        },
        {
          tag: '1.1.0',
          firstSeenAt: t1.toISOString(),
          lastSeenAt: t2.toISOString(),
        },
        {
          tag: '1.2.0',
          firstSeenAt: t2.toISOString(),
          lastSeenAt: t2.toISOString(),
        },
      ]);

      // A tag that comes back is present again, keeping when it was first seen.
      const t3 = new Date('2030-01-01T00:10:00.000Z');
      const third = await scans.recordScan({
        objectId: id,
        startedAt: t3,
        durationMs: 5,
        requests: 1,
        tags: ['1.0.0', '1.1.0', '1.2.0'],
        revision: '333',
      });
      expect(third.tagsAdded).toEqual(['1.0.0']);
      expect((await scans.listTags(id, { search: '1.0.' })).items).toEqual([
        {
          tag: '1.0.0',
          firstSeenAt: t1.toISOString(),
          lastSeenAt: t3.toISOString(),
        },
      ]);
    });

    it('records one listing observed twice by one object once (a re-run after its outcome was lost, issue #16)', async () => {
      const { scans } = await createStores();
      const at = new Date('2030-01-01T00:00:00.000Z');
      const first = await scans.recordScan({
        objectId: id,
        startedAt: at,
        durationMs: 12,
        requests: 2,
        tags: ['1.0.0'],
        revision: '1',
      });
      const again = await scans.recordScan({
        objectId: id,
        startedAt: at,
        durationMs: 1,
        requests: 0,
        tags: ['1.0.0'],
        revision: '1',
      });
      expect(again).toEqual(first);
      expect((await scans.listScans(id)).items).toHaveLength(1);
      // A later listing, or a failure at the same time, is recorded.
      await scans.recordScan({
        objectId: id,
        startedAt: at,
        durationMs: 1,
        requests: 1,
        error: 'scan failed: timeout',
      });
      await scans.recordScan({
        objectId: id,
        startedAt: new Date('2030-01-01T00:05:00.000Z'),
        durationMs: 1,
        requests: 1,
        tags: ['1.0.0'],
        revision: '1',
      });
      expect((await scans.listScans(id)).items).toHaveLength(3);
    });

    it('records a failed scan without touching the tags', async () => {
      const { scans } = await createStores();
      await scans.recordScan({
        objectId: id,
        startedAt: new Date(),
        durationMs: 1,
        requests: 1,
        tags: ['a'],
        revision: '1',
      });
      const failed = await scans.recordScan({
        objectId: id,
        startedAt: new Date(),
        durationMs: 3,
        requests: 1,
        error: 'scan failed: connection refused',
      });
      expect(failed).toMatchObject({
        outcome: 'failure',
        error: 'scan failed: connection refused',
        tagCount: 0,
      });
      expect(await scans.currentTags(id)).toEqual(['a']);
    });

    it('records the class and HTTP status of a failed scan, and none for a success or another error', async () => {
      const { knex, scans } = await createStores();
      const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute));
      await scans.recordScan({
        objectId: id,
        startedAt: at(0),
        durationMs: 1,
        requests: 1,
        tags: ['a'],
        revision: '1',
      });
      const unauthorized = await scans.recordScan({
        objectId: id,
        startedAt: at(1),
        durationMs: 3,
        requests: 2,
        error:
          'scan failed: GET https://ghcr.io/v2/acme/web/tags/list: UNAUTHORIZED: authentication required',
        errorKind: 'unauthorized',
        errorStatus: 401,
      });
      expect(unauthorized).toMatchObject({
        outcome: 'failure',
        errorKind: 'unauthorized',
        errorStatus: 401,
      });
      await scans.recordScan({
        objectId: id,
        startedAt: at(2),
        durationMs: 3,
        requests: 0,
        error: 'scan failed: connect ECONNREFUSED',
        errorKind: 'network',
      });
      await scans.recordScan({
        objectId: id,
        startedAt: at(3),
        durationMs: 3,
        requests: 0,
        error: 'scan failed: something else',
      });

      const listed = (await scans.listScans(id)).items;
      expect(listed.map(s => [s.outcome, s.errorKind, s.errorStatus])).toEqual([
        ['failure', undefined, undefined],
        ['failure', 'network', undefined],
        ['failure', 'unauthorized', 401],
        ['success', undefined, undefined],
      ]);
      // Nullable columns: a scan recorded without them (as before the migration) reads back as none.
      const columns = await knex('image_automation_scans')
        .select('error_kind', 'error_status')
        .orderBy('id');
      expect(columns).toEqual([
        { error_kind: null, error_status: null },
        { error_kind: 'unauthorized', error_status: 401 },
        { error_kind: 'network', error_status: null },
        { error_kind: null, error_status: null },
      ]);
    });

    it('pages scans newest first and searches tags literally', async () => {
      const { scans } = await createStores();
      for (let i = 0; i < 5; i++) {
        await scans.recordScan({
          objectId: id,
          startedAt: new Date(Date.UTC(2030, 0, 1, 0, i)),
          durationMs: 1,
          requests: 1,
          tags: ['v_1', 'v%2', `x${i}`],
          revision: String(i),
        });
      }
      const page1 = await scans.listScans(id, { limit: 2 });
      expect(page1.items.map(s => s.revision)).toEqual(['4', '3']);
      const page2 = await scans.listScans(id, {
        limit: 2,
        cursor: page1.nextCursor,
      });
      expect(page2.items.map(s => s.revision)).toEqual(['2', '1']);
      const page3 = await scans.listScans(id, {
        limit: 2,
        cursor: page2.nextCursor,
      });
      expect(page3.items.map(s => s.revision)).toEqual(['0']);
      expect(page3.nextCursor).toBeUndefined();
      expect(
        (await scans.listTags(id, { search: '_' })).items.map(t => t.tag),
      ).toEqual(['v_1']);
      expect(
        (await scans.listTags(id, { search: '%' })).items.map(t => t.tag),
      ).toEqual(['v%2']);
    });

    it('prunes scans by age and by count per repository', async () => {
      const { scans } = await createStores();
      for (let i = 0; i < 6; i++) {
        await scans.recordScan({
          objectId: id,
          startedAt: new Date(Date.UTC(2030, 0, 1 + i)),
          durationMs: 1,
          requests: 1,
          tags: ['a'],
          revision: String(i),
        });
      }
      expect(
        await scans.prune({
          olderThan: new Date(Date.UTC(2030, 0, 2)),
          keepPerObject: 100,
        }),
      ).toBe(1);
      expect(
        await scans.prune({ olderThan: new Date(0), keepPerObject: 3 }),
      ).toBe(2);
      expect((await scans.listScans(id)).items.map(s => s.revision)).toEqual([
        '5',
        '4',
        '3',
      ]);
    });

    it('bounds gone tags by age and by count per repository, never touching present tags (issue #13)', async () => {
      const { objects, scans } = await createStores();
      await objects.syncSource('t', [
        {
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: 'neighbour', namespace: 'apps' },
            spec: { image: 'ghcr.io/acme/neighbour', interval: '5m' },
          },
          source: { type: 'config', location: 'file:///y.yaml' },
        },
      ]);
      const neighbour = 'ImageRepository/apps/neighbour';
      const day = (d: number) => new Date(Date.UTC(2030, 0, d));
      // A registry that churns tags: every scan replaces all of them (the attack: an unbounded
      // gone-tag history). Day 1: t0-t9; day 2: u0-u9; …; day 5: present p0-p2.
      const batches = ['t', 'u', 'v', 'w'];
      for (const [i, prefix] of batches.entries()) {
        const tags = Array.from({ length: 10 }, (_, n) => `${prefix}${n}`);
        await scans.recordScan({
          objectId: id,
          startedAt: day(1 + i),
          durationMs: 1,
          requests: 1,
          tags,
          revision: prefix,
        });
      }
      await scans.recordScan({
        objectId: id,
        startedAt: day(5),
        durationMs: 1,
        requests: 1,
        tags: ['p0', 'p1', 'p2'],
        revision: 'p',
      });
      await scans.recordScan({
        objectId: neighbour,
        startedAt: day(1),
        durationMs: 1,
        requests: 1,
        tags: ['old'],
        revision: '1',
      });
      await scans.recordScan({
        objectId: neighbour,
        startedAt: day(4),
        durationMs: 1,
        requests: 1,
        tags: ['new'],
        revision: '2',
      });
      const gone = async (objectId: string) =>
        (
          await scans.listTags(objectId, { includeGone: true, limit: 500 })
        ).items
          .filter(t => t.goneSince)
          .map(t => t.tag);
      expect(await gone(id)).toHaveLength(40);

      // By age: t* went on day 2, u* on day 3.
      expect(
        await scans.pruneGoneTags({ goneBefore: day(3), keepPerObject: 1000 }),
      ).toBe(10);
      expect((await gone(id)).some(t => t.startsWith('t'))).toBe(false);
      expect(await gone(neighbour)).toEqual(['old']); // went on day 4

      // By count: the 15 most recently gone stay (w* all, then v9…v5).
      expect(
        await scans.pruneGoneTags({ goneBefore: day(1), keepPerObject: 15 }),
      ).toBe(15);
      expect((await gone(id)).sort()).toEqual([
        'v5',
        'v6',
        'v7',
        'v8',
        'v9',
        ...Array.from({ length: 10 }, (_, n) => `w${n}`),
      ]);
      expect(
        await scans.pruneGoneTags({ goneBefore: day(1), keepPerObject: 0 }),
      ).toBe(16);
      expect(await gone(id)).toEqual([]);
      expect((await scans.currentTags(id)).sort()).toEqual(['p0', 'p1', 'p2']);
      expect(await scans.currentTags(neighbour)).toEqual(['new']);
    });

    it('stores a bounded error for a failed scan (issue #13)', async () => {
      const { scans } = await createStores();
      const body = '<html>'.repeat(500_000);
      const record = await scans.recordScan({
        objectId: id,
        startedAt: new Date(),
        durationMs: 1,
        requests: 3,
        error: `GET https://r/v2/: unexpected status code 500: ${body}`,
        errorKind: 'server',
        errorStatus: 500,
      });
      expect(record.error!.length).toBeLessThanOrEqual(4096);
      expect((await scans.listScans(id)).items[0].error).toBe(record.error);
    });

    it('deletes an object’s history with the object', async () => {
      const { objects, scans } = await createStores();
      await scans.recordScan({
        objectId: id,
        startedAt: new Date(),
        durationMs: 1,
        requests: 1,
        tags: ['a'],
        revision: '1',
      });
      await objects.syncSource('s', []);
      expect((await scans.listScans(id)).items).toEqual([]);
      expect(await scans.currentTags(id)).toEqual([]);
    });

    it('migrates down and up again', async () => {
      const { knex } = await createStores();
      await rollbackMigrations(knex);
      expect(await knex.schema.hasTable('image_automation_objects')).toBe(
        false,
      );
      await applyMigrations(knex);
      expect(await knex.schema.hasTable('image_automation_scans')).toBe(true);
    });
  },
);
