import knexFactory, { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  PROMOTION_ANNOTATIONS,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { ImageUpdateAutomationReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageUpdateAutomationReconciler';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import { PromotionPlanner } from '@imageops/backstage-plugin-image-automation-backend/src/promotions/PromotionPlanner';
import { DefaultPromotionService } from '@imageops/backstage-plugin-image-automation-backend/src/service/DefaultPromotionService';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { DatabasePromotionStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabasePromotionStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import {
  startGitServer,
  startPostgres,
  TestGitServer,
  TestPostgres,
} from '../../testbed';

jest.setTimeout(120_000);

const NAMESPACE = 'apps';
const IMAGE = 'registry.example.com/team/app';

const manifests = (gitUrl: string): AutomationObject[] => [
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'repo', namespace: NAMESPACE },
    spec: {
      url: gitUrl,
      interval: '5m',
      ref: { branch: 'main' },
      secretRef: { name: 'git' },
    },
  },
  {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImagePolicy',
    metadata: { name: 'app', namespace: NAMESPACE },
    spec: {
      imageRepositoryRef: { name: 'app' },
      policy: { semver: { range: '*' } },
    },
  },
  {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageUpdateAutomation',
    metadata: {
      name: 'auto',
      namespace: NAMESPACE,
      annotations: { [PROMOTION_ANNOTATIONS.approvals]: '1' },
    },
    spec: {
      interval: '10m',
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      git: { commit: { author: { name: 'bot', email: 'bot@example.com' } } },
      update: { strategy: 'Setters' },
    },
  },
];

describe('two backend instances sharing one PostgreSQL', () => {
  let postgres: TestPostgres;
  let git: TestGitServer;
  const clients: Knex[] = [];

  beforeAll(async () => {
    [postgres, git] = await Promise.all([
      startPostgres(),
      startGitServer({ users: { git: 'pw' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(clients.map(c => c.destroy()));
    await Promise.all([postgres?.stop(), git?.stop()]);
  });

  /** One replica: its own connection pool, stores, planner and reconciler. */
  async function instance() {
    const knex = knexFactory({
      client: 'pg',
      connection: postgres.connectionString,
      pool: { min: 0, max: 4 },
    });
    clients.push(knex);
    const objects = await DatabaseObjectStore.create({ knex });
    const promotions = await DatabasePromotionStore.create({
      knex,
      skipMigrations: true,
    });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const planner = new PromotionPlanner({ promotions, objects });
    // #13: the credential is granted to the entity and bound to the test bed's (plain HTTP) Git host.
    const host = new URL(git.baseUrl).host;
    const config = new ConfigReader({
      imageAutomation: {
        credentials: {
          git: {
            type: 'basic',
            username: 'git',
            password: 'pw',
            allowedEntities: ['component:default/app'],
            hosts: [host],
          },
        },
        git: { insecureHosts: [host] },
      },
    });
    const reconciler = new ImageUpdateAutomationReconciler({
      objects,
      credentials: NamedCredentials.fromConfig(config),
      gitAccess: readGitAccessSettings(config),
      promotions: { planner, scans },
    });
    return {
      objects,
      promotions,
      reconciler,
      service: new DefaultPromotionService({ promotions, objects }),
    };
  }

  it('never carry out one promotion twice, even when both reconcile the automation at once (lease lost)', async () => {
    await git.createRepository('fleet', {
      'app.yaml': `image: ${IMAGE}:1.0.0 # {"$imagepolicy": "${NAMESPACE}:app"}\n`,
    });
    const [a, b] = [await instance(), await instance()];
    await a.objects.syncSource(
      'config:test.yaml',
      manifests(git.url('fleet')).map(manifest => ({
        manifest,
        entityRef: 'component:default/app',
        source: { type: 'config' as const, location: 'test.yaml' },
      })),
    );
    // The policy selected 1.1.0 (as its reconciler would have stored it).
    const [policy] = await a.objects
      .claimDue({ owner: 'test', now: new Date(), limit: 10, leaseMs: 60_000 })
      .then(all => all.filter(o => o.kind === 'ImagePolicy'));
    await a.objects.completeRun(policy.id, 'test', {
      status: {
        latestRef: {
          name: IMAGE,
          tag: '1.1.0',
          digest: `sha256:${'1'.repeat(64)}`,
        },
      },
      nextRunAt: new Date(Date.now() + 3_600_000),
      ranAt: new Date(),
    });
    const automation = async () =>
      (await a.objects.get(`ImageUpdateAutomation/${NAMESPACE}/auto`))!;
    const head = async () =>
      (await git.git('fleet', ['rev-parse', 'main'])).trim();
    const initial = await head();

    // The approval gate holds it; one owner approves.
    await a.reconciler.reconcile(await automation(), new Date());
    expect(await head()).toBe(initial);
    const [pending] = (
      await a.promotions.list({
        entityRef: 'component:default/app',
        states: ['pending'],
      })
    ).items;
    expect(pending.to).toMatchObject({ tag: '1.1.0' });
    await b.service.approve(pending.id, 'user:default/owner');

    // Both instances run the same automation at the same moment.
    const object = await automation();
    const results = await Promise.all([
      a.reconciler.reconcile(object, new Date()),
      b.reconciler.reconcile(object, new Date()),
    ]);

    const commits = (
      await git.git('fleet', ['log', '--format=%H', `${initial}..main`])
    )
      .split('\n')
      .filter(Boolean);
    expect(commits).toHaveLength(1);
    expect(await git.readFile('fleet', 'main', 'app.yaml')).toBe(
      `image: ${IMAGE}:1.1.0@sha256:${'1'.repeat(
        64,
      )} # {"$imagepolicy": "${NAMESPACE}:app"}\n`,
    );
    const applied = (await a.promotions.get(pending.id))!;
    expect(applied).toMatchObject({ state: 'applied', commit: commits[0] });
    expect(applied.history.filter(s => s.state === 'applying')).toHaveLength(1);
    const appliedEvents = results
      .flatMap(r => r.events ?? [])
      .filter(e => e.reason === 'PromotionApplied');
    expect(appliedEvents).toHaveLength(1);
    expect(
      results.map(
        r => r.status.conditions?.find(c => c.type === 'Ready')?.status,
      ),
    ).toEqual(['True', 'True']);
  });
});
