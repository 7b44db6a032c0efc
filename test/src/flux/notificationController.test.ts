import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import { AddressInfo } from 'node:net';
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
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import imageAutomationPlugin from '@imageops/backstage-plugin-image-automation-backend';
import {
  AlertDispatcher,
  alertingEventStore,
} from '@imageops/backstage-plugin-image-automation-backend/src/alerts/AlertDispatcher';
import { readNotificationSettings } from '@imageops/backstage-plugin-image-automation-backend/src/alerts/providerTarget';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { DatabaseEventStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseEventStore';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { freePort } from '../../testbed';
import { request as httpRequest } from '../../testbed/httpRequest';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';
import { kubeGet, kubeList } from '../../testbed/fluxControllers';
import {
  NOTIFICATION_CONTROLLER_VERSION,
  NotificationController,
  startNotificationController,
} from '../../testbed/notificationController';
import {
  ALERT_SCENARIOS,
  AlertScenario,
  CorpusEvent,
  DocumentedDifference,
  RECEIVER_SCENARIOS,
  ReceiverScenario,
  SORTED_ARRAYS,
} from './notificationCorpus';
import { recordScenario, summaryLine, Verdict } from './corpusReport';

// Issue #18: the corpus of Providers, Alerts and Receivers (notificationCorpus.ts) runs through the
// real notification-controller (built from the Go module proxy by
// test/testbed/build-notification-controller.sh, against the test bed's kube-apiserver) and through
// our backend (the real plugin in a real Backstage backend on SQLite; the events go through the
// event store the reconcilers record through, which offers them to the AlertDispatcher, as
// plugin.ts wires it). The services the Providers send to are stand-in HTTP servers on 127.0.0.1
// (one per side) recording every request; the comparison is field by field and a difference must
// be listed in the scenario and in docs/differences.md. FLUX_CORPUS_OUT=<file> writes each
// scenario's outcomes and differences there (one JSON line each).

jest.setTimeout(600_000);

const NC = `notification-controller ${NOTIFICATION_CONTROLLER_VERSION}`;
const ENTITY = 'component:default/notification-corpus';
const SLACK_TOKEN = 'xoxb-corpus-bot-token-7d2a';
const HMAC_KEY = 'corpus-hmac-key-5e1f0b';
const RECEIVER_TOKEN = 'corpus-receiver-token-91c4';
const WRONG_KEY = 'not-the-key-3b7e';
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
const TOKENS: Record<string, string> = {
  'slack-token': SLACK_TOKEN,
  'hmac-key': HMAC_KEY,
  'receiver-token': RECEIVER_TOKEN,
};
const API_VERSIONS = {
  ImageRepository: 'image.toolkit.fluxcd.io/v1',
  GitRepository: 'source.toolkit.fluxcd.io/v1',
};
const PLURALS = {
  ImageRepository: 'imagerepositories',
  GitRepository: 'gitrepositories',
};
const REPORTING_CONTROLLERS = {
  ImageRepository: 'image-reflector-controller',
  GitRepository: 'source-controller',
};

const nsOf = (id: string) => `n-${id}`;
const ALL_IDS = [...ALERT_SCENARIOS, ...RECEIVER_SCENARIOS].map(s => s.id);

type Outcome = Record<string, unknown>;

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A stand-in for the services Providers send to (Slack's Web API, a Teams workflow, Discord and
 * Google Chat webhooks, a generic webhook), on 127.0.0.1: records each request; answers 400 with a
 * body on paths containing `/reject`, else 200 `{"ok":true}` (what Slack answers).
 */
async function startStandIn() {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (req.url!.includes('/reject')) {
        res
          .writeHead(400, { 'Content-Type': 'text/plain' })
          .end('invalid_payload: rejected by the stand-in');
      } else {
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end('{"ok":true}');
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type StandIn = Awaited<ReturnType<typeof startStandIn>>;

/** The objects of the corpus, the same on both sides but for the stand-in's host. */
function manifests(standInHost: string, closedHost: string): any[] {
  const objects: any[] = [];
  for (const id of ALL_IDS) {
    const namespace = nsOf(id);
    // The objects events come from and Receivers reconcile (suspended: nothing else happens to them).
    for (const [name, team] of [
      ['app', 'a'],
      ['other', 'b'],
    ]) {
      objects.push({
        apiVersion: API_VERSIONS.ImageRepository,
        kind: 'ImageRepository',
        metadata: { name, namespace, labels: { team } },
        spec: {
          image: `registry.example.com/corpus/${name}`,
          interval: '1h',
          suspend: true,
        },
      });
    }
    objects.push({
      apiVersion: API_VERSIONS.GitRepository,
      kind: 'GitRepository',
      metadata: { name: 'repo', namespace },
      spec: {
        url: 'https://git.example.com/fleet/apps.git',
        interval: '1h',
        ref: { branch: 'main' },
        suspend: true,
      },
    });
  }
  for (const s of ALERT_SCENARIOS) {
    const namespace = nsOf(s.id);
    const p = s.provider;
    const address =
      p.address === 'closed'
        ? `http://${closedHost}/${namespace}/hook`
        : `http://${standInHost}/${namespace}/${
            'standIn' in p.address
              ? p.address.standIn
              : p.address.standInRejecting
          }`;
    objects.push(
      {
        apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
        kind: 'Provider',
        metadata: { name: 'provider', namespace },
        spec: {
          type: p.type,
          address,
          ...(p.channel ? { channel: p.channel } : {}),
          ...(p.username ? { username: p.username } : {}),
          ...(p.timeout ? { timeout: p.timeout } : {}),
          ...(p.suspend ? { suspend: true } : {}),
          ...(p.secret ? { secretRef: { name: p.secret } } : {}),
        },
      },
      {
        apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
        kind: 'Alert',
        metadata: { name: 'alert', namespace },
        spec: { providerRef: { name: 'provider' }, ...s.alert },
      },
    );
  }
  for (const s of RECEIVER_SCENARIOS) {
    objects.push({
      apiVersion: 'notification.toolkit.fluxcd.io/v1',
      kind: 'Receiver',
      metadata: { name: 'receiver', namespace: nsOf(s.id) },
      spec: { secretRef: { name: 'receiver-token' }, ...s.receiver },
    });
  }
  return objects;
}

/** JSON with object keys sorted, so that key order does not count as a difference. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map(k => [k, v[k]]),
        )
      : v,
  );
}

/** A sent body, less the excluded fields (EXCLUDED_FIELDS), the Go-map-ordered arrays sorted. */
function normalizedBody(text: string): unknown {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return { unparsable: text };
  }
  const strip = (event: any) => {
    if (!event || typeof event !== 'object') return;
    delete event.timestamp;
    delete event.reportingInstance;
    if (event.involvedObject) {
      delete event.involvedObject.uid;
      delete event.involvedObject.resourceVersion;
    }
  };
  strip(body);
  strip(body?.client_payload);
  const sortArrays = (value: any): any => {
    if (Array.isArray(value)) return value.map(sortArrays);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          SORTED_ARRAYS.includes(k) && Array.isArray(v)
            ? sortArrays(v).sort((a: unknown, b: unknown) =>
                canonical(a).localeCompare(canonical(b)),
              )
            : sortArrays(v),
        ]),
      );
    }
    return value;
  };
  return sortArrays(body);
}

/** The requests a stand-in received for one namespace, comparable across sides. */
function requestsOf(standIn: StandIn, namespace: string): unknown[] {
  return standIn.received
    .filter(r => r.path.startsWith(`/${namespace}/`))
    .map(r => {
      const signature = r.headers['x-signature'] as string | undefined;
      const expected = `sha256=${createHmac('sha256', HMAC_KEY)
        .update(r.body)
        .digest('hex')}`;
      return {
        method: 'POST',
        path: r.path,
        headers: {
          'content-type': r.headers['content-type'],
          'gotk-component': r.headers['gotk-component'],
          authorization: r.headers.authorization,
          // The signature covers the body, timestamp included: whether it verifies is compared.
          'x-signature':
            signature === undefined
              ? undefined
              : signature === expected
              ? 'sha256=<valid HMAC of the body>'
              : `invalid: ${signature}`,
        },
        body: normalizedBody(r.body),
      };
    })
    .sort((a, b) => canonical(a).localeCompare(canonical(b)));
}

function conditionsOf(object: any): unknown {
  return ((object?.status?.conditions ?? []) as Array<Record<string, unknown>>)
    .map(c => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
    }))
    .sort((a, b) => String(a.type).localeCompare(String(b.type)));
}

const eventLine = (e: { type: string; reason: string; message: string }) =>
  `${e.type} ${e.reason}: ${e.message}`;
const distinct = (lines: string[]) => [...new Set(lines)].sort();

function differences(
  flux: Outcome,
  ours: Outcome,
): Record<string, [unknown, unknown]> {
  const diff: Record<string, [unknown, unknown]> = {};
  for (const key of new Set([...Object.keys(flux), ...Object.keys(ours)])) {
    if (canonical(flux[key]) !== canonical(ours[key]))
      diff[key] = [flux[key], ours[key]];
  }
  return diff;
}

const digestOf = (token: string, name: string, namespace: string) =>
  createHash('sha256')
    .update(token + name + namespace)
    .digest('hex');

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Polls `snapshot` until it is the same for `quietMs` (and `minMs` passed); returns it. */
async function untilQuiet<T>(
  what: string,
  snapshot: () => Promise<T>,
  options: { quietMs: number; minMs?: number; timeoutMs: number },
): Promise<T> {
  const started = Date.now();
  let previous = '';
  let since = Date.now();
  for (;;) {
    const current = await snapshot();
    const text = JSON.stringify(current);
    if (text !== previous) {
      previous = text;
      since = Date.now();
    } else if (
      Date.now() - since >= options.quietMs &&
      Date.now() - started >= (options.minMs ?? 0)
    ) {
      return current;
    }
    if (Date.now() - started > options.timeoutMs)
      throw new Error(`${what}: still changing after ${options.timeoutMs} ms`);
    await sleep(250);
  }
}

/** The headers of a Receiver call, signed as it says. */
function callHeaders(call: ReceiverScenario['calls'][number]) {
  const key = call.wrongKey ? WRONG_KEY : RECEIVER_TOKEN;
  const signature = `sha256=${createHmac('sha256', key)
    .update(call.body)
    .digest('hex')}`;
  return {
    'Content-Type': 'application/json',
    ...(call.headers ?? {}),
    ...(call.sign === 'x-signature' ? { 'X-Signature': signature } : {}),
    ...(call.sign === 'github' ? { 'X-Hub-Signature-256': signature } : {}),
  };
}

describe(`the Provider, Alert and Receiver corpus through ${NC} and through our backend`, () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  let kube: TestKubernetes;
  let controller: NotificationController | undefined;
  let fluxStandIn: StandIn | undefined;
  let ourStandIn: StandIn | undefined;
  let backend: Awaited<ReturnType<typeof startTestBackend>> | undefined;
  let dispatcher: AlertDispatcher | undefined;
  let dir: string | undefined;
  let knex: Knex;
  const flux = new Map<string, Outcome>();
  const ours = new Map<string, Outcome>();
  const fluxObjects: Record<string, any[]> = {};
  const ourObjects: Record<string, any[]> = {};
  const eventAnswers = new Map<string, number[]>();
  const verdicts = new Map<string, Verdict>();
  const timings: Record<string, number> = {};
  const hosts: Record<string, string> = {};

  beforeAll(async () => {
    let t = Date.now();
    [kube, fluxStandIn, ourStandIn] = await Promise.all([
      startKubernetes(),
      startStandIn(),
      startStandIn(),
    ]);
    hosts.closed = `127.0.0.1:${await freePort()}`;
    hosts['flux-standin'] = fluxStandIn.host;
    hosts['our-standin'] = ourStandIn.host;
    controller = await startNotificationController(kube);
    timings.startMs = Date.now() - t;

    // Flux: namespaces, the Secrets (the same three in each), the objects, in one server-side apply.
    t = Date.now();
    const items: any[] = ALL_IDS.map(id => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: nsOf(id) },
    }));
    for (const id of ALL_IDS) {
      for (const [name, token] of Object.entries(TOKENS)) {
        items.push({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: nsOf(id) },
          stringData: { token },
        });
      }
    }
    items.push(...manifests(fluxStandIn.host, hosts.closed));
    await kube.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    );

    // Ours: the same objects declared for one entity by an imageAutomation.locations file, the
    // tokens as named credentials; the real plugin in a real backend on SQLite.
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'notification-corpus-'));
    await fsp.writeFile(
      path.join(dir, 'corpus.yaml'),
      manifests(ourStandIn.host, hosts.closed)
        .map(o => JSON.stringify(o))
        .join('\n---\n'),
    );
    const imageAutomation = {
      fileRoots: [dir],
      locations: [{ target: path.join(dir, 'corpus.yaml'), entityRef: ENTITY }],
      tenancy: {
        namespaces: [{ entity: ENTITY, namespaces: ALL_IDS.map(nsOf) }],
      },
      credentials: {
        'slack-token': {
          type: 'token',
          token: SLACK_TOKEN,
          allowedEntities: [ENTITY],
          hosts: ['127.0.0.1'],
        },
        'hmac-key': {
          type: 'token',
          token: HMAC_KEY,
          allowedEntities: [ENTITY],
          hosts: ['127.0.0.1'],
        },
        'receiver-token': {
          type: 'token',
          token: RECEIVER_TOKEN,
          allowedEntities: [ENTITY],
        },
      },
      notifications: {
        allowedHosts: ['127.0.0.1'],
        insecureHosts: ['127.0.0.1'],
        // Retries as Flux's (2 s doubling, 5 attempts) but shorter, so the closed port gives up fast.
        retryMinSeconds: 0.2,
        retryMaxSeconds: 1,
      },
      receivers: { coalesceMilliseconds: 50 },
    };
    const tasks = new Map<string, () => Promise<void>>();
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
        mockServices.rootConfig.factory({ data: { imageAutomation } }),
      ],
    });
    const objects = await DatabaseObjectStore.create({
      knex,
      skipMigrations: true,
    });
    const stored = await DatabaseEventStore.create({
      knex,
      skipMigrations: true,
    });
    const config = new ConfigReader({ imageAutomation });
    // As plugin.ts wires it: the event store the engine records through offers every event to the
    // AlertDispatcher (this one on the backend's database, so it sees the objects the backend
    // reconciled; the backend's own dispatcher gets no event of the corpus's objects).
    dispatcher = new AlertDispatcher({
      objects,
      events: stored,
      credentials: NamedCredentials.fromConfig(config),
      settings: readNotificationSettings(config),
      logger: { warn: () => {}, debug: () => {} },
    });
    const events = alertingEventStore(stored, dispatcher);
    await tasks.get('image-automation-sync-manifests')!();
    await tasks.get('image-automation-reconcile')!();
    // The hook index re-reads the receivers soon after they were reconciled.
    await sleep(500);

    // Flux: the Receivers reconciled (suspended ones only get their finalizer).
    await untilQuiet(
      `${NC} receivers`,
      async () => {
        const receivers = await kubeList(
          kube,
          '/apis/notification.toolkit.fluxcd.io/v1/receivers',
        );
        const done = receivers.every(r =>
          r.spec.suspend
            ? r.metadata.finalizers?.length
            : r.status?.conditions?.some(
                (c: any) => c.type === 'Ready' && c.status !== 'Unknown',
              ),
        );
        return done && receivers.length === RECEIVER_SCENARIOS.length
          ? receivers.map(r => [r.metadata.namespace, r.status])
          : Date.now();
      },
      { quietMs: 2_000, timeoutMs: 60_000 },
    );
    timings.declareMs = Date.now() - t;

    // The events: to Flux's event server as a controller's event recorder posts them (with the
    // object's UID and resourceVersion, metadata keys prefixed with its API group), and to ours
    // through the event store.
    t = Date.now();
    const post = async (s: AlertScenario, e: CorpusEvent) => {
      const namespace = nsOf(s.id);
      const apiVersion = API_VERSIONS[e.kind];
      const group = apiVersion.split('/')[0];
      const object = await kubeGet(
        kube,
        `/apis/${apiVersion}/namespaces/${namespace}/${PLURALS[e.kind]}/${
          e.name
        }`,
      );
      const body = JSON.stringify({
        involvedObject: {
          kind: e.kind,
          namespace,
          name: e.name,
          uid: object.metadata.uid,
          apiVersion,
          resourceVersion: object.metadata.resourceVersion,
        },
        severity: e.type === 'Warning' ? 'error' : 'info',
        timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        message: e.message,
        reason: e.reason,
        ...(e.metadata
          ? {
              metadata: Object.fromEntries(
                Object.entries(e.metadata).map(([k, v]) => [
                  `${group}/${k}`,
                  v,
                ]),
              ),
            }
          : {}),
        reportingController: REPORTING_CONTROLLERS[e.kind],
        reportingInstance: 'corpus-controller-7f9c',
      });
      const answer = await httpRequest(controller!.eventsUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      eventAnswers.set(s.id, [
        ...(eventAnswers.get(s.id) ?? []),
        answer.status,
      ]);
      await events.record({
        objectId: `${e.kind}/${namespace}/${e.name}`,
        time: new Date().toISOString(),
        type: e.type,
        reason: e.reason,
        message: e.message,
        ...(e.metadata ? { metadata: e.metadata } : {}),
      });
    };
    for (const s of ALERT_SCENARIOS) {
      for (const e of s.events) {
        for (let i = 0; i < (e.times ?? 1); i++) await post(s, e);
      }
    }
    await dispatcher.idle();
    const fluxEvents = async () =>
      (await kubeList(kube, '/api/v1/events')).filter(
        e => e.involvedObject?.kind === 'Alert',
      );
    await untilQuiet(
      `${NC} deliveries`,
      async () => [
        fluxStandIn!.received.length,
        (await fluxEvents()).map(e => [e.metadata.name, e.count]),
      ],
      // The closed port's Provider gives up after its 5 s timeout.
      { quietMs: 3_000, minMs: 7_000, timeoutMs: 60_000 },
    );
    timings.alertsMs = Date.now() - t;

    const kubeEvents = await fluxEvents();
    for (const s of ALERT_SCENARIOS) {
      const namespace = nsOf(s.id);
      flux.set(s.id, {
        requests: requestsOf(fluxStandIn, namespace),
        'alert.events': distinct(
          kubeEvents
            .filter(
              e =>
                e.involvedObject.namespace === namespace &&
                e.involvedObject.name === 'alert',
            )
            .map(eventLine),
        ),
      });
      ours.set(s.id, {
        requests: requestsOf(ourStandIn, namespace),
        'alert.events': distinct(
          (await stored.list(`Alert/${namespace}/alert`, { limit: 100 })).items
            .filter(e => e.type === 'Warning')
            .map(eventLine),
        ),
      });
    }

    // The Receivers: each call to both, at the path each side's status gives (or, without one, the
    // path the token would give).
    t = Date.now();
    const fluxReceiver = (namespace: string) =>
      kubeGet(
        kube,
        `/apis/notification.toolkit.fluxcd.io/v1/namespaces/${namespace}/receivers/receiver`,
      );
    for (const s of RECEIVER_SCENARIOS) {
      const namespace = nsOf(s.id);
      const fallback = `/hook/${digestOf(
        RECEIVER_TOKEN,
        'receiver',
        namespace,
      )}`;
      const fluxPath =
        (await fluxReceiver(namespace))?.status?.webhookPath || fallback;
      const ourPath =
        (await objects.get(`Receiver/${namespace}/receiver`))?.status
          ?.webhookPath || fallback;
      const fluxAnswers: number[] = [];
      const ourAnswers: number[] = [];
      for (const call of s.calls) {
        const headers = callHeaders(call);
        fluxAnswers.push(
          (
            await httpRequest(`${controller.receiverUrl}${fluxPath}`, {
              method: 'POST',
              headers,
              body: call.body,
            })
          ).status,
        );
        ourAnswers.push(
          (
            await request(backend.server)
              .post(`/api/image-automation${ourPath}`)
              .set(headers)
              .send(call.body)
          ).status,
        );
      }
      flux.set(s.id, { answers: fluxAnswers });
      ours.set(s.id, { answers: ourAnswers });
    }
    // Ours acts once a receiver's burst is over (coalesceMilliseconds 50); Flux before answering.
    const targets = (namespace: string) =>
      (
        [
          ['ImageRepository', 'app'],
          ['ImageRepository', 'other'],
          ['GitRepository', 'repo'],
        ] as const
      ).map(([kind, name]) => ({ kind, name, namespace }));
    const ourRequested = async () =>
      Promise.all(
        RECEIVER_SCENARIOS.map(async s => {
          const requested: string[] = [];
          for (const o of targets(nsOf(s.id))) {
            const object = await objects.get(
              `${o.kind}/${o.namespace}/${o.name}`,
            );
            if (object?.reconcileRequestedAt)
              requested.push(
                `${o.kind}/${o.name} by ${object.reconcileRequestedBy}`,
              );
          }
          return requested;
        }),
      );
    const ourRequests = await untilQuiet('our receivers', ourRequested, {
      quietMs: 1_000,
      timeoutMs: 30_000,
    });
    for (const [i, s] of RECEIVER_SCENARIOS.entries()) {
      const namespace = nsOf(s.id);
      const fluxRequested: string[] = [];
      for (const o of targets(namespace)) {
        const object = await kubeGet(
          kube,
          `/apis/${API_VERSIONS[o.kind]}/namespaces/${o.namespace}/${
            PLURALS[o.kind]
          }/${o.name}`,
        );
        if (object?.metadata?.annotations?.[REQUESTED_AT])
          fluxRequested.push(`${o.kind}/${o.name}`);
      }
      const fluxStatus = (await fluxReceiver(namespace))?.status;
      const ourObject = await objects.get(`Receiver/${namespace}/receiver`);
      fluxObjects[s.id] = [fluxStatus];
      ourObjects[s.id] = [ourObject?.status];
      flux.set(s.id, {
        ...flux.get(s.id),
        'receiver.conditions': conditionsOf({ status: fluxStatus }),
        'receiver.webhookPath': fluxStatus?.webhookPath,
        requested: fluxRequested,
      });
      ours.set(s.id, {
        ...ours.get(s.id),
        'receiver.conditions': conditionsOf(ourObject),
        'receiver.webhookPath': ourObject?.status?.webhookPath,
        // Who asked is recorded here; in Flux it is the annotation alone.
        requested: ourRequests[i].map(line =>
          line.replace(` by Receiver/${namespace}/receiver`, ''),
        ),
      });
    }
    timings.receiversMs = Date.now() - t;

    // The Providers' and Alerts' statuses of both sides (compared as a whole below).
    for (const s of ALERT_SCENARIOS) {
      const namespace = nsOf(s.id);
      fluxObjects[s.id] = await Promise.all(
        ['providers/provider', 'alerts/alert'].map(p =>
          kubeGet(
            kube,
            `/apis/notification.toolkit.fluxcd.io/v1beta3/namespaces/${namespace}/${p}`,
          ),
        ),
      );
      ourObjects[s.id] = await Promise.all(
        ['Provider/provider', 'Alert/alert'].map(async p => {
          const [kind, name] = p.split('/');
          return objects.get(`${kind}/${namespace}/${name}`);
        }),
      );
    }
  });

  afterAll(async () => {
    dispatcher?.close();
    await backend?.stop();
    await controller?.stop();
    await Promise.all([kube?.stop(), fluxStandIn?.stop(), ourStandIn?.stop()]);
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    console.log(
      summaryLine(
        NC,
        ALL_IDS.length,
        verdicts.values(),
        `start ${timings.startMs} ms, declare ${timings.declareMs} ms, alerts ${timings.alertsMs} ms, receivers ${timings.receiversMs} ms`,
      ),
    );
  });

  const differencesDoc = fs.readFileSync(
    path.resolve(__dirname, '../../../docs/differences.md'),
    'utf8',
  );

  const withHosts = (value: unknown): unknown => {
    if (typeof value === 'string')
      return value.replace(
        /\{(flux-standin|our-standin|closed)\}/g,
        (_m, kind) => hosts[kind],
      );
    if (Array.isArray(value)) return value.map(withHosts);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, withHosts(v)]),
      );
    }
    return value;
  };

  const compare = (id: string, difference?: DocumentedDifference) => {
    verdicts.set(id, 'failed');
    const found = differences(flux.get(id)!, ours.get(id)!);
    recordScenario({
      id,
      flux: flux.get(id),
      ours: ours.get(id),
      found,
      fluxObjects: fluxObjects[id],
      ourObjects: ourObjects[id],
    });
    expect(found).toEqual(withHosts(difference?.fields ?? {}));
    if (difference) {
      expect(differencesDoc).toContain(`\`${id}\``);
      verdicts.set(id, 'documented');
    } else {
      verdicts.set(id, 'identical');
    }
  };

  it.each(ALERT_SCENARIOS.map(s => [s.id, s] as const))(
    `alert scenario %s against ${NC}`,
    (id, scenario) => {
      compare(id, scenario.difference);
    },
  );

  it.each(RECEIVER_SCENARIOS.map(s => [s.id, s] as const))(
    `receiver scenario %s against ${NC}`,
    (id, scenario) => {
      compare(id, scenario.difference);
    },
  );

  it('sends something in most scenarios: the comparison is not of empty outcomes', () => {
    const sent = ALERT_SCENARIOS.filter(
      s => (flux.get(s.id)!.requests as unknown[]).length > 0,
    );
    expect(sent.length).toBeGreaterThanOrEqual(12);
    // Flux's event server drops the repeated event (429) within its rate-limit interval.
    expect(eventAnswers.get('duplicate-event')).toEqual([202, 429, 202]);
    const reconciled = RECEIVER_SCENARIOS.filter(
      s => (flux.get(s.id)!.requested as unknown[]).length > 0,
    );
    expect(reconciled.length).toBeGreaterThanOrEqual(4);
  });

  it('derives the webhook path as Flux does: /hook/ + hex SHA-256 of token, name and namespace', () => {
    const ready = RECEIVER_SCENARIOS.filter(
      s => flux.get(s.id)!['receiver.webhookPath'],
    );
    expect(ready.length).toBeGreaterThanOrEqual(6);
    for (const s of ready) {
      expect(flux.get(s.id)!['receiver.webhookPath']).toBe(
        `/hook/${digestOf(RECEIVER_TOKEN, 'receiver', nsOf(s.id))}`,
      );
    }
  });

  it('Flux v1beta3 Providers and Alerts have no status; ours have Ready conditions (documented)', () => {
    for (const s of ALERT_SCENARIOS) {
      const [fluxProvider, fluxAlert] = fluxObjects[s.id];
      expect(fluxProvider.status).toBeUndefined();
      expect(fluxAlert.status).toBeUndefined();
      for (const object of ourObjects[s.id]) {
        // A suspended object keeps the status it had: none, declared suspended.
        const suspended = !!object.manifest.spec.suspend;
        expect(
          (object.status.conditions ?? []).map((c: any) => c.type),
        ).toEqual(suspended ? [] : expect.arrayContaining(['Ready']));
      }
    }
    expect(differencesDoc).toContain(
      'v1beta3 Providers and Alerts have no status',
    );
  });
});
