import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { main } from '@imageops/backstage-plugin-image-automation-backend/src/cli';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../../testbed';
import { eventually, startBackend } from './backendHarness';

/*
 * The operations commands of the `image-automation` CLI against a real backend (catalog +
 * image-automation, SQLite or PostgreSQL), a real Git server and a real registry: get, tree,
 * suspend / resume / reconcile, and the promotion a real flow produced (list, approve, pin,
 * unpin, reject), with the failures users meet (401, 403, 404, 409, an unreachable backend).
 * Most commands run in-process through `main`; the last ones run the built bundle
 * (dist/cli.cjs.js, built here) as a child process, as an installed package runs it.
 */

jest.setTimeout(240_000);

const ALICE = mockCredentials.user.token('user:default/alice');
const BOB = mockCredentials.user.token('user:default/bob');

/** Everyone may read; only alice, the owner, may change the automation or approve (as promotions.test.ts). */
const ownersOnly = mockServices.permissions.mock({
  authorize: async (requests, options) => {
    const user = (
      options?.credentials.principal as { userEntityRef?: string } | undefined
    )?.userEntityRef;
    return requests.map(r => ({
      result:
        !r.permission.name.startsWith('image-automation.') ||
        r.permission.name.endsWith('.read') ||
        user === 'user:default/alice'
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    }));
  },
  authorizeConditional: async requests =>
    requests.map(() => ({ result: AuthorizeResult.ALLOW })),
});

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./automation.yaml
spec: { type: service, lifecycle: production, owner: user:default/alice }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: other
  annotations:
    image-automation.io/manifests: ./other.yaml
spec: { type: service, lifecycle: production, owner: user:default/bob }
`;

function manifests(registryHost: string, gitUrl: string) {
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: podinfo, namespace: flux-system }
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: 1h
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: podinfo, namespace: flux-system }
spec:
  imageRepositoryRef: { name: podinfo }
  policy:
    semver: { range: '>= 1.0.0 <2.0.0' }
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: flux-system, namespace: flux-system }
spec:
  interval: 1h
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
  interval: 1h
  sourceRef: { kind: GitRepository, name: flux-system }
  git:
    commit:
      author: { email: bot@example.com, name: bot }
    push: { branch: main }
  update: { path: ./clusters/my-cluster, strategy: Setters }
`;
}

// Another entity's objects, so that listing across entities has more than one to find.
const otherManifests = (registryHost: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: other, namespace: other }
spec:
  image: ${registryHost}/stefanprodan/podinfo
  interval: 1h
`;

const DEPLOYMENT = (host: string, tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: default
spec:
  template:
    spec:
      containers:
      - name: podinfod
        image: ${host}/stefanprodan/podinfo:${tag} # {"$imagepolicy": "flux-system:podinfo"}
`;

/** Runs the CLI in-process as a user with `token` (none: no BACKSTAGE_TOKEN at all). */
async function cli(
  baseUrl: string,
  token: string | undefined,
  ...argv: string[]
) {
  let stdout = '';
  let stderr = '';
  const code = await main([...argv, '--backend-url', baseUrl], {
    stdout: { write: (t: string) => void (stdout += t) },
    stderr: { write: (t: string) => void (stderr += t) },
    readFile: async () => {
      throw new Error('no files here');
    },
    env: token ? { BACKSTAGE_TOKEN: token } : {},
  });
  return { code, stdout, stderr };
}

/** Runs the built bundle through bin/image-automation as a child process. */
function cliProcess(env: Record<string, string>, ...argv: string[]) {
  const bin = path.resolve(
    require.resolve(
      '@imageops/backstage-plugin-image-automation-backend/package.json',
    ),
    '../bin/image-automation',
  );
  return new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...argv], {
        env: {
          PATH: process.env.PATH ?? '',
          IMAGE_AUTOMATION_CLI: 'built',
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', d => (stdout += d));
      child.stderr.on('data', d => (stderr += d));
      child.on('error', reject);
      child.on('close', code => resolve({ code, stdout, stderr }));
    },
  );
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise(resolve => server.close(resolve));
  return port;
}

describe('the image-automation CLI against a real backend', () => {
  let registry: TestRegistry;
  let git: TestGitServer;
  beforeAll(async () => {
    [registry, git] = await Promise.all([
      startRegistry(),
      startGitServer({ users: { writer: 's3cret-token' } }),
    ]);
    await pushImage(registry, 'stefanprodan/podinfo', ['1.0.0']);
    // The bundle the child-process checks run (what `npm run build:cli` makes for the package).
    const backendDir = path.dirname(
      require.resolve(
        '@imageops/backstage-plugin-image-automation-backend/package.json',
      ),
    );
    const built = spawnSync(
      process.execPath,
      [path.join(backendDir, 'scripts/build-cli.js')],
      { encoding: 'utf8' },
    );
    if (built.status !== 0)
      throw new Error(`build-cli failed: ${built.stderr}`);
  });
  afterAll(async () => {
    await Promise.all([registry?.stop(), git?.stop()]);
  });

  it('lists, draws, suspends, resumes and reconciles objects, decides a real promotion, and names every failure', async () => {
    await git.createRepository('fleet', {
      'clusters/my-cluster/podinfo.yaml': DEPLOYMENT(registry.host, '1.0.0'),
    });
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'automation.yaml': manifests(registry.host, git.url('fleet')),
        'other.yaml': otherManifests(registry.host),
      },
      config: {
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
      // A request without a token is anonymous (the default mock would make it a user).
      features: [
        ownersOnly.factory,
        mockServices.httpAuth.factory({
          defaultCredentials: mockCredentials.none(),
        }),
      ],
    });
    const port = (backend.server.address() as net.AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    const asAlice = (...argv: string[]) => cli(url, ALICE, ...argv);
    const asBob = (...argv: string[]) => cli(url, BOB, ...argv);
    const api = (p: string) =>
      request(backend.server)
        .get(`/api/image-automation${p}`)
        .set('Authorization', `Bearer ${ALICE}`);
    const image = `${registry.host}/stefanprodan/podinfo`;
    try {
      await eventually(async () => {
        await backend.sync();
        const [a, b] = await Promise.all([
          api('/entities/component/default/podinfo/objects'),
          api('/entities/component/default/other/objects'),
        ]);
        return a.body.items?.length === 4 && b.body.items?.length === 1
          ? true
          : undefined;
      });
      await backend.reconcile();

      // get: a flux-style table of one entity's objects, every kind in a section of its own.
      const all = await asAlice(
        'get',
        'all',
        '--entity',
        'component:default/podinfo',
      );
      expect(all).toMatchObject({ code: 0, stderr: '' });
      const sections = all.stdout.split('\n\n');
      expect(sections).toHaveLength(4);
      const [sourceHeader, sourceRow] = sections[0].split('\n');
      expect(sourceHeader.split(/\t/).map(s => s.trim())).toEqual([
        'NAMESPACE',
        'NAME',
        'REVISION',
        'SUSPENDED',
        'READY',
        'MESSAGE',
      ]);
      expect(sourceRow).toMatch(
        /^flux-system\s*\tgitrepository\/flux-system\s*\tmain@sha1:[0-9a-f]{8}\s*\tFalse\s*\tTrue\s*\tstored artifact/,
      );
      const policyLines = sections[2].trimEnd().split('\n');
      expect(policyLines[0].split(/\t/).map(s => s.trim())).toEqual([
        'NAMESPACE',
        'NAME',
        'LATEST IMAGE',
        'SUSPENDED',
        'READY',
        'MESSAGE',
      ]);
      expect(policyLines[1].split(/\t/).map(s => s.trim())).toEqual([
        'flux-system',
        'imagepolicy/podinfo',
        `${image}:1.0.0`,
        'False',
        'True',
        `Latest image tag for ${image} resolved to 1.0.0`,
      ]);

      // Across entities (the catalog's), with -o json: both entities' repositories, nothing else.
      const repositories = await asAlice('get', 'images', '-A', '-o', 'json');
      expect(repositories.code).toBe(0);
      expect(
        JSON.parse(repositories.stdout).map((o: any) => [o.entityRef, o.id]),
      ).toEqual([
        ['component:default/podinfo', 'ImageRepository/flux-system/podinfo'],
        ['component:default/other', 'ImageRepository/other/other'],
      ]);
      const inApps = await asAlice('get', 'images', '-n', 'other');
      expect(inApps.stdout.split('\n')[0].split('\t')[0].trim()).toBe('ENTITY');
      expect(inApps.stdout.trimEnd().split('\n')).toHaveLength(2);
      const yaml = await asAlice(
        'get',
        'policies',
        '--entity',
        'podinfo',
        '-o',
        'yaml',
      );
      expect(yaml.stdout).toContain('id: ImagePolicy/flux-system/podinfo\n');

      // suspend / resume, with who did it; a second suspend is a conflict; bob may not.
      const suspended = await asAlice(
        'suspend',
        'images/podinfo',
        '-n',
        'flux-system',
        '-o',
        'json',
      );
      expect(suspended.code).toBe(0);
      expect(suspended.stderr).toBe(
        '► suspending ImageRepository/flux-system/podinfo\n✔ ImageRepository/flux-system/podinfo suspended\n',
      );
      expect(JSON.parse(suspended.stdout)).toMatchObject({
        suspended: true,
        suspendedBy: 'user:default/alice',
      });
      expect(
        (await api('/objects/ImageRepository/flux-system/podinfo')).body
          .suspended,
      ).toBe(true);
      const again = await asAlice(
        'suspend',
        'ImageRepository/flux-system/podinfo',
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(
        /^► suspending ImageRepository\/flux-system\/podinfo\n✗ conflict: .*suspended/,
      );
      expect(
        (await asAlice('get', 'images', '--entity', 'podinfo')).stdout.split(
          '\n',
        )[1],
      ).toMatch(/\tTrue\s*\tTrue/);
      const bobResumes = await asBob('resume', 'images/podinfo');
      expect(bobResumes.code).toBe(1);
      // The API does not name the permission here, so neither does the CLI.
      expect(bobResumes.stderr).toBe(
        '► resuming ImageRepository/flux-system/podinfo\n✗ forbidden (needs permission image-automation.object.update): you may not resume the image automation of component:default/podinfo (image-automation.object.update)\n',
      );
      expect(
        (await api('/objects/ImageRepository/flux-system/podinfo')).body
          .suspended,
      ).toBe(true);
      const resumed = await asAlice('resume', 'images/podinfo');
      expect(resumed).toMatchObject({ code: 0, stdout: '' });
      expect(
        (await api('/objects/ImageRepository/flux-system/podinfo')).body,
      ).toMatchObject({ suspended: false, suspendedBy: 'user:default/alice' });

      // 1.1.0 is pushed; reconcile asks for a scan now; the approval gate holds the promotion.
      await pushImage(registry, 'stefanprodan/podinfo', ['1.1.0'], {
        seed: '1.1.0',
      });
      const reconciled = await asAlice('reconcile', 'imagerepository/podinfo');
      expect(reconciled.code).toBe(0);
      expect(reconciled.stderr).toMatch(
        /✔ ImageRepository\/flux-system\/podinfo reconcile requested at \d{4}-/,
      );
      await backend.reconcile();
      const listed = await asAlice(
        'promotions',
        'list',
        '--entity',
        'component:default/podinfo',
      );
      expect(listed.code).toBe(0);
      const [listHeader, listRow, ...rest] = listed.stdout
        .trimEnd()
        .split('\n');
      expect(rest).toEqual([]);
      expect(listHeader.split('\t').map(s => s.trim())).toEqual([
        'ID',
        'SUBJECT',
        'TARGET',
        'FROM',
        'TO',
        'STATE',
        'GATES',
      ]);
      const cells = listRow.split('\t').map(s => s.trim());
      expect(cells.slice(1)).toEqual([
        'ImagePolicy/flux-system/podinfo',
        'git:ImageUpdateAutomation/flux-system/flux-system',
        '1.0.0',
        '1.1.0',
        'pending',
        'approval 0/1',
      ]);
      const id = cells[0];
      // Across entities: the fleet's open promotions, with the entity.
      const fleet = await asAlice(
        'promotions',
        'list',
        '--state',
        'pending',
        '-o',
        'json',
      );
      expect(
        JSON.parse(fleet.stdout).map((p: any) => [p.id, p.entityRef]),
      ).toEqual([[id, 'component:default/podinfo']]);

      // bob may not approve: the permission is named; nothing changed.
      const refused = await asBob('promotions', 'approve', id);
      expect(refused).toMatchObject({ code: 1, stdout: '' });
      expect(refused.stderr).toBe(
        '✗ forbidden (needs permission image-automation.promotion.approve): you may not approve the promotions of component:default/podinfo (image-automation.promotion.approve)\n',
      );
      expect((await api(`/promotions/${id}`)).body.state).toBe('pending');
      // alice approves; the next pass commits 1.1.0.
      const approved = await asAlice(
        'promotions',
        'approve',
        id,
        '--comment',
        'looks good',
      );
      expect(approved.code).toBe(0);
      expect(approved.stderr).toMatch(
        /^✔ approved ImagePolicy\/flux-system\/podinfo 1\.0\.0 → 1\.1\.0 on git:ImageUpdateAutomation\/flux-system\/flux-system: (approved|pending)/,
      );
      expect((await api(`/promotions/${id}`)).body.votes).toEqual([
        expect.objectContaining({
          actor: 'user:default/alice',
          decision: 'approve',
          reason: 'looks good',
        }),
      ]);
      await backend.reconcile();
      const applied = (await api(`/promotions/${id}`)).body;
      expect(applied).toMatchObject({
        state: 'applied',
        commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      const head = (await git.git('fleet', ['rev-parse', 'main'])).trim();
      expect(applied.commit).toBe(head);

      // tree: repository → policy → automation → its source, its commit and the marker it wrote.
      const tree = await asAlice('tree', 'component:default/podinfo');
      expect(tree.code).toBe(0);
      const lines = tree.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('component:default/podinfo');
      expect(lines[1]).toMatch(
        /^└── ImageRepository\/flux-system\/podinfo {2}Ready {2}2 tags, scanned \d{4}-/,
      );
      expect(lines[2]).toBe(
        `    └── ImagePolicy/flux-system/podinfo  Ready  → ${image}:1.1.0`,
      );
      expect(lines[3]).toMatch(
        /^ {8}└── ImageUpdateAutomation\/flux-system\/flux-system {2}Ready$/,
      );
      expect(lines[4]).toMatch(
        /^ {12}├── GitRepository\/flux-system\/flux-system {2}Ready {2}main@sha1:[0-9a-f]{40}$/,
      );
      expect(lines.slice(5)).toEqual([
        expect.stringMatching(
          new RegExp(`^ {12}├── commit ${head.slice(0, 12)} {2}pushed \\d{4}-`),
        ),
        `            └── marker podinfo.yaml:11  flux-system:podinfo = ${image}:1.1.0`,
      ]);
      const treeJson = JSON.parse(
        (await asAlice('tree', '--entity', 'podinfo', '-o', 'json')).stdout,
      );
      expect(treeJson.children.map((n: any) => n.label)).toEqual([
        'ImageRepository/flux-system/podinfo',
      ]);

      // pin at 1.0.0 (the target and subject of the promotion), unpin; bob may not pin.
      const target = 'git:ImageUpdateAutomation/flux-system/flux-system';
      const bobPins = await asBob('promotions', 'pin', id, '--reason', 'mine');
      expect(bobPins.code).toBe(1);
      expect(bobPins.stderr).toContain(
        '✗ forbidden (needs permission image-automation.object.update)',
      );
      const pinned = await asAlice(
        'promotions',
        'pin',
        '--target',
        target,
        '--subject',
        'ImagePolicy/flux-system/podinfo',
        '--tag',
        '1.0.0',
        '--reason',
        'hold for the release',
        '-o',
        'json',
      );
      expect(pinned.code).toBe(0);
      expect(pinned.stderr).toBe(
        `✔ pinned ImagePolicy/flux-system/podinfo on ${target} at 1.0.0\n`,
      );
      expect(JSON.parse(pinned.stdout)).toMatchObject({
        targetId: target,
        version: { tag: '1.0.0' },
        by: 'user:default/alice',
        reason: 'hold for the release',
      });
      const pinRow = async () =>
        (await api('/entities/component/default/podinfo/versions')).body
          .items[0].pin;
      expect(await pinRow()).toMatchObject({
        version: { tag: '1.0.0' },
        reason: 'hold for the release',
      });
      const unpinned = await asAlice('promotions', 'unpin', id);
      expect(unpinned).toMatchObject({
        code: 0,
        stderr: `✔ unpinned ImagePolicy/flux-system/podinfo on ${target}\n`,
      });
      expect(await pinRow()).toBeUndefined();
      const unpinAgain = await asAlice(
        'promotions',
        'unpin',
        '--target',
        target,
        '--subject',
        'ImagePolicy/flux-system/podinfo',
      );
      expect(unpinAgain.code).toBe(1);
      expect(unpinAgain.stderr).toBe(
        `✗ not found: a pin of ImagePolicy/flux-system/podinfo on ${target}: ImagePolicy/flux-system/podinfo is not pinned on ${target}\n`,
      );

      // reject: 1.2.0 waits for approval; alice rejects it with a reason (required).
      await pushImage(registry, 'stefanprodan/podinfo', ['1.2.0'], {
        seed: '1.2.0',
      });
      await asAlice('reconcile', 'images/podinfo');
      await backend.reconcile();
      const pending = JSON.parse(
        (
          await asAlice(
            'promotions',
            'list',
            '--entity',
            'podinfo',
            '--state',
            'pending',
            '-o',
            'json',
          )
        ).stdout,
      );
      expect(pending.map((p: any) => [p.from?.tag, p.to.tag])).toEqual([
        ['1.1.0', '1.2.0'],
      ]);
      const noReason = await asAlice('promotions', 'reject', pending[0].id);
      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toMatch(
        /^image-automation: --reason is required\nusage: image-automation promotions reject/,
      );
      const rejected = await asAlice(
        'promotions',
        'reject',
        pending[0].id,
        '--reason',
        'not this week',
      );
      expect(rejected.code).toBe(0);
      expect(rejected.stderr).toBe(
        '✔ rejected ImagePolicy/flux-system/podinfo 1.1.0 → 1.2.0 on git:ImageUpdateAutomation/flux-system/flux-system: rejected\n',
      );
      expect((await api(`/promotions/${pending[0].id}`)).body.state).toBe(
        'rejected',
      );

      // 404s name what was asked for.
      const missing = await asAlice('suspend', 'policy/nope');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        '✗ not found: ImagePolicy/flux-system/nope: no automation object ImagePolicy/flux-system/nope',
      );
      const noEntity = await asAlice(
        'get',
        'all',
        '--entity',
        'component:default/podinfo-typo',
      );
      expect(noEntity).toMatchObject({ code: 1, stdout: '' });
      expect(noEntity.stderr).toMatch(
        /^✗ not found: entity component:default\/podinfo-typo \(the catalog has no such entity\)/,
      );
      const noPromotion = await asAlice(
        'promotions',
        'approve',
        'does-not-exist',
      );
      expect(noPromotion.stderr).toMatch(
        /^✗ not found: promotion does-not-exist/,
      );

      // 401: no token at all, and a token the backend rejects.
      const anonymous = await cli(
        url,
        undefined,
        'get',
        'all',
        '--entity',
        'podinfo',
      );
      expect(anonymous).toMatchObject({ code: 1, stdout: '' });
      expect(anonymous.stderr).toMatch(
        new RegExp(
          `^✗ not signed in: set BACKSTAGE_TOKEN \\(or --token\\) to a Backstage token for ${url} \\(401`,
        ),
      );
      const badToken = await cli(
        url,
        mockCredentials.user.invalidToken(),
        'tree',
        'podinfo',
      );
      expect(badToken.code).toBe(1);
      expect(badToken.stderr).toMatch(
        new RegExp(
          `^✗ not signed in: the backend at ${url} rejected the token \\(401`,
        ),
      );

      // The built bundle as a child process, as an installed package runs it.
      const fromBundle = await cliProcess(
        { BACKSTAGE_TOKEN: ALICE, BACKSTAGE_BACKEND_URL: url },
        'get',
        'policies',
        '--entity',
        'podinfo',
      );
      expect(fromBundle).toMatchObject({ code: 0, stderr: '' });
      expect(
        fromBundle.stdout
          .split('\n')[1]
          .split('\t')
          .map(s => s.trim()),
      ).toEqual([
        'flux-system',
        'podinfo',
        `${image}:1.2.0`,
        'False',
        'True',
        `Latest image tag for ${image} resolved to 1.2.0 (previously ${image}:1.1.0)`,
      ]);
      const forbiddenBundle = await cliProcess(
        { BACKSTAGE_TOKEN: BOB },
        'suspend',
        'images/podinfo',
        '--backend-url',
        url,
      );
      expect(forbiddenBundle.code).toBe(1);
      expect(forbiddenBundle.stderr).toContain(
        '✗ forbidden (needs permission image-automation.object.update): you may not suspend the image automation of component:default/podinfo (image-automation.object.update)\n',
      );
    } finally {
      await backend.stop();
    }

    // Unreachable: nothing listens there any more.
    const down = `http://127.0.0.1:${await closedPort()}`;
    expect(await cli(down, ALICE, 'get', 'all')).toEqual({
      code: 1,
      stdout: '',
      stderr: `✗ cannot reach the backend at ${down}: ECONNREFUSED\n`,
    });
    const downBundle = await cliProcess(
      { BACKSTAGE_TOKEN: ALICE },
      'promotions',
      'list',
      '--backend-url',
      down,
    );
    expect(downBundle).toEqual({
      code: 1,
      stdout: '',
      stderr: `✗ cannot reach the backend at ${down}: ECONNREFUSED\n`,
    });
  });
});
