import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import notificationsPlugin from '@backstage/plugin-notifications-backend';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../../testbed';
import { eventually, startBackend } from './backendHarness';

jest.setTimeout(180_000);

// alice is a member of team-a, which owns podinfo and loud; quiet (also team-a's) opted out.
const alice = mockCredentials.user.header('user:default/alice');

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
  name: loud
  annotations:
    image-automation.io/manifests: ./loud.yaml
spec: { type: service, lifecycle: production, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: quiet
  annotations:
    image-automation.io/manifests: ./quiet.yaml
    image-automation.io/notifications: disabled
spec: { type: service, lifecycle: production, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: alice }
spec: { memberOf: [team-a] }
`;

function podinfo(registryHost: string, gitUrl: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: 1m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy: { semver: { range: '>= 1.0.0 <2.0.0' } }
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: flux-system, namespace: flux-system }
spec:
  interval: 1m
  url: ${gitUrl}
  ref: { branch: main }
  secretRef: { name: git-writer }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: flux-system
  namespace: flux-system
  annotations:
    promotion.image-automation.io/approvals: "1"
spec:
  interval: 30m
  sourceRef: { kind: GitRepository, name: flux-system }
  git:
    commit:
      author: { email: bot@example.com, name: bot }
    push: { branch: main }
  update: { path: ./apps, strategy: Setters }
`;
}

/** An ImagePolicy written for an apiVersion Flux no longer serves: Stalled UnsupportedAPIVersion. */
const outdatedPolicy = (namespace: string) => `
apiVersion: image.toolkit.fluxcd.io/v1alpha1
kind: ImagePolicy
metadata: { name: web, namespace: ${namespace} }
spec:
  imageRepositoryRef: { name: web }
  policy: { semver: { range: '*' } }
`;

const tenancy = {
  namespaces: [
    { entity: 'component:default/podinfo', namespaces: ['flux-system'] },
    { entity: 'component:default/loud', namespaces: ['loud'] },
    { entity: 'component:default/quiet', namespaces: ['quiet'] },
  ],
};

describe("owners' notifications through the real notifications backend", () => {
  let registry: TestRegistry;
  let git: TestGitServer;
  beforeAll(async () => {
    [registry, git] = await Promise.all([
      startRegistry(),
      startGitServer({ users: { writer: 's3cret-token' } }),
    ]);
    await pushImage(registry, 'stefanprodan/podinfo', ['1.0.0']);
  });
  afterAll(async () => {
    await Promise.all([registry?.stop(), git?.stop()]);
  });

  async function start(features: any[], repository: string) {
    await git.createRepository(repository, {
      'apps/podinfo.yaml': `image: ${registry.host}/stefanprodan/podinfo:1.0.0 # {"$imagepolicy": "flux-system:podinfo"}\n`,
    });
    return startBackend({
      files: {
        'catalog.yaml': catalog,
        'podinfo.yaml': podinfo(registry.host, git.url(repository)),
        'loud.yaml': outdatedPolicy('loud'),
        'quiet.yaml': outdatedPolicy('quiet'),
      },
      config: {
        tenancy,
        credentials: {
          'git-writer': {
            type: 'basic',
            username: 'writer',
            password: 's3cret-token',
            allowedEntities: ['component:default/podinfo'],
            hosts: [new URL(git.baseUrl).host],
          },
        },
        git: { insecureHosts: [new URL(git.baseUrl).host] },
      },
      // The notifications backend validates links against the app's address.
      rootConfig: { app: { baseUrl: 'http://127.0.0.1:3000' } },
      features,
    });
  }

  it('asks the owners to approve once, updates that notification when the promotion is applied, reports stalls, and spares an opted-out entity', async () => {
    const backend = await start([notificationsPlugin], 'fleet');
    const api = (path: string) =>
      request(backend.server)
        .get(`/api/image-automation${path}`)
        .set('Authorization', alice);
    const post = (path: string, body: object = {}) =>
      request(backend.server)
        .post(`/api/image-automation${path}`)
        .set('Authorization', alice)
        .send(body);
    const notifications = async () => {
      const res = await request(backend.server)
        .get('/api/notifications/notifications')
        .set('Authorization', alice);
      expect(res.status).toBe(200);
      return res.body.notifications as Array<{
        id: string;
        origin: string;
        updated?: string;
        payload: Record<string, string>;
      }>;
    };
    const ofTopic = async (topic: string) =>
      (await notifications()).filter(n => n.payload.topic === topic);
    const image = `${registry.host}/stefanprodan/podinfo`;
    try {
      // Every entity's objects are read (the catalog may still be ingesting one of them).
      await eventually(async () => {
        await backend.sync();
        const counts = await Promise.all(
          ['podinfo', 'loud', 'quiet'].map(
            async name =>
              (
                await api(`/entities/component/default/${name}/objects`)
              ).body.items?.length ?? 0,
          ),
        );
        return counts[0] === 4 && counts[1] > 0 && counts[2] > 0
          ? true
          : undefined;
      });
      await backend.reconcile();

      // The outdated policies stalled: loud's owners hear of it, quiet's (opted out) do not.
      const stalled = await eventually(async () => {
        const found = await ofTopic('image-automation.stalled');
        return found.length > 0 ? found : undefined;
      });
      expect(stalled).toEqual([
        expect.objectContaining({
          origin: 'plugin:image-automation',
          payload: expect.objectContaining({
            title: 'ImagePolicy loud/web is stalled: UnsupportedAPIVersion',
            severity: 'high',
            scope: 'image-automation.stalled:ImagePolicy/loud/web',
            link: '/catalog/default/component/loud/image-updates?object=ImagePolicy%2Floud%2Fweb',
          }),
        }),
      ]);
      expect(
        (await api('/entities/component/default/quiet/objects')).body.items[0]
          .status.conditions,
      ).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            type: 'Stalled',
            status: 'True',
            reason: 'UnsupportedAPIVersion',
          }),
        ]),
      );

      // 1.1.0 is selected and the approval gate holds it: one notification asks the owners.
      await pushImage(registry, 'stefanprodan/podinfo', ['1.1.0'], {
        seed: '1.1.0',
      });
      expect(
        (await post('/objects/ImageRepository/flux-system/podinfo/reconcile'))
          .status,
      ).toBe(200);
      await backend.reconcile();
      const scope =
        'image-automation.promotions:git:ImageUpdateAutomation/flux-system/flux-system:ImagePolicy/flux-system/podinfo';
      const [asked] = await eventually(async () => {
        const found = await ofTopic('image-automation.promotions');
        return found.length > 0 ? found : undefined;
      });
      expect(asked.payload).toMatchObject({
        title:
          'Approve podinfo 1.0.0 → 1.1.0 for ImageUpdateAutomation/flux-system/flux-system',
        severity: 'normal',
        scope,
        link: '/catalog/default/component/podinfo/image-updates',
      });
      // More passes with nothing new do not repeat it.
      expect(
        (
          await post(
            '/objects/ImageUpdateAutomation/flux-system/flux-system/reconcile',
          )
        ).status,
      ).toBe(200);
      await backend.reconcile();

      // The owner approves; the next pass commits 1.1.0, and the same notification says so.
      const [pending] = (
        await api(
          '/entities/component/default/podinfo/promotions?state=pending',
        )
      ).body.items;
      expect((await post(`/promotions/${pending.id}/approve`, {})).status).toBe(
        200,
      );
      await backend.reconcile();
      expect(
        await git.readFile('fleet', 'main', 'apps/podinfo.yaml'),
      ).toContain(`${image}:1.1.0`);
      const applied = await eventually(async () => {
        const found = await ofTopic('image-automation.promotions');
        return found.some(n => n.payload.title.startsWith('Applied'))
          ? found
          : undefined;
      });
      expect(applied).toEqual([
        expect.objectContaining({
          id: asked.id,
          updated: expect.anything(),
          payload: expect.objectContaining({
            title:
              'Applied podinfo 1.0.0 → 1.1.0 to ImageUpdateAutomation/flux-system/flux-system',
            severity: 'low',
            scope,
          }),
        }),
      ]);
      // Everything alice was told: one per topic and target, nothing of the opted-out entity.
      expect((await notifications()).map(n => n.payload.scope).sort()).toEqual([
        scope,
        'image-automation.stalled:ImagePolicy/loud/web',
      ]);
    } finally {
      await backend.stop();
    }
  });

  it('reconciles as before when the notifications backend is not installed', async () => {
    const backend = await start([], 'fleet-without');
    const api = (path: string) =>
      request(backend.server)
        .get(`/api/image-automation${path}`)
        .set('Authorization', alice);
    try {
      await eventually(async () => {
        await backend.sync();
        const res = await api('/entities/component/default/podinfo/objects');
        return res.body.items?.length === 4 ? true : undefined;
      });
      // The stall is reported (and its notification fails, logged once) and the pass goes on.
      await backend.reconcile();
      await pushImage(registry, 'stefanprodan/podinfo', ['1.2.0'], {
        seed: '1.2.0',
      });
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ImageRepository/flux-system/podinfo/reconcile',
        )
        .set('Authorization', alice)
        .expect(200);
      await backend.reconcile();
      const [pending] = (
        await api(
          '/entities/component/default/podinfo/promotions?state=pending',
        )
      ).body.items;
      expect(pending).toMatchObject({
        to: { tag: '1.2.0' },
        gates: [
          expect.objectContaining({ gate: 'approval', state: 'waiting' }),
        ],
      });
      expect(
        (await api('/entities/component/default/loud/objects')).body.items[0]
          .status.conditions,
      ).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Stalled', status: 'True' }),
        ]),
      );
      expect(
        (
          await request(backend.server)
            .get('/api/notifications/notifications')
            .set('Authorization', alice)
        ).status,
      ).toBe(404);
    } finally {
      await backend.stop();
    }
  });
});
