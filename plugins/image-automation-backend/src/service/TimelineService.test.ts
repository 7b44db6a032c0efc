import express from 'express';
import request from 'supertest';
import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  AutomationObject,
  ObjectStatus,
  PromotionTarget,
  TimelineEvent,
} from '@imageops/backstage-plugin-image-automation-common';
import { clusterTarget } from '../promotions/clusterTargets';
import { gitTarget } from '../promotions/gitTargets';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { DefaultObjectService } from './DefaultObjectService';
import { ObjectService } from './ObjectService';
import { createRouter } from './router';
import { parseTimelineQuery, TimelineService } from './TimelineService';

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const entityRef = 'component:default/shop';
const credentials = mockCredentials.user();
const allow = mockServices.permissions({ result: AuthorizeResult.ALLOW });
const deny = mockServices.permissions({ result: AuthorizeResult.DENY });

/** 2030-01-<day> <hour>:<minute> UTC. */
function at(day: number, hour: number, minute = 0): Date {
  return new Date(Date.UTC(2030, 0, day, hour, minute));
}

function manifest(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
): AutomationObject {
  const apiVersion =
    kind === 'ResourceSet'
      ? 'fluxcd.controlplane.io/v1'
      : 'image.toolkit.fluxcd.io/v1';
  return {
    apiVersion,
    kind,
    metadata: { name, namespace: 'apps' },
    spec,
  } as AutomationObject;
}

const staging: PromotionTarget = gitTarget(
  'ImageUpdateAutomation/apps/staging',
);
const prod: PromotionTarget = clusterTarget('ResourceSet/apps/web', 'prod');
const subject = 'ImagePolicy/apps/web';

/**
 * The shop entity: a repository scanned three times (1.4.0 and 1.5.0 seen first, 1.6.0 later),
 * its policy, a Git automation (staging) and a ResourceSet applied to the `prod` cluster; 1.5.0
 * promoted to staging then prod, 1.6.0 rejected for prod, prod pinned and the automation suspended.
 */
async function createShop(databaseId: Parameters<typeof databases.init>[0]) {
  const knex = await databases.init(databaseId);
  const objects = await DatabaseObjectStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex, skipMigrations: true });
  const promotions = await DatabasePromotionStore.create({
    knex,
    skipMigrations: true,
  });
  const events = await DatabaseEventStore.create({
    knex,
    skipMigrations: true,
  });
  const source = {
    type: 'catalog' as const,
    location: 'file:///catalog/shop.yaml',
  };
  await objects.syncSource('entity:component:default/shop', [
    {
      entityRef,
      source,
      manifest: manifest('ImageRepository', 'web', {
        image: 'ghcr.io/acme/web',
        interval: '5m',
      }),
    },
    {
      entityRef,
      source,
      manifest: manifest('ImagePolicy', 'web', {
        imageRepositoryRef: { name: 'web' },
        policy: { semver: { range: '>=1.0.0' } },
      }),
    },
    {
      entityRef,
      source,
      manifest: manifest('ImageUpdateAutomation', 'staging', {
        interval: '5m',
        update: { path: './clusters/staging' },
      }),
    },
    {
      entityRef,
      source,
      manifest: manifest('ResourceSet', 'web', { resources: [] }),
    },
  ]);
  // Other entities' history never shows.
  await objects.syncSource('entity:component:default/other', [
    {
      entityRef: 'component:default/other',
      source,
      manifest: manifest('ImageRepository', 'other', {
        image: 'ghcr.io/acme/other',
      }),
    },
  ]);
  const statuses: Record<string, ObjectStatus> = {
    'ImageRepository/apps/web': {
      lastScanResult: {
        tagCount: 3,
        scanTime: at(3, 8).toISOString(),
        revision: 'r3',
      },
    },
    'ResourceSet/apps/web': { appliedClusters: ['prod'] },
  };
  const claimed = await objects.claimDue({
    owner: 'test',
    now: new Date(Date.now() + 1000),
    limit: 10,
    leaseMs: 60_000,
  });
  for (const object of claimed) {
    await objects.completeRun(object.id, 'test', {
      status: statuses[object.id] ?? {},
      nextRunAt: at(9, 12),
      ranAt: at(3, 8),
    });
  }

  await scans.recordScan({
    objectId: 'ImageRepository/apps/web',
    canonicalImageName: 'ghcr.io/acme/web',
    startedAt: at(1, 10, 2),
    durationMs: 5,
    requests: 1,
    tags: ['1.4.0', '1.5.0'],
  });
  await scans.recordScan({
    objectId: 'ImageRepository/apps/web',
    canonicalImageName: 'ghcr.io/acme/web',
    startedAt: at(2, 10),
    durationMs: 5,
    requests: 1,
    tags: ['1.4.0', '1.5.0'],
  });
  await scans.recordScan({
    objectId: 'ImageRepository/apps/web',
    canonicalImageName: 'ghcr.io/acme/web',
    startedAt: at(3, 8),
    durationMs: 5,
    requests: 1,
    tags: ['1.4.0', '1.5.0', '1.6.0'],
  });
  await scans.recordScan({
    objectId: 'ImageRepository/apps/other',
    startedAt: at(3, 9),
    durationMs: 5,
    requests: 1,
    tags: ['9.9.9'],
  });

  const version = (tag: string) => ({ image: 'ghcr.io/acme/web', tag });
  const carry = async (
    target: PromotionTarget,
    tag: string,
    from: string,
    requestedAt: Date,
    appliedAt: Date,
  ) => {
    const created = await promotions.create({
      entityRef,
      target,
      subject,
      from: version(from),
      to: version(tag),
      by: 'image-automation',
      now: requestedAt,
    });
    const approved = await promotions.update(
      created.id,
      1,
      {
        state: 'approved',
        step: {
          state: 'approved',
          at: requestedAt.toISOString(),
          by: 'user:default/jane',
        },
      },
      requestedAt,
    );
    await promotions.update(
      approved!.id,
      2,
      {
        state: 'applied',
        step: {
          state: 'applied',
          at: appliedAt.toISOString(),
          by: 'image-automation',
        },
      },
      appliedAt,
    );
    return created.id;
  };
  const toStaging = await carry(
    staging,
    '1.5.0',
    '1.4.0',
    at(1, 10, 10),
    at(1, 10, 15),
  );
  const toProd = await carry(prod, '1.5.0', '1.4.0', at(2, 9), at(3, 9));
  const rejected = await promotions.create({
    entityRef,
    target: prod,
    subject,
    from: version('1.5.0'),
    to: version('1.6.0'),
    by: 'image-automation',
    now: at(3, 10),
  });
  await promotions.update(
    rejected.id,
    1,
    {
      state: 'rejected',
      step: {
        state: 'rejected',
        at: at(3, 11).toISOString(),
        by: 'user:default/jane',
        note: 'breaks checkout',
      },
    },
    at(3, 11),
  );
  await promotions.pin({
    targetId: prod.id,
    subject,
    version: version('1.5.0'),
    reason: 'release freeze',
    by: 'user:default/jane',
    at: at(3, 12).toISOString(),
  });
  // Suspended before suspends were recorded as events: only the object remembers it.
  await objects.setSuspended(
    'ImageUpdateAutomation/apps/staging',
    true,
    'user:default/joe',
    at(4, 9),
  );

  const service = (permissions = allow) =>
    new TimelineService({
      objects,
      scans,
      promotions,
      events,
      permissions,
      now: () => at(5, 0),
    });
  return {
    knex,
    objects,
    scans,
    promotions,
    events,
    service,
    ids: { toStaging, toProd, rejected: rejected.id },
  };
}

const summary = (items: TimelineEvent[]) =>
  items.map(e => [
    e.time,
    e.kind,
    e.targetId ?? 'registry',
    e.tag ?? e.objectId,
    e.actor,
  ]);

describe.each(databases.eachSupportedId())(
  'TimelineService on %p',
  databaseId => {
    it('joins registry time and deployment time, one lane per target, newest first', async () => {
      const { service, ids } = await createShop(databaseId);
      const view = await service().timeline(entityRef, {}, credentials);

      expect(view.entityRef).toBe(entityRef);
      expect(view.lanes).toEqual([
        { id: 'registry', label: 'registry' },
        { id: staging.id, label: 'git: clusters/staging (staging)' },
        { id: prod.id, label: 'cluster prod (web)' },
      ]);
      expect(summary(view.items)).toEqual([
        [
          at(4, 9).toISOString(),
          'suspended',
          staging.id,
          'ImageUpdateAutomation/apps/staging',
          'user:default/joe',
        ],
        [
          at(3, 12).toISOString(),
          'pinned',
          prod.id,
          '1.5.0',
          'user:default/jane',
        ],
        [
          at(3, 11).toISOString(),
          'rejected',
          prod.id,
          '1.6.0',
          'user:default/jane',
        ],
        [
          at(3, 10).toISOString(),
          'requested',
          prod.id,
          '1.6.0',
          'image-automation',
        ],
        [
          at(3, 9).toISOString(),
          'applied',
          prod.id,
          '1.5.0',
          'image-automation',
        ],
        [
          at(3, 8).toISOString(),
          'tag-seen',
          'registry',
          '1.6.0',
          'image-automation',
        ],
        [
          at(2, 9).toISOString(),
          'approved',
          prod.id,
          '1.5.0',
          'user:default/jane',
        ],
        [
          at(2, 9).toISOString(),
          'requested',
          prod.id,
          '1.5.0',
          'image-automation',
        ],
        [
          at(1, 10, 15).toISOString(),
          'applied',
          staging.id,
          '1.5.0',
          'image-automation',
        ],
        [
          at(1, 10, 10).toISOString(),
          'approved',
          staging.id,
          '1.5.0',
          'user:default/jane',
        ],
        [
          at(1, 10, 10).toISOString(),
          'requested',
          staging.id,
          '1.5.0',
          'image-automation',
        ],
        [
          at(1, 10, 2).toISOString(),
          'tag-seen',
          'registry',
          '1.5.0',
          'image-automation',
        ],
        [
          at(1, 10, 2).toISOString(),
          'tag-seen',
          'registry',
          '1.4.0',
          'image-automation',
        ],
      ]);
      const rejected = view.items.find(e => e.kind === 'rejected')!;
      expect(rejected).toMatchObject({
        promotionId: ids.rejected,
        objectId: subject,
        image: 'ghcr.io/acme/web',
        fromTag: '1.5.0',
        message: '1.6.0 rejected for cluster prod (web): breaks checkout',
      });
      expect(
        view.items.find(e => e.tag === '1.6.0' && e.kind === 'tag-seen'),
      ).toMatchObject({
        objectId: 'ImageRepository/apps/web',
        image: 'ghcr.io/acme/web',
        message: '1.6.0 seen in ghcr.io/acme/web',
      });
      expect(view.items.find(e => e.kind === 'pinned')?.message).toBe(
        '1.5.0 pinned on cluster prod (web): release freeze',
      );
      expect(new Set(view.items.map(e => e.id)).size).toBe(view.items.length);
      expect(view.nextCursor).toBeUndefined();
      expect(view.appliedBefore).toBeUndefined();
      expect(view.lastScanAt).toBe(at(3, 8).toISOString());
      expect(view.nextScanAt).toBe(at(9, 12).toISOString());
    });

    it('keeps to the range and says what each target carried when it starts', async () => {
      const { service, ids } = await createShop(databaseId);
      const view = await service().timeline(
        entityRef,
        { since: at(2, 0), until: at(3, 9) },
        credentials,
      );

      expect(view.items.map(e => [e.time, e.kind])).toEqual([
        [at(3, 9).toISOString(), 'applied'],
        [at(3, 8).toISOString(), 'tag-seen'],
        [at(2, 9).toISOString(), 'approved'],
        [at(2, 9).toISOString(), 'requested'],
      ]);
      expect(view.appliedBefore).toEqual([
        expect.objectContaining({
          kind: 'applied',
          targetId: staging.id,
          tag: '1.5.0',
          promotionId: ids.toStaging,
          time: at(1, 10, 15).toISOString(),
        }),
      ]);
    });

    it('pages newest first with an opaque cursor, without gaps or repeats', async () => {
      const { service } = await createShop(databaseId);
      const all = (await service().timeline(entityRef, {}, credentials)).items;
      const paged: TimelineEvent[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await service().timeline(
          entityRef,
          { limit: 4, cursor },
          credentials,
        );
        expect(page.items.length).toBeLessThanOrEqual(4);
        paged.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(4);
      expect(paged).toEqual(all);
      // A cursor is tied to a position, not to a page size or range.
      const first = await service().timeline(
        entityRef,
        { limit: 2 },
        credentials,
      );
      const rest = await service().timeline(
        entityRef,
        { cursor: first.nextCursor, since: at(3, 0) },
        credentials,
      );
      expect(rest.items.map(e => e.kind)).toEqual([
        'rejected',
        'requested',
        'applied',
        'tag-seen',
      ]);
      await expect(
        service().timeline(
          entityRef,
          { cursor: 'bm90IGEgY3Vyc29y' },
          credentials,
        ),
      ).rejects.toThrow(InputError);
    });

    it('shows every suspend and resume the events recorded, with who, each once', async () => {
      const { objects, scans, events, service } = await createShop(databaseId);
      let now = at(4, 10);
      const actions = new DefaultObjectService({
        objects,
        scans,
        events,
        now: () => now,
      });
      const web = 'ResourceSet/apps/web';
      const cycles: Array<[Date, 'suspend' | 'resume', string]> = [
        [at(4, 10), 'suspend', 'user:default/ann'],
        [at(4, 11), 'resume', 'user:default/bob'],
        [at(4, 12), 'suspend', 'user:default/ann'],
        [at(4, 13), 'resume', 'user:default/joe'],
      ];
      for (const [time, action, user] of cycles) {
        now = time;
        await actions.act(web, action, mockCredentials.user(user));
      }
      expect(
        (await events.list(web)).items.map(e => [e.reason, e.message]),
      ).toEqual([
        ['Resumed', `user:default/joe resumed ${web}`],
        ['Suspended', `user:default/ann suspended ${web}`],
        ['Resumed', `user:default/bob resumed ${web}`],
        ['Suspended', `user:default/ann suspended ${web}`],
      ]);

      const view = await service().timeline(entityRef, {}, credentials);
      const suspensions = view.items.filter(
        e => e.kind === 'suspended' || e.kind === 'resumed',
      );
      // Four markers of web on its lane (the last resume, which the object also holds, once), and
      // staging's suspend from before events were recorded, from the object.
      expect(summary(suspensions)).toEqual([
        [at(4, 13).toISOString(), 'resumed', prod.id, web, 'user:default/joe'],
        [
          at(4, 12).toISOString(),
          'suspended',
          prod.id,
          web,
          'user:default/ann',
        ],
        [at(4, 11).toISOString(), 'resumed', prod.id, web, 'user:default/bob'],
        [
          at(4, 10).toISOString(),
          'suspended',
          prod.id,
          web,
          'user:default/ann',
        ],
        [
          at(4, 9).toISOString(),
          'suspended',
          staging.id,
          'ImageUpdateAutomation/apps/staging',
          'user:default/joe',
        ],
      ]);
      expect(suspensions[0].message).toBe(`${web} resumed`);
      expect(new Set(view.items.map(e => e.id)).size).toBe(view.items.length);

      // The range applies to them too.
      const range = await service().timeline(
        entityRef,
        { since: at(4, 10, 30), until: at(4, 12) },
        credentials,
      );
      expect(summary(range.items)).toEqual([
        [
          at(4, 12).toISOString(),
          'suspended',
          prod.id,
          web,
          'user:default/ann',
        ],
        [at(4, 11).toISOString(), 'resumed', prod.id, web, 'user:default/bob'],
      ]);
    });

    it('refuses a caller who may not read the entity', async () => {
      const { service } = await createShop(databaseId);
      await expect(
        service(deny).timeline(entityRef, {}, credentials),
      ).rejects.toThrow(
        new NotAllowedError(
          `you may not read the image automation of ${entityRef} (image-automation.object.read)`,
        ),
      );
    });

    it('reads 1,000 scans in a few bounded queries, and only as far back as the range', async () => {
      const { knex, scans, service } = await createShop(databaseId);
      for (let i = 0; i < 1000; i++) {
        const tags = [
          '1.4.0',
          '1.5.0',
          '1.6.0',
          ...(i % 100 === 99 ? [`2.${i}.0`] : []),
        ];
        await scans.recordScan({
          objectId: 'ImageRepository/apps/web',
          startedAt: new Date(at(4, 0).getTime() + i * 60_000),
          durationMs: 5,
          requests: 1,
          tags,
        });
      }
      const queries: string[] = [];
      const count = (q: { sql: string }) => queries.push(q.sql);
      knex.on('query', count);
      try {
        const view = await service().timeline(
          entityRef,
          { limit: 1000 },
          credentials,
        );
        expect(
          view.items.filter(e => e.kind === 'tag-seen').map(e => e.tag),
        ).toEqual([
          ...[999, 899, 799, 699, 599, 499, 399, 299, 199, 99].map(
            i => `2.${i}.0`,
          ),
          '1.6.0',
          '1.5.0',
          '1.4.0',
        ]);
        const scanQueries = queries.filter(sql =>
          sql.includes('image_automation_scans'),
        ).length;
        expect(scanQueries).toBe(3); // 1,003 rows in pages of 500
        expect(
          queries.filter(sql => sql.includes('image_automation_events')).length,
        ).toBe(1); // suspends and resumes
        expect(queries.length).toBeLessThanOrEqual(7);

        queries.length = 0;
        const recent = await service().timeline(
          entityRef,
          { since: new Date(at(4, 0).getTime() + 950 * 60_000) },
          credentials,
        );
        expect(
          recent.items.filter(e => e.kind === 'tag-seen').map(e => e.tag),
        ).toEqual(['2.999.0']);
        expect(
          queries.filter(sql => sql.includes('image_automation_scans')).length,
        ).toBe(1);
      } finally {
        knex.removeListener('query', count);
      }
    });
  },
);

describe('parseTimelineQuery', () => {
  it('reads times, a limit and a cursor', () => {
    expect(
      parseTimelineQuery({
        since: '2030-01-01T00:00:00Z',
        until: '2030-01-02T00:00:00.500+01:00',
        limit: '50',
      }),
    ).toEqual({
      since: new Date('2030-01-01T00:00:00Z'),
      until: new Date('2030-01-01T23:00:00.500Z'),
      limit: 50,
      cursor: undefined,
    });
    expect(parseTimelineQuery({})).toEqual({
      since: undefined,
      until: undefined,
      limit: undefined,
      cursor: undefined,
    });
  });

  it.each([
    [{ since: 'yesterday' }, /^since must be an ISO 8601 time/],
    [{ since: '2030-01-01' }, /^since must be an ISO 8601 time/],
    [{ until: '2030-13-01T00:00:00Z' }, /^until must be an ISO 8601 time/],
    [
      { since: '2030-01-02T00:00:00Z', until: '2030-01-01T00:00:00Z' },
      /^until .* must not be before since/,
    ],
    [{ limit: '0' }, /^limit must be an integer from 1 to 1000, got '0'/],
    [{ limit: '1001' }, /^limit must be an integer from 1 to 1000/],
    [{ limit: '2.5' }, /^limit must be an integer from 1 to 1000/],
    [{ cursor: 'garbage' }, /^cursor is not one this endpoint returned/],
    [{ cursor: ['a', 'b'] }, /^cursor must be given once/],
  ])('refuses %p', (query, message) => {
    expect(() => parseTimelineQuery(query)).toThrow(InputError);
    expect(() => parseTimelineQuery(query)).toThrow(message);
  });
});

describe('GET /entities/:kind/:namespace/:name/timeline', () => {
  async function app(timeline: Pick<TimelineService, 'timeline'>) {
    const router = await createRouter({
      httpAuth: mockServices.httpAuth(),
      objects: {} as ObjectService,
      timeline: timeline as TimelineService,
    });
    return express().use(router).use(mockErrorHandler());
  }

  it('passes the entity and the parsed query to the service', async () => {
    const timeline = jest.fn(async (ref: string) => ({
      entityRef: ref,
      lanes: [],
      items: [],
    }));
    const response = await request(await app({ timeline })).get(
      '/entities/Component/default/Shop/timeline?since=2030-01-01T00:00:00Z&limit=10',
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      entityRef: 'component:default/shop',
      lanes: [],
      items: [],
    });
    expect(timeline).toHaveBeenCalledWith(
      'component:default/shop',
      {
        since: new Date('2030-01-01T00:00:00Z'),
        until: undefined,
        limit: 10,
        cursor: undefined,
      },
      expect.anything(),
    );
  });

  it('answers 400 naming the parameter for bad input', async () => {
    const timeline = jest.fn();
    const response = await request(await app({ timeline })).get(
      '/entities/Component/default/shop/timeline?limit=lots',
    );
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      name: 'InputError',
      message: "limit must be an integer from 1 to 1000, got 'lots'",
    });
    expect(timeline).not.toHaveBeenCalled();
  });
});
