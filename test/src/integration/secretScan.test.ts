import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory, { Knex } from 'knex';
import request from 'supertest';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  pushImage,
  startGitServer,
  startRegistry,
  TestGitServer,
  TestRegistry,
} from '../../testbed';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';
import { eventually, startBackend } from './backendHarness';
import { CapturingLogger } from './capturingLogger';

/*
 * Issue #13: no secret value may appear in responses, logs, events or status. Every kind of
 * secret the backend is given (registry passwords and tokens, Git credentials, a signing key and
 * its passphrase, cluster tokens) is a distinctive random string here; the backend then scans a
 * real registry (with the right password, a wrong one and a token the registry refuses: 401s),
 * pushes a signed commit to a real Git server, fails a push with wrong credentials, fails to sign
 * with a wrong passphrase, and applies into a real kube-apiserver (with a good token, and a
 * refused one). Afterwards every secret is searched for, in each of its usual encodings, in:
 * - every log line of the backend (root logger, all plugins, with metadata and errors) and the console;
 * - every row and column of every table of the plugin's database;
 * - every answer of the API's read routes, for every object, promotion and entity.
 */

jest.setTimeout(300_000);

const run = promisify(execFile);
const user = mockCredentials.user.header();
const SHOP = 'component:default/shop';

/** A distinctive random secret: it cannot appear anywhere by chance. */
const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

const REGISTRY_PASSWORD = secret('regpass');
const WRONG_REGISTRY_PASSWORD = secret('wrongregpass');
const REGISTRY_TOKEN = secret('regtoken');
const GIT_TOKEN = secret('gittoken');
const WRONG_GIT_TOKEN = secret('wronggittoken');
const SIGNING_PASSPHRASE = secret('passphrase');
const WRONG_PASSPHRASE = secret('wrongphrase');
const BAD_CLUSTER_TOKEN = secret('clustertoken');

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./shop.yaml
    image-automation.io/clusters: testbed,broken
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

const MARKED = (host: string) =>
  `image: ${host}/shop/web:1.0.0 # {"$imagepolicy": "apps:web"}\n`;

function manifests(registry: TestRegistry, git: TestGitServer) {
  const host = registry.host;
  const repository = (name: string, secretRef: string) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: ${name}, namespace: apps }
spec:
  image: ${host}/shop/web
  interval: 1h
  timeout: 10s
  secretRef: { name: ${secretRef} }
---`;
  const gitRepository = (name: string, repo: string, secretRef: string) => `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: ${name}, namespace: apps }
spec:
  interval: 1h
  url: ${git.url(repo)}
  ref: { branch: main }
  secretRef: { name: ${secretRef} }
---`;
  const automation = (
    name: string,
    source: string,
    signer: string,
    annotations = '{}',
  ) => `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: { name: ${name}, namespace: apps, annotations: ${annotations} }
spec:
  interval: 1h
  sourceRef: { kind: GitRepository, name: ${source} }
  git:
    checkout: { ref: { branch: main } }
    commit:
      author: { name: Flux Bot, email: bot@example.com }
      signingKey: { secretRef: { name: ${signer} } }
    push: { branch: main }
  update: { strategy: Setters }
---`;
  return [
    repository('web', 'registry'),
    repository('wrong-password', 'wrong-registry'),
    repository('refused-token', 'registry-token'),
    `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: web, namespace: apps }
spec:
  imageRepositoryRef: { name: web }
  policy: { semver: { range: '>=1.0.0' } }
---`,
    gitRepository('fleet', 'fleet', 'git-writer'),
    automation('fleet', 'fleet', 'signer'),
    gitRepository('fleet-wrong', 'fleet-wrong', 'git-wrong'),
    // Through a promotion: approved, its push fails, and the promotion keeps the error.
    automation(
      'fleet-wrong',
      'fleet-wrong',
      'signer',
      `{ promotion.image-automation.io/approvals: "1" }`,
    ),
    gitRepository('fleet-badsign', 'fleet-badsign', 'git-writer'),
    automation('fleet-badsign', 'fleet-badsign', 'bad-signer'),
    `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: { name: settings, namespace: apps }
spec:
  inputs:
    - tier: web
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: { name: settings-<< inputs.tier >>, namespace: apps }
      data: { tier: "<< inputs.tier >>" }
`,
  ].join('\n');
}

/** Where each secret appears, in any of the forms a leak would take. */
function leaksIn(text: string, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    const forms = [
      value,
      Buffer.from(value).toString('base64'),
      encodeURIComponent(value),
    ];
    if (forms.some(form => text.includes(form))) found.push(name);
  }
  return found;
}

describe('no secret value in logs, the database or the API', () => {
  let registry: TestRegistry;
  let git: TestGitServer;
  let kube: TestKubernetes;
  let gnupgHome: string;
  let armoredKey: string;

  beforeAll(async () => {
    [registry, git, kube] = await Promise.all([
      // 127.0.0.1 is reached over plain HTTP (as go-containerregistry does): opted in below.
      startRegistry({
        htpasswd: { username: 'ci', password: REGISTRY_PASSWORD },
      }),
      // Anonymous clones, authenticated pushes: wrong credentials fail at the push.
      startGitServer({ users: { writer: GIT_TOKEN }, anonymousRead: true }),
      startKubernetes(),
    ]);
    await kube.kubectl(['create', 'namespace', 'apps']);
    await pushImage(registry, 'shop/web', ['1.0.0', '1.1.0']);
    gnupgHome = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-scan-gnupg-'));
    fs.chmodSync(gnupgHome, 0o700);
    const env = { ...process.env, GNUPGHOME: gnupgHome };
    const gpg = [
      '--batch',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      SIGNING_PASSPHRASE,
    ];
    await run(
      'gpg',
      [
        ...gpg,
        '--quick-gen-key',
        'Flux Bot <bot@example.com>',
        'ed25519',
        'sign',
        'never',
      ],
      { env },
    );
    armoredKey = (
      await run('gpg', [...gpg, '--armor', '--export-secret-keys'], { env })
    ).stdout;
  });

  afterAll(async () => {
    await run('gpgconf', ['--kill', 'gpg-agent'], {
      env: { ...process.env, GNUPGHOME: gnupgHome },
    }).catch(() => undefined);
    if (gnupgHome) fs.rmSync(gnupgHome, { recursive: true, force: true });
    await Promise.all([registry?.stop(), git?.stop(), kube?.stop()]);
  });

  it('scans, pushes, fails, applies, and shows no secret anywhere', async () => {
    for (const repo of ['fleet', 'fleet-wrong', 'fleet-badsign']) {
      await git.createRepository(repo, { 'web.yaml': MARKED(registry.host) });
    }
    // A line from the middle of the armored private key: the key itself is a secret too.
    const keyLines = armoredKey.split('\n').filter(line => line.length > 40);
    const SECRETS: Record<string, string> = {
      REGISTRY_PASSWORD,
      WRONG_REGISTRY_PASSWORD,
      REGISTRY_TOKEN,
      GIT_TOKEN,
      WRONG_GIT_TOKEN,
      SIGNING_PASSPHRASE,
      WRONG_PASSPHRASE,
      BAD_CLUSTER_TOKEN,
      CLUSTER_TOKEN: kube.admin.token,
      SIGNING_KEY: keyLines[Math.floor(keyLines.length / 2)],
      // What an Authorization: Basic header would carry.
      REGISTRY_BASIC: `ci:${REGISTRY_PASSWORD}`,
      GIT_BASIC: `writer:${GIT_TOKEN}`,
    };

    const logs: string[] = [];
    const rootLogger = new CapturingLogger(logs);
    const consoleLines: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map(
      level =>
        jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
          consoleLines.push(
            args
              .map(a =>
                a instanceof Error
                  ? `${a.message}\n${a.stack}`
                  : typeof a === 'string'
                  ? a
                  : JSON.stringify(a),
              )
              .join(' '),
          );
        }),
    );
    // Each plugin its own in-memory database; the plugin's is kept to read every table.
    const databases = new Map<string, Knex>();
    const database = createServiceFactory({
      service: coreServices.database,
      deps: { plugin: coreServices.pluginMetadata },
      factory({ plugin }) {
        const knex = knexFactory({
          client: 'better-sqlite3',
          connection: ':memory:',
          useNullAsDefault: true,
        });
        databases.set(plugin.getId(), knex);
        return { getClient: async () => knex };
      },
    });

    const scoped = { allowedEntities: [SHOP] };
    const backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'shop.yaml': manifests(registry, git) },
      config: {
        // Namespace grants are explicit (issue #13): shop's objects live in apps.
        tenancy: { namespaces: [{ entity: SHOP, namespaces: ['apps'] }] },
        // The test bed serves both over plain HTTP: opt in explicitly.
        registry: { insecureHosts: [registry.host] },
        git: { insecureHosts: [new URL(git.baseUrl).host] },
        credentials: {
          registry: {
            type: 'basic',
            username: 'ci',
            password: REGISTRY_PASSWORD,
            hosts: [registry.host],
            ...scoped,
          },
          'wrong-registry': {
            type: 'basic',
            username: 'ci',
            password: WRONG_REGISTRY_PASSWORD,
            hosts: [registry.host],
            ...scoped,
          },
          'registry-token': {
            type: 'token',
            token: REGISTRY_TOKEN,
            hosts: [registry.host],
            ...scoped,
          },
          'git-writer': {
            type: 'basic',
            username: 'writer',
            password: GIT_TOKEN,
            hosts: [new URL(git.baseUrl).host],
            ...scoped,
          },
          'git-wrong': {
            type: 'basic',
            username: 'writer',
            password: WRONG_GIT_TOKEN,
            hosts: [new URL(git.baseUrl).host],
            ...scoped,
          },
          'cluster-bad': { type: 'token', token: BAD_CLUSTER_TOKEN },
        },
        signingKeys: {
          signer: {
            type: 'gpg',
            privateKey: armoredKey,
            passphrase: SIGNING_PASSPHRASE,
            ...scoped,
          },
          'bad-signer': {
            type: 'gpg',
            privateKey: armoredKey,
            passphrase: WRONG_PASSPHRASE,
            ...scoped,
          },
        },
        kubernetes: {
          clusters: [
            {
              name: 'testbed',
              allowedNamespaces: ['apps'],
              allowedKinds: ['ConfigMap'],
              ...scoped,
            },
            {
              name: 'broken',
              credential: 'cluster-bad',
              allowedNamespaces: ['apps'],
              allowedKinds: ['ConfigMap'],
              ...scoped,
            },
          ],
        },
      },
      rootConfig: {
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                {
                  name: 'testbed',
                  url: kube.url,
                  serviceAccountToken: kube.admin.token,
                  caData: kube.caData,
                },
                { name: 'broken', url: kube.url, caData: kube.caData },
              ],
            },
          ],
        },
      },
      features: [
        createServiceFactory({
          service: coreServices.rootLogger,
          deps: {},
          factory: () => rootLogger,
        }),
        database,
      ],
    });
    const api = (p: string) =>
      request(backend.server)
        .get(`/api/image-automation${p}`)
        .set('Authorization', user);
    const post = (p: string) =>
      request(backend.server)
        .post(`/api/image-automation${p}`)
        .set('Authorization', user);
    const ready = (body: any) =>
      body.status?.conditions?.find((c: any) => c.type === 'Ready');

    try {
      await eventually(async () => {
        await backend.sync();
        return (await api('/entities/component/default/shop/objects')).body
          .items?.length === 11
          ? true
          : undefined;
      });
      await backend.reconcile();
      // Approve fleet-wrong's promotion: its push then fails.
      // (Every automation records its promotions: fleet's applied, fleet-badsign's failed.)
      const listed = (await api('/entities/component/default/shop/promotions'))
        .body.items as any[];
      expect(listed.map(p => [p.target.objectId, p.state]).sort()).toEqual([
        ['ImageUpdateAutomation/apps/fleet', 'applied'],
        ['ImageUpdateAutomation/apps/fleet-badsign', 'failed'],
        ['ImageUpdateAutomation/apps/fleet-wrong', 'pending'],
      ]);
      const pending = listed.filter(p => p.state === 'pending');
      expect(
        (
          await post(`/promotions/${pending[0].id}/approve`).send({
            comment: 'ship it',
          })
        ).status,
      ).toBe(200);
      await backend.reconcile();
      // Reconcile again (a failed object retries; the second attempt logs and records again).
      for (const id of [
        'ImageRepository/apps/wrong-password',
        'ImageUpdateAutomation/apps/fleet-wrong',
        'ResourceSet/apps/settings',
      ]) {
        const res = await post(`/objects/${id}/reconcile`);
        if (res.status !== 200) {
          const all = (await api('/entities/component/default/shop/objects'))
            .body.items;
          throw new Error(
            `${id}: ${res.status} ${JSON.stringify(res.body)}\n${JSON.stringify(
              all.map((o: any) => [o.id, ready(o)]),
              null,
              1,
            )}`,
          );
        }
      }
      await backend.reconcile();

      // The flow did what it should: each failure is a condition naming its cause.
      if (process.env.SECRET_SCAN_DUMP) {
        const all = (await api('/entities/component/default/shop/objects')).body
          .items;
        fs.writeFileSync(
          process.env.SECRET_SCAN_DUMP,
          JSON.stringify(
            { objects: all.map((o: any) => [o.id, o.status]), logs },
            null,
            1,
          ),
        );
      }
      const object = async (id: string) => (await api(`/objects/${id}`)).body;
      expect(ready(await object('ImageRepository/apps/web'))).toMatchObject({
        status: 'True',
      });
      expect(ready(await object('GitRepository/apps/fleet'))).toMatchObject({
        status: 'True',
      });
      expect(
        ready(await object('ImageRepository/apps/wrong-password')),
      ).toMatchObject({ status: 'False' });
      expect(
        ready(await object('ImageRepository/apps/wrong-password')).message,
      ).toMatch(/401|unauthori[sz]ed|authentication/i);
      expect(
        ready(await object('ImageRepository/apps/refused-token')),
      ).toMatchObject({ status: 'False' });
      expect(
        (await object('ImagePolicy/apps/web')).status.latestRef,
      ).toMatchObject({ tag: '1.1.0' });
      expect(await git.readFile('fleet', 'main', 'web.yaml')).toContain(
        'shop/web:1.1.0',
      );
      expect(
        git.requests.some(
          r =>
            r.service === 'git-receive-pack' &&
            r.user === 'writer' &&
            r.status === 200,
        ),
      ).toBe(true);
      expect(
        ready(await object('ImageUpdateAutomation/apps/fleet')),
      ).toMatchObject({ status: 'True' });
      expect(
        ready(await object('ImageUpdateAutomation/apps/fleet-wrong')),
      ).toMatchObject({ status: 'False' });
      expect(git.requests.some(r => r.badCredentials)).toBe(true);
      expect(await git.readFile('fleet-wrong', 'main', 'web.yaml')).toContain(
        'shop/web:1.0.0',
      );
      const failedPromotion = (await api(`/promotions/${pending[0].id}`)).body;
      expect(failedPromotion.state).toBe('failed');
      expect(JSON.stringify(failedPromotion)).toMatch(
        /authentication failed|401/,
      );
      expect(
        ready(await object('ImageUpdateAutomation/apps/fleet-badsign')),
      ).toMatchObject({ status: 'False' });
      expect(await git.readFile('fleet-badsign', 'main', 'web.yaml')).toContain(
        'shop/web:1.0.0',
      );
      expect(
        JSON.parse(
          await kube.kubectl([
            'get',
            'configmap',
            'settings-web',
            '-n',
            'apps',
            '-o',
            'json',
          ]),
        ).data,
      ).toEqual({ tier: 'web' });
      const settings = (
        await api('/objects/ResourceSet/apps/settings/inventory')
      ).body;
      expect(settings.clusters.map((c: any) => [c.cluster, c.state])).toEqual([
        ['broken', 'failed'],
        ['testbed', 'applied'],
      ]);

      // Every answer of the API's read routes.
      // Each answer's status is kept too: a 401/403/404/500 body has no secret in it either, so a
      // route that failed would otherwise pass as "no leak".
      const responses: Array<[string, string]> = [];
      const statuses: Array<[string, number]> = [];
      const read = async (p: string) => {
        const res = await api(p);
        responses.push([
          `GET ${p}`,
          JSON.stringify({
            status: res.status,
            body: res.body,
            headers: res.headers,
          }),
        ]);
        statuses.push([`GET ${p}`, res.status]);
        return res.body;
      };
      const entity = '/entities/component/default/shop';
      const items = (await read(`${entity}/objects`)).items as Array<{
        id: string;
        kind: string;
      }>;
      for (const { id, kind } of items) {
        await read(`/objects/${id}`);
        await read(`/objects/${id}/scans`);
        await read(`/objects/${id}/events`);
        await read(`/objects/${id}/tags?includeGone=true`);
        if (kind === 'ImagePolicy') await read(`/objects/${id}/explain`);
        if (kind === 'ResourceSet') await read(`/objects/${id}/inventory`);
      }
      const promotions = (await read(`${entity}/promotions`)).items as Array<{
        id: string;
      }>;
      for (const { id } of promotions) {
        await read(`/promotions/${id}`);
        // A preview clones with the automation's credentials (and answers with Git's errors, if any).
        const res = await post(`/promotions/${id}/preview`);
        responses.push([
          `POST /promotions/${id}/preview`,
          JSON.stringify({
            status: res.status,
            body: res.body,
            headers: res.headers,
          }),
        ]);
        statuses.push([`POST /promotions/${id}/preview`, res.status]);
      }
      await read(`${entity}/versions`);
      await read(`${entity}/timeline`);
      await read('/fleet');
      expect(responses.length).toBeGreaterThan(40);
      // Every read and every preview answered with content (200). Previews of the failed promotions
      // too: their clones are anonymous reads, which the Git server allows.
      expect(statuses).toEqual(statuses.map(([route]) => [route, 200]));

      // Every row of every table of the plugin's database.
      const knex = databases.get('image-automation')!;
      const tables = (
        (await knex.raw(
          `SELECT name FROM sqlite_master WHERE type = 'table'`,
        )) as Array<{ name: string }>
      ).map(t => t.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          'image_automation_objects',
          'image_automation_scans',
          'image_automation_events',
        ]),
      );
      const rows: Array<[string, string]> = [];
      for (const table of tables) {
        for (const row of await knex(table).select())
          rows.push([table, JSON.stringify(row)]);
      }
      expect(rows.length).toBeGreaterThan(20);

      // The scan looks where the failures were written: each source holds their messages.
      const corpus = (texts: string[]) => texts.join('\n');
      const markers = {
        GIT_AUTH: 'authentication failed',
        SIGNING: 'gpg failed to sign',
        CLUSTER: "cluster 'broken'",
        REGISTRY: 'UNAUTHORIZED',
      };
      expect(leaksIn(corpus(rows.map(r => r[1])), markers).sort()).toEqual(
        Object.keys(markers).sort(),
      );
      expect(leaksIn(corpus(responses.map(r => r[1])), markers).sort()).toEqual(
        Object.keys(markers).sort(),
      );
      expect(
        leaksIn(corpus(logs), { SCAN: 'ImageRepository/apps/web: scanning' }),
      ).toEqual(['SCAN']);

      const findings: string[] = [];
      for (const [where, text] of [
        ...logs.map((line, i) => [`log line ${i}`, line] as [string, string]),
        ...consoleLines.map(
          (line, i) => [`console line ${i}`, line] as [string, string],
        ),
        ...rows.map(
          ([table, text]) => [`table ${table}`, text] as [string, string],
        ),
        ...responses,
      ]) {
        for (const name of leaksIn(text, SECRETS))
          findings.push(`${name} in ${where}: ${text.slice(0, 400)}`);
      }
      expect(logs.length).toBeGreaterThan(10);
      expect(findings).toEqual([]);
    } finally {
      await backend.stop();
      spies.forEach(spy => spy.mockRestore());
      for (const knex of databases.values()) await knex.destroy();
    }
  });
});
