import express from 'express';
import request from 'supertest';
import {
  BackstageCredentials,
  PermissionsService,
  PermissionsServiceRequestOptions,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import {
  AuthorizePermissionRequest,
  AuthorizeResult,
} from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  Page,
  RepositoryTagView,
} from '@imageops/backstage-plugin-image-automation-common';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { AuthorizedObjectService } from './AuthorizedObjectService';
import { DefaultObjectService } from './DefaultObjectService';
import { createRouter } from './router';

/*
 * GET /objects/ImageRepository/:namespace/:name/tags over HTTP: the router's query parsing
 * (limit, cursor, search, includeGone) down to the real stores.
 */

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const ALICE = 'user:default/alice';
const SHOP = 'component:default/shop';

/** Alice may read shop's automation. */
class StubPermissions implements PermissionsService {
  async authorize(
    requests: AuthorizePermissionRequest[],
    options: PermissionsServiceRequestOptions,
  ) {
    const user = (
      options.credentials as BackstageCredentials<{ userEntityRef?: string }>
    ).principal.userEntityRef;
    return requests.map(r => ({
      result:
        user === ALICE &&
        r.permission.name === 'image-automation.object.read' &&
        r.resourceRef === SHOP
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    })) as any;
  }

  async authorizeConditional(): Promise<never> {
    throw new Error('definitive decisions only');
  }
}

function repository(name: string) {
  const manifest = {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageRepository',
    metadata: { name, namespace: 'apps' },
    spec: { image: `registry.example.com/acme/${name}`, interval: '1h' },
  } as AutomationObject;
  return {
    manifest,
    entityRef: SHOP,
    source: { type: 'catalog' as const, location: 'file:///catalog/shop.yaml' },
  };
}

const T1 = new Date('2026-01-01T00:00:00.000Z');
const T2 = new Date('2026-01-02T00:00:00.000Z');
/** web's tags in its last scan (tag order) and the two the last scan no longer listed. */
const PRESENT = ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.0.0-rc.1', 'latest'];
const GONE = ['1.1.0-old', 'old'];
/** many's 600 tags, t000…t599: more than the store's page cap of 500. */
const MANY = Array.from(
  { length: 600 },
  (_, i) => `t${String(i).padStart(3, '0')}`,
);

/** shop's repositories web (present and gone tags), many (600 tags) and neighbour (its own tags). */
async function setUp(databaseId: Parameters<typeof databases.init>[0]) {
  const knex = await databases.init(databaseId);
  const objects = await DatabaseObjectStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const events = await DatabaseEventStore.create({
    knex,
    skipMigrations: true,
  });
  await objects.syncSource('entity:component:default/shop', [
    repository('web'),
    repository('many'),
    repository('neighbour'),
  ]);
  const scan = (objectId: string, tags: string[], startedAt: Date) =>
    scans.recordScan({ objectId, tags, startedAt, durationMs: 1, requests: 1 });
  await scan('ImageRepository/apps/web', [...PRESENT, ...GONE], T1);
  await scan('ImageRepository/apps/web', PRESENT, T2);
  await scan('ImageRepository/apps/many', MANY, T1);
  await scan(
    'ImageRepository/apps/neighbour',
    ['1.0.0', 'neighbour-only', 'old-neighbour'],
    T1,
  );

  const service = new AuthorizedObjectService(
    new DefaultObjectService({ objects, scans, events }),
    new StubPermissions(),
  );
  const app = express()
    .use(
      await createRouter({
        httpAuth: mockServices.httpAuth({
          defaultCredentials: mockCredentials.user(ALICE),
        }),
        objects: service,
      }),
    )
    .use(mockErrorHandler());
  const get = async (name: string, query: Record<string, string> = {}) => {
    const response = await request(app)
      .get(`/objects/ImageRepository/apps/${name}/tags`)
      .query(query);
    return response;
  };
  /** Every page, following nextCursor, and the pages' sizes. */
  const all = async (name: string, query: Record<string, string>) => {
    const tags: RepositoryTagView[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const response = await get(name, {
        ...query,
        ...(cursor ? { cursor } : {}),
      });
      expect(response.status).toBe(200);
      const page = response.body as Page<RepositoryTagView>;
      tags.push(...page.items);
      sizes.push(page.items.length);
      cursor = page.nextCursor;
      if (!cursor) return { tags, sizes };
    }
    throw new Error('paging did not end');
  };
  return { get, all };
}

describe.each(databases.eachSupportedId())(
  'GET /objects/ImageRepository/:namespace/:name/tags on %p',
  databaseId => {
    it("lists the repository's present tags in tag order, a page at a time, gone tags left out", async () => {
      const { get, all } = await setUp(databaseId);
      const first = await get('web', { limit: '4' });
      expect(first.status).toBe(200);
      expect(first.body.items.map((t: RepositoryTagView) => t.tag)).toEqual([
        '1.0.0',
        '1.1.0',
        '1.2.0',
        '2.0.0',
      ]);
      expect(first.body.nextCursor).toBe('2.0.0');
      const second = await get('web', {
        limit: '4',
        cursor: first.body.nextCursor,
      });
      expect(second.body.items.map((t: RepositoryTagView) => t.tag)).toEqual([
        '2.0.0-rc.1',
        'latest',
      ]);
      expect(second.body.nextCursor).toBeUndefined();
      // Past the end: an empty page, no cursor.
      expect((await get('web', { cursor: 'zzz' })).body).toEqual({ items: [] });

      const { tags, sizes } = await all('web', { limit: '1' });
      expect(sizes).toEqual([1, 1, 1, 1, 1, 1]);
      expect(tags.map(t => t.tag)).toEqual(PRESENT);
      expect(tags.every(t => t.goneSince === undefined)).toBe(true);
      expect(tags[0]).toEqual({
        tag: '1.0.0',
        firstSeenAt: T1.toISOString(),
        lastSeenAt: T2.toISOString(),
      });
      // Without a limit: one page of everything (the default page is 100).
      expect(
        (await get('web')).body.items.map((t: RepositoryTagView) => t.tag),
      ).toEqual(PRESENT);
    });

    it('adds the gone tags, with when they went, only for includeGone=true', async () => {
      const { get, all } = await setUp(databaseId);
      const withGone = await all('web', { includeGone: 'true', limit: '3' });
      expect(withGone.tags.map(t => t.tag)).toEqual(
        [...PRESENT, ...GONE].sort(),
      );
      expect(withGone.sizes).toEqual([3, 3, 2]);
      const gone = withGone.tags.filter(t => t.goneSince !== undefined);
      expect(gone.map(t => [t.tag, t.goneSince, t.lastSeenAt])).toEqual([
        ['1.1.0-old', T2.toISOString(), T1.toISOString()],
        ['old', T2.toISOString(), T1.toISOString()],
      ]);
      // Only the literal `true` asks for gone tags: any other value is the default.
      for (const value of ['false', '1', 'yes', 'TRUE', '']) {
        const response = await get('web', { includeGone: value });
        expect({
          value,
          tags: response.body.items.map((t: RepositoryTagView) => t.tag),
        }).toEqual({ value, tags: PRESENT });
      }
    });

    it('searches tags by substring, gone ones only with includeGone, wildcards taken literally', async () => {
      const { get } = await setUp(databaseId);
      const tags = async (query: Record<string, string>) => {
        const response = await get('web', query);
        expect(response.status).toBe(200);
        return response.body.items.map((t: RepositoryTagView) => t.tag);
      };
      expect(await tags({ search: '2.0' })).toEqual([
        '1.2.0',
        '2.0.0',
        '2.0.0-rc.1',
      ]);
      expect(await tags({ search: 'rc' })).toEqual(['2.0.0-rc.1']);
      expect(await tags({ search: 'old' })).toEqual([]);
      expect(await tags({ search: 'old', includeGone: 'true' })).toEqual(GONE);
      expect(
        await tags({ search: '1.', includeGone: 'true', limit: '2' }),
      ).toEqual(['1.0.0', '1.1.0']);
      expect(
        await tags({
          search: '1.',
          includeGone: 'true',
          limit: '2',
          cursor: '1.1.0',
        }),
      ).toEqual(['1.1.0-old', '1.2.0']);
      // LIKE wildcards match only themselves; another repository's tags never appear.
      expect(await tags({ search: '%' })).toEqual([]);
      expect(await tags({ search: '_' })).toEqual([]);
      expect(await tags({ search: 'neighbour', includeGone: 'true' })).toEqual(
        [],
      );
    });

    it.each(['0', '-1', '1.5', 'abc', '1e400'])(
      'refuses limit=%s with 400, naming the value',
      async limit => {
        const { get } = await setUp(databaseId);
        const response = await get('web', { limit });
        expect(response.status).toBe(400);
        expect(response.body.error).toMatchObject({
          name: 'InputError',
          message: `limit must be a positive integer, got '${limit}'`,
        });
      },
    );

    it('caps an over-large limit at 500 tags a page (the router accepts it, the store bounds it)', async () => {
      const { get } = await setUp(databaseId);
      const big = await get('many', { limit: '100000' });
      expect(big.status).toBe(200);
      expect(big.body.items).toHaveLength(500);
      expect(big.body.items[499].tag).toBe('t499');
      expect(big.body.nextCursor).toBe('t499');
      const rest = await get('many', {
        limit: '100000',
        cursor: big.body.nextCursor,
      });
      expect(rest.body.items.map((t: RepositoryTagView) => t.tag)).toEqual(
        MANY.slice(500),
      );
      expect(rest.body.nextCursor).toBeUndefined();
      // No limit: the default page of 100.
      const page = await get('many');
      expect(page.body.items).toHaveLength(100);
      expect(page.body.nextCursor).toBe('t099');
    });
  },
);
