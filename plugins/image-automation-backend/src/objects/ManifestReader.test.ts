import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import { UrlReaders } from '@backstage/backend-defaults/urlReader';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { Entity } from '@backstage/catalog-model';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { ManifestReader } from './ManifestReader';
import { ManifestSync } from './ManifestSync';

jest.setTimeout(60_000);

describe('ManifestReader.entityMayRead', () => {
  const base = 'https://git.example.com/org/app/blob/main/catalog-info.yaml';
  it.each([
    [
      'the source directory',
      'https://git.example.com/org/app/blob/main/deploy/x.yaml',
      [],
      true,
    ],
    [
      'a relative path resolved out of the repository',
      ManifestReader.resolve('../../../other/blob/main/x.yaml', base),
      [],
      false,
    ],
    [
      'another repository on the same host',
      'https://git.example.com/org/other/blob/main/x.yaml',
      [],
      false,
    ],
    [
      'another origin',
      'https://evil.example.com/org/app/blob/main/deploy/x.yaml',
      [],
      false,
    ],
    [
      'a path that only starts like the directory',
      'https://git.example.com/org/app/blob/main-x/x.yaml',
      [],
      false,
    ],
    [
      'a configured prefix',
      'https://git.example.com/org/shared/x.yaml',
      ['https://git.example.com/org/shared'],
      true,
    ],
    [
      'a prefix matched by part of a segment',
      'https://git.example.com/org/shared-x/x.yaml',
      ['https://git.example.com/org/shared'],
      false,
    ],
    [
      'a file: location (bound by fileRoots)',
      'file:///srv/catalog/x.yaml',
      [],
      true,
    ],
  ])('%s', (_what, location, prefixes, allowed) => {
    expect(ManifestReader.entityMayRead(location, base, prefixes)).toBe(
      allowed,
    );
  });

  it('refuses every URL for an entity without an http(s) source, unless a prefix allows it', () => {
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/org/app/x.yaml',
        undefined,
        [],
      ),
    ).toBe(false);
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/org/app/x.yaml',
        'file:///srv/catalog/',
        [],
      ),
    ).toBe(false);
    expect(
      ManifestReader.entityMayRead(
        'https://git.example.com/org/app/x.yaml',
        undefined,
        ['https://git.example.com/org'],
      ),
    ).toBe(true);
  });
});

// Issue #13: an annotation could name any URL (or a relative path out of the entity's repository),
// which Backstage's URL reader fetches with the integrations' tokens. A real HTTP server and
// Backstage's real URL readers (the fetch reader, allowed for that host) behind the real sync.
describe('manifest sync of entities with URL sources', () => {
  const databases = createStoreTestDatabases();
  const requests: string[] = [];
  let server: http.Server;
  let origin: string;
  const repo = (name: string) =>
    `apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: { name: ${name}, namespace: app }\nspec: { image: ghcr.io/acme/${name}, interval: 5m }\n`;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const files: Record<string, string> = {
        '/org/app/deploy/image.yaml': repo('own'),
        '/org/payroll/deploy/image.yaml': repo('payroll'),
        '/org/shared/image.yaml': repo('shared'),
      };
      const body = files[req.url ?? ''];
      res
        .writeHead(body ? 200 : 404, { 'content-type': 'text/plain' })
        .end(body ?? 'not found');
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  const component = (name: string, manifests: string): Entity => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: {
        'image-automation.io/manifests': manifests,
        'backstage.io/managed-by-location': `url:${origin}/org/app/catalog-info.yaml`,
      },
    },
    spec: { owner: 'group:default/team' },
  });

  it.each(databases.eachSupportedId())(
    'reads from the entity source directory and configured prefixes only, and never fetches the rest (%p)',
    async databaseId => {
      const store = await DatabaseObjectStore.create({
        knex: await databases.init(databaseId),
      });
      const config = new ConfigReader({
        backend: { reading: { allow: [{ host: new URL(origin).host }] } },
      });
      const urlReader = UrlReaders.default({
        config,
        logger: mockServices.logger.mock(),
      });
      const sync = new ManifestSync({
        store,
        reader: new ManifestReader(urlReader, []),
        catalog: catalogServiceMock({
          entities: [
            component(
              'app',
              './deploy/image.yaml, ../payroll/deploy/image.yaml',
            ),
            component('intruder', `${origin}/org/payroll/deploy/image.yaml`),
            component('consumer', `${origin}/org/shared/image.yaml`),
          ],
        }),
        auth: mockServices.auth(),
        logger: mockServices.logger.mock(),
        locations: [],
        tenancy: {
          grants: ['app', 'intruder', 'consumer'].map(name => ({
            entity: `component:default/${name}`,
            namespaces: ['app'],
          })),
          defaultNamespace: false,
        },
        manifestUrlPrefixes: [`${origin}/org/shared`],
      });
      requests.length = 0;

      await sync.syncAll();

      expect(requests.sort()).toEqual([
        '/org/app/deploy/image.yaml',
        '/org/shared/image.yaml',
      ]);
      const objects = await store.list({});
      const of = (entity: string) =>
        objects.filter(o => o.entityRef === `component:default/${entity}`);
      expect(of('app').map(o => o.id)).toContain('ImageRepository/app/own');
      expect(objects.some(o => o.id === 'ImageRepository/app/payroll')).toBe(
        false,
      );
      for (const entity of ['app', 'intruder']) {
        const error = of(entity).find(o => o.kind === 'ManifestError');
        expect(
          error?.manifest.metadata.annotations?.['image-automation.io/error'],
        ).toMatch(
          /failed to read .*\/org\/payroll\/deploy\/image\.yaml: an entity's manifests are read only from its own source directory \(.*\/org\/app\/\) or under imageAutomation\.manifestUrlPrefixes/,
        );
      }
    },
  );
});
