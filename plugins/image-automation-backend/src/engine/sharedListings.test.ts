import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { RegistryClient } from '../registry';
import { SharedListings } from '../registry/sharedListings';
import { DatabaseListingStore } from '../store/DatabaseListingStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { Engine } from './Engine';
import { ImageRepositoryReconciler } from './ImageRepositoryReconciler';
import { ResourceSetInputProviderReconciler } from './ResourceSetInputProviderReconciler';

jest.setTimeout(120_000);

// Fleet-wide scan sharing (issue #16) against a real registry with Basic auth; a proxy in front of
// it counts the tag listings that reach the registry.

const PASSWORD = 'shared-listing-secret';
const ENTITY = 'component:default/app';
const OTHER = 'component:default/other';
const databases = createStoreTestDatabases();

describe.each(databases.eachSupportedId())(
  'fleet-wide scan sharing on %s',
  databaseId => {
    let registry: TestRegistry;
    let proxy: FaultProxy;
    beforeAll(async () => {
      registry = await startRegistry({
        htpasswd: { username: 'alice', password: PASSWORD },
      });
      await pushImage(registry, 'team/app', ['1.0.0', '1.1.0']);
      proxy = await startFaultProxy(registry.url);
    });
    afterAll(async () => {
      await proxy?.stop();
      await registry?.stop();
    });

    const credentials = NamedCredentials.fromConfig(
      new ConfigReader({
        imageAutomation: {
          credentials: {
            shared: {
              type: 'basic',
              username: 'alice',
              password: PASSWORD,
              allowedEntities: [ENTITY, OTHER],
              hosts: ['127.0.0.1'],
            },
            wrong: {
              type: 'basic',
              username: 'alice',
              password: 'not-it',
              allowedEntities: [OTHER],
              hosts: ['127.0.0.1'],
            },
          },
          registry: { insecureHosts: ['127.0.0.1'] },
        },
      }),
    );
    /** Tag-list requests that reached the registry (a listing may need a 401 challenge first). */
    const listings = () =>
      proxy.requests.filter(r => r.path.startsWith('/v2/team/app/tags/list'))
        .length;

    async function setup() {
      const knex = await databases.init(databaseId);
      const objects = await DatabaseObjectStore.create({ knex });
      const scans = await DatabaseScanStore.create({
        knex,
        skipMigrations: true,
      });
      const shared: boolean[] = [];
      const registryClient = new RegistryClient({
        allowedHosts: ['127.0.0.1'],
      });
      const sharing = new SharedListings({
        store: await DatabaseListingStore.create({
          knex,
          skipMigrations: true,
        }),
        registry: registryClient,
        onListing: s => shared.push(s),
      });
      const logger = mockServices.logger.mock();
      const engine = new Engine({
        objects,
        reconcilers: [
          new ImageRepositoryReconciler({
            objects,
            scans,
            registry: registryClient,
            credentials,
            logger,
            listings: sharing,
          }),
          new ResourceSetInputProviderReconciler({
            objects,
            registry: registryClient,
            credentials,
            logger,
            listings: sharing,
          }),
        ],
        logger,
        batchSize: 50,
        leaseMs: 60_000,
      });
      const repository = (
        name: string,
        entityRef: string,
        secret?: string,
      ) => ({
        manifest: {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImageRepository',
          metadata: { name, namespace: 'apps' },
          spec: {
            image: `${proxy.host}/team/app`,
            interval: '1h',
            insecure: true,
            ...(secret ? { secretRef: { name: secret } } : {}),
          },
        },
        source: { type: 'catalog' as const, location: 'file:///apps.yaml' },
        entityRef,
        grantedNamespaces: ['apps'],
      });
      const drain = async () => {
        while ((await engine.runPass()) > 0);
      };
      return { knex, objects, scans, engine, shared, repository, drain };
    }

    it('ten ImageRepositories and two providers naming one image with one credential list it once, and fetch each digest once', async () => {
      const { objects, scans, shared, repository, drain } = await setup();
      await objects.syncSource('catalog:component:default/app', [
        ...Array.from({ length: 10 }, (_, i) =>
          repository(`app-${i}`, ENTITY, 'shared'),
        ),
        ...['app-tags', 'app-tags-2'].map(name => ({
          manifest: {
            apiVersion: 'fluxcd.controlplane.io/v1',
            kind: 'ResourceSetInputProvider',
            metadata: { name, namespace: 'apps' },
            spec: {
              type: 'OCIArtifactTag',
              url: `oci://${proxy.host}/team/app`,
              insecure: true,
              secretRef: { name: 'shared' },
            },
          },
          source: { type: 'catalog' as const, location: 'file:///apps.yaml' },
          entityRef: ENTITY,
          grantedNamespaces: ['apps'],
        })),
      ]);
      proxy.clear();
      await drain();

      // One listing reached the registry (its 401 challenge and the authenticated request).
      expect(listings()).toBeGreaterThanOrEqual(1);
      expect(listings()).toBeLessThanOrEqual(2);
      expect(shared.filter(s => !s)).toHaveLength(1);
      // Nine repositories and the providers (again each time a repository's first scan made them due).
      expect(shared.filter(s => s).length).toBeGreaterThanOrEqual(11);
      const repositories = await objects.list({ kind: 'ImageRepository' });
      const times = new Set(
        repositories.map(r => r.status.lastScanResult?.scanTime),
      );
      // Every one observed the same listing, and says when it was made.
      expect(times.size).toBe(1);
      for (const r of repositories) {
        expect(r.status.lastScanResult).toMatchObject({
          tagCount: 2,
          latestTags: ['1.1.0', '1.0.0'],
        });
        expect(r.status.conditions?.find(c => c.type === 'Ready')?.status).toBe(
          'True',
        );
      }
      const requests = (
        await Promise.all(repositories.map(r => scans.listScans(r.id)))
      ).map(p => p.items[0].requests);
      expect(requests.filter(n => n > 0)).toHaveLength(1);
      const provider = await objects.get(
        'ResourceSetInputProvider/apps/app-tags',
      );
      expect(provider?.status.exportedInputs?.map(i => i.tag)).toEqual([
        '1.1.0',
        '1.0.0',
      ]);
      const second = await objects.get(
        'ResourceSetInputProvider/apps/app-tags-2',
      );
      expect(second?.status.exportedInputs).toEqual(
        provider?.status.exportedInputs,
      );
      // Each exported tag's digest was fetched once for both providers (and each of their runs).
      const digestRequests = proxy.requests.filter(r =>
        r.path.startsWith('/v2/team/app/manifests/'),
      );
      expect(digestRequests.map(r => r.path).sort()).toEqual([
        '/v2/team/app/manifests/1.0.0',
        '/v2/team/app/manifests/1.1.0',
      ]);
    });

    it('a requested reconcile lists again, and the others keep their schedule', async () => {
      const { objects, shared, repository, drain } = await setup();
      await objects.syncSource('catalog:component:default/app', [
        repository('a', ENTITY, 'shared'),
        repository('b', ENTITY, 'shared'),
      ]);
      await drain();
      await pushImage(registry, 'team/app', ['1.2.0']);
      proxy.clear();
      shared.length = 0;
      await objects.requestReconcile(
        'ImageRepository/apps/a',
        'user:default/jane',
        new Date(),
      );
      await drain();
      expect(listings()).toBeGreaterThanOrEqual(1);
      expect(shared).toEqual([false]);
      expect(
        (await objects.get('ImageRepository/apps/a'))?.status.lastScanResult
          ?.tagCount,
      ).toBe(3);
      // b is not due yet: it sees 1.2.0 at its next interval (or its own request).
      expect(
        (await objects.get('ImageRepository/apps/b'))?.status.lastScanResult
          ?.tagCount,
      ).toBe(2);
    });

    it("never hands a listing to an object that names another credential, or none (a private repository's tags stay private)", async () => {
      const { objects, shared, repository, drain } = await setup();
      await objects.syncSource('catalog:component:default/app', [
        repository('owner', ENTITY, 'shared'),
      ]);
      await drain();
      expect(shared).toEqual([false]);
      await objects.syncSource('catalog:component:default/other', [
        repository('anonymous', OTHER),
        repository('wrong-password', OTHER, 'wrong'),
      ]);
      await drain();
      for (const name of ['anonymous', 'wrong-password']) {
        const object = await objects.get(`ImageRepository/apps/${name}`);
        expect(object?.status.lastScanResult).toBeUndefined();
        expect(
          object?.status.conditions?.find(c => c.type === 'Ready'),
        ).toMatchObject({
          status: 'False',
          reason: 'ReadOperationFailed',
          message: expect.stringContaining('UNAUTHORIZED'),
        });
      }
      // Each listed (and was refused) on its own.
      expect(shared).toEqual([false]);
    });

    it("honours a registry's Retry-After across replicas: no listing of that registry before the time it named", async () => {
      const { objects, scans, repository, engine } = await setup();
      await pushImage(registry, 'team/other', ['2.0.0']);
      await objects.syncSource('catalog:component:default/app', [
        repository('first', ENTITY, 'shared'),
      ]);
      proxy.clear();
      // Two minutes: longer than a call waits (30 s), so the call fails at once and the wait is kept.
      proxy.inject({
        match: r => r.path.startsWith('/v2/team/app/tags/list'),
        times: 1,
        action: {
          status: 429,
          headers: { 'Retry-After': '120' },
          body: 'slow down',
        },
      });
      const now = Date.now();
      await engine.runPass(() => new Date(now));
      const [failed] = (await scans.listScans('ImageRepository/apps/first'))
        .items;
      expect(failed).toMatchObject({
        outcome: 'failure',
        errorKind: 'rateLimited',
        errorStatus: 429,
      });

      // Another repository of the same registry, declared on another replica's watch: not called.
      const other = repository('second', ENTITY, 'shared');
      other.manifest.spec.image = `${proxy.host}/team/other`;
      await objects.syncSource('catalog:component:default/app', [
        repository('first', ENTITY, 'shared'),
        other,
      ]);
      const before = proxy.requests.length;
      await engine.runPass(() => new Date(now + 1_000));
      expect(proxy.requests.length).toBe(before);
      const second = await objects.get('ImageRepository/apps/second');
      expect(
        second?.status.conditions?.find(c => c.type === 'Ready'),
      ).toMatchObject({
        status: 'False',
        reason: 'ReadOperationFailed',
        message: expect.stringMatching(
          /the registry asked callers to wait until .* \(Retry-After\); not called before then$/,
        ),
      });

      // Once the time has passed, it is listed again.
      await objects.requestReconcile(
        'ImageRepository/apps/second',
        'user:default/ops',
        new Date(now),
      );
      await engine.runPass(() => new Date(now + 121_000));
      expect(proxy.requests.length).toBeGreaterThan(before);
      expect(
        (await objects.get('ImageRepository/apps/second'))?.status
          .lastScanResult?.tagCount,
      ).toBe(1);
    });

    it('keeps the newest listing when two replicas store theirs out of order', async () => {
      const store = await DatabaseListingStore.create({
        knex: await databases.init(databaseId),
      });
      const newer = {
        canonicalImageName: 'r/app',
        tags: ['2'],
        listedAt: new Date('2026-12-03T10:00:01Z'),
      };
      await store.put('k', newer);
      await store.put('k', {
        canonicalImageName: 'r/app',
        tags: ['1'],
        listedAt: new Date('2026-12-03T10:00:00Z'),
      });
      expect(await store.get('k')).toEqual(newer);
      const newest = {
        ...newer,
        tags: ['3'],
        listedAt: new Date('2026-12-03T10:05:00Z'),
      };
      await store.put('k', newest);
      expect(await store.get('k')).toEqual(newest);
      expect(await store.get('other')).toBeUndefined();
    });

    it('calls in flight for one repository and scope share one listing', async () => {
      const knex = await databases.init(databaseId);
      const registryClient = new RegistryClient({
        allowedHosts: ['127.0.0.1'],
      });
      const sharing = new SharedListings({
        store: await DatabaseListingStore.create({ knex }),
        registry: registryClient,
      });
      const ref = {
        canonical: `${proxy.host}/team/app`,
        registry: proxy.host,
        repository: 'team/app',
        scheme: 'http' as const,
      };
      const options = {
        credentials: {
          type: 'basic' as const,
          username: 'alice',
          password: PASSWORD,
        },
        plainHttpCredentials: true,
      };
      proxy.clear();
      proxy.inject({
        match: r => r.path.startsWith('/v2/team/app/tags/list'),
        times: Infinity,
        action: { delayMs: 300 },
      });
      try {
        const results = await Promise.all(
          Array.from({ length: 5 }, () =>
            sharing.listTags(ref, options, { scope: 'shared', maxAgeMs: 0 }),
          ),
        );
        expect(results.map(r => r.shared).sort()).toEqual([
          false,
          true,
          true,
          true,
          true,
        ]);
        expect(new Set(results.map(r => r.listedAt.getTime())).size).toBe(1);
        expect(listings()).toBeLessThanOrEqual(2);
      } finally {
        proxy.clear();
      }
    });
  },
);
