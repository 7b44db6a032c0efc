import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import { eventually, startBackend } from './backendHarness';

/*
 * Receivers (issue #15) end to end: the test bed's CNCF distribution registry sends its
 * notifications to the backend's hook URL (notifications.endpoints with an Authorization header),
 * so a push of a new tag is scanned and selected within seconds although the ImageRepository's
 * interval is 1h and nothing polls. The receiver of entity `podinfo` also lists entity `shop`'s
 * ImageRepository, by name and by labels: it is never scanned because of it.
 */

jest.setTimeout(120_000);

const user = mockCredentials.user.header();
const TOKEN = 'registry-webhook-token-5f1c9a';
const DIGEST = createHash('sha256')
  .update(`${TOKEN}registryflux-system`)
  .digest('hex');

const entity = (name: string) => `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  annotations:
    image-automation.io/manifests: ./${name}.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

const podinfoManifests = (host: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ${host}/team/podinfo
  interval: 1h
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy:
    semver: { range: 6.x }
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: { name: registry, namespace: flux-system }
spec:
  type: distribution
  secretRef: { name: registry-hook }
  resources:
    - { kind: ImageRepository, name: podinfo }
    - { kind: ImageRepository, name: images, namespace: shop }
    - { kind: ImageRepository, name: "*", namespace: shop, matchLabels: { app: shop } }
`;

const shopManifests = (host: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: images, namespace: shop, labels: { app: shop } }
spec:
  image: ${host}/team/podinfo
  interval: 1h
`;

describe('Receivers: the distribution registry notifies the backend', () => {
  let registry: TestRegistry | undefined;
  afterAll(async () => {
    await registry?.stop();
  });

  it('scans and selects a pushed tag within seconds, only for the receiver’s own entity', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': [entity('podinfo'), entity('shop')].join('---\n'),
        'podinfo.yaml': '',
        'shop.yaml': '',
      },
      config: {
        credentials: {
          'registry-hook': {
            type: 'token',
            token: TOKEN,
            allowedEntities: ['component:default/podinfo'],
          },
        },
        receivers: { coalesceMilliseconds: 300 },
      },
      runTriggeredTasks: true,
    });
    try {
      const port = (backend.server.address() as net.AddressInfo).port;
      registry = await startRegistry({
        notifications: {
          url: `http://127.0.0.1:${port}/api/image-automation/hook/${DIGEST}`,
          headers: { Authorization: [`Bearer ${TOKEN}`] },
        },
      });
      await pushImage(registry, 'team/podinfo', ['6.0.0']);
      await fs.writeFile(
        path.join(backend.dir, 'podinfo.yaml'),
        podinfoManifests(registry.host),
      );
      await fs.writeFile(
        path.join(backend.dir, 'shop.yaml'),
        shopManifests(registry.host),
      );

      const object = async (kind: string, namespace: string, name: string) => {
        const res = await request(backend.server)
          .get(`/api/image-automation/objects/${kind}/${namespace}/${name}`)
          .set('Authorization', user);
        return res.status === 200 ? res.body : undefined;
      };
      const scans = async (namespace: string, name: string) =>
        (
          await request(backend.server)
            .get(
              `/api/image-automation/objects/ImageRepository/${namespace}/${name}/scans`,
            )
            .set('Authorization', user)
        ).body.items as any[];
      await eventually(async () => {
        await backend.sync();
        return (await object('Receiver', 'flux-system', 'registry')) &&
          (await object('ImageRepository', 'shop', 'images'))
          ? true
          : undefined;
      });
      // Triggered tasks run beside this pass and may hold the Receiver's lease: reconcile until it
      // has been reconciled by one of them.
      const receiver = await eventually(async () => {
        await backend.reconcile();
        const body = await object('Receiver', 'flux-system', 'registry');
        return body?.status?.conditions?.length ? body : undefined;
      });
      expect(receiver.status.webhookPath).toBe(`/hook/${DIGEST}`);
      expect(receiver.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Ready',
          status: 'True',
          message: `Receiver initialized for path: /hook/${DIGEST}`,
        }),
      );
      await eventually(async () =>
        (
          await object('ImagePolicy', 'flux-system', 'podinfo')
        )?.status.latestRef?.tag === '6.0.0'
          ? true
          : undefined,
      );
      // Let the registry deliver what it queued before the receiver existed, and the scans it asks for finish.
      await new Promise(resolve => setTimeout(resolve, 3000));
      const shopScansBefore = (await scans('shop', 'images')).length;
      const podinfoScansBefore = (await scans('flux-system', 'podinfo')).length;
      expect(shopScansBefore).toBe(1);

      // A new tag: the registry notifies, the backend scans and selects it. No test-driven reconcile.
      const pushed = Date.now();
      await pushImage(registry, 'team/podinfo', ['6.1.0'], {
        seed: 'second build',
      });
      const policy = await eventually(async () => {
        const p = await object('ImagePolicy', 'flux-system', 'podinfo');
        return p?.status.latestRef?.tag === '6.1.0' ? p : undefined;
      }, 15_000);
      expect(Date.now() - pushed).toBeLessThan(15_000);
      expect(policy.status.observedPreviousRef.tag).toBe('6.0.0');
      // The push's notifications (blobs, manifest, tag) were coalesced into one scan.
      await new Promise(resolve => setTimeout(resolve, 1500));
      const podinfoScans = await scans('flux-system', 'podinfo');
      expect(podinfoScans.length).toBe(podinfoScansBefore + 1);
      expect(podinfoScans[0]).toMatchObject({
        outcome: 'success',
        tagsAdded: ['6.1.0'],
      });
      const repository = await object(
        'ImageRepository',
        'flux-system',
        'podinfo',
      );
      expect(repository.reconcileRequestedBy).toBe(
        'Receiver/flux-system/registry',
      );

      // Entity shop's repository, listed by entity podinfo's receiver by name and by labels: untouched.
      expect((await scans('shop', 'images')).length).toBe(shopScansBefore);
      expect(
        (await object('ImageRepository', 'shop', 'images'))
          .reconcileRequestedAt,
      ).toBeUndefined();
      const events = (
        await request(backend.server)
          .get(
            '/api/image-automation/objects/Receiver/flux-system/registry/events',
          )
          .set('Authorization', user)
      ).body.items as any[];
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'ResourceNotFound',
          message:
            'ImageRepository/shop/images is not declared by component:default/podinfo',
        }),
      );
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'ResourceNotFound',
          message:
            'no ImageRepository in namespace shop declared by component:default/podinfo matches labels {"app":"shop"}',
        }),
      );
      expect(JSON.stringify(events)).not.toContain(TOKEN);

      // A stranger's call (no token) is answered as an unknown receiver.
      const stranger = await request(backend.server)
        .post(`/api/image-automation/hook/${DIGEST}`)
        .set(
          'Content-Type',
          'application/vnd.docker.distribution.events.v1+json',
        )
        .send('{"events":[]}');
      const unknown = await request(backend.server)
        .post(`/api/image-automation/hook/${'0'.repeat(64)}`)
        .send('{}');
      expect([stranger.status, stranger.text]).toEqual([404, '']);
      expect([unknown.status, unknown.text]).toEqual([404, '']);
    } finally {
      await backend.stop();
    }
  });
});
