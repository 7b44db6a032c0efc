import { randomBytes } from 'node:crypto';
import knexFactory, { Knex } from 'knex';
import request from 'supertest';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  pushImage,
  SshKeyPair,
  startRegistry,
  startSshGitServer,
  TestRegistry,
  TestSshGitServer,
} from '../../testbed';
import { eventually, startBackend } from './backendHarness';
import { CapturingLogger } from './capturingLogger';

/*
 * Git over SSH through the whole backend (issue #20): catalog manifests name `sshKey` credentials;
 * a GitRepository over ssh:// becomes Ready and an automation pushes to a real OpenSSH server with
 * a passphrase-protected deploy key, while an unknown host key, a rejected key and a wrong
 * passphrase each end in a condition naming the cause. No key or passphrase appears in any log
 * line, database row or API answer.
 */

jest.setTimeout(180_000);

const user = mockCredentials.user.header();
const SHOP = 'component:default/shop';
const PASSPHRASE = `sshpass-${randomBytes(12).toString('hex')}`;
const WRONG_PASSPHRASE = `wrongsshpass-${randomBytes(12).toString('hex')}`;

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./shop.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function manifests(registry: TestRegistry, ssh: TestSshGitServer) {
  const gitRepository = (name: string, secretRef: string) => `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: { name: ${name}, namespace: apps }
spec:
  interval: 1h
  url: ${ssh.sshUrl(name)}
  ref: { branch: main }
  secretRef: { name: ${secretRef} }
---`;
  return `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: web, namespace: apps }
spec: { image: ${registry.host}/shop/web, interval: 1h, timeout: 10s }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: { name: web, namespace: apps }
spec:
  imageRepositoryRef: { name: web }
  policy: { semver: { range: '>=1.0.0' } }
---${gitRepository('fleet', 'deploy-key')}${gitRepository(
    'unknown-host',
    'unknown-host-key',
  )}${gitRepository('stranger', 'stranger-key')}${gitRepository(
    'wrong-pass',
    'wrong-pass-key',
  )}
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: { name: fleet, namespace: apps }
spec:
  interval: 1h
  sourceRef: { kind: GitRepository, name: fleet }
  git:
    checkout: { ref: { branch: main } }
    commit: { author: { name: Flux Bot, email: bot@example.com } }
    push: { branch: main }
  update: { strategy: Setters }
`;
}

describe('Git over SSH through the backend', () => {
  let registry: TestRegistry;
  let ssh: TestSshGitServer;
  let deployKey: SshKeyPair;
  let strangerKey: SshKeyPair;
  let otherHost: SshKeyPair;

  beforeAll(async () => {
    [registry, ssh] = await Promise.all([startRegistry(), startSshGitServer()]);
    await pushImage(registry, 'shop/web', ['1.0.0', '1.1.0']);
    deployKey = await ssh.generateKey({ passphrase: PASSPHRASE });
    await ssh.authorize(deployKey.publicKey);
    strangerKey = await ssh.generateKey();
    otherHost = await ssh.generateKey();
    for (const repo of ['fleet', 'unknown-host', 'stranger', 'wrong-pass']) {
      await ssh.createRepository(repo, {
        'web.yaml': `image: ${registry.host}/shop/web:1.0.0 # {"$imagepolicy": "apps:web"}\n`,
      });
    }
  });
  afterAll(async () => {
    await Promise.all([registry?.stop(), ssh?.stop()]);
  });

  it('reads and pushes over SSH, fails with named causes, and shows no key or passphrase anywhere', async () => {
    const logs: string[] = [];
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
    const key = (k: SshKeyPair, extra: Record<string, unknown> = {}) => ({
      type: 'sshKey',
      privateKey: k.privateKey,
      knownHosts: ssh.knownHosts,
      allowedEntities: [SHOP],
      hosts: [`${ssh.authority}${ssh.root}`],
      ...extra,
    });
    const backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'shop.yaml': manifests(registry, ssh) },
      config: {
        tenancy: { namespaces: [{ entity: SHOP, namespaces: ['apps'] }] },
        registry: { insecureHosts: [registry.host] },
        credentials: {
          'deploy-key': key(deployKey, { passphrase: PASSPHRASE }),
          'unknown-host-key': key(deployKey, {
            passphrase: PASSPHRASE,
            knownHosts: `[127.0.0.1]:${ssh.port} ${otherHost.publicKey}`,
          }),
          'stranger-key': key(strangerKey),
          'wrong-pass-key': key(deployKey, { passphrase: WRONG_PASSPHRASE }),
        },
      },
      features: [
        createServiceFactory({
          service: coreServices.rootLogger,
          deps: {},
          factory: () => new CapturingLogger(logs),
        }),
        database,
      ],
    });
    const api = (p: string) =>
      request(backend.server)
        .get(`/api/image-automation${p}`)
        .set('Authorization', user);
    const ready = (body: any) =>
      body.status?.conditions?.find((c: any) => c.type === 'Ready');
    try {
      await eventually(async () => {
        await backend.sync();
        return (await api('/entities/component/default/shop/objects')).body
          .items?.length === 7
          ? true
          : undefined;
      });
      await backend.reconcile();
      const object = async (id: string) => (await api(`/objects/${id}`)).body;

      const head = (await ssh.git('fleet', ['rev-parse', 'main'])).trim();
      expect(ready(await object('GitRepository/apps/fleet'))).toMatchObject({
        status: 'True',
      });
      expect(
        ready(await object('ImageUpdateAutomation/apps/fleet')),
      ).toMatchObject({ status: 'True' });
      expect(await ssh.readFile('fleet', 'main', 'web.yaml')).toContain(
        'shop/web:1.1.0',
      );
      expect(
        (await ssh.git('fleet', ['log', '-1', '--format=%an', head])).trim(),
      ).toBe('Flux Bot');
      expect(
        ready(await object('GitRepository/apps/unknown-host')),
      ).toMatchObject({
        status: 'False',
        message: expect.stringContaining(
          `ssh host key verification failed for ${ssh.authority}: the server's host key is not in the knownHosts of credential 'unknown-host-key'`,
        ),
      });
      expect(ready(await object('GitRepository/apps/stranger'))).toMatchObject({
        status: 'False',
        message: expect.stringContaining(
          `ssh authentication to ${ssh.authority} failed: Permission denied (publickey)`,
        ),
      });
      expect(
        ready(await object('GitRepository/apps/wrong-pass')),
      ).toMatchObject({
        status: 'False',
        message: expect.stringContaining(
          "ssh could not load the private key of credential 'wrong-pass-key'",
        ),
      });

      // Every log line, database row and API answer: no key, no passphrase.
      const texts: string[] = [...logs];
      const knex = databases.get('image-automation')!;
      const tables = (
        (await knex.raw(
          `SELECT name FROM sqlite_master WHERE type = 'table'`,
        )) as Array<{ name: string }>
      ).map(t => t.name);
      for (const table of tables)
        for (const row of await knex(table).select())
          texts.push(JSON.stringify(row));
      const items = (await api('/entities/component/default/shop/objects')).body
        .items as Array<{ id: string }>;
      for (const { id } of items) {
        texts.push(JSON.stringify((await api(`/objects/${id}`)).body));
        texts.push(JSON.stringify((await api(`/objects/${id}/events`)).body));
      }
      const all = texts.join('\n');
      // The failures are there to be searched (so the scan looks at the right places)...
      expect(all).toContain('ssh host key verification failed');
      expect(logs.length).toBeGreaterThan(5);
      // ...and nothing secret is.
      const secrets = {
        PASSPHRASE,
        WRONG_PASSPHRASE,
        ...Object.fromEntries(
          [deployKey, strangerKey].flatMap((k, i) =>
            k.privateKey
              .split('\n')
              .filter(l => l && !l.startsWith('-----'))
              .map((line, j) => [`key${i}-line${j}`, line]),
          ),
        ),
      };
      const leaks = Object.entries(secrets).filter(([, value]) =>
        [
          value,
          Buffer.from(value).toString('base64'),
          encodeURIComponent(value),
        ].some(form => all.includes(form)),
      );
      expect(leaks.map(([name]) => name)).toEqual([]);
    } finally {
      await backend.stop();
      for (const knex of databases.values()) await knex.destroy();
    }
  });
});
