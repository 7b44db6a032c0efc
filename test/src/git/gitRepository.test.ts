import knexFactory, { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { GitRepositoryReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/GitRepositoryReconciler';
import { integrationGitAuthFromConfig } from '@imageops/backstage-plugin-image-automation-backend/src/git/integrationGitAuth';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { StoredObject } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import { startGitServer, TestGitServer } from '../../testbed';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import {
  gitCredential,
  GIT_PASSWORD,
  HARNESS_ENTITY,
  ready,
} from './automationHarness';

jest.setTimeout(60_000);

describe('GitRepository as an automation source', () => {
  let git: TestGitServer;
  let knex: Knex;
  let reconciler: GitRepositoryReconciler;
  let objects: DatabaseObjectStore;
  beforeAll(async () => {
    git = await startGitServer({ users: { git: GIT_PASSWORD } });
    await git.createRepository('fleet', { 'a.yaml': 'a: 1\n' });
    // Another repository the integration token can read, but that no config entry lists.
    await git.createRepository('payroll', { 'secrets.yaml': 'salary: 1\n' });
    for (const tag of ['v1.0.0', 'v1.2.0', 'v2.0.0'])
      await git.git('fleet', ['tag', tag, 'main']);
    knex = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    const config = new ConfigReader({
      imageAutomation: {
        credentials: { git: gitCredential(git) },
        // The test bed's Git server speaks plain HTTP: opted in explicitly (#13).
        // The integration token may read 'fleet' only (#13: opted in per repository).
        git: {
          insecureHosts: [new URL(git.baseUrl).host],
          integrationRead: [
            { host: new URL(git.baseUrl).host, pathPrefix: 'fleet' },
          ],
        },
      },
      // The integration for the test bed's host: used when a GitRepository has no secretRef.
      integrations: {
        gitea: [
          {
            host: new URL(git.baseUrl).host,
            username: 'git',
            password: GIT_PASSWORD,
          },
        ],
      },
    });
    objects = await DatabaseObjectStore.create({ knex });
    reconciler = new GitRepositoryReconciler({
      objects,
      credentials: NamedCredentials.fromConfig(config),
      integrations: integrationGitAuthFromConfig(config),
      gitAccess: readGitAccessSettings(config),
    });
  });
  afterAll(async () => {
    await knex?.destroy();
    await git?.stop();
  });

  const object = (spec: Record<string, unknown>): StoredObject => ({
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
      spec: { url: git.url('fleet'), interval: '1m', ...spec },
    },
    generation: 1,
    status: {},
    suspended: false,
    nextRunAt: new Date().toISOString(),
  });

  it('resolves branch, semver and tag refs to Flux revisions, with secretRef or the host integration', async () => {
    const main = (await git.git('fleet', ['rev-parse', 'main'])).trim();
    const branch = await reconciler.reconcile(
      object({ ref: { branch: 'main' }, secretRef: { name: 'git' } }),
      new Date(),
    );
    expect(ready(branch)).toEqual({
      status: 'True',
      reason: 'Succeeded',
      message: `stored artifact for revision 'main@sha1:${main}'`,
    });
    // The Ready event carries the revision, as source-controller's artifact events do (for gitlab commit statuses).
    expect(branch.readyEventMetadata).toEqual({
      revision: `main@sha1:${main}`,
    });
    expect(branch.status.artifact?.revision).toBe(`main@sha1:${main}`);
    const semver = await reconciler.reconcile(
      object({ ref: { semver: '>=1.0.0 <2.0.0' } }),
      new Date(),
    );
    expect(semver.status.artifact?.revision).toBe(`v1.2.0@sha1:${main}`);
    const tag = await reconciler.reconcile(
      object({ ref: { tag: 'v9' } }),
      new Date(),
    );
    expect(ready(tag)).toEqual({
      status: 'False',
      reason: 'GitOperationFailed',
      message: `unable to clone '${git.url(
        'fleet',
      )}': couldn't find remote tag 'v9'`,
    });
  });

  it('keeps the stored artifact while the revision stands; a moved revision makes the automations using it due', async () => {
    const first = await git.createRepository('moving', { 'a.yaml': 'a: 1\n' });
    // Two automations of the namespace: one using this source, one another.
    const automation = (name: string, source: string) => ({
      manifest: {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImageUpdateAutomation',
        metadata: { name, namespace: 'apps' },
        spec: {
          interval: '5m',
          sourceRef: { kind: 'GitRepository', name: source },
          git: { commit: { author: { email: 'bot@example.com' } } },
        },
      },
      source: { type: 'config' as const, location: 'x' },
      entityRef: HARNESS_ENTITY,
    });
    await objects.syncSource('automations', [
      automation('uses-fleet', 'fleet'),
      automation('uses-other', 'other'),
    ]);
    const spec = {
      url: git.url('moving'),
      ref: { branch: 'main' },
      secretRef: { name: 'git' },
    };
    const t1 = new Date('2026-12-04T10:00:00Z');
    const initial = await reconciler.reconcile(object(spec), t1);
    expect(initial.status.artifact).toEqual({
      revision: `main@sha1:${first}`,
      lastUpdateTime: t1.toISOString(),
    });
    // The first revision is nothing new to the automations.
    expect(initial.dueNow).toBeUndefined();
    const again = await reconciler.reconcile(
      { ...object(spec), status: initial.status },
      new Date('2026-12-04T10:01:00Z'),
    );
    expect(again.status.artifact).toEqual(initial.status.artifact);
    expect(again.dueNow).toBeUndefined();
    const moved = await git.commitFiles(
      'moving',
      'main',
      { 'a.yaml': 'a: 2\n' },
      'another writer',
    );
    const t3 = new Date('2026-12-04T10:02:00Z');
    const after = await reconciler.reconcile(
      { ...object(spec), status: again.status },
      t3,
    );
    expect(after.status.artifact).toEqual({
      revision: `main@sha1:${moved}`,
      lastUpdateTime: t3.toISOString(),
    });
    expect(after.dueNow).toEqual(['ImageUpdateAutomation/apps/uses-fleet']);
    await objects.syncSource('automations', []);
  });

  it("is the engine's reconciler for GitRepository, bounding a run by spec.timeout (Flux's 60s when absent)", () => {
    // Built here, not in beforeAll, so that mutation testing sees this test use the class's fields.
    const fresh = new GitRepositoryReconciler({
      objects,
      credentials: NamedCredentials.fromConfig(new ConfigReader({})),
    });
    expect(fresh.kind).toBe('GitRepository');
    expect(fresh.apiVersion).toBe('source.toolkit.fluxcd.io/v1');
    expect(reconciler.timeoutMs(object({}))).toBe(60_000);
    expect(reconciler.timeoutMs(object({ timeout: '2m30s' }))).toBe(150_000);
    expect(reconciler.timeoutMs(object({ timeout: 'soon' }))).toBeUndefined();
  });

  it('reads with the integration token only repositories imageAutomation.git.integrationRead lists, sending it nowhere else (#13)', async () => {
    const host = new URL(git.baseUrl).host;
    const before = git.requests.length;
    // A catalog author points a GitRepository without secretRef at another repository of the organisation.
    const result = await reconciler.reconcile(
      object({ url: git.url('payroll'), ref: { branch: 'main' } }),
      new Date(),
    );
    const message = `the Backstage integration token for ${host}/payroll.git may not be used to read: the repository is not under an entry of imageAutomation.git.integrationRead or imageAutomation.git.integrationPush (give the GitRepository a secretRef, or add { host, pathPrefix } to imageAutomation.git.integrationRead)`;
    expect(ready(result)).toEqual({
      status: 'False',
      reason: 'IntegrationReadNotAllowed',
      message,
    });
    expect(
      result.status.conditions?.find(c => c.type === 'Stalled'),
    ).toMatchObject({ status: 'True', reason: 'IntegrationReadNotAllowed' });
    expect(result.status.artifact).toBeUndefined();
    // Nothing reached the server: no authenticated request, no anonymous one either.
    expect(git.requests.slice(before)).toEqual([]);
    // A prefix is matched by whole segments: 'fleet' does not open 'fleet-private'.
    const lookalike = await reconciler.reconcile(
      object({ url: git.url('fleet-private'), ref: { branch: 'main' } }),
      new Date(),
    );
    expect(ready(lookalike)?.reason).toBe('IntegrationReadNotAllowed');
    expect(git.requests.slice(before)).toEqual([]);
    // The listed neighbour keeps working with the token.
    const fleet = await reconciler.reconcile(
      object({ ref: { branch: 'main' } }),
      new Date(),
    );
    expect(ready(fleet)?.status).toBe('True');
    expect(git.requests.slice(before).some(r => r.user === 'git')).toBe(true);
  });

  it('reads public repositories anonymously where no integration is configured for the host', async () => {
    const pub = await startGitServer({
      users: { git: GIT_PASSWORD },
      anonymousRead: true,
    });
    const local = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    try {
      const head = await pub.createRepository('public', { 'a.yaml': 'a: 1\n' });
      const config = new ConfigReader({
        imageAutomation: {
          git: { insecureHosts: [new URL(pub.baseUrl).host] },
        },
        // An integration for another host only.
        integrations: {
          gitea: [
            {
              host: new URL(git.baseUrl).host,
              username: 'git',
              password: GIT_PASSWORD,
            },
          ],
        },
      });
      const anonymous = new GitRepositoryReconciler({
        objects: await DatabaseObjectStore.create({ knex: local }),
        credentials: NamedCredentials.fromConfig(config),
        integrations: integrationGitAuthFromConfig(config),
        gitAccess: readGitAccessSettings(config),
      });
      const result = await anonymous.reconcile(
        object({ url: pub.url('public'), ref: { branch: 'main' } }),
        new Date(),
      );
      expect(ready(result)).toEqual({
        status: 'True',
        reason: 'Succeeded',
        message: `stored artifact for revision 'main@sha1:${head}'`,
      });
      expect(pub.requests.length).toBeGreaterThan(0);
      expect(
        pub.requests.every(r => r.user === undefined && r.status === 200),
      ).toBe(true);
    } finally {
      await local.destroy();
      await pub.stop();
    }
  });

  it('takes credentials out of a URL and never shows them', async () => {
    const url = git
      .url('fleet')
      .replace('http://', 'http://git:inline-secret-42@');
    const result = await reconciler.reconcile(
      object({ url, ref: { tag: 'v9' } }),
      new Date(),
    );
    expect(ready(result)?.message).toBe(
      `unable to clone '${git.url('fleet')}': couldn't find remote tag 'v9'`,
    );
    expect(JSON.stringify(result)).not.toContain('inline-secret-42');
  });

  it('refuses option-like refs and non-HTTPS URLs with a Stalled condition, before contacting the server (#13)', async () => {
    const before = git.requests.length;
    const stalled = (
      result: Awaited<ReturnType<GitRepositoryReconciler['reconcile']>>,
    ) => result.status.conditions?.find(c => c.type === 'Stalled')?.status;
    const branch = await reconciler.reconcile(
      object({ ref: { branch: '--upload-pack=touch /tmp/pwned' } }),
      new Date(),
    );
    expect(ready(branch)).toEqual({
      status: 'False',
      reason: 'InvalidGitArgument',
      message:
        "invalid spec.ref.branch '--upload-pack=touch /tmp/pwned': it starts with '-'",
    });
    expect(stalled(branch)).toBe('True');
    const name = await reconciler.reconcile(
      object({ ref: { name: '--all' } }),
      new Date(),
    );
    expect(ready(name)?.message).toBe(
      "invalid spec.ref.name '--all': it must start with 'refs/'",
    );
    const http = await reconciler.reconcile(
      object({ url: 'http://git.example.com/fleet.git' }),
      new Date(),
    );
    expect(ready(http)).toEqual({
      status: 'False',
      reason: 'URLInvalid',
      message:
        "plain HTTP Git URL 'http://git.example.com/fleet.git' refused: only https:// is allowed unless the host git.example.com is in imageAutomation.git.insecureHosts",
    });
    const ssh = await reconciler.reconcile(
      object({ url: 'ssh://git@git.example.com/fleet.git' }),
      new Date(),
    );
    // SSH only with a deploy key (an sshKey credential): without secretRef, refused before connecting.
    expect(ready(ssh)).toEqual({
      status: 'False',
      reason: 'URLInvalid',
      message:
        "SSH Git URL 'ssh://git.example.com/fleet.git' needs spec.secretRef naming an sshKey credential (a deploy key with knownHosts) granted to the entity and bound to git.example.com",
    });
    expect(git.requests.length).toBe(before);
  });
});
