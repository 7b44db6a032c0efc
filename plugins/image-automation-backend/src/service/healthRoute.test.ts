import { Knex } from 'knex';
import request from 'supertest';
import {
  SchedulerServiceTaskInvocationDefinition,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { imageAutomationPlugin } from '../plugin';

/*
 * GET /api/image-automation/health (issue #16) on the real plugin in a real backend: 200 while
 * the database answers and the engine makes progress, 503 when the engine stalls or the
 * database is gone; signed-in callers only (Backstage's default auth policy); nothing sensitive.
 */

jest.setTimeout(60_000);

const STALLED_AFTER_SECONDS = 2;

describe('GET /health', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let knex: Knex;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const tasks = new Map<string, () => Promise<void>>();
  const reconcile = () => tasks.get('image-automation-reconcile')!();

  beforeAll(async () => {
    knex = await databases.init('SQLITE_3');
    backend = await startTestBackend({
      features: [
        imageAutomationPlugin,
        catalogServiceMock.factory({ entities: [] }),
        mockServices.database.factory({ knex }),
        // No token at all is an anonymous request (the mock's default would be a signed-in user).
        mockServices.httpAuth.factory({
          defaultCredentials: mockCredentials.none(),
        }),
        // The engine runs only when the test says so: it can be made to stall.
        mockServices.scheduler.mock({
          async scheduleTask(
            task: SchedulerServiceTaskScheduleDefinition &
              SchedulerServiceTaskInvocationDefinition,
          ) {
            tasks.set(
              task.id,
              () => task.fn(new AbortController().signal) as Promise<void>,
            );
          },
          async triggerTask() {},
        }).factory,
        mockServices.rootConfig.factory({
          data: {
            imageAutomation: {
              engine: { stalledAfterSeconds: STALLED_AFTER_SECONDS },
            },
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop().catch(() => {});
  });

  const health = (authorization?: string) => {
    const req = request(backend.server).get('/api/image-automation/health');
    return authorization ? req.set('Authorization', authorization) : req;
  };

  it('answers signed-in users and services only', async () => {
    const anonymous = await health();
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify(anonymous.body)).not.toContain('engine');
    expect((await health(mockCredentials.user.header())).status).toBe(200);
    const service = await health(
      mockCredentials.service.header({
        onBehalfOf: mockCredentials.service('external:monitor'),
        targetPluginId: 'image-automation',
      }),
    );
    expect(service.status).toBe(200);
  });

  it('is ready before the first pass (starting), and after each pass until the engine stalls', async () => {
    const user = mockCredentials.user.header();
    const starting = await health(user);
    expect(starting.status).toBe(200);
    expect(starting.body).toEqual({
      status: 'ok',
      database: 'ok',
      engine: {
        status: 'starting',
        lastPassAt: null,
        lastPassAgoSeconds: null,
        stalledAfterSeconds: STALLED_AFTER_SECONDS,
      },
    });

    const before = Date.now();
    await reconcile();
    const ran = await health(user);
    expect(ran.status).toBe(200);
    expect(ran.body.status).toBe('ok');
    expect(ran.body.engine.status).toBe('ok');
    expect(Date.parse(ran.body.engine.lastPassAt)).toBeGreaterThanOrEqual(
      before - 1000,
    );
    expect(ran.body.engine.lastPassAgoSeconds).toBeLessThanOrEqual(1);

    // No pass for longer than stalledAfterSeconds: not ready.
    await new Promise(resolve =>
      setTimeout(resolve, (STALLED_AFTER_SECONDS + 1) * 1000),
    );
    const stalled = await health(user);
    expect(stalled.status).toBe(503);
    expect(stalled.body.status).toBe('degraded');
    expect(stalled.body.database).toBe('ok');
    expect(stalled.body.engine.status).toBe('stalled');
    expect(stalled.body.engine.lastPassAgoSeconds).toBeGreaterThanOrEqual(
      STALLED_AFTER_SECONDS,
    );

    // A pass again: ready again.
    await reconcile();
    expect((await health(user)).status).toBe(200);
  });

  it('is not ready when the database cannot be reached, and says no more than that', async () => {
    await knex.destroy();
    const response = await health(mockCredentials.user.header());
    expect(response.status).toBe(503);
    expect(response.body.status).toBe('degraded');
    expect(response.body.database).toBe('unreachable');
    expect(Object.keys(response.body).sort()).toEqual([
      'database',
      'engine',
      'status',
    ]);
    expect(JSON.stringify(response.body)).not.toMatch(
      /sqlite|knex|pool|error/i,
    );
  });
});
