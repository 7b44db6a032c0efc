/**
 * The reconciler in pull-request mode on real SQLite stores with the promotion planner, for a
 * repository on the test bed's Git server (real pushes) and a pull-request API stand-in.
 */
import knexFactory, { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  ImageRef,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { ImageUpdateAutomationReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageUpdateAutomationReconciler';
import { ReconcileResult } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import { WarmClones } from '@imageops/backstage-plugin-image-automation-backend/src/git/warmClones';
import { PromotionPlanner } from '@imageops/backstage-plugin-image-automation-backend/src/promotions/PromotionPlanner';
import { readPullRequestSettings } from '@imageops/backstage-plugin-image-automation-backend/src/pullRequests/pullRequestMode';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { DatabasePromotionStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabasePromotionStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import { DefaultPromotionService } from '@imageops/backstage-plugin-image-automation-backend/src/service/DefaultPromotionService';
import { StoredObject } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import { TestGitServer } from '../../testbed';
import { CapturingLogger } from '../integration/capturingLogger';

export const ENTITY = 'component:default/shop';
export const NS = 'apps';
export const BRANCH = `image-automation/${NS}/app-updates`;

export const deployment = (tag: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/team/app:${tag} # {"$imagepolicy": "apps:app"}
`;

const ref = (tag: string): ImageRef => ({
  name: 'registry.example.com/team/app',
  tag,
});

export function ready(result: ReconcileResult) {
  const c = result.status.conditions?.find(x => x.type === 'Ready');
  return { status: c?.status, reason: c?.reason, message: c?.message ?? '' };
}

/** The reconciler on real SQLite stores with the promotion planner; the repository on the test Git server. */
export async function pullRequestHarness(options: {
  git: TestGitServer;
  repo: string;
  /** The credential the Git server and the API stand-in accept. */
  credential: { username: string; password: string };
  /** `imageAutomation.git.pullRequests`. */
  pullRequests: Array<Record<string, string | boolean>>;
  /** Plain-HTTP hosts besides the Git server (the API stand-in's). */
  insecureHosts: string[];
  /** Warm clones for the reconciler (default: every run clones afresh). */
  clones?: WarmClones;
}) {
  const { git, repo } = options;
  const knex: Knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const objects = await DatabaseObjectStore.create({ knex });
  const promotions = await DatabasePromotionStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex });
  const gitHost = new URL(git.baseUrl).host;
  const config = new ConfigReader({
    app: { baseUrl: 'http://backstage.example.com' },
    imageAutomation: {
      credentials: {
        forge: {
          type: 'basic',
          ...options.credential,
          allowedEntities: [ENTITY],
          hosts: [gitHost],
        },
      },
      git: {
        insecureHosts: [gitHost, ...options.insecureHosts],
        pullRequests: options.pullRequests,
      },
    },
  });
  const logs: string[] = [];
  const planner = new PromotionPlanner({ promotions, objects });
  const reconciler = new ImageUpdateAutomationReconciler({
    objects,
    credentials: NamedCredentials.fromConfig(config),
    gitAccess: readGitAccessSettings(config),
    promotions: { planner, scans },
    pullRequests: readPullRequestSettings(config),
    logger: new CapturingLogger(logs),
    ...(options.clones ? { clones: options.clones } : {}),
  });
  const automation: AutomationObject = {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageUpdateAutomation',
    metadata: {
      name: 'app-updates',
      namespace: NS,
      annotations: { 'image-automation.io/pull-request': 'true' },
    },
    spec: {
      interval: '10m',
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      git: {
        checkout: { ref: { branch: 'main' } },
        commit: {
          author: { name: 'Image Bot', email: 'bot@example.com' },
          messageTemplate:
            'Update app to {{ range .Changed.Changes }}{{ .NewValue }}{{ end }}',
        },
      },
      update: { strategy: 'Setters', path: './deploy' },
    },
  };
  const id = `ImageUpdateAutomation/${NS}/app-updates`;
  let status: ObjectStatus = {};

  async function select(tag: string) {
    const manifests: AutomationObject[] = [
      {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'GitRepository',
        metadata: { name: 'repo', namespace: NS },
        spec: {
          url: git.url(repo),
          interval: '5m',
          ref: { branch: 'main' },
          secretRef: { name: 'forge' },
        },
      },
      {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImagePolicy',
        metadata: { name: 'app', namespace: NS },
        spec: {
          imageRepositoryRef: { name: 'app' },
          policy: { semver: { range: '*' } },
        },
      },
    ];
    await objects.syncSource(
      'config:test.yaml',
      manifests.map(manifest => ({
        manifest,
        entityRef: ENTITY,
        source: { type: 'config' as const, location: 'test.yaml' },
      })),
    );
    const all = await objects.list({ sourceKey: 'config:test.yaml' });
    await objects.markDue(
      all.map(o => o.id),
      new Date(Date.now() - 1000),
    );
    for (const object of await objects.claimDue({
      owner: 'test',
      now: new Date(),
      limit: 100,
      leaseMs: 60_000,
    })) {
      await objects.completeRun(object.id, 'test', {
        status: object.kind === 'ImagePolicy' ? { latestRef: ref(tag) } : {},
        nextRunAt: new Date(Date.now() + 3_600_000),
        ranAt: new Date(),
      });
    }
  }

  let clock = Date.now();
  async function run(
    annotations: Record<string, string> = {},
  ): Promise<ReconcileResult> {
    clock += 60_000;
    const manifest = {
      ...automation,
      metadata: {
        ...automation.metadata,
        annotations: { ...automation.metadata.annotations, ...annotations },
      },
    };
    const object: StoredObject = {
      id,
      apiVersion: manifest.apiVersion,
      kind: manifest.kind,
      namespace: NS,
      name: 'app-updates',
      sourceKey: 'config:test.yaml',
      source: { type: 'config', location: 'test.yaml' },
      entityRef: ENTITY,
      manifest,
      generation: 1,
      status,
      suspended: false,
      nextRunAt: new Date(clock).toISOString(),
    };
    const result = await reconciler.reconcile(object, new Date(clock));
    status = result.status;
    return result;
  }

  const service = new DefaultPromotionService({ promotions, objects });
  return {
    select,
    run,
    logs,
    /** When the next run happens (each run moves the clock a minute on first). */
    nextRunAt: () => clock + 60_000,
    /** Moves the clock so that the next run happens at `at`. */
    runNextAt(at: number) {
      clock = at - 60_000;
    },
    /** Pins the policy at `tag` on this automation (in the store, as a person's rollback does). */
    pin: (tag: string, reason: string) =>
      promotions.pin({
        targetId: `git:${id}`,
        subject: `ImagePolicy/${NS}/app`,
        version: { image: ref(tag).name, tag },
        reason,
        by: 'user:default/alice',
        at: new Date(clock).toISOString(),
      }),
    async promotionList() {
      return (await promotions.list({ targetId: `git:${id}`, limit: 100 }))
        .items;
    },
    /** The promotion as the API serves it (`GET /promotions/:id`), through JSON. */
    async view(promotionId: string) {
      return JSON.parse(
        JSON.stringify(await service.view(await service.find(promotionId))),
      );
    },
    stop: () => knex.destroy(),
  };
}
