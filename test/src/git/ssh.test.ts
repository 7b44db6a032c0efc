import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { GitRepositoryReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/GitRepositoryReconciler';
import { ReconcileResult } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import { runGit } from '@imageops/backstage-plugin-image-automation-backend/src/git/runGit';
import { resolveGitAuth } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitSourceAuth';
import {
  gitRemote,
  readRemoteState,
} from '@imageops/backstage-plugin-image-automation-backend/src/git/GitWorkspace';
import {
  credentialScope,
  WarmClones,
} from '@imageops/backstage-plugin-image-automation-backend/src/git/warmClones';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { StoredObject } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import {
  SshKeyPair,
  startGitServer,
  startSshGitServer,
  TestGitServer,
  TestSshGitServer,
} from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  gitCredential,
  HARNESS_ENTITY,
  ready,
  startAutomationHarness,
} from './automationHarness';

jest.setTimeout(120_000);

const PASSPHRASE = 'pass-phrase-never-shown-7d1e';

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${image} # {"$imagepolicy": "apps:web"}
`;

/** The base64 body of a private key: what must never show anywhere. */
const keyBody = (key: SshKeyPair) =>
  key.privateKey.split('\n').filter(l => l && !l.startsWith('-----'))[1];

/**
 * Directories the SSH runs leave in the temp dir (must be none after a run). This suite's git runs
 * get a temp dir of their own (TMPDIR), so other suites' runs in parallel are not counted.
 */
let privateTmp = '';
const sshTempDirs = () =>
  fs.readdirSync(privateTmp).filter(d => d.startsWith('image-automation-ssh-'));
const savedTmpdir = process.env.TMPDIR;

describe('Git over SSH with deploy keys, against a real OpenSSH server', () => {
  let ssh: TestSshGitServer;
  let http: TestGitServer;
  let protectedKey: SshKeyPair;
  let strangerKey: SshKeyPair;
  let otherHostKey: SshKeyPair;
  let knex: Knex;
  let reconciler: GitRepositoryReconciler;
  let credentials: NamedCredentials;
  let config: ConfigReader;
  let head: string;

  const sshKey = (key: SshKeyPair, extra: Record<string, unknown> = {}) => ({
    type: 'sshKey',
    privateKey: key.privateKey,
    knownHosts: ssh.knownHosts,
    allowedEntities: [HARNESS_ENTITY],
    hosts: [`${ssh.authority}${ssh.root}`],
    ...extra,
  });

  beforeAll(async () => {
    ssh = await startSshGitServer();
    http = await startGitServer({ users: { git: GIT_PASSWORD } });
    // With a space: the key and known_hosts paths reach ssh quoted.
    privateTmp = await fs.promises.mkdtemp(
      path.join(os.tmpdir(), 'ssh suite tmp-'),
    );
    await fs.promises.chmod(privateTmp, 0o755);
    process.env.TMPDIR = privateTmp;
    head = await ssh.createRepository('fleet', { 'a.yaml': 'a: 1\n' });
    await ssh.git('fleet', ['tag', 'v1.0.0', 'main']);
    await http.createRepository('fleet', { 'a.yaml': 'a: 1\n' });
    protectedKey = await ssh.generateKey({ passphrase: PASSPHRASE });
    await ssh.authorize(protectedKey.publicKey);
    // A key the server does not know, and a host key that is not this server's.
    strangerKey = await ssh.generateKey();
    otherHostKey = await ssh.generateKey();
    knex = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    config = new ConfigReader({
      imageAutomation: {
        credentials: {
          deploy: sshKey(ssh.clientKey),
          protected: sshKey(protectedKey, { passphrase: PASSPHRASE }),
          stranger: sshKey(strangerKey),
          wrongPassphrase: sshKey(protectedKey, {
            passphrase: 'not-the-passphrase',
          }),
          noPassphrase: sshKey(protectedKey),
          unknownHost: sshKey(ssh.clientKey, {
            knownHosts: `[127.0.0.1]:${ssh.port} ${otherHostKey.publicKey}`,
          }),
          payments: sshKey(ssh.clientKey, {
            allowedEntities: ['component:default/payments'],
          }),
          nobody: sshKey(ssh.clientKey, { allowedEntities: undefined }),
          elsewhere: sshKey(ssh.clientKey, { hosts: ['git.example.com'] }),
          otherPath: sshKey(ssh.clientKey, {
            hosts: [`${ssh.authority}/srv/other`],
          }),
          otherPort: sshKey(ssh.clientKey, { hosts: ['127.0.0.1:1'] }),
          basicOnSsh: {
            type: 'basic',
            username: 'u',
            password: GIT_PASSWORD,
            allowedEntities: [HARNESS_ENTITY],
            hosts: [ssh.authority],
          },
          git: gitCredential(http),
          keyForHttpHost: sshKey(ssh.clientKey, {
            hosts: [new URL(http.baseUrl).host],
          }),
        },
        git: { insecureHosts: [new URL(http.baseUrl).host] },
      },
    });
    credentials = NamedCredentials.fromConfig(config);
    reconciler = new GitRepositoryReconciler({
      objects: await DatabaseObjectStore.create({ knex }),
      credentials,
      gitAccess: readGitAccessSettings(config),
    });
  });
  afterAll(async () => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    if (privateTmp)
      await fs.promises.rm(privateTmp, { recursive: true, force: true });
    await knex?.destroy();
    await http?.stop();
    await ssh?.stop();
  });

  const source = (spec: Record<string, unknown>): StoredObject => ({
    id: 'GitRepository/apps/fleet',
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    namespace: 'apps',
    name: 'fleet',
    sourceKey: 'config:x',
    source: { type: 'config', location: 'x' },
    entityRef: HARNESS_ENTITY,
    manifest: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'fleet', namespace: 'apps' },
      spec: {
        url: ssh.sshUrl('fleet'),
        interval: '1m',
        ref: { branch: 'main' },
        ...spec,
      },
    },
    generation: 1,
    status: {},
    suspended: false,
    nextRunAt: new Date().toISOString(),
  });
  const reconcile = (spec: Record<string, unknown>) =>
    reconciler.reconcile(source(spec), new Date());
  const stalled = (result: ReconcileResult) =>
    result.status.conditions?.find(c => c.type === 'Stalled')?.status;
  const expectNoSecret = (result: unknown) => {
    const text = JSON.stringify(result);
    for (const key of [ssh.clientKey, protectedKey, strangerKey])
      expect(text).not.toContain(keyBody(key));
    expect(text).not.toContain(PASSPHRASE);
    expect(text).not.toContain(GIT_PASSWORD);
  };

  it('reads ssh:// and scp-like URLs with a deploy key and reports the revision; HTTPS sources keep working', async () => {
    const loginsBefore = await ssh.logins();
    const byUrl = await reconcile({ secretRef: { name: 'deploy' } });
    expect(ready(byUrl)).toEqual({
      status: 'True',
      reason: 'Succeeded',
      message: `stored artifact for revision 'main@sha1:${head}'`,
    });
    const tag = await reconcile({
      secretRef: { name: 'deploy' },
      ref: { tag: 'v1.0.0' },
    });
    expect(ready(tag)).toEqual({
      status: 'True',
      reason: 'Succeeded',
      message: `stored artifact for revision 'v1.0.0@sha1:${head}'`,
    });
    expect(await ssh.logins()).toBe(loginsBefore + 2);
    // The scp-like form (`user@host:path`; with a port `user@[host:port]:path`) reaches the same
    // repository through the same credential checks...
    const scpSpec = {
      url: ssh.scpUrl('fleet'),
      interval: '1m',
      secretRef: { name: 'deploy' },
    };
    const auth = await resolveGitAuth({
      spec: scpSpec,
      entityRef: HARNESS_ENTITY,
      credentials,
      access: readGitAccessSettings(config),
    });
    const state = await readRemoteState(gitRemote(scpSpec.url, auth, 30_000), {
      branch: 'main',
    });
    expect(state.head).toBe(head);
    expect(await ssh.logins()).toBe(loginsBefore + 3);
    // ...but a GitRepository manifest is validated as Flux's CRD does, which accepts ssh:// only.
    const scp = await reconcile({
      url: ssh.scpUrl('fleet'),
      secretRef: { name: 'deploy' },
    });
    expect(ready(scp)).toMatchObject({
      status: 'False',
      reason: 'InvalidManifest',
      message: expect.stringContaining(
        "should match '^(http|https|ssh)://.*$'",
      ),
    });
    // The same reconciler, an HTTP(S) source with a basic credential: unaffected.
    const overHttp = await reconcile({
      url: http.url('fleet'),
      secretRef: { name: 'git' },
    });
    expect(ready(overHttp)?.status).toBe('True');
    expectNoSecret([byUrl, scp, overHttp]);
    // The key, known_hosts and askpass files were removed after each command.
    expect(sshTempDirs()).toEqual([]);
  });

  it('uses a passphrase-protected key; the passphrase and key are never in argv, the environment or a message', async () => {
    // A wrapper in front of the real ssh records how git ran it, and the modes of the files it got.
    const spy = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'ssh-spy-'));
    const record = path.join(spy, 'record');
    await fs.promises.writeFile(
      path.join(spy, 'ssh'),
      `#!/bin/sh
{ printf 'ARGV %s\\n' "$*"; env | sed 's/^/ENV /'; prev=""; for a in "$@"; do [ "$prev" = "-i" ] && stat -c 'MODE %a %n' "$a" "$(dirname "$a")"; prev="$a"; done; } >> '${record}'
exec /usr/bin/ssh "$@"
`,
      { mode: 0o755 },
    );
    const savedPath = process.env.PATH;
    process.env.PATH = `${spy}:${savedPath}`;
    // An agent and an ssh command in the backend's own environment are never passed on.
    process.env.SSH_AUTH_SOCK = path.join(spy, 'agent.sock');
    process.env.GIT_SSH_COMMAND = `touch ${path.join(spy, 'pwned')}; ssh`;
    try {
      const result = await reconcile({ secretRef: { name: 'protected' } });
      expect(ready(result)).toEqual({
        status: 'True',
        reason: 'Succeeded',
        message: `stored artifact for revision 'main@sha1:${head}'`,
      });
      expectNoSecret(result);
    } finally {
      process.env.PATH = savedPath;
      delete process.env.SSH_AUTH_SOCK;
      delete process.env.GIT_SSH_COMMAND;
    }
    expect(fs.existsSync(path.join(spy, 'pwned'))).toBe(false);
    const recorded = await fs.promises.readFile(record, 'utf8');
    await fs.promises.rm(spy, { recursive: true, force: true });
    expect(recorded).toContain('ARGV ');
    expect(recorded).toMatch(/-o StrictHostKeyChecking=yes/);
    expect(recorded).toMatch(/-o IdentitiesOnly=yes/);
    expect(recorded).toMatch(/-F \/dev\/null/);
    expect(recorded).toMatch(/ENV GIT_ALLOW_PROTOCOL=ssh/);
    expect(recorded).toMatch(/ENV SSH_ASKPASS_REQUIRE=force/);
    expect(recorded).not.toMatch(/ENV SSH_AUTH_SOCK=/);
    // Key file 0600 in a 0700 directory.
    expect(recorded).toMatch(/MODE 600 \S+\/identity\nMODE 700 /);
    expect(recorded).not.toContain(PASSPHRASE);
    expect(recorded).not.toContain(keyBody(protectedKey));
    expect(sshTempDirs()).toEqual([]);
  });

  it('fails on an unknown host key, naming the host and the knownHosts, without logging in or fetching', async () => {
    const logins = await ssh.logins();
    const result = await reconcile({ secretRef: { name: 'unknownHost' } });
    expect(ready(result)).toEqual({
      status: 'False',
      reason: 'GitOperationFailed',
      message: `ssh host key verification failed for ${ssh.authority}: the server's host key is not in the knownHosts of credential 'unknownHost' (imageAutomation.credentials.unknownHost.knownHosts); host keys are never trusted on first use`,
    });
    expect(result.status.artifact).toBeUndefined();
    expect(await ssh.logins()).toBe(logins);
    expect(sshTempDirs()).toEqual([]);
    expectNoSecret(result);
  });

  it('fails with a key the server does not accept, naming the cause', async () => {
    const result = await reconcile({ secretRef: { name: 'stranger' } });
    expect(ready(result)).toEqual({
      status: 'False',
      reason: 'GitOperationFailed',
      message: `ssh authentication to ${ssh.authority} failed: Permission denied (publickey): the server did not accept the key of credential 'stranger' (imageAutomation.credentials.stranger.privateKey)`,
    });
    expect(sshTempDirs()).toEqual([]);
    expectNoSecret(result);
  });

  it('fails with a wrong or missing passphrase, naming the credential', async () => {
    for (const name of ['wrongPassphrase', 'noPassphrase']) {
      const result = await reconcile({ secretRef: { name } });
      expect(ready(result)).toEqual({
        status: 'False',
        reason: 'GitOperationFailed',
        message: `ssh could not load the private key of credential '${name}' for ${
          ssh.authority
        }: ${
          name === 'wrongPassphrase'
            ? 'the passphrase is wrong'
            : 'the key is encrypted and no passphrase is configured'
        }, or the key is not valid (imageAutomation.credentials.${name}.privateKey, imageAutomation.credentials.${name}.passphrase)`,
      });
      expectNoSecret(result);
      expect(JSON.stringify(result)).not.toContain('not-the-passphrase');
    }
    expect(sshTempDirs()).toEqual([]);
  });

  it('refuses a deploy key not granted to the entity, bound elsewhere or of another type, before any connection', async () => {
    const target = `${ssh.authority}/${ssh.root.replace(/^\//, '')}/fleet`;
    const connections = await ssh.connections();
    const cases: Array<[string, string]> = [
      [
        'payments',
        `credential 'payments' is not granted to ${HARNESS_ENTITY} (imageAutomation.credentials.payments.allowedEntities)`,
      ],
      [
        'nobody',
        `credential 'nobody' is not granted to ${HARNESS_ENTITY}: imageAutomation.credentials.nobody.allowedEntities is not set, so no entity may use it`,
      ],
      [
        'elsewhere',
        `credential 'elsewhere' may not be sent to ${target}: it is bound to git.example.com (imageAutomation.credentials.elsewhere.hosts)`,
      ],
      [
        'otherPath',
        `credential 'otherPath' may not be sent to ${target}: it is bound to ${ssh.authority}/srv/other (imageAutomation.credentials.otherPath.hosts)`,
      ],
      [
        'otherPort',
        `credential 'otherPort' may not be sent to ${target}: it is bound to 127.0.0.1:1 (imageAutomation.credentials.otherPort.hosts)`,
      ],
      [
        'basicOnSsh',
        "credential 'basicOnSsh' is not of type sshKey, as an SSH Git URL needs (a deploy key with knownHosts)",
      ],
      [
        'undefined-key',
        "credential 'undefined-key' is not defined in imageAutomation.credentials",
      ],
    ];
    for (const [name, message] of cases) {
      const result = await reconcile({ secretRef: { name } });
      expect(ready(result)).toEqual({
        status: 'False',
        reason: 'GitOperationFailed',
        message,
      });
      expectNoSecret(result);
    }
    // An sshKey named for an HTTP(S) URL is refused too (it is no password or token).
    const keyOverHttp = await reconcile({
      url: http.url('fleet'),
      secretRef: { name: 'keyForHttpHost' },
    });
    expect(ready(keyOverHttp)?.message).toBe(
      "credential 'keyForHttpHost' is of another type; secretRef needs basic, token or dockerConfigJson",
    );
    expect(await ssh.connections()).toBe(connections);
  });

  it('stalls an SSH URL without secretRef, and refuses URLs that could reach elsewhere, before any connection', async () => {
    const connections = await ssh.connections();
    const noSecret = await reconcile({});
    expect(ready(noSecret)).toEqual({
      status: 'False',
      reason: 'URLInvalid',
      message: `SSH Git URL '${ssh
        .sshUrl('fleet')
        .replace(
          `${ssh.user}@`,
          '',
        )}' needs spec.secretRef naming an sshKey credential (a deploy key with knownHosts) granted to the entity and bound to ${
        ssh.authority
      }`,
    });
    expect(stalled(noSecret)).toBe('True');
    const refused: Array<[string, RegExp]> = [
      [
        `ssh://${ssh.user}@${ssh.authority}${ssh.root}/../../etc/fleet.git`,
        /the path has a '\.' or '\.\.' segment/,
      ],
      [
        `ssh://${ssh.user}@${ssh.authority}${ssh.root}/%2e%2e/fleet.git`,
        /percent-encoding/,
      ],
      [
        `ssh://-oProxyCommand=touch@${ssh.authority}/fleet.git`,
        /is not a valid user name/,
      ],
      [
        `ssh://${ssh.user}:hunter2@${ssh.authority}/fleet.git`,
        /a password in an SSH URL is not supported/,
      ],
      [`ssh://${ssh.user}@-oProxyCommand=x/fleet.git`, /is not a valid host/],
      [
        `ssh://${ssh.user}@${ssh.authority}/~root/fleet.git`,
        /'~' home-directory paths/,
      ],
    ];
    for (const [url, message] of refused) {
      const result = await reconcile({ url, secretRef: { name: 'deploy' } });
      expect(ready(result)).toMatchObject({
        status: 'False',
        reason: 'URLInvalid',
        message: expect.stringMatching(message),
      });
      expect(JSON.stringify(result)).not.toContain('hunter2');
    }
    // Other transports are refused as Flux's CRD refuses them (and by the backend, below).
    for (const url of [
      'ext::sh -c touch% /tmp/pwned',
      `file://${ssh.root}/fleet.git`,
      'git://127.0.0.1/fleet.git',
    ]) {
      const result = await reconcile({ url, secretRef: { name: 'deploy' } });
      expect(ready(result)).toMatchObject({
        status: 'False',
        reason: 'InvalidManifest',
      });
    }
    expect(await ssh.connections()).toBe(connections);
  });

  it('keeps warm clones apart by key: the credential scope includes a digest of the key', () => {
    const base = {
      type: 'ssh' as const,
      credential: 'deploy',
      host: ssh.authority,
      knownHosts: ssh.knownHosts,
    };
    const a = credentialScope('deploy', {
      ...base,
      privateKey: ssh.clientKey.privateKey,
    });
    const b = credentialScope('deploy', {
      ...base,
      privateKey: strangerKey.privateKey,
    });
    expect(a).not.toBe(b);
    expect(a).not.toContain(keyBody(ssh.clientKey));
  });

  it('runs ssh only: a command with a deploy key refuses file:// and ext:: remotes', async () => {
    const auth = {
      type: 'ssh' as const,
      credential: 'deploy',
      host: ssh.authority,
      privateKey: ssh.clientKey.privateKey,
      knownHosts: ssh.knownHosts,
    };
    await expect(
      runGit(['ls-remote', '--', `file://${ssh.root}/fleet.git`], { auth }),
    ).rejects.toThrow(/transport 'file' not allowed/);
    await expect(
      runGit(['ls-remote', '--', 'ext::sh -c true'], { auth }),
    ).rejects.toThrow(/transport 'ext' not allowed/);
    expect(sshTempDirs()).toEqual([]);
  });

  describe('ImageUpdateAutomation', () => {
    it('pushes its commit over SSH, reusing its warm clone, and the commit is on the server', async () => {
      const repo = 'deploy';
      await ssh.createRepository(repo, {
        'deploy/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
      });
      const clones = new WarmClones();
      // The harness names its GitRepository's credential 'git' and reads `baseUrl`/`url()`.
      const server = {
        baseUrl: `http://${ssh.authority}`,
        url: (name: string) => ssh.sshUrl(name),
      } as unknown as TestGitServer;
      const h = await startAutomationHarness({
        git: server,
        repo,
        clones,
        credentials: { git: sshKey(protectedKey, { passphrase: PASSPHRASE }) },
      });
      try {
        await h.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.1.0' } });
        const first = await h.run(automation('auto'));
        expect(ready(first)).toEqual({
          status: 'True',
          reason: 'Succeeded',
          message: 'repository up-to-date',
        });
        expect(await ssh.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
          'ghcr.io/acme/web:1.1.0 #',
        );
        const pushed = (await ssh.git(repo, ['rev-parse', 'main'])).trim();
        expect(first.status.lastPushCommit).toBe(pushed);
        expect(
          (await ssh.git(repo, ['log', '-1', '--format=%an', 'main'])).trim(),
        ).toBe('Flux Bot');
        // A second change goes through the warm clone (fetch, not clone).
        await h.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.2.0' } });
        const second = await h.run(automation('auto'));
        expect(ready(second)?.status).toBe('True');
        expect(await ssh.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
          'ghcr.io/acme/web:1.2.0 #',
        );
        expect(clones.cloned).toBe(1);
        expect(clones.reused).toBe(1);
        expectNoSecret([first, second]);
        expect(sshTempDirs()).toEqual([]);
      } finally {
        await h.stop();
        await clones.close();
      }
    });

    it('refuses a deploy key for another path before any connection, and stalls without secretRef', async () => {
      const repo = 'deploy-2';
      await ssh.createRepository(repo, {
        'deploy/web.yaml': deployment('ghcr.io/acme/web:1.0.0'),
      });
      const server = {
        baseUrl: `http://${ssh.authority}`,
        url: (name: string) => ssh.sshUrl(name),
      } as unknown as TestGitServer;
      const h = await startAutomationHarness({
        git: server,
        repo,
        credentials: {
          git: sshKey(ssh.clientKey, { hosts: [`${ssh.authority}/srv/other`] }),
        },
      });
      try {
        const connections = await ssh.connections();
        await h.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.1.0' } });
        const bound = await h.run(automation('auto'));
        expect(ready(bound)).toEqual({
          status: 'False',
          reason: 'SourceManagerFailed',
          message: `failed configuring source manager: credential 'git' may not be sent to ${
            ssh.authority
          }/${ssh.root.replace(/^\//, '')}/${repo}: it is bound to ${
            ssh.authority
          }/srv/other (imageAutomation.credentials.git.hosts)`,
        });
        await h.declare(
          { web: { name: 'ghcr.io/acme/web', tag: '1.1.0' } },
          [],
          { secretRef: undefined },
        );
        const none = await h.run(automation('auto'));
        expect(ready(none)?.reason).toBe('InvalidSourceConfiguration');
        expect(ready(none)?.message).toMatch(
          /needs spec\.secretRef naming an sshKey credential/,
        );
        expect(await ssh.connections()).toBe(connections);
        expect(await ssh.readFile(repo, 'main', 'deploy/web.yaml')).toContain(
          'web:1.0.0',
        );
      } finally {
        await h.stop();
      }
    });
  });
});
