import http from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(180_000);

// Issue #15: the Gitless guide's Slack Provider and Alert, in Flux's YAML, in a real backend. A
// real scan of the test bed's registry produces the event; a local server standing in for the
// Slack Web API (chat.postMessage) receives it. Also: a failing Slack (500) is retried, then
// recorded as a Warning on the Provider while scans go on; an entity's Alert never sees another
// entity's events; a host outside the allow-list is refused with a condition.

const user = mockCredentials.user.header();
const TOKEN = 'xoxb-integration-bot-token-0042';

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./shop.yaml
spec: { type: service, lifecycle: production, owner: group:default/team-b }
`;

// As the Flux Operator's Gitless guide writes them (plus the ImageRepository the event comes from).
function podinfo(registryHost: string, slackUrl: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: apps }
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: 1m
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: slack-bot
  namespace: apps
spec:
  type: slack
  channel: general
  address: ${slackUrl}/api/chat.postMessage
  secretRef:
    name: slack-bot-token
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: slack
  namespace: apps
spec:
  providerRef:
    name: slack-bot
  eventMetadata:
    cluster: staging-1
    region: eu-west-1
  eventSeverity: info
  eventSources:
    - kind: ResourceSet
      name: '*'
    - kind: ImageRepository
      name: '*'
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: elsewhere, namespace: apps }
spec:
  type: generic
  address: https://collector.example.net/flux
`;
}

// Another team's Alert that asks for every ImageRepository event in podinfo's namespace.
function shop(registryHost: string, slackUrl: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: shop, namespace: shop }
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: 1m
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: spy, namespace: shop }
spec:
  type: generic
  address: ${slackUrl}/spy
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: spy, namespace: shop }
spec:
  providerRef: { name: spy }
  eventSources:
    - { kind: ImageRepository, name: '*', namespace: apps }
`;
}

interface Received {
  path: string;
  authorization?: string;
  body: any;
}

/** A stand-in for Slack's Web API on 127.0.0.1: answers `{"ok":true}`, or what the test says. */
async function startSlackStandIn() {
  const received: Received[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url!,
        authorization: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString()),
      });
      res
        .writeHead(status, { 'Content-Type': 'application/json' })
        .end(
          status === 200 ? '{"ok":true}' : '{"ok":false,"error":"fatal_error"}',
        );
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    fail(code: number) {
      status = code;
    },
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('Flux Provider and Alert (issue #15)', () => {
  let registry: TestRegistry;
  let slack: Awaited<ReturnType<typeof startSlackStandIn>>;
  beforeAll(async () => {
    [registry, slack] = await Promise.all([
      startRegistry(),
      startSlackStandIn(),
    ]);
    await pushImage(registry, 'stefanprodan/podinfo', ['6.6.0', '6.7.0']);
  });
  afterAll(async () => {
    await slack?.stop();
    await registry?.stop();
  });

  it('a scan’s event reaches the Slack stand-in; failures are retried and recorded; tenancy holds', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfo(registry.host, slack.url),
        'shop.yaml': shop(registry.host, slack.url),
      },
      config: {
        notifications: {
          allowedHosts: ['127.0.0.1'],
          insecureHosts: ['127.0.0.1'],
          attempts: 3,
          retryMinSeconds: 0.05,
          retryMaxSeconds: 0.2,
        },
        credentials: {
          'slack-bot-token': {
            type: 'token',
            token: TOKEN,
            allowedEntities: ['component:default/podinfo'],
            hosts: ['127.0.0.1'],
          },
        },
      },
    });
    const api = (path: string) =>
      request(backend.server)
        .get(`/api/image-automation${path}`)
        .set('Authorization', user);
    try {
      // The catalog reads its locations in the background: sync until both entities' Alerts are there and Ready
      // (the shop entity's Alert must be live before the scans, or "it received nothing" would prove nothing).
      const ready = (body: any) =>
        body.status?.conditions?.some(
          (c: any) => c.type === 'Ready' && c.status === 'True',
        );
      await eventually(async () => {
        await backend.sync();
        await backend.reconcile();
        return ready((await api('/objects/Alert/apps/slack')).body) &&
          ready((await api('/objects/Alert/shop/spy')).body)
          ? true
          : undefined;
      });
      // A new tag: the next scan's event goes to Slack.
      await pushImage(registry, 'stefanprodan/podinfo', ['6.7.1'], {
        seed: '6.7.1',
      });
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ImageRepository/apps/podinfo/reconcile',
        )
        .set('Authorization', user)
        .expect(200);
      const scanEvent = await eventually(async () => {
        await backend.reconcile();
        return slack.received.find(
          r =>
            r.path === '/api/chat.postMessage' &&
            /successful scan: found 3 tags/.test(r.body.attachments[0].text),
        );
      });
      expect(scanEvent.authorization).toBe(`Bearer ${TOKEN}`);
      expect(scanEvent.body).toMatchObject({
        channel: 'general',
        username: 'image-reflector-controller',
        attachments: [
          {
            color: 'good',
            author_name: 'imagerepository/podinfo.apps',
            fields: [
              { title: 'cluster', value: 'staging-1', short: false },
              { title: 'region', value: 'eu-west-1', short: false },
            ],
          },
        ],
      });
      const provider = (await api('/objects/Provider/apps/slack-bot')).body;
      expect(provider.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
      const alert = (await api('/objects/Alert/apps/slack')).body;
      expect(alert.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Ready',
          status: 'True',
          message: 'Initialized',
        }),
      );

      // Outside the allow-list: refused with a condition naming the host, nothing sent.
      const refused = (await api('/objects/Provider/apps/elsewhere')).body;
      expect(refused.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Stalled',
          status: 'True',
          reason: 'HostNotAllowed',
          message: expect.stringContaining("'collector.example.net'"),
        }),
      );

      // Slack fails: retried (3 attempts), then a Warning on the Provider; the engine goes on.
      const before = slack.received.length;
      slack.fail(500);
      await pushImage(registry, 'stefanprodan/podinfo', ['6.8.0'], {
        seed: '6.8.0',
      });
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ImageRepository/apps/podinfo/reconcile',
        )
        .set('Authorization', user)
        .expect(200);
      const warning = await eventually(async () => {
        await backend.reconcile();
        const events = (await api('/objects/Provider/apps/slack-bot/events'))
          .body.items as Array<{
          type: string;
          reason: string;
          message: string;
        }>;
        return events.find(e => e.reason === 'NotificationDispatchFailed');
      });
      expect(warning.type).toBe('Warning');
      expect(warning.message).toMatch(
        /^failed to send notification for ImageRepository\/apps\/podinfo: postMessage failed: request failed with status code 500, \{"ok":false,"error":"fatal_error"\} \(giving up after 3 attempts\)$/,
      );
      expect(slack.received.length - before).toBe(3);
      const repository = (await api('/objects/ImageRepository/apps/podinfo'))
        .body;
      expect(repository.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Ready',
          status: 'True',
          message: expect.stringContaining('found 4 tags'),
        }),
      );
      const failed = await eventually(async () => {
        await backend.reconcile();
        const body = (await api('/objects/Provider/apps/slack-bot')).body;
        return body.status.lastDelivery?.result === 'Failed' ? body : undefined;
      });
      expect(JSON.stringify(failed)).not.toContain(TOKEN);

      // The shop entity's Alert on podinfo's namespace received nothing.
      expect(slack.received.filter(r => r.path === '/spy')).toEqual([]);
      expect(
        (await api('/objects/Alert/shop/spy')).body.status.conditions,
      ).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
    } finally {
      await backend.stop();
    }
  });
});
