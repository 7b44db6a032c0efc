import { DatabaseInventoryStore } from './DatabaseInventoryStore';
import { createStoreTestDatabases } from './testDatabases';

// SQLite always; PostgreSQL when BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING points at a
// server (test/testbed/postgres.sh). Under CI a missing PostgreSQL fails the file, never skips it.
const databases = createStoreTestDatabases();

describe.each(databases.eachSupportedId())(
  'DatabaseInventoryStore on %s',
  databaseId => {
    async function makeStore() {
      const knex = await databases.init(databaseId);
      return { knex, store: await DatabaseInventoryStore.create({ knex }) };
    }

    it('stores, replaces and reads back an inventory', async () => {
      const { store } = await makeStore();
      expect(
        await store.get('ResourceSet/flux-system/apps', 'prod'),
      ).toBeUndefined();

      await store.put({
        owner: 'ResourceSet/flux-system/apps',
        cluster: 'prod',
        entries: [
          { id: 'apps_web_apps_Deployment', v: 'v1' },
          { id: '_apps__Namespace', v: 'v1' },
        ],
        state: 'applying',
      });
      const applying = await store.get('ResourceSet/flux-system/apps', 'prod');
      expect(applying).toMatchObject({
        state: 'applying',
        entries: [
          { id: 'apps_web_apps_Deployment', v: 'v1' },
          { id: '_apps__Namespace', v: 'v1' },
        ],
      });
      expect(applying?.lastAppliedRevision).toBeUndefined();
      expect(applying?.updatedAt).toBeInstanceOf(Date);
      expect(Number.isNaN(applying!.updatedAt.getTime())).toBe(false);

      await store.put({
        owner: 'ResourceSet/flux-system/apps',
        cluster: 'prod',
        entries: [{ id: '_apps__Namespace', v: 'v1' }],
        state: 'applied',
        lastAppliedRevision: 'sha256:abc',
      });
      expect(
        await store.get('ResourceSet/flux-system/apps', 'prod'),
      ).toMatchObject({
        state: 'applied',
        lastAppliedRevision: 'sha256:abc',
        entries: [{ id: '_apps__Namespace', v: 'v1' }],
      });
      expect(await store.list()).toHaveLength(1);
    });

    it('keeps one inventory per owner and cluster, listed by either', async () => {
      const { store } = await makeStore();
      for (const [owner, cluster] of [
        ['ResourceSet/a/one', 'prod'],
        ['ResourceSet/a/one', 'staging'],
        ['ResourceSet/b/two', 'prod'],
      ]) {
        await store.put({
          owner,
          cluster,
          entries: [],
          state: 'failed',
          message: `boom in ${cluster}`,
        });
      }
      expect(
        (await store.list({ owner: 'ResourceSet/a/one' })).map(r => r.cluster),
      ).toEqual(['prod', 'staging']);
      expect((await store.list({ cluster: 'prod' })).map(r => r.owner)).toEqual(
        ['ResourceSet/a/one', 'ResourceSet/b/two'],
      );
      expect(await store.get('ResourceSet/a/one', 'staging')).toMatchObject({
        state: 'failed',
        message: 'boom in staging',
      });

      await store.delete('ResourceSet/a/one', 'prod');
      expect(await store.get('ResourceSet/a/one', 'prod')).toBeUndefined();
      expect(await store.list()).toHaveLength(2);
    });

    it('round-trips a large inventory', async () => {
      const { store } = await makeStore();
      const entries = Array.from({ length: 5000 }, (_, i) => ({
        id: `apps_cm-${i}__ConfigMap`,
        v: 'v1',
      }));
      await store.put({
        owner: 'ResourceSet/a/big',
        cluster: 'prod',
        entries,
        state: 'applied',
      });
      expect((await store.get('ResourceSet/a/big', 'prod'))?.entries).toEqual(
        entries,
      );
    });

    it('records when the owner was found gone, and forgets it when the owner applies again (issue #16)', async () => {
      const { store } = await makeStore();
      const owner = 'ResourceSet/flux-system/apps';
      await store.put({
        owner,
        cluster: 'prod',
        entries: [],
        state: 'applied',
      });
      await store.put({ owner, cluster: 'dev', entries: [], state: 'applied' });
      expect((await store.get(owner, 'prod'))?.orphanedAt).toBeUndefined();

      await store.setOrphaned(
        owner,
        'prod',
        new Date('2026-12-03T10:00:00.000Z'),
      );
      expect((await store.get(owner, 'prod'))?.orphanedAt).toEqual(
        new Date('2026-12-03T10:00:00.000Z'),
      );
      expect((await store.get(owner, 'dev'))?.orphanedAt).toBeUndefined();
      expect(
        (await store.list({ owner })).map(r => r.orphanedAt?.toISOString()),
      ).toEqual([undefined, '2026-12-03T10:00:00.000Z']);

      await store.setOrphaned(owner, 'prod', undefined);
      expect((await store.get(owner, 'prod'))?.orphanedAt).toBeUndefined();
      await store.setOrphaned(
        owner,
        'prod',
        new Date('2026-12-03T11:00:00.000Z'),
      );
      await store.put({
        owner,
        cluster: 'prod',
        entries: [],
        state: 'applying',
      });
      expect((await store.get(owner, 'prod'))?.orphanedAt).toBeUndefined();
    });

    it('keeps the applied resourceVersions of a finished apply only (issue #16)', async () => {
      const { store } = await makeStore();
      const owner = 'ResourceSet/a/versions';
      const entries = [
        { id: 'apps_cm-a__ConfigMap', v: 'v1' },
        { id: 'apps_token__Secret', v: 'v1' },
      ];
      const appliedVersions = {
        key: 'sha256:settings',
        versions: {
          'apps_cm-a__ConfigMap': '1041',
          apps_token__Secret: '1042',
        },
      };
      await store.put({
        owner,
        cluster: 'prod',
        entries,
        state: 'applied',
        lastAppliedRevision: 'sha256:abc',
        appliedVersions,
      });
      expect(await store.get(owner, 'prod')).toMatchObject({
        state: 'applied',
        appliedVersions,
      });
      expect((await store.list({ owner }))[0].appliedVersions).toEqual(
        appliedVersions,
      );

      // An apply that starts, or fails, invalidates them, whatever the caller passes.
      for (const state of ['applying', 'failed'] as const) {
        await store.put({
          owner,
          cluster: 'prod',
          entries,
          state,
          appliedVersions,
        });
        expect(
          (await store.get(owner, 'prod'))?.appliedVersions,
        ).toBeUndefined();
      }
      // A finished apply without versions (one object had none) records none.
      await store.put({ owner, cluster: 'prod', entries, state: 'applied' });
      expect((await store.get(owner, 'prod'))?.appliedVersions).toBeUndefined();
    });
  },
);
