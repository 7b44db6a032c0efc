import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';

/*
 * Two backend replicas on one database: a Receiver reconciled by one replica is served by the
 * other (its index is re-read when it meets a path it does not know), and the call it accepts
 * makes the object due for whichever replica reconciles next.
 */

jest.setTimeout(60_000);

const TOKEN = 'replica-token-77aa';
const DIGEST = createHash('sha256').update(`${TOKEN}hookteam-a`).digest('hex');
const BODY = '{"event":"push"}';
const SIGNATURE = `sha256=${createHmac('sha256', TOKEN)
  .update(BODY)
  .digest('hex')}`;

describe('Receivers on two replicas', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let knex: Knex;
  let dir: string;
  const backends: Array<Awaited<ReturnType<typeof startTestBackend>>> = [];
  const tasks = [
    new Map<string, () => Promise<void>>(),
    new Map<string, () => Promise<void>>(),
  ];

  beforeAll(async () => {
    dir = await fs.mkdtemp(
      path.join(os.tmpdir(), 'image-automation-hook-replicas-'),
    );
    await fs.writeFile(
      path.join(dir, 'a.yaml'),
      `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: app, namespace: team-a }
spec: { image: registry.example.com/app, interval: 1h }
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: { name: hook, namespace: team-a }
spec:
  type: generic-hmac
  secretRef: { name: hook }
  resources: [{ kind: ImageRepository, name: app }]
`,
    );
    knex = await databases.init('SQLITE_3');
    for (const replica of [0, 1]) {
      backends.push(
        await startTestBackend({
          features: [
            imageAutomationPlugin,
            catalogServiceMock.factory({ entities: [] }),
            mockServices.database.factory({ knex }),
            mockServices.httpAuth.factory({
              defaultCredentials: mockCredentials.none(),
            }),
            mockServices.scheduler.mock({
              async scheduleTask(
                task: SchedulerServiceTaskScheduleDefinition &
                  SchedulerServiceTaskInvocationDefinition,
              ) {
                tasks[replica].set(
                  task.id,
                  () => task.fn(new AbortController().signal) as Promise<void>,
                );
              },
              async triggerTask() {},
            }).factory,
            mockServices.rootConfig.factory({
              data: {
                imageAutomation: {
                  fileRoots: [dir],
                  locations: [
                    {
                      target: path.join(dir, 'a.yaml'),
                      entityRef: 'component:default/a',
                    },
                  ],
                  credentials: {
                    hook: {
                      type: 'token',
                      token: TOKEN,
                      allowedEntities: ['component:default/a'],
                    },
                  },
                  receivers: { coalesceMilliseconds: 50 },
                },
              },
            }),
          ],
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(backends.map(b => b.stop()));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves on one replica a receiver the other reconciled, and makes its object due in the shared database', async () => {
    const call = (replica: number) =>
      request(backends[replica].server)
        .post(`/api/image-automation/hook/${DIGEST}`)
        .set({ 'Content-Type': 'application/json', 'X-Signature': SIGNATURE })
        .send(BODY);
    // Replica 1 knows no receiver yet.
    expect((await call(1)).status).toBe(404);
    // Replica 0 reads the manifests and reconciles the receiver.
    await tasks[0].get('image-automation-sync-manifests')!();
    await tasks[0].get('image-automation-reconcile')!();
    // Replica 1 answers once its index has caught up (a path it does not know re-reads it, at most once a second).
    let status = 0;
    const started = Date.now();
    while (status !== 200 && Date.now() - started < 5000) {
      status = (await call(1)).status;
      if (status !== 200)
        await new Promise(resolve => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    const objects = await DatabaseObjectStore.create({
      knex,
      skipMigrations: true,
    });
    let requested: string | undefined;
    for (let waited = 0; !requested && waited < 3000; waited += 50) {
      await new Promise(resolve => setTimeout(resolve, 50));
      requested = (await objects.get('ImageRepository/team-a/app'))!
        .reconcileRequestedBy;
    }
    expect(requested).toBe('Receiver/team-a/hook');
    expect((await call(0)).status).toBe(200);
  });
});
