import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { Entity } from '@backstage/catalog-model';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { ManifestReader } from './ManifestReader';
import { ManifestSync } from './ManifestSync';
import { fieldLengthProblem } from './fieldLimits';

jest.setTimeout(60_000);

// Issue #13: on PostgreSQL, one over-long `kind` or name failed the sync of every entity (SQLite
// stored it). Real databases (PostgreSQL when configured, SQLite), real files, the sync itself.

const databases = createStoreTestDatabases();

const repo = (name: string, namespace: string, kind = 'ImageRepository') =>
  `apiVersion: image.toolkit.fluxcd.io/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  image: ghcr.io/acme/${name.slice(
    0,
    20,
  )}\n  interval: 5m\n`;

describe.each(databases.eachSupportedId())(
  'manifest sync with over-long fields on %p',
  databaseId => {
    let dir: string;
    beforeAll(async () => {
      dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'field-limits-'));
    });
    afterAll(() => fs.promises.rm(dir, { recursive: true, force: true }));

    function component(name: string, file: string): Entity {
      return {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name,
          namespace: 'default',
          annotations: { 'image-automation.io/manifests': `file://${file}` },
        },
        spec: { owner: 'group:default/team' },
      };
    }

    it('rejects the over-long object alone; every other object and entity syncs', async () => {
      const knex = await databases.init(databaseId);
      const store = await DatabaseObjectStore.create({ knex });
      const hostile = path.join(dir, `hostile-${databaseId}.yaml`);
      const neighbour = path.join(dir, `neighbour-${databaseId}.yaml`);
      await fs.promises.writeFile(
        hostile,
        [
          repo('ok', 'hostile'),
          repo('x'.repeat(300), 'hostile'),
          repo('long-kind', 'hostile', `K${'k'.repeat(100)}`),
        ].join('---\n'),
      );
      await fs.promises.writeFile(neighbour, repo('web', 'neighbour'));
      const sync = new ManifestSync({
        store,
        reader: new ManifestReader(mockServices.urlReader.mock(), [dir]),
        catalog: catalogServiceMock({
          entities: [
            component('hostile', hostile),
            component('neighbour', neighbour),
          ],
        }),
        auth: mockServices.auth(),
        logger: mockServices.logger.mock(),
        locations: [],
      });

      await sync.syncAll();

      const ids = (await store.list({})).map(o => o.id).sort();
      expect(ids).toContain('ImageRepository/hostile/ok');
      expect(ids).toContain('ImageRepository/neighbour/web');
      expect(ids.some(id => id.includes('xxxxxxxx'))).toBe(false);
      const rejected = (await store.list({})).filter(
        o => o.kind === 'ManifestError',
      );
      expect(rejected).toHaveLength(2);
      for (const r of rejected)
        expect(r.entityRef).toBe('component:default/hostile');
      const messages = rejected
        .map(
          r => r.manifest.metadata.annotations?.['image-automation.io/error'],
        )
        .sort();
      expect(messages[0]).toMatch(
        /^ImageRepository 'hostile\/x{80}…' rejected: metadata\.name is 300 characters long; at most 253 are allowed/,
      );
      expect(messages[1]).toMatch(
        /^Kk{79}… 'hostile\/long-kind' rejected: kind is 101 characters long; at most 63 are allowed/,
      );
      expect(
        rejected.map(
          r =>
            r.manifest.metadata.annotations?.[
              'image-automation.io/error-reason'
            ],
        ),
      ).toEqual(['FieldTooLong', 'FieldTooLong']);

      // Fixed: the next sync stores it and drops the rejection.
      await fs.promises.writeFile(
        hostile,
        [repo('ok', 'hostile'), repo('x'.repeat(253), 'hostile')].join('---\n'),
      );
      await sync.syncAll();
      const after = (await store.list({})).map(o => o.id);
      expect(after).toContain(`ImageRepository/hostile/${'x'.repeat(253)}`);
      expect(after.filter(id => id.startsWith('ManifestError/'))).toEqual([]);
    });
  },
);

describe('fieldLengthProblem', () => {
  const m = (over: Record<string, unknown>) =>
    ({
      apiVersion: 'v1',
      kind: 'ImagePolicy',
      metadata: { name: 'a', namespace: 'b' },
      ...over,
    } as any);
  it('names the field, its length and the limit', () => {
    expect(fieldLengthProblem(m({}))).toBeUndefined();
    expect(fieldLengthProblem(m({ apiVersion: 'a'.repeat(256) }))).toMatch(
      /^apiVersion is 256 characters long; at most 255/,
    );
    expect(
      fieldLengthProblem(
        m({ metadata: { name: 'a', namespace: 'n'.repeat(64) } }),
      ),
    ).toMatch(/^metadata\.namespace is 64/);
    expect(
      fieldLengthProblem(m({}), `component:default/${'e'.repeat(600)}`),
    ).toMatch(/^entity reference is 618/);
  });
});
