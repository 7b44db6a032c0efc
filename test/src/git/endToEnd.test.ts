import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../../testbed';
import { eventually, startBackend } from '../integration/backendHarness';

jest.setTimeout(120_000);

const user = mockCredentials.user.header();
const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./automation.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

// The manifests of Flux's image automation guide, pointed at the test bed.
function manifests(registryHost: string, gitUrl: string) {
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
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: '>= 1.0.0 <2.0.0'
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
metadata: { name: flux-system, namespace: flux-system }
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: '{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}'
    push:
      branch: main
  update:
    path: ./clusters/my-cluster
    strategy: Setters
`;
}

const DEPLOYMENT = (host: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: default
spec:
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfod
        image: ${host}/stefanprodan/podinfo:1.0.0 # {"$imagepolicy": "flux-system:podinfo"}
        ports:
        - containerPort: 9898
`;

describe('image update automation end to end, as in the Flux guide', () => {
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

  it('commits 1.1.0 once, ignores 2.0.0, and stops while suspended', async () => {
    await git.createRepository('fleet', {
      'clusters/my-cluster/podinfo-deployment.yaml': DEPLOYMENT(registry.host),
      'README.md': '# fleet\n',
    });
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'automation.yaml': manifests(registry.host, git.url('fleet')),
      },
      config: {
        // #13: granted to the entity, bound to the test bed's Git host, which speaks plain HTTP.
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
    });
    const api = (path: string) =>
      request(backend.server)
        .get(`/api/image-automation${path}`)
        .set('Authorization', user);
    const post = (path: string) =>
      request(backend.server)
        .post(`/api/image-automation${path}`)
        .set('Authorization', user);
    const automationPath =
      '/objects/ImageUpdateAutomation/flux-system/flux-system';
    const commits = async () =>
      (await git.git('fleet', ['log', '--format=%H', 'main']))
        .split('\n')
        .filter(Boolean);
    const file = () =>
      git.readFile(
        'fleet',
        'main',
        'clusters/my-cluster/podinfo-deployment.yaml',
      );
    const rescan = async () => {
      expect(
        (await post('/objects/ImageRepository/flux-system/podinfo/reconcile'))
          .status,
      ).toBe(200);
      await backend.reconcile();
    };
    try {
      await eventually(async () => {
        await backend.sync();
        const res = await api('/entities/component/default/podinfo/objects');
        return res.body.items?.length === 4 ? true : undefined;
      });
      await backend.reconcile();
      // 1.0.0 is what the file has: nothing to commit.
      expect(await commits()).toHaveLength(1);
      const first = (await api(automationPath)).body;
      expect(
        first.status.conditions.find((c: any) => c.type === 'Ready'),
      ).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      expect(first.status.observedPolicies).toEqual({
        podinfo: {
          name: `${registry.host}/stefanprodan/podinfo`,
          tag: '1.0.0',
        },
      });

      // 1.1.0: the policy moves, which makes the automation due at once: one commit, one line.
      await pushImage(registry, 'stefanprodan/podinfo', ['1.1.0'], {
        seed: '1.1.0',
      });
      await rescan();
      const after = await commits();
      expect(after).toHaveLength(2);
      expect(await git.git('fleet', ['log', '-1', '--format=%B', 'main'])).toBe(
        `${registry.host}/stefanprodan/podinfo:1.0.0 -> ${registry.host}/stefanprodan/podinfo:1.1.0\n\n`,
      );
      expect(await file()).toBe(
        DEPLOYMENT(registry.host).replace('podinfo:1.0.0', 'podinfo:1.1.0'),
      );
      const pushed = (await api(automationPath)).body;
      expect(pushed.status.lastPushCommit).toBe(after[0]);
      const events = (await api(`${automationPath}/events`)).body.items;
      expect(events.map((e: any) => e.message)).toContainEqual(
        `pushed commit '${after[0].slice(0, 7)}' to branch 'main'\n${
          registry.host
        }/stefanprodan/podinfo:1.0.0 -> ${
          registry.host
        }/stefanprodan/podinfo:1.1.0\n`,
      );

      // 2.0.0 is outside the range: no commit.
      await pushImage(registry, 'stefanprodan/podinfo', ['2.0.0'], {
        seed: '2.0.0',
      });
      await rescan();
      expect(await commits()).toEqual(after);

      // Suspended: 1.2.0 is selected but not committed until the automation is resumed.
      expect((await post(`${automationPath}/suspend`)).status).toBe(200);
      await pushImage(registry, 'stefanprodan/podinfo', ['1.2.0'], {
        seed: '1.2.0',
      });
      await rescan();
      const policy = (await api('/objects/ImagePolicy/flux-system/podinfo'))
        .body;
      expect(policy.status.latestRef.tag).toBe('1.2.0');
      expect(await commits()).toEqual(after);
      expect((await post(`${automationPath}/resume`)).status).toBe(200);
      await backend.reconcile();
      expect(await commits()).toHaveLength(3);
      expect(await file()).toContain(
        'podinfo:1.2.0 # {"$imagepolicy": "flux-system:podinfo"}',
      );
      // No credential in anything the API shows.
      const everything = JSON.stringify([
        (await api(automationPath)).body,
        (await api(`${automationPath}/events`)).body,
      ]);
      expect(everything).not.toContain('s3cret-token');
    } finally {
      await backend.stop();
    }
  });
});
