import { DatabaseEventStore } from './DatabaseEventStore';
import { DatabaseObjectStore } from './DatabaseObjectStore';
import { createStoreTestDatabases } from './testDatabases';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

describe.each(databases.eachSupportedId())(
  'DatabaseEventStore on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      const objects = await DatabaseObjectStore.create({ knex });
      await objects.syncSource(
        's',
        ['noisy', 'quiet', 'web'].map(name => ({
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name, namespace: 'apps' },
            spec: { image: `ghcr.io/acme/${name}`, interval: '5m' },
          },
          source: { type: 'config' as const, location: 'file:///x.yaml' },
        })),
      );
      return DatabaseEventStore.create({ knex, skipMigrations: true });
    }
    const at = (minute: number) =>
      new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();

    it('bounds events by age and by count per object (issue #13)', async () => {
      const events = await createStore();
      // A failing object that records an event on every retry, and a quiet neighbour.
      for (let i = 0; i < 30; i++) {
        await events.record({
          objectId: 'ImageRepository/apps/noisy',
          time: at(i),
          type: 'Warning',
          reason: 'ReadOperationFailed',
          message: `retry ${i}`,
        });
      }
      await events.record({
        objectId: 'ImageRepository/apps/quiet',
        time: at(0),
        type: 'Normal',
        reason: 'Succeeded',
        message: 'ok',
      });
      await events.record({
        objectId: 'ImageRepository/apps/quiet',
        time: at(20),
        type: 'Normal',
        reason: 'Succeeded',
        message: 'ok again',
      });

      // By age: before minute 10.
      expect(await events.prune({ olderThan: new Date(at(10)) })).toBe(11);
      // By count: the newest 5 per object.
      expect(
        await events.prune({ olderThan: new Date(at(0)), keepPerObject: 5 }),
      ).toBe(15);
      const noisy = await events.list('ImageRepository/apps/noisy', {
        limit: 100,
      });
      expect(noisy.items.map(e => e.message)).toEqual([
        'retry 29',
        'retry 28',
        'retry 27',
        'retry 26',
        'retry 25',
      ]);
      expect(
        (await events.list('ImageRepository/apps/quiet')).items.map(
          e => e.message,
        ),
      ).toEqual(['ok again']);
    });

    it('stores a bounded message however long the cause (issue #13)', async () => {
      const events = await createStore();
      await events.record({
        objectId: 'ImageRepository/apps/web',
        time: at(0),
        type: 'Warning',
        reason: 'ReadOperationFailed',
        message: `scan failed: GET https://r/v2/: unexpected status code 500: ${'x'.repeat(
          3_000_000,
        )}`,
      });
      const [event] = (await events.list('ImageRepository/apps/web')).items;
      expect(event.message.length).toBeLessThanOrEqual(4096);
      expect(event.message).toMatch(
        /^scan failed: GET https:\/\/r\/v2\/: unexpected status code 500: x+… \(\d+ more characters\)$/,
      );
    });
  },
);
