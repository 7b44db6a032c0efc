import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import net, { AddressInfo } from 'node:net';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { JsonObject } from '@backstage/types';
import {
  AutomationObject,
  ObjectEvent,
} from '@imageops/backstage-plugin-image-automation-common';
import { makeCertificates } from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { markReady } from '../engine/conditions';
import { Engine } from '../engine/Engine';
import { Reconciler } from '../engine/Reconciler';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DeclaredObject } from '../store/ObjectStore';
import { AlertDispatcher, alertingEventStore } from './AlertDispatcher';
import {
  NotificationSettings,
  readNotificationSettings,
} from './providerTarget';
import { AlertReconciler, ProviderReconciler } from './reconcilers';

jest.setTimeout(60_000);

// Delivery over real HTTP to stand-ins for the hosted services on 127.0.0.1, each speaking the
// service's contract (Slack Web API / incoming webhook, Teams, Discord, Google Chat, a generic
// receiver verifying the HMAC), with the real stores (SQLite), the real engine and reconcilers.

const A = 'component:default/team-a';
const B = 'component:default/team-b';
const TOKEN = 'xoxb-secret-bot-token-1234';
const HMAC_KEY = 'hmac-secret-key-5678';
const WEBHOOK_PATH = '/services/T000/B000/webhook-secret-path';

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local HTTP server standing in for a hosted service: records requests, answers as told. */
async function startStandIn() {
  const requests: Received[] = [];
  const load = { inFlight: 0, max: 0 };
  let answer: (
    request: Received,
    index: number,
  ) => {
    status: number;
    body?: string;
    hang?: boolean;
    delayMs?: number;
  } = () => ({
    status: 200,
    body: '{"ok":true}',
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const received = {
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(received);
      const {
        status,
        body,
        hang,
        delayMs = 0,
      } = answer(received, requests.length - 1);
      if (hang) return;
      load.inFlight++;
      load.max = Math.max(load.max, load.inFlight);
      setTimeout(() => {
        load.inFlight--;
        res
          .writeHead(status, { 'Content-Type': 'application/json' })
          .end(body ?? '');
      }, delayMs);
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    load,
    answer(fn: typeof answer) {
      answer = fn;
    },
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type StandIn = Awaited<ReturnType<typeof startStandIn>>;

/** An HTTPS service on 127.0.0.1 with a certificate of a private CA (made in `dir`), recording bodies. */
async function startHttpsService(dir: string) {
  const certs = await makeCertificates(dir);
  const bodies: string[] = [];
  const server = https.createServer(
    {
      cert: await fs.readFile(certs.serverCertFile),
      key: await fs.readFile(certs.serverKeyFile),
    },
    (req, res) => {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200).end('ok');
      });
    },
  );
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    certs,
    bodies,
    port: (server.address() as AddressInfo).port,
  };
}

function manifest(
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
): AutomationObject {
  return {
    apiVersion,
    kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec,
  } as AutomationObject;
}
const provider = (
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
) =>
  manifest(
    'notification.toolkit.fluxcd.io/v1beta3',
    'Provider',
    namespace,
    name,
    spec,
  );
const alert = (
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
) =>
  manifest(
    'notification.toolkit.fluxcd.io/v1beta3',
    'Alert',
    namespace,
    name,
    spec,
  );
const repository = (
  namespace: string,
  name: string,
  labels?: Record<string, string>,
) =>
  manifest(
    'image.toolkit.fluxcd.io/v1',
    'ImageRepository',
    namespace,
    name,
    { image: 'ghcr.io/x/y', interval: '5m' },
    labels,
  );

describe('AlertDispatcher delivers to stand-ins of the hosted services', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let standIn: StandIn;
  beforeEach(async () => {
    standIn = await startStandIn();
  });
  afterEach(async () => {
    await standIn.stop();
  });

  async function setup(
    options: {
      notifications?: Record<string, unknown>;
      credentials?: Record<string, unknown>;
      reconcilers?: Reconciler[];
    } = {},
  ) {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const stored = await DatabaseEventStore.create({
      knex,
      skipMigrations: true,
    });
    const config = new ConfigReader({
      imageAutomation: {
        notifications: {
          allowedHosts: ['127.0.0.1'],
          insecureHosts: ['127.0.0.1'],
          retryMinSeconds: 0.02,
          retryMaxSeconds: 0.1,
          attempts: 3,
          ...options.notifications,
        },
        credentials: {
          'slack-bot': {
            type: 'token',
            token: TOKEN,
            allowedEntities: [A],
            hosts: ['127.0.0.1'],
          },
          'slack-webhook': {
            type: 'token',
            address: `${standIn.url}${WEBHOOK_PATH}`,
            allowedEntities: [A],
            hosts: ['127.0.0.1'],
          },
          hmac: {
            type: 'token',
            token: HMAC_KEY,
            allowedEntities: [A],
            hosts: ['127.0.0.1'],
          },
          elsewhere: {
            type: 'token',
            token: TOKEN,
            allowedEntities: [A],
            hosts: ['hooks.slack.com'],
          },
          ...options.credentials,
        },
      },
    });
    const settings: NotificationSettings = readNotificationSettings(config);
    const credentials = NamedCredentials.fromConfig(config);
    const logger = mockServices.logger.mock();
    const dispatcher = new AlertDispatcher({
      objects,
      events: stored,
      credentials,
      settings,
      logger,
    });
    const events = alertingEventStore(stored, dispatcher);
    const engine = new Engine({
      objects,
      events,
      logger,
      batchSize: 50,
      leaseMs: 60_000,
      reconcilers: [
        new ProviderReconciler({ objects, events, credentials, settings }),
        new AlertReconciler({ objects }),
        ...(options.reconcilers ?? []),
      ],
    });
    const declare = async (byEntity: Record<string, AutomationObject[]>) => {
      for (const [entityRef, manifests] of Object.entries(byEntity)) {
        const declared: DeclaredObject[] = manifests.map(m => ({
          manifest: m,
          entityRef,
          source: { type: 'config', location: `file:///${entityRef}.yaml` },
        }));
        await objects.syncSource(entityRef, declared);
      }
      // Providers, then their Alerts (made due by the Provider), until nothing is due.
      for (let i = 0; i < 5 && (await engine.runPass()) > 0; i++);
    };
    /** What a reconciler records for an object (through the routing store, as in production). */
    const emit = (
      objectId: string,
      type: 'Normal' | 'Warning',
      message: string,
      reason = 'Succeeded',
      metadata?: Record<string, string>,
    ) =>
      events.record({
        objectId,
        time: new Date().toISOString(),
        type,
        reason,
        message,
        ...(metadata ? { metadata } : {}),
      });
    const eventsOf = async (objectId: string): Promise<ObjectEvent[]> =>
      (await stored.list(objectId)).items;
    return {
      objects,
      stored,
      dispatcher,
      declare,
      emit,
      eventsOf,
      engine,
      logger,
    };
  }

  const repoA = repository('apps', 'podinfo', { team: 'a' });

  it('slack (Web API): chat.postMessage with the bot token, channel and the Alert’s metadata', async () => {
    const { declare, emit, dispatcher, objects } = await setup();
    await declare({
      [A]: [
        repoA,
        provider('apps', 'slack-bot', {
          type: 'slack',
          channel: 'general',
          address: `${standIn.url}/api/chat.postMessage`,
          secretRef: { name: 'slack-bot' },
        }),
        alert('apps', 'on-call', {
          providerRef: { name: 'slack-bot' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
          eventMetadata: { cluster: 'prod-eu', region: 'eu-west-1' },
        }),
      ],
    });
    expect(
      (await objects.get('Alert/apps/on-call'))!.status.conditions,
    ).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: 'Initialized',
      }),
    );
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'successful scan: found 3 tags',
    );
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(1);
    const [request] = standIn.requests;
    expect(request.path).toBe('/api/chat.postMessage');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      channel: 'general',
      username: 'image-reflector-controller',
      icon_url: '',
      icon_emoji: '',
      attachments: [
        {
          color: 'good',
          author_name: 'imagerepository/podinfo.apps',
          text: 'successful scan: found 3 tags',
          mrkdwn_in: ['text'],
          fields: [
            { title: 'cluster', value: 'prod-eu', short: false },
            { title: 'region', value: 'eu-west-1', short: false },
          ],
        },
      ],
    });
  });

  it('metadata keys given twice (eventMetadata, summary, the controller’s revision): sent with the winner, and a Warning MetadataAppendFailed on the Alert, as Flux', async () => {
    const { declare, emit, dispatcher, eventsOf } = await setup();
    await declare({
      [A]: [
        repoA,
        provider('apps', 'hook', {
          type: 'generic',
          address: `${standIn.url}/conflict`,
        }),
        alert('apps', 'clash', {
          providerRef: { name: 'hook' },
          summary: 'from spec.summary',
          eventMetadata: { summary: 'from eventMetadata', revision: 'spoof' },
          eventSources: [{ kind: 'ImageRepository', name: 'podinfo' }],
        }),
        alert('apps', 'clean', {
          providerRef: { name: 'hook' },
          eventMetadata: { cluster: 'prod' },
          eventSources: [{ kind: 'ImageRepository', name: 'podinfo' }],
        }),
      ],
    });
    // Declared together: neither Alert recorded a transient "provider … is not ready".
    for (const id of ['Alert/apps/clash', 'Alert/apps/clean'])
      expect((await eventsOf(id)).filter(e => e.type === 'Warning')).toEqual(
        [],
      );
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'pushed commit',
      'Succeeded',
      { revision: 'main@sha1:abc' },
    );
    await dispatcher.idle();
    const sent = standIn.requests.map(r => JSON.parse(r.body).metadata);
    expect(sent).toHaveLength(2);
    expect(sent).toContainEqual({
      revision: 'main@sha1:abc',
      summary: 'from spec.summary',
    });
    expect(sent).toContainEqual({ cluster: 'prod', revision: 'main@sha1:abc' });
    expect(
      (await eventsOf('Alert/apps/clash'))
        .filter(e => e.type === 'Warning')
        .map(e => [e.type, e.reason, e.message]),
    ).toEqual([
      [
        'Warning',
        'MetadataAppendFailed',
        'metadata key conflicts detected (please refer to the Alert API docs and Flux RFC 0008 for more information)',
      ],
    ]);
    expect(
      (await eventsOf('Alert/apps/clean')).filter(e => e.type === 'Warning'),
    ).toEqual([]);
  });

  it('slack (incoming webhook): the secret webhook URL comes from the credential and shows nowhere', async () => {
    const { declare, emit, dispatcher, engine, objects, eventsOf, logger } =
      await setup();
    await declare({
      [A]: [
        repoA,
        provider('apps', 'hook', {
          type: 'slack',
          secretRef: { name: 'slack-webhook' },
        }),
        alert('apps', 'hook', {
          providerRef: { name: 'hook' },
          eventSeverity: 'error',
          eventSources: [{ kind: 'ImageRepository', name: 'podinfo' }],
        }),
      ],
    });
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'successful scan: found 3 tags',
    );
    await emit(
      'ImageRepository/apps/podinfo',
      'Warning',
      'scan failed: unauthorized (HTTP 401)',
      'AuthenticationFailed',
    );
    await dispatcher.idle();
    // eventSeverity error: only the Warning.
    expect(standIn.requests.map(r => r.path)).toEqual([WEBHOOK_PATH]);
    expect(standIn.requests[0].headers.authorization).toBeUndefined();
    expect(JSON.parse(standIn.requests[0].body).attachments[0]).toMatchObject({
      color: 'danger',
      text: 'scan failed: unauthorized (HTTP 401)',
    });
    // The Provider records the delivery (event, then status on its next run), without the path.
    await engine.runPass();
    const stored = (await objects.get('Provider/apps/hook'))!;
    expect(stored.status.lastDelivery).toMatchObject({ result: 'Sent' });
    const everything = JSON.stringify([
      stored,
      await eventsOf('Provider/apps/hook'),
    ]);
    expect(everything).toContain('NotificationSent');
    expect(everything).not.toContain('webhook-secret-path');

    // A service echoing the URL in its error: masked in the event and the log.
    standIn.answer(request => ({
      status: 404,
      body: `no_service: ${request.path}`,
    }));
    await emit(
      'ImageRepository/apps/podinfo',
      'Warning',
      'scan failed again',
      'AuthenticationFailed',
    );
    await dispatcher.idle();
    const failed = (await eventsOf('Provider/apps/hook')).find(
      e => e.reason === 'NotificationDispatchFailed',
    )!;
    expect(failed.message).toBe(
      'failed to send notification for ImageRepository/apps/podinfo: postMessage failed: request failed with status code 404, no_service: *****',
    );
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(
      'webhook-secret-path',
    );
    expect(JSON.stringify(logger.warn.mock.calls)).toContain(
      'no_service: *****',
    );
  });

  it('msteams, discord and googlechat: each service’s body at its path', async () => {
    const { declare, emit, dispatcher } = await setup();
    const sources = [{ kind: 'ImageRepository', name: '*' }];
    await declare({
      [A]: [
        repoA,
        provider('apps', 'teams', {
          type: 'msteams',
          address: `${standIn.url}/workflows/teams`,
        }),
        provider('apps', 'discord', {
          type: 'discord',
          address: `${standIn.url}/api/webhooks/1/tok`,
          username: 'flux',
        }),
        provider('apps', 'chat', {
          type: 'googlechat',
          address: `${standIn.url}/v1/spaces/S/messages`,
        }),
        alert('apps', 'teams', {
          providerRef: { name: 'teams' },
          eventSources: sources,
          summary: 'Podinfo impacted',
        }),
        alert('apps', 'discord', {
          providerRef: { name: 'discord' },
          eventSources: sources,
        }),
        alert('apps', 'chat', {
          providerRef: { name: 'chat' },
          eventSources: sources,
        }),
      ],
    });
    await emit('ImageRepository/apps/podinfo', 'Warning', 'scan failed: 503');
    await dispatcher.idle();
    const byPath = Object.fromEntries(
      standIn.requests.map(r => [r.path, JSON.parse(r.body)]),
    );
    expect(Object.keys(byPath).sort()).toEqual([
      '/api/webhooks/1/tok/slack',
      '/v1/spaces/S/messages',
      '/workflows/teams',
    ]);
    const card = byPath['/workflows/teams'].attachments[0];
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content.body[0].items).toEqual([
      {
        type: 'TextBlock',
        text: 'imagerepository/podinfo.apps',
        size: 'large',
        weight: 'bolder',
        wrap: true,
      },
      {
        type: 'TextBlock',
        text: 'scan failed: 503',
        color: 'attention',
        wrap: true,
      },
      {
        type: 'FactSet',
        facts: [{ title: 'summary', value: 'Podinfo impacted' }],
      },
    ]);
    expect(byPath['/api/webhooks/1/tok/slack']).toMatchObject({
      username: 'flux',
      attachments: [{ color: 'danger', text: 'scan failed: 503' }],
    });
    expect(
      byPath['/v1/spaces/S/messages'].cards[0].sections[0].widgets[0]
        .textParagraph.text,
    ).toBe('<font color="#ff0000">scan failed: 503</font>');
  });

  it('generic and generic-hmac: the event JSON; the stand-in verifies X-Signature with the shared key', async () => {
    const { declare, emit, dispatcher } = await setup();
    await declare({
      [A]: [
        repoA,
        provider('apps', 'generic', {
          type: 'generic',
          address: `${standIn.url}/generic`,
        }),
        provider('apps', 'signed', {
          type: 'generic-hmac',
          address: `${standIn.url}/signed`,
          secretRef: { name: 'hmac' },
        }),
        alert('apps', 'generic', {
          providerRef: { name: 'generic' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
        alert('apps', 'signed', {
          providerRef: { name: 'signed' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'successful scan: found 3 tags',
    );
    await dispatcher.idle();
    const generic = standIn.requests.find(r => r.path === '/generic')!;
    const signed = standIn.requests.find(r => r.path === '/signed')!;
    expect(generic.headers['x-signature']).toBeUndefined();
    expect(generic.headers['gotk-component']).toBe(
      'image-reflector-controller',
    );
    expect(JSON.parse(generic.body)).toMatchObject({
      involvedObject: {
        kind: 'ImageRepository',
        namespace: 'apps',
        name: 'podinfo',
      },
      severity: 'info',
      message: 'successful scan: found 3 tags',
      reason: 'Succeeded',
      reportingController: 'image-reflector-controller',
    });
    const expected = `sha256=${createHmac('sha256', HMAC_KEY)
      .update(signed.body)
      .digest('hex')}`;
    expect(signed.headers['x-signature']).toBe(expected);
    const forged = `sha256=${createHmac('sha256', 'other-key')
      .update(signed.body)
      .digest('hex')}`;
    expect(signed.headers['x-signature']).not.toBe(forged);
  });

  it('githubdispatch: a repository_dispatch to the (Enterprise) API of the repository, 204 accepted', async () => {
    const { declare, emit, dispatcher, eventsOf } = await setup({
      credentials: {
        github: {
          type: 'token',
          token: 'ghp-dispatch-token',
          allowedEntities: [A],
          hosts: ['127.0.0.1/api/v3/repos/acme'],
        },
      },
    });
    standIn.answer(() => ({ status: 204 }));
    await declare({
      [A]: [
        repoA,
        provider('apps', 'dispatch', {
          type: 'githubdispatch',
          address: `${standIn.url}/acme/fleet`,
          secretRef: { name: 'github' },
        }),
        alert('apps', 'dispatch', {
          providerRef: { name: 'dispatch' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'successful scan: found 3 tags',
    );
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(1);
    const [request] = standIn.requests;
    expect(request.path).toBe('/api/v3/repos/acme/fleet/dispatches');
    expect(request.headers.authorization).toBe('Bearer ghp-dispatch-token');
    expect(request.headers.accept).toBe('application/vnd.github.v3+json');
    expect(JSON.parse(request.body)).toMatchObject({
      event_type: 'ImageRepository/podinfo.apps',
      client_payload: {
        involvedObject: { kind: 'ImageRepository', name: 'podinfo' },
        message: 'successful scan: found 3 tags',
      },
    });
    expect(await eventsOf('Provider/apps/dispatch')).toContainEqual(
      expect.objectContaining({ reason: 'NotificationSent' }),
    );
  });

  it('the metadata a reconciler attaches (its events and its Ready event) reaches the Provider through the engine', async () => {
    const SHA = 'c'.repeat(40);
    // A GitRepository reconciler stand-in that resolves a revision without any Git server.
    const source: Reconciler = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      reconcile: async (object, now) => ({
        status: markReady(
          object.status,
          'Succeeded',
          `stored artifact for revision 'main@sha1:${SHA}'`,
          now,
          object.generation,
        ),
        requeueAfterMs: 3_600_000,
        events: [
          {
            type: 'Normal',
            reason: 'Extra',
            message: 'an extra event',
            metadata: { commit: SHA },
          },
        ],
        readyEventMetadata: { revision: `main@sha1:${SHA}` },
      }),
    };
    const { declare, dispatcher } = await setup({ reconcilers: [source] });
    const generic = provider('apps', 'generic', {
      type: 'generic',
      address: `${standIn.url}/generic`,
    });
    const onSources = alert('apps', 'sources', {
      providerRef: { name: 'generic' },
      eventSources: [{ kind: 'GitRepository', name: '*' }],
      eventMetadata: { cluster: 'prod', revision: 'not-this-one' },
    });
    await declare({ [A]: [generic, onSources] });
    const fleet = manifest(
      'source.toolkit.fluxcd.io/v1',
      'GitRepository',
      'apps',
      'fleet',
      {
        url: 'https://git.example.com/fleet',
        interval: '1h',
        ref: { branch: 'main' },
      },
    );
    await declare({ [A]: [generic, onSources, fleet] });
    await dispatcher.idle();
    const sent = standIn.requests.map(r => JSON.parse(r.body));
    expect(sent.map(e => [e.reason, e.metadata])).toEqual([
      ['Extra', { cluster: 'prod', commit: SHA, revision: 'not-this-one' }],
      ['Succeeded', { cluster: 'prod', revision: `main@sha1:${SHA}` }],
    ]);
  });

  it('gitlab: a stand-in of GitLab’s commit-status API gets GET-then-POST with PRIVATE-TOKEN, and no POST for a status already set', async () => {
    const GITLAB_TOKEN = 'glpat-secret-gitlab-token';
    const SHA = 'a1afe267b54f38b46b487f6e938a6fd508278c07';
    const { declare, emit, dispatcher, eventsOf } = await setup({
      credentials: {
        gitlab: {
          type: 'token',
          token: GITLAB_TOKEN,
          allowedEntities: [A],
          hosts: ['127.0.0.1'],
        },
      },
    });
    // The stand-in keeps the statuses it was given and lists them as GitLab does (`status`, filtered by `name`).
    const statuses: Array<{
      id: number;
      sha: string;
      status: string;
      name: string;
      description: string;
    }> = [];
    standIn.answer(request => {
      if (request.headers['private-token'] !== GITLAB_TOKEN)
        return { status: 401, body: '{"message":"401 Unauthorized"}' };
      const url = new URL(request.path, standIn.url);
      const list =
        /^\/api\/v4\/projects\/group%2Fsub%2Ffleet\/repository\/commits\/([0-9a-f]{40})\/statuses$/.exec(
          url.pathname,
        );
      if (request.method === 'GET' && list) {
        const name = url.searchParams.get('name');
        return {
          status: 200,
          body: JSON.stringify(
            statuses.filter(
              s => s.sha === list[1] && (!name || s.name === name),
            ),
          ),
        };
      }
      const set =
        /^\/api\/v4\/projects\/group%2Fsub%2Ffleet\/statuses\/([0-9a-f]{40})$/.exec(
          url.pathname,
        );
      if (request.method === 'POST' && set) {
        const body = JSON.parse(request.body);
        const status = {
          id: statuses.length + 1,
          sha: set[1],
          status: body.state,
          name: body.name,
          description: body.description,
        };
        statuses.push(status);
        return { status: 201, body: JSON.stringify(status) };
      }
      return { status: 404, body: '{"message":"404 Not Found"}' };
    });
    await declare({
      [A]: [
        repoA,
        provider('apps', 'gitlab', {
          type: 'gitlab',
          address: `${standIn.url}/group/sub/fleet.git`,
          secretRef: { name: 'gitlab' },
        }),
        alert('apps', 'gitlab', {
          providerRef: { name: 'gitlab' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    const name = `imagerepository/podinfo/${createHash('sha256')
      .update('Provider/apps/gitlab')
      .digest('hex')
      .slice(0, 8)}`;
    const listPath = `/api/v4/projects/group%2Fsub%2Ffleet/repository/commits/${SHA}/statuses?name=${encodeURIComponent(
      name,
    )}`;
    const setPath = `/api/v4/projects/group%2Fsub%2Ffleet/statuses/${SHA}`;

    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'pushed commit',
      'Succeeded',
      { revision: `main@sha1:${SHA}` },
    );
    await dispatcher.idle();
    expect(standIn.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      `GET ${listPath}`,
      `POST ${setPath}`,
    ]);
    const [get, post] = standIn.requests;
    for (const request of [get, post]) {
      expect(request.headers['private-token']).toBe(GITLAB_TOKEN);
      expect(request.headers.accept).toBe('application/json');
      expect(request.headers.authorization).toBeUndefined();
    }
    expect(get.body).toBe('');
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.body).toBe(
      `{"state":"success","name":"${name}","description":"succeeded"}`,
    );

    // The same status again (another message, so not rate-limited): listed, found, not set again.
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'pushed commit again',
      'Succeeded',
      { revision: `main@sha1:${SHA}` },
    );
    await dispatcher.idle();
    expect(standIn.requests.map(r => r.method)).toEqual(['GET', 'POST', 'GET']);
    expect(statuses).toHaveLength(1);

    // A failure on the same commit: a new state and description, so a second status.
    await emit(
      'ImageRepository/apps/podinfo',
      'Warning',
      'push failed',
      'GitOperationFailed',
      { commit: SHA },
    );
    await dispatcher.idle();
    expect(standIn.requests.map(r => r.method)).toEqual([
      'GET',
      'POST',
      'GET',
      'GET',
      'POST',
    ]);
    expect(JSON.parse(standIn.requests[4].body)).toEqual({
      state: 'failed',
      name,
      description: 'git operation failed',
    });

    // Progressing is skipped; an event without revision metadata fails as in Flux, and nothing is sent.
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'working',
      'Progressing',
      { revision: `main@sha1:${SHA}` },
    );
    await emit('ImageRepository/apps/podinfo', 'Normal', 'no revision here');
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(5);
    const recorded = await eventsOf('Provider/apps/gitlab');
    expect(recorded.filter(e => e.reason === 'NotificationSent')).toHaveLength(
      2,
    );
    expect(recorded).toContainEqual(
      expect.objectContaining({
        reason: 'NotificationDispatchFailed',
        message:
          'failed to send notification for ImageRepository/apps/podinfo: missing revision metadata',
      }),
    );
    expect(JSON.stringify(recorded)).not.toContain(GITLAB_TOKEN);
  });

  it('gitlab: an error from the stand-in is worded as Flux’s, retried on 5xx, and never shows the token', async () => {
    const GITLAB_TOKEN = 'glpat-another-secret-token';
    const SHA = 'b'.repeat(40);
    const { declare, emit, dispatcher, eventsOf } = await setup({
      credentials: {
        gitlab: {
          type: 'token',
          token: GITLAB_TOKEN,
          allowedEntities: [A],
          hosts: ['127.0.0.1'],
        },
      },
    });
    standIn.answer((request, index) => {
      if (index === 0) return { status: 502, body: 'bad gateway' };
      if (request.method === 'GET') return { status: 200, body: '[]' };
      return {
        status: 403,
        body: `{"message":"403 Forbidden - token ${GITLAB_TOKEN} may not write"}`,
      };
    });
    await declare({
      [A]: [
        repoA,
        provider('apps', 'gitlab', {
          type: 'gitlab',
          address: `${standIn.url}/group/fleet`,
          secretRef: { name: 'gitlab' },
        }),
        alert('apps', 'gitlab', {
          providerRef: { name: 'gitlab' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'pushed',
      'Succeeded',
      { revision: `sha1:${SHA}` },
    );
    await dispatcher.idle();
    // 502 on the listing: tried again (GET, GET, POST); the 403 on the POST is final.
    expect(standIn.requests.map(r => r.method)).toEqual(['GET', 'GET', 'POST']);
    const failed = (await eventsOf('Provider/apps/gitlab')).find(
      e => e.reason === 'NotificationDispatchFailed',
    )!;
    expect(failed.message).toBe(
      `failed to send notification for ImageRepository/apps/podinfo: POST ${standIn.url}/api/v4/projects/group/fleet/statuses/${SHA}: 403 {message: 403 Forbidden - token ***** may not write} (giving up after 2 attempts)`,
    );
  });

  it('gitlab: a project address kept in the credential never shows in the failure, though GitLab’s error quotes the path', async () => {
    const { declare, emit, dispatcher, eventsOf, objects } = await setup({
      credentials: {
        'gitlab-hidden': {
          type: 'token',
          token: 'glpat-hidden-project-token',
          address: `${standIn.url}/secret-group/hidden-project.git`,
          allowedEntities: [A],
          hosts: ['127.0.0.1'],
        },
      },
    });
    standIn.answer(request =>
      request.method === 'GET'
        ? { status: 200, body: '[]' }
        : { status: 400, body: '{"error":"state is invalid"}' },
    );
    await declare({
      [A]: [
        repoA,
        provider('apps', 'gitlab', {
          type: 'gitlab',
          secretRef: { name: 'gitlab-hidden' },
        }),
        alert('apps', 'gitlab', {
          providerRef: { name: 'gitlab' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'pushed',
      'Succeeded',
      { revision: `main@sha1:${'d'.repeat(40)}` },
    );
    await dispatcher.idle();
    expect(standIn.requests.map(r => r.path.split('?')[0])).toEqual([
      `/api/v4/projects/secret-group%2Fhidden-project/repository/commits/${'d'.repeat(
        40,
      )}/statuses`,
      `/api/v4/projects/secret-group%2Fhidden-project/statuses/${'d'.repeat(
        40,
      )}`,
    ]);
    const failed = (await eventsOf('Provider/apps/gitlab')).find(
      e => e.reason === 'NotificationDispatchFailed',
    )!;
    expect(failed.message).toBe(
      `failed to send notification for ImageRepository/apps/podinfo: POST ${
        standIn.url
      }*****/statuses/${'d'.repeat(40)}: 400 {error: state is invalid}`,
    );
    const everything = JSON.stringify([
      await eventsOf('Provider/apps/gitlab'),
      await eventsOf('Alert/apps/gitlab'),
      await objects.get('Provider/apps/gitlab'),
    ]);
    expect(everything).not.toContain('hidden-project');
    expect(everything).not.toContain('glpat-hidden-project-token');
  });

  it('a burst: recording never waits for delivery, at most 8 notifications are in flight, all arrive', async () => {
    const { declare, emit, dispatcher } = await setup();
    standIn.answer(() => ({ status: 200, delayMs: 20 }));
    await declare({
      [A]: [
        repoA,
        provider('apps', 'generic', {
          type: 'generic',
          address: `${standIn.url}/generic`,
        }),
        alert('apps', 'generic', {
          providerRef: { name: 'generic' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    const count = 300;
    const started = Date.now();
    for (let i = 0; i < count; i++)
      await emit('ImageRepository/apps/podinfo', 'Normal', `event ${i}`);
    const recorded = Date.now() - started;
    await dispatcher.idle();
    const delivered = Date.now() - started;
    expect(
      new Set(standIn.requests.map(r => JSON.parse(r.body).message)).size,
    ).toBe(count);
    expect(standIn.load.max).toBeLessThanOrEqual(8);
    expect(standIn.load.max).toBeGreaterThan(1);
    // With a 20 ms service, one at a time would take at least 6 s.
    expect(delivered).toBeLessThan(count * 20);
    // eslint-disable-next-line no-console
    console.log(
      `burst of ${count}: recorded in ${recorded} ms, delivered in ${delivered} ms, at most ${standIn.load.max} in flight`,
    );
  });

  it('certSecretRef: HTTPS to a service with a private CA, trusted only through the tls credential', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alerts-tls-'));
    const { server, certs, bodies, port } = await startHttpsService(dir);
    const url = `https://127.0.0.1:${port}/hook`;
    try {
      const { declare, emit, dispatcher, eventsOf } = await setup({
        notifications: { insecureHosts: [] },
        credentials: {
          'private-ca': {
            type: 'tls',
            ca: certs.ca,
            allowedEntities: [A],
            hosts: ['127.0.0.1'],
          },
        },
      });
      await declare({
        [A]: [
          repoA,
          provider('apps', 'trusted', {
            type: 'generic',
            address: url,
            certSecretRef: { name: 'private-ca' },
          }),
          provider('apps', 'untrusted', { type: 'generic', address: url }),
          alert('apps', 'trusted', {
            providerRef: { name: 'trusted' },
            eventSources: [{ kind: 'ImageRepository', name: '*' }],
          }),
          alert('apps', 'untrusted', {
            providerRef: { name: 'untrusted' },
            eventSources: [{ kind: 'ImageRepository', name: '*' }],
          }),
        ],
      });
      await emit('ImageRepository/apps/podinfo', 'Normal', 'over tls');
      await dispatcher.idle();
      // One delivery: the Provider without the CA failed the handshake (not retried).
      expect(bodies).toHaveLength(1);
      expect(JSON.parse(bodies[0]).message).toBe('over tls');
      expect(await eventsOf('Provider/apps/trusted')).toContainEqual(
        expect.objectContaining({ reason: 'NotificationSent' }),
      );
      expect(await eventsOf('Provider/apps/untrusted')).toContainEqual(
        expect.objectContaining({
          reason: 'NotificationDispatchFailed',
          message: expect.stringMatching(
            /postMessage failed: failed to execute request: .*certificate/,
          ),
        }),
      );
    } finally {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('spec.proxy: through a forward-proxy stand-in, a CONNECT tunnel to an https service (TLS end to end) and a forwarded plain-HTTP request', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alerts-proxy-'));
    const {
      server: service,
      certs,
      bodies,
      port: servicePort,
    } = await startHttpsService(dir);
    // A forward proxy: tunnels CONNECT, forwards absolute-form requests; notes what it was asked.
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const forwarded = http.request(
        req.url!,
        { method: req.method, headers: req.headers },
        answer => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(forwarded);
    });
    const tunnels: net.Socket[] = [];
    proxy.on('connect', (req, socket: net.Socket) => {
      seen.push(`CONNECT ${req.url}`);
      tunnels.push(socket);
      const [host, port] = req.url!.split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${
      (proxy.address() as AddressInfo).port
    }`;
    try {
      const { declare, emit, dispatcher, eventsOf } = await setup({
        credentials: {
          'private-ca': {
            type: 'tls',
            ca: certs.ca,
            allowedEntities: [A],
            hosts: ['127.0.0.1'],
          },
        },
      });
      await declare({
        [A]: [
          repoA,
          provider('apps', 'tunnelled', {
            type: 'generic',
            address: `https://127.0.0.1:${servicePort}/hook`,
            certSecretRef: { name: 'private-ca' },
            proxy: proxyUrl,
          }),
          provider('apps', 'forwarded', {
            type: 'generic',
            address: `${standIn.url}/plain`,
            proxy: proxyUrl,
          }),
          alert('apps', 'tunnelled', {
            providerRef: { name: 'tunnelled' },
            eventSources: [{ kind: 'ImageRepository', name: '*' }],
          }),
          alert('apps', 'forwarded', {
            providerRef: { name: 'forwarded' },
            eventSources: [{ kind: 'ImageRepository', name: '*' }],
          }),
        ],
      });
      await emit('ImageRepository/apps/podinfo', 'Normal', 'through the proxy');
      await dispatcher.idle();
      expect(bodies.map(b => JSON.parse(b).message)).toEqual([
        'through the proxy',
      ]);
      expect(
        standIn.requests.map(r => [r.path, JSON.parse(r.body).message]),
      ).toEqual([['/plain', 'through the proxy']]);
      // The proxy saw a tunnel to the https service (nothing of the request inside it) and the plain request.
      expect(seen.sort()).toEqual([
        `CONNECT 127.0.0.1:${servicePort}`,
        `POST ${standIn.url}/plain`,
      ]);
      for (const name of ['tunnelled', 'forwarded']) {
        expect(await eventsOf(`Provider/apps/${name}`)).toContainEqual(
          expect.objectContaining({ reason: 'NotificationSent' }),
        );
      }
    } finally {
      // Tunnelled connections are the proxy's own sockets, not HTTP connections the server tracks.
      for (const socket of tunnels) socket.destroy();
      for (const server of [service, proxy]) {
        server.closeAllConnections();
        await new Promise(resolve => server.close(resolve));
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a full queue drops events with one warning, and says how many once it drains', async () => {
    const { declare, emit, dispatcher, logger } = await setup({
      notifications: { queueSize: 5 },
    });
    standIn.answer(() => ({ status: 200, delayMs: 200 }));
    await declare({
      [A]: [
        repoA,
        provider('apps', 'generic', {
          type: 'generic',
          address: `${standIn.url}/generic`,
        }),
        alert('apps', 'generic', {
          providerRef: { name: 'generic' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    for (let i = 0; i < 20; i++)
      await emit('ImageRepository/apps/podinfo', 'Normal', `event ${i}`);
    await dispatcher.idle();
    expect(standIn.requests.length).toBeGreaterThanOrEqual(1);
    expect(standIn.requests.length).toBeLessThanOrEqual(5);
    const warnings = logger.warn.mock.calls
      .map(c => String(c[0]))
      .filter(m => m.startsWith('Notification queue'));
    expect(warnings).toEqual([
      expect.stringContaining('queueSize 5): dropping events until it drains'),
    ]);
    await emit('ImageRepository/apps/podinfo', 'Normal', 'after the burst');
    await dispatcher.idle();
    expect(logger.warn.mock.calls.map(c => String(c[0]))).toContainEqual(
      expect.stringMatching(
        /^Notification queue drained; \d+ events were dropped$/,
      ),
    );
    expect(
      JSON.parse(standIn.requests[standIn.requests.length - 1].body).message,
    ).toBe('after the burst');
  });

  it('matchLabels and inclusion/exclusion decide which events go; identical events go once per window', async () => {
    const { declare, emit, dispatcher } = await setup();
    await declare({
      [A]: [
        repoA,
        repository('apps', 'unlabelled'),
        provider('apps', 'generic', {
          type: 'generic',
          address: `${standIn.url}/generic`,
        }),
        alert('apps', 'filtered', {
          providerRef: { name: 'generic' },
          eventSources: [
            { kind: 'ImageRepository', name: '*', matchLabels: { team: 'a' } },
          ],
          inclusionList: ['^scan'],
          exclusionList: ['ignore-me'],
        }),
      ],
    });
    await emit(
      'ImageRepository/apps/unlabelled',
      'Normal',
      'scan of an unlabelled repository',
    );
    await emit('ImageRepository/apps/podinfo', 'Normal', 'not included');
    await emit(
      'ImageRepository/apps/podinfo',
      'Normal',
      'scan excluded: ignore-me',
    );
    await emit('ImageRepository/apps/podinfo', 'Normal', 'scan one');
    await emit(
      'ImageRepository/apps/podinfo',
      'Warning',
      'scan one',
      'OtherReason',
    );
    await emit('ImageRepository/apps/podinfo', 'Normal', 'scan two');
    await dispatcher.idle();
    expect(standIn.requests.map(r => JSON.parse(r.body).message)).toEqual([
      'scan one',
      'scan two',
    ]);
  });

  it('tenancy: an Alert of entity B never receives entity A’s events, nor uses A’s Provider', async () => {
    const { declare, emit, dispatcher, objects } = await setup({
      credentials: {
        'b-token': {
          type: 'token',
          token: 'b',
          allowedEntities: [B],
          hosts: ['127.0.0.1'],
        },
      },
    });
    await declare({
      [A]: [
        repoA,
        provider('apps', 'a-provider', {
          type: 'generic',
          address: `${standIn.url}/a`,
        }),
      ],
      [B]: [
        // Everything in A's namespace, by name, by wildcard and by labels, cross-namespace as Flux allows.
        provider('team-b', 'b-provider', {
          type: 'generic',
          address: `${standIn.url}/b`,
        }),
        alert('team-b', 'spy', {
          providerRef: { name: 'b-provider' },
          eventSources: [
            { kind: 'ImageRepository', name: '*', namespace: 'apps' },
            { kind: 'ImageRepository', name: 'podinfo', namespace: 'apps' },
            {
              kind: 'ImageRepository',
              name: '*',
              namespace: 'apps',
              matchLabels: { team: 'a' },
            },
          ],
        }),
        // B's Alert in A's namespace naming A's Provider.
        alert('apps', 'hijack', {
          providerRef: { name: 'a-provider' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    expect(
      (await objects.get('Alert/apps/hijack'))!.status.conditions,
    ).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        message: expect.stringContaining(
          `failed to get provider 'apps/a-provider': providers.notification.toolkit.fluxcd.io "a-provider" not found`,
        ),
      }),
    );
    await emit(
      'ImageRepository/apps/podinfo',
      'Warning',
      'secret-ish failure of team A',
    );
    await dispatcher.idle();
    expect(standIn.requests).toEqual([]);
  });

  it('a failing service (500) is retried with backoff, then a Warning names the cause without the token; the engine keeps working', async () => {
    const { declare, emit, dispatcher, eventsOf, engine, objects } =
      await setup();
    // The stand-in echoes the Authorization header back in its error body.
    standIn.answer(request => ({
      status: 500,
      body: `internal error for ${request.headers.authorization}`,
    }));
    await declare({
      [A]: [
        repoA,
        provider('apps', 'slack', {
          type: 'slack',
          address: `${standIn.url}/api/chat.postMessage`,
          secretRef: { name: 'slack-bot' },
        }),
        alert('apps', 'slack', {
          providerRef: { name: 'slack' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    const started = Date.now();
    await emit('ImageRepository/apps/podinfo', 'Warning', 'scan failed');
    // Recording returned without waiting for the delivery.
    expect(Date.now() - started).toBeLessThan(1000);
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(3);
    const expected =
      'failed to send notification for ImageRepository/apps/podinfo: postMessage failed: request failed with status code 500, internal error for Bearer ***** (giving up after 3 attempts)';
    for (const id of ['Provider/apps/slack', 'Alert/apps/slack']) {
      expect(await eventsOf(id)).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'NotificationDispatchFailed',
          message: expected,
        }),
      );
    }
    await engine.runPass();
    const stored = (await objects.get('Provider/apps/slack'))!;
    expect(stored.status.lastDelivery).toMatchObject({
      result: 'Failed',
      message: expected,
    });
    expect(JSON.stringify(stored)).not.toContain(TOKEN);

    // The service recovers: the next event goes through after one retry.
    standIn.answer((_request, index) =>
      index === 3 ? { status: 503 } : { status: 200 },
    );
    await emit('ImageRepository/apps/podinfo', 'Warning', 'scan failed again');
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(5);
    expect(await eventsOf('Provider/apps/slack')).toContainEqual(
      expect.objectContaining({ type: 'Normal', reason: 'NotificationSent' }),
    );
  });

  it('a 4xx is not retried; a service that never answers times out after spec.timeout', async () => {
    const { declare, emit, dispatcher, eventsOf } = await setup();
    await declare({
      [A]: [
        repoA,
        provider('apps', 'slow', {
          type: 'generic',
          address: `${standIn.url}/slow`,
          timeout: '1s',
        }),
        alert('apps', 'slow', {
          providerRef: { name: 'slow' },
          eventSources: [{ kind: 'ImageRepository', name: '*' }],
        }),
      ],
    });
    standIn.answer(() => ({ status: 400, body: 'bad payload' }));
    await emit('ImageRepository/apps/podinfo', 'Normal', 'first');
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(1);
    expect(await eventsOf('Provider/apps/slow')).toContainEqual(
      expect.objectContaining({
        message:
          'failed to send notification for ImageRepository/apps/podinfo: postMessage failed: request failed with status code 400, bad payload',
      }),
    );
    standIn.answer(() => ({ status: 200, hang: true }));
    const started = Date.now();
    await emit('ImageRepository/apps/podinfo', 'Normal', 'second');
    await dispatcher.idle();
    expect(standIn.requests).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(await eventsOf('Provider/apps/slow')).toContainEqual(
      expect.objectContaining({
        message: expect.stringMatching(
          /postMessage failed: failed to execute request: timeout after 1000ms \(giving up after 3 attempts\)$/,
        ),
      }),
    );
  });
});

describe('Provider and Alert conditions', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  async function reconcileAll(
    byEntity: Record<string, AutomationObject[]>,
    notifications: JsonObject = { allowedHosts: ['hooks.example.com'] },
  ) {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const events = await DatabaseEventStore.create({
      knex,
      skipMigrations: true,
    });
    const config = new ConfigReader({
      imageAutomation: {
        notifications,
        credentials: {
          granted: {
            type: 'token',
            token: TOKEN,
            allowedEntities: [A],
            hosts: ['hooks.example.com'],
          },
          ungranted: {
            type: 'token',
            token: TOKEN,
            allowedEntities: [B],
            hosts: ['hooks.example.com'],
          },
          'other-host': {
            type: 'token',
            token: TOKEN,
            allowedEntities: [A],
            hosts: ['hooks.slack.com'],
          },
        },
      },
    });
    const settings = readNotificationSettings(config);
    const credentials = NamedCredentials.fromConfig(config);
    const engine = new Engine({
      objects,
      events,
      logger: mockServices.logger.mock(),
      batchSize: 50,
      leaseMs: 60_000,
      reconcilers: [
        new ProviderReconciler({ objects, events, credentials, settings }),
        new AlertReconciler({ objects }),
      ],
    });
    for (const [entityRef, manifests] of Object.entries(byEntity)) {
      await objects.syncSource(
        entityRef,
        manifests.map(m => ({
          manifest: m,
          entityRef,
          source: { type: 'config', location: 'file:///x.yaml' },
        })),
      );
    }
    for (let i = 0; i < 5 && (await engine.runPass()) > 0; i++);
    return async (id: string) => {
      const conditions = (await objects.get(id))!.status.conditions ?? [];
      const ready = conditions.find(c => c.type === 'Ready');
      const stalled = conditions.find(c => c.type === 'Stalled');
      return {
        ready: ready?.status,
        reason: ready?.reason,
        message: ready?.message,
        stalled: stalled?.status,
      };
    };
  }

  it('refuses, before sending anything: a host outside the allow-list, plain HTTP, an ungranted or unbound credential', async () => {
    const condition = await reconcileAll({
      [A]: [
        provider('apps', 'ok', {
          type: 'slack',
          address: 'https://hooks.example.com/api/chat.postMessage',
          secretRef: { name: 'granted' },
        }),
        provider('apps', 'host', {
          type: 'slack',
          address: 'https://evil.example.net/collect',
        }),
        provider('apps', 'http', {
          type: 'generic',
          address: 'http://hooks.example.com/x',
        }),
        provider('apps', 'ungranted', {
          type: 'slack',
          address: 'https://hooks.example.com/x',
          secretRef: { name: 'ungranted' },
        }),
        provider('apps', 'unbound', {
          type: 'slack',
          address: 'https://hooks.example.com/x',
          secretRef: { name: 'other-host' },
        }),
        provider('apps', 'missing', {
          type: 'slack',
          address: 'https://hooks.example.com/x',
          secretRef: { name: 'nope' },
        }),
        provider('apps', 'noaddress', { type: 'slack' }),
        provider('apps', 'nokey', {
          type: 'generic-hmac',
          address: 'https://hooks.example.com/x',
        }),
        // The token goes to the API host, so the credential must be bound there, not to the repository's host.
        provider('apps', 'dispatch-host', {
          type: 'githubdispatch',
          address: 'https://hooks.example.com/acme/fleet',
          secretRef: { name: 'granted' },
        }),
        provider('apps', 'dispatch-repo', {
          type: 'githubdispatch',
          address: 'https://hooks.example.com/acme',
          secretRef: { name: 'granted' },
        }),
        provider('apps', 'dispatch-github', {
          type: 'githubdispatch',
          address: 'https://github.com/acme/fleet',
          secretRef: { name: 'granted' },
        }),
        provider('apps', 'gitlab-ok', {
          type: 'gitlab',
          address: 'https://hooks.example.com/group/sub/fleet.git',
          secretRef: { name: 'granted' },
        }),
        provider('apps', 'gitlab-notoken', {
          type: 'gitlab',
          address: 'https://hooks.example.com/group/fleet',
        }),
        provider('apps', 'gitlab-noproject', {
          type: 'gitlab',
          address: 'https://hooks.example.com/',
          secretRef: { name: 'granted' },
        }),
        provider('apps', 'gitlab-host', {
          type: 'gitlab',
          address: 'https://gitlab.example.net/group/fleet',
          secretRef: { name: 'granted' },
        }),
      ],
    });
    expect(await condition('Provider/apps/ok')).toEqual({
      ready: 'True',
      reason: 'Succeeded',
      message: 'Initialized',
      stalled: undefined,
    });
    expect(await condition('Provider/apps/host')).toEqual({
      ready: 'False',
      reason: 'HostNotAllowed',
      message:
        "host 'evil.example.net' is not allowed: add it to imageAutomation.notifications.allowedHosts to send notifications there",
      stalled: 'True',
    });
    expect(await condition('Provider/apps/http')).toMatchObject({
      reason: 'InsecureAddress',
      stalled: 'True',
    });
    expect(await condition('Provider/apps/ungranted')).toMatchObject({
      reason: 'CredentialRefused',
      message: `credential 'ungranted' is not granted to ${A} (imageAutomation.credentials.ungranted.allowedEntities)`,
    });
    expect(await condition('Provider/apps/unbound')).toMatchObject({
      reason: 'CredentialRefused',
      message: expect.stringContaining(
        "credential 'other-host' may not be sent to hooks.example.com/x: it is bound to hooks.slack.com",
      ),
    });
    expect(await condition('Provider/apps/missing')).toMatchObject({
      reason: 'CredentialRefused',
      message: expect.stringContaining('is not defined'),
    });
    expect(await condition('Provider/apps/noaddress')).toMatchObject({
      reason: 'InvalidProvider',
      message: expect.stringMatching(/^provider has no address/),
    });
    expect(await condition('Provider/apps/nokey')).toMatchObject({
      reason: 'InvalidProvider',
      message: expect.stringContaining('generic-hmac needs'),
    });
    expect(await condition('Provider/apps/dispatch-host')).toMatchObject({
      ready: 'True',
    });
    expect(await condition('Provider/apps/dispatch-repo')).toMatchObject({
      reason: 'InvalidProvider',
      message:
        "invalid repository id 'acme': the address must be https://<host>/<owner>/<repository>",
    });
    expect(await condition('Provider/apps/dispatch-github')).toMatchObject({
      reason: 'CredentialRefused',
      message: expect.stringContaining(
        "credential 'granted' may not be sent to api.github.com/repos/acme/fleet/dispatches",
      ),
    });
    expect(await condition('Provider/apps/gitlab-ok')).toMatchObject({
      ready: 'True',
      message: 'Initialized',
    });
    expect(await condition('Provider/apps/gitlab-notoken')).toMatchObject({
      reason: 'InvalidProvider',
      message: expect.stringMatching(/^gitlab token cannot be empty/),
      stalled: 'True',
    });
    expect(await condition('Provider/apps/gitlab-noproject')).toMatchObject({
      reason: 'InvalidProvider',
      message: expect.stringMatching(/^invalid project path ''/),
    });
    // The token goes to the project's API URL on the address's host: bound elsewhere, refused.
    expect(await condition('Provider/apps/gitlab-host')).toMatchObject({
      reason: 'CredentialRefused',
      message: expect.stringContaining(
        "credential 'granted' may not be sent to gitlab.example.net/api/v4/projects/group/fleet",
      ),
    });
  });

  it('with no allow-list configured, nothing may be sent anywhere', async () => {
    const condition = await reconcileAll(
      {
        [A]: [
          provider('apps', 'p', {
            type: 'generic',
            address: 'https://hooks.example.com/x',
          }),
        ],
      },
      {},
    );
    expect(await condition('Provider/apps/p')).toMatchObject({
      reason: 'HostNotAllowed',
      stalled: 'True',
    });
  });

  it('a proxy outside the allow-list, an unsupported type and an invalid manifest are refused, naming the cause', async () => {
    const condition = await reconcileAll({
      [A]: [
        provider('apps', 'proxy', {
          type: 'slack',
          address: 'https://hooks.example.com/x',
          proxy: 'http://proxy.example.com:3128',
        }),
        provider('apps', 'github', {
          type: 'github',
          address: 'https://github.com/o/r',
        }),
        provider('apps', 'bad', {
          type: 'carrier-pigeon',
          address: 'https://hooks.example.com/x',
        }),
        alert('apps', 'bad', { providerRef: { name: 'proxy' } }),
      ],
    });
    expect(await condition('Provider/apps/proxy')).toMatchObject({
      reason: 'HostNotAllowed',
      message:
        "proxy host 'proxy.example.com:3128' is not allowed: add it to imageAutomation.notifications.allowedHosts to send notifications through it",
    });
    expect(await condition('Provider/apps/github')).toMatchObject({
      reason: 'ProviderNotSupported',
      message:
        "provider type 'github' is not supported yet: use one of slack, discord, msteams, googlechat, generic, generic-hmac, githubdispatch, gitlab",
    });
    expect(await condition('Provider/apps/bad')).toMatchObject({
      reason: 'InvalidManifest',
      message: expect.stringContaining(
        'spec.type: Unsupported value: "carrier-pigeon"',
      ),
    });
    expect(await condition('Alert/apps/bad')).toMatchObject({
      reason: 'InvalidManifest',
      message: expect.stringContaining('spec.eventSources: Required value'),
    });
  });

  it('an Alert is not Ready while its Provider is missing or not Ready, with Flux’s messages; an invalid regexp Stalls it', async () => {
    const sources = [{ kind: 'ImageRepository', name: '*' }];
    const condition = await reconcileAll({
      [A]: [
        provider('apps', 'refused', {
          type: 'generic',
          address: 'https://evil.example.net/x',
        }),
        provider('apps', 'ok', {
          type: 'generic',
          address: 'https://hooks.example.com/x',
        }),
        alert('apps', 'missing', {
          providerRef: { name: 'nope' },
          eventSources: sources,
        }),
        alert('apps', 'not-ready', {
          providerRef: { name: 'refused' },
          eventSources: sources,
        }),
        alert('apps', 'regex', {
          providerRef: { name: 'ok' },
          eventSources: sources,
          exclusionList: ['(unclosed'],
        }),
        alert('apps', 'fine', {
          providerRef: { name: 'ok' },
          eventSources: sources,
        }),
      ],
    });
    expect(await condition('Alert/apps/missing')).toEqual({
      ready: 'False',
      reason: 'Failed',
      message: `failed to get provider 'apps/nope': providers.notification.toolkit.fluxcd.io "nope" not found`,
      stalled: undefined,
    });
    expect(await condition('Alert/apps/not-ready')).toMatchObject({
      ready: 'False',
      reason: 'Failed',
      message: 'provider apps/refused is not ready',
    });
    expect(await condition('Alert/apps/regex')).toMatchObject({
      reason: 'InvalidConfig',
      message: expect.stringMatching(
        /^failed to compile exclusion regex: \(unclosed: error parsing regexp: missing closing \)/,
      ),
      stalled: 'True',
    });
    expect(await condition('Alert/apps/fine')).toMatchObject({
      ready: 'True',
      message: 'Initialized',
    });
  });
});
