import knexFactory, { Knex } from 'knex';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  startGitServer,
  TestGitServer,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { Engine } from '../engine/Engine';
import { GitRepositoryReconciler } from '../engine/GitRepositoryReconciler';
import { ImageRepositoryReconciler } from '../engine/ImageRepositoryReconciler';
import { ImageUpdateAutomationReconciler } from '../engine/ImageUpdateAutomationReconciler';
import { readGitAccessSettings } from '../git/gitAccess';
import { RegistryClient } from '../registry';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { parseManifests } from './parseManifests';

jest.setTimeout(60_000);

// Issue #14 through the real engine and stores, with a real Git server: a v1beta2 GitRepository is
// converted and works as v1 with one Warning event per generation; fields without effect are a
// non-blocking condition; old apiVersions and fields that must not be ignored are Stalled.

const ENTITY = 'component:default/shop';
const PASSWORD = 'correct-horse-battery-staple';

describe('older Flux manifests through the engine', () => {
  let git: TestGitServer;
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let events: DatabaseEventStore;
  let engine: Engine;

  beforeAll(async () => {
    git = await startGitServer({ users: { git: PASSWORD } });
    await git.createRepository('fleet', {
      'deploy/app.yaml': 'kind: ConfigMap\n',
    });
  });
  afterAll(async () => {
    await git?.stop();
  });
  beforeEach(async () => {
    knex = knexFactory({
      client: 'better-sqlite3',
      connection: ':memory:',
      useNullAsDefault: true,
    });
    objects = await DatabaseObjectStore.create({ knex });
    events = await DatabaseEventStore.create({ knex, skipMigrations: true });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const config = new ConfigReader({
      imageAutomation: {
        credentials: {
          git: {
            type: 'basic',
            username: 'git',
            password: PASSWORD,
            allowedEntities: [ENTITY],
            hosts: [new URL(git.baseUrl).host],
          },
        },
        git: { insecureHosts: [new URL(git.baseUrl).host] },
      },
    });
    const credentials = NamedCredentials.fromConfig(config);
    engine = new Engine({
      objects,
      events,
      logger: mockServices.logger.mock(),
      batchSize: 20,
      leaseMs: 60_000,
      reconcilers: [
        new GitRepositoryReconciler({
          objects,
          credentials,
          gitAccess: readGitAccessSettings(config),
        }),
        new ImageUpdateAutomationReconciler({
          objects,
          credentials,
          gitAccess: readGitAccessSettings(config),
        }),
        new ImageRepositoryReconciler({
          objects,
          scans,
          registry: new RegistryClient({
            allowedHosts: ['registry.example.com'],
          }),
          credentials,
          logger: mockServices.logger.mock(),
        }),
      ],
    });
  });
  afterEach(async () => {
    await knex.destroy();
  });

  async function declare(yaml: string) {
    await objects.syncSource(
      'config:test.yaml',
      parseManifests(yaml, 'file:///test.yaml').map(manifest => ({
        manifest,
        entityRef: ENTITY,
        source: { type: 'config' as const, location: 'file:///test.yaml' },
      })),
    );
  }
  async function pass() {
    const all = await objects.list({ sourceKey: 'config:test.yaml' });
    await objects.markDue(
      all.map(o => o.id),
      new Date(Date.now() - 1000),
    );
    await engine.runPass(() => new Date());
  }
  const conditions = async (id: string) =>
    (await objects.get(id))!.status.conditions?.map(c => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
    }));
  const eventsOf = async (id: string) =>
    (await events.list(id)).items
      .map(e => ({ type: e.type, reason: e.reason, message: e.message }))
      .reverse();

  const gitRepository = (extra: string) => `
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: GitRepository
metadata: { name: fleet, namespace: apps }
spec:
  interval: 5m
  url: ${git.url('fleet')}
  ref: { branch: main }
  secretRef: { name: git }
  gitImplementation: go-git
${extra}`;

  it('a v1beta2 GitRepository reconciles Ready as v1, warns once per generation, and reports fields without effect', async () => {
    await declare(
      gitRepository(
        '  include:\n    - repository: { name: other }\n  recurseSubmodules: true\n',
      ),
    );
    await pass();
    const id = 'GitRepository/apps/fleet';
    const stored = await objects.get(id);
    expect(stored!.apiVersion).toBe('source.toolkit.fluxcd.io/v1');
    const head = (await git.git('fleet', ['rev-parse', 'main'])).trim();
    const ignored =
      "spec.include, spec.recurseSubmodules have no effect here: they shape the source-controller's artifact, which this plugin does not build (Flux's image automation clones the repository without them too)";
    expect(await conditions(id)).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: `stored artifact for revision 'main@sha1:${head}'`,
      },
      {
        type: 'FieldsIgnored',
        status: 'True',
        reason: 'FieldHasNoEffect',
        message: ignored,
      },
    ]);
    const converted = {
      type: 'Warning',
      reason: 'APIVersionConverted',
      message:
        'converted from source.toolkit.fluxcd.io/v1beta2 to v1; update apiVersion to source.toolkit.fluxcd.io/v1; ' +
        'dropped spec.gitImplementation (deprecated in v1beta2 and without effect; removed in v1)',
    };
    const ready = {
      type: 'Normal',
      reason: 'Succeeded',
      message: `stored artifact for revision 'main@sha1:${head}'`,
    };
    expect(await eventsOf(id)).toEqual([
      converted,
      { type: 'Warning', reason: 'FieldHasNoEffect', message: ignored },
      ready,
    ]);

    // Another run of the same generation: no new warning.
    await pass();
    expect(await eventsOf(id)).toHaveLength(3);

    // A new generation without the fields: the condition goes, the conversion is said again.
    await declare(gitRepository(''));
    await pass();
    expect(await conditions(id)).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: `stored artifact for revision 'main@sha1:${head}'`,
      },
    ]);
    expect(await eventsOf(id)).toEqual([
      converted,
      { type: 'Warning', reason: 'FieldHasNoEffect', message: ignored },
      ready,
      converted,
    ]);
  });

  it('an automation of a GitRepository whose proxy cannot be honoured is Stalled, as is the GitRepository', async () => {
    await declare(`${gitRepository('  proxySecretRef: { name: proxy }\n')}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: { name: auto, namespace: apps }
spec:
  interval: 5m
  sourceRef: { kind: GitRepository, name: fleet }
  git:
    commit: { author: { name: bot, email: bot@example.com } }
  update: { strategy: Setters }
`);
    await pass();
    const proxy =
      'spec.proxySecretRef is not supported: Git operations cannot go through a per-object proxy here; remove spec.proxySecretRef if they may go directly';
    expect(
      (await conditions('GitRepository/apps/fleet'))!.find(
        c => c.type === 'Stalled',
      ),
    ).toEqual({
      type: 'Stalled',
      status: 'True',
      reason: 'FieldNotSupported',
      message: proxy,
    });
    expect(
      (await conditions('ImageUpdateAutomation/apps/auto'))!.find(
        c => c.type === 'Stalled',
      ),
    ).toEqual({
      type: 'Stalled',
      status: 'True',
      reason: 'InvalidSourceConfiguration',
      message: `failed configuring source manager: GitRepository/apps/fleet: ${proxy}: invalid source configuration`,
    });
  });

  it('old apiVersions and an ImageRepository serviceAccountName are Stalled with what to change', async () => {
    await declare(`
apiVersion: image.toolkit.fluxcd.io/v1alpha1
kind: ImageUpdateAutomation
metadata: { name: old, namespace: apps }
spec:
  checkout:
    gitRepositoryRef: { name: fleet }
    branch: main
  interval: 1m
  update: { strategy: Setters }
  commit: { authorName: fluxbot, authorEmail: fluxbot@example.com }
---
apiVersion: image.toolkit.fluxcd.io/v1beta1
kind: ImagePolicy
metadata: { name: old, namespace: apps }
spec:
  imageRepositoryRef: { name: app }
  policy: { semver: { range: 1.x } }
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: { name: app, namespace: apps }
spec:
  image: registry.example.com/app
  interval: 5m
  serviceAccountName: puller
`);
    await pass();
    const stalled = async (id: string) =>
      (await conditions(id))!.find(c => c.type === 'Stalled');
    expect(await stalled('ImageUpdateAutomation/apps/old')).toEqual({
      type: 'Stalled',
      status: 'True',
      reason: 'UnsupportedAPIVersion',
      message:
        'ImageUpdateAutomation image.toolkit.fluxcd.io/v1alpha1 is not supported (Flux no longer serves v1alpha1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; ' +
        'move spec.checkout.gitRepositoryRef.name to spec.sourceRef.name, with spec.sourceRef.kind: GitRepository; ' +
        'move spec.checkout.branch to spec.git.checkout.ref.branch; ' +
        'move spec.commit.authorName to spec.git.commit.author.name; ' +
        'move spec.commit.authorEmail to spec.git.commit.author.email',
    });
    expect(await stalled('ImagePolicy/apps/old')).toEqual({
      type: 'Stalled',
      status: 'True',
      reason: 'UnsupportedAPIVersion',
      message:
        'ImagePolicy image.toolkit.fluxcd.io/v1beta1 is not supported (Flux no longer serves v1beta1): ' +
        'set apiVersion: image.toolkit.fluxcd.io/v1; the rest of the spec carries over unchanged',
    });
    expect(await stalled('ImageRepository/apps/app')).toEqual({
      type: 'Stalled',
      status: 'True',
      reason: 'FieldNotSupported',
      message:
        'spec.serviceAccountName is not supported: Kubernetes service accounts (their imagePullSecrets or workload identity) are not available to this backend; remove it and set spec.secretRef to a credential (imageAutomation.credentials)',
    });
  });
});
