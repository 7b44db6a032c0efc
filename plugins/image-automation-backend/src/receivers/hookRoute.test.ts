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
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';

/*
 * POST /api/image-automation/hook/:digest on the real plugin in a real backend (SQLite), with no
 * Backstage credentials at all: the refusals (an unknown receiver and a wrong signature answered
 * alike, 413, 400, 429 with Retry-After), the Warning events they leave on a known receiver, and a
 * valid call making due only the receiver's own entity's objects.
 */

jest.setTimeout(60_000);

const TOKEN_A = 'token-of-team-a-0123456789';
const TOKEN_B = 'token-of-team-b-9876543210';
const sign = (body: string, token = TOKEN_A) =>
  `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;
const digestOf = (token: string, name: string, namespace: string) =>
  createHash('sha256')
    .update(token + name + namespace)
    .digest('hex');

const receiver = (
  name: string,
  secret: string,
  resources: string,
) => `apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: { name: ${name}, namespace: team-a }
spec:
  type: generic-hmac
  secretRef: { name: ${secret} }
  resources:
${resources}
---
`;
const repository = (name: string, namespace: string) =>
  `apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec: { image: registry.example.com/${name}, interval: 1h }\n---\n`;

describe('POST /hook/:digest', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let knex: Knex;
  let dir: string;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let objects: DatabaseObjectStore;
  let events: DatabaseEventStore;
  const tasks = new Map<string, () => Promise<void>>();
  const hook = digestOf(TOKEN_A, 'hook', 'team-a');
  const flood = digestOf(TOKEN_A, 'flood', 'team-a');
  const post = (
    digest: string,
    body: string,
    headers: Record<string, string> = {},
  ) =>
    request(backend.server)
      .post(`/api/image-automation/hook/${digest}`)
      .set({ 'Content-Type': 'application/json', ...headers })
      .send(body);
  const eventsOf = async (id: string) =>
    (await events.list(id, { limit: 100 })).items;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-automation-hooks-'));
    await fs.writeFile(
      path.join(dir, 'a.yaml'),
      repository('app', 'team-a') +
        repository('worker', 'team-a').replace(
          'metadata: {',
          'metadata: { labels: { hook: "yes" },',
        ) +
        receiver(
          'hook',
          'hook-a',
          [
            '    - { kind: ImageRepository, name: app }',
            '    - { kind: ImageRepository, name: "*", matchLabels: { hook: "yes" } }',
            // Entity B's repository: never made due by entity A's receiver.
            '    - { kind: ImageRepository, name: other, namespace: team-b }',
          ].join('\n'),
        ) +
        receiver(
          'flood',
          'hook-a',
          '    - { kind: ImageRepository, name: app }',
        ) +
        receiver(
          'stolen',
          'hook-b',
          '    - { kind: ImageRepository, name: app }',
        ),
    );
    await fs.writeFile(path.join(dir, 'b.yaml'), repository('other', 'team-b'));
    knex = await databases.init('SQLITE_3');
    backend = await startTestBackend({
      features: [
        imageAutomationPlugin,
        catalogServiceMock.factory({ entities: [] }),
        mockServices.database.factory({ knex }),
        // Webhook senders have no Backstage credentials.
        mockServices.httpAuth.factory({
          defaultCredentials: mockCredentials.none(),
        }),
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
              fileRoots: [dir],
              locations: [
                {
                  target: path.join(dir, 'a.yaml'),
                  entityRef: 'component:default/a',
                },
                {
                  target: path.join(dir, 'b.yaml'),
                  entityRef: 'component:default/b',
                },
              ],
              credentials: {
                'hook-a': {
                  type: 'token',
                  token: TOKEN_A,
                  allowedEntities: ['component:default/a'],
                },
                'hook-b': {
                  type: 'token',
                  token: TOKEN_B,
                  allowedEntities: ['component:default/b'],
                },
              },
              receivers: {
                maxBodyBytes: 1024,
                rateLimit: { requests: 3, intervalSeconds: 60 },
                coalesceMilliseconds: 50,
              },
            },
          },
        }),
      ],
    });
    objects = await DatabaseObjectStore.create({ knex, skipMigrations: true });
    events = await DatabaseEventStore.create({ knex, skipMigrations: true });
    await tasks.get('image-automation-sync-manifests')!();
    await tasks.get('image-automation-reconcile')!();
  });

  afterAll(async () => {
    await backend?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports the webhook path as Flux derives it, and is Stalled when the credential is not granted', async () => {
    const ready = await objects.get('Receiver/team-a/hook');
    expect(ready!.status.webhookPath).toBe(`/hook/${hook}`);
    expect(ready!.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: `Receiver initialized for path: /hook/${hook}`,
      }),
    );
    const stolen = await objects.get('Receiver/team-a/stolen');
    expect(stolen!.status.webhookPath).toBeUndefined();
    expect(stolen!.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Stalled',
        status: 'True',
        reason: 'TokenNotFound',
        message:
          "unable to read token from credential 'hook-b': credential 'hook-b' is not granted to component:default/a (imageAutomation.credentials.hook-b.allowedEntities)",
      }),
    );
    expect(JSON.stringify(stolen!.status)).not.toContain(TOKEN_B);
  });

  it('answers an unknown receiver, a wrong signature and a not-granted receiver identically', async () => {
    const body = '{"event":"push"}';
    const answers = await Promise.all([
      post('0'.repeat(64), body, { 'X-Signature': sign(body) }),
      post(hook, body, { 'X-Signature': sign(body, 'guessed') }),
      post(hook, body),
      post(digestOf(TOKEN_B, 'stolen', 'team-a'), body, {
        'X-Signature': sign(body, TOKEN_B),
      }),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.text).toBe('');
      expect(answer.headers['content-type']).toBeUndefined();
      expect(answer.headers['retry-after']).toBeUndefined();
    }
    // The known receiver says why, without the token or the signature sent.
    const warnings = (await eventsOf('Receiver/team-a/hook')).filter(
      e => e.reason === 'AuthenticationFailed',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      type: 'Warning',
      message:
        'webhook call refused: the X-Signature header does not match the HMAC of the body',
    });
  });

  it('refuses a body over maxBodyBytes with 413, known receiver or not', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(2000) });
    expect((await post(hook, big, { 'X-Signature': sign(big) })).status).toBe(
      413,
    );
    expect((await post('f'.repeat(64), big)).status).toBe(413);
    expect(
      (await eventsOf('Receiver/team-a/hook')).map(e => e.reason),
    ).toContain('PayloadTooLarge');
  });

  it('refuses malformed JSON with 400 once the signature is right', async () => {
    const broken = '{"event":';
    expect(
      (await post(hook, broken, { 'X-Signature': sign(broken) })).status,
    ).toBe(400);
    // Without the right signature the same body says nothing.
    expect(
      (await post(hook, broken, { 'X-Signature': sign(broken, 'x') })).status,
    ).toBe(404);
    const invalid = (await eventsOf('Receiver/team-a/hook')).find(
      e => e.reason === 'InvalidPayload',
    );
    expect(invalid?.message).toMatch(
      /^webhook call refused: the body is not valid JSON: /,
    );
  });

  it('limits each receiver to its rate, with Retry-After, and records it', async () => {
    const body = '{}';
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await post(flood, body, { 'X-Signature': sign(body) });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(last!.headers['retry-after'])).toBeLessThanOrEqual(20);
    const limited = (await eventsOf('Receiver/team-a/flood')).filter(
      e => e.reason === 'RateLimited',
    );
    // One event for the two refusals (the rest are counted into the next one).
    expect(limited).toHaveLength(1);
    // Another receiver is not affected.
    expect((await post(hook, body, { 'X-Signature': sign(body) })).status).toBe(
      200,
    );
  });

  it("makes due the receiver's own objects, by name and by labels, and never another entity's", async () => {
    const body = '{"event":"push"}';
    const before = await objects.get('ImageRepository/team-b/other');
    const eventsBefore = await eventsOf('ImageRepository/team-b/other');
    expect((await post(hook, body, { 'X-Signature': sign(body) })).status).toBe(
      200,
    );
    let requested: Array<string | undefined> = [];
    const store = objects;
    for (let waited = 0; waited < 5000; waited += 50) {
      requested = await Promise.all(
        ['app', 'worker'].map(
          async n =>
            (await store.get(`ImageRepository/team-a/${n}`))!
              .reconcileRequestedAt,
        ),
      );
      if (requested.every(Boolean)) break;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(requested.every(Boolean)).toBe(true);
    expect(
      (await objects.get('ImageRepository/team-a/app'))!.reconcileRequestedBy,
    ).toBe('Receiver/team-a/hook');
    const other = await objects.get('ImageRepository/team-b/other');
    expect(other!.reconcileRequestedAt).toBeUndefined();
    expect(other!.nextRunAt).toBe(before!.nextRunAt);
    const recorded = await eventsOf('Receiver/team-a/hook');
    expect(recorded).toContainEqual(
      expect.objectContaining({
        type: 'Warning',
        reason: 'ResourceNotFound',
        message:
          'ImageRepository/team-b/other is not declared by component:default/a',
      }),
    );
    expect(
      recorded.find(e => e.reason === 'ReconcileRequested')?.message,
    ).toMatch(
      /^\d+ calls?: requested reconciliation of ImageRepository\/team-a\/app, ImageRepository\/team-a\/worker$/,
    );
    expect(await eventsOf('ImageRepository/team-b/other')).toEqual(
      eventsBefore,
    );
  });
});
