import knexFactory, { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  ImageRef,
  objectId,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '@imageops/backstage-plugin-image-automation-backend/src/credentials/NamedCredentials';
import { ImageUpdateAutomationReconciler } from '@imageops/backstage-plugin-image-automation-backend/src/engine/ImageUpdateAutomationReconciler';
import { ReconcileResult } from '@imageops/backstage-plugin-image-automation-backend/src/engine/Reconciler';
import { SigningKeys } from '@imageops/backstage-plugin-image-automation-backend/src/git/SigningKeys';
import { readGitAccessSettings } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitAccess';
import { IntegrationGitAuth } from '@imageops/backstage-plugin-image-automation-backend/src/git/gitSourceAuth';
import { DatabaseObjectStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseObjectStore';
import { WarmClones } from '@imageops/backstage-plugin-image-automation-backend/src/git/warmClones';
import { StoredObject } from '@imageops/backstage-plugin-image-automation-backend/src/store/ObjectStore';
import { PromotionPlanner } from '@imageops/backstage-plugin-image-automation-backend/src/promotions/PromotionPlanner';
import { DatabasePromotionStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabasePromotionStore';
import { DatabaseScanStore } from '@imageops/backstage-plugin-image-automation-backend/src/store/DatabaseScanStore';
import { DefaultPromotionService } from '@imageops/backstage-plugin-image-automation-backend/src/service/DefaultPromotionService';
import { startGitServer, TestGitServer } from '../../testbed';
import { CapturingLogger } from '../integration/capturingLogger';

/** The password of the test bed's Git user. */
export const GIT_PASSWORD = 'correct-horse-battery-staple';

/** The entity every object of the harness belongs to (credentials and signing keys are granted to it). */
export const HARNESS_ENTITY = 'component:default/shop';

/**
 * A credential for the test bed's Git server, opted in as #13 requires: granted to
 * {@link HARNESS_ENTITY} and bound to the server's host.
 */
export function gitCredential(
  git: TestGitServer,
  extra: Record<string, any> = {},
) {
  return {
    type: 'basic',
    username: 'git',
    password: GIT_PASSWORD,
    allowedEntities: [HARNESS_ENTITY],
    hosts: [new URL(git.baseUrl).host],
    ...extra,
  };
}

/** An automation manifest with Flux's fields; `overrides` replace parts of `spec.git`/`spec`. */
export function automation(
  name: string,
  spec: Record<string, any> = {},
  namespace = 'apps',
): AutomationObject {
  return {
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageUpdateAutomation',
    metadata: { name, namespace },
    spec: {
      interval: '10m',
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      git: {
        commit: {
          author: { name: 'Flux Bot', email: 'bot@example.com' },
          ...(spec.commit ?? {}),
        },
        ...(spec.checkout ? { checkout: spec.checkout } : {}),
        ...(spec.push ? { push: spec.push } : {}),
      },
      update: { strategy: 'Setters', ...(spec.update ?? {}) },
      ...(spec.policySelector ? { policySelector: spec.policySelector } : {}),
    },
  };
}

/**
 * The ImageUpdateAutomation reconciler on a real (SQLite) object store, against the test bed's
 * Git server: declare a GitRepository and policies with their `latestRef`, then run automations.
 */
export async function startAutomationHarness(options: {
  git: TestGitServer;
  repo: string;
  ref?: Record<string, string>;
  credentials?: Record<string, any>;
  signingKeys?: Record<string, any>;
  /** The namespace of the GitRepository and the policies. Default `apps`. */
  namespace?: string;
  /** Merged into `imageAutomation` (e.g. `git.integrationPush`). */
  config?: Record<string, any>;
  integrations?: IntegrationGitAuth;
  /** Warm clones shared between runs (issue #16); without them every run clones afresh. */
  clones?: WarmClones;
  /** Promotions (the planner on the same database): every selection is gated by the automation's annotations. */
  promotions?: boolean;
  /** No `imageAutomation.signingKeys` service at all (not just an empty one). */
  withoutSigningKeys?: boolean;
}) {
  const namespace = options.namespace ?? 'apps';
  const knex: Knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const objects = await DatabaseObjectStore.create({ knex });
  const promotionStore = await DatabasePromotionStore.create({ knex });
  const scans = await DatabaseScanStore.create({ knex });
  const planner = new PromotionPlanner({ promotions: promotionStore, objects });
  const config = new ConfigReader({
    imageAutomation: {
      credentials: options.credentials ?? { git: gitCredential(options.git) },
      signingKeys: options.signingKeys ?? {},
      // The test bed's Git server speaks plain HTTP: opted in explicitly.
      git: { insecureHosts: [new URL(options.git.baseUrl).host] },
      ...options.config,
    },
  });
  const logs: string[] = [];
  const reconciler = new ImageUpdateAutomationReconciler({
    objects,
    credentials: NamedCredentials.fromConfig(config),
    signingKeys: options.withoutSigningKeys
      ? undefined
      : SigningKeys.fromConfig(config),
    gitAccess: readGitAccessSettings(config),
    integrations: options.integrations,
    clones: options.clones,
    logger: new CapturingLogger(logs),
    promotions: options.promotions ? { planner, scans } : undefined,
  });
  const gitRepository: AutomationObject = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'repo', namespace },
    spec: {
      url: options.git.url(options.repo),
      interval: '5m',
      ref: options.ref ?? { branch: 'main' },
      secretRef: { name: 'git' },
    },
  };
  let declared: AutomationObject[] = [gitRepository];
  const statuses = new Map<string, ObjectStatus>();

  async function store(
    manifests: AutomationObject[],
    policies: Record<string, ImageRef | undefined>,
  ) {
    await objects.syncSource(
      'config:test.yaml',
      manifests.map(manifest => ({
        manifest,
        entityRef: HARNESS_ENTITY,
        source: { type: 'config' as const, location: 'test.yaml' },
      })),
    );
    const all = await objects.list({ sourceKey: 'config:test.yaml' });
    await objects.markDue(
      all.map(o => o.id),
      new Date(Date.now() - 1000),
    );
    const claimed = await objects.claimDue({
      owner: 'test',
      now: new Date(),
      limit: 10_000,
      leaseMs: 60_000,
    });
    for (const object of claimed) {
      const status: ObjectStatus =
        object.kind === 'ImagePolicy'
          ? { latestRef: policies[object.name] }
          : {};
      if (!status.latestRef) delete status.latestRef;
      await objects.completeRun(object.id, 'test', {
        status,
        nextRunAt: new Date(Date.now() + 3_600_000),
        ranAt: new Date(),
      });
    }
  }

  /** An automation as the engine hands it to the reconciler, with its status from the last run. */
  function stored(manifest: AutomationObject, now: Date): StoredObject {
    const id = objectId(
      'ImageUpdateAutomation',
      manifest.metadata.namespace ?? 'default',
      manifest.metadata.name,
    );
    return {
      id,
      apiVersion: manifest.apiVersion,
      kind: manifest.kind,
      namespace: manifest.metadata.namespace!,
      name: manifest.metadata.name,
      sourceKey: 'config:test.yaml',
      source: { type: 'config', location: 'test.yaml' },
      entityRef: HARNESS_ENTITY,
      manifest,
      generation: 1,
      status: statuses.get(id) ?? {},
      suspended: false,
      nextRunAt: now.toISOString(),
    };
  }

  return {
    objects,
    /** Declares the GitRepository (optionally changed), these policies with their latestRef, and more objects. */
    async declare(
      policies: Record<string, ImageRef | undefined>,
      extra: AutomationObject[] = [],
      source?: Partial<AutomationObject['spec']>,
    ) {
      const repo = source
        ? { ...gitRepository, spec: { ...gitRepository.spec, ...source } }
        : gitRepository;
      declared = [
        repo,
        ...Object.keys(policies).map(name => ({
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImagePolicy',
          metadata: { name, namespace, labels: { policy: name } },
          spec: {
            imageRepositoryRef: { name: 'app' },
            policy: { semver: { range: '*' } },
          },
        })),
        ...extra,
      ];
      await store(declared, policies);
    },
    /** Runs one reconcile of an automation, keeping its status between runs as the engine does. */
    async run(
      manifest: AutomationObject,
      now = new Date(),
      /** Changes to the stored object (its source, granted namespaces). */
      overrides: Partial<StoredObject> = {},
    ): Promise<ReconcileResult> {
      const object = { ...stored(manifest, now), ...overrides };
      const result = await reconciler.reconcile(object, now);
      statuses.set(object.id, result.status);
      return result;
    },
    /** What writing `ref` for `policy` would change (ImageUpdateAutomationReconciler.preview). */
    preview(
      manifest: AutomationObject,
      policy: string,
      ref: ImageRef,
      overrides: Partial<StoredObject> = {},
    ) {
      const now = new Date();
      return reconciler.preview(
        { ...stored(manifest, now), ...overrides },
        policy,
        ref,
        now,
      );
    },
    /** The promotions of an automation's Git target, oldest first. */
    async promotionsOf(manifest: AutomationObject) {
      const id = stored(manifest, new Date()).id;
      const page = await promotionStore.list({
        targetId: `git:${id}`,
        limit: 100,
      });
      return [...page.items].reverse();
    },
    /** The promotion service (approve, reject, pin) on the harness's stores. */
    promotionService: new DefaultPromotionService({
      promotions: promotionStore,
      objects,
    }),
    /** What the reconciler logged. */
    logs,
    /** Scan history (when each tag was first seen, for soak gates). */
    scans,
    async stop() {
      await knex.destroy();
    },
  };
}

/** The Ready condition of a result, for assertions. */
export function ready(result: ReconcileResult) {
  const c = result.status.conditions?.find(x => x.type === 'Ready');
  return c && { status: c.status, reason: c.reason, message: c.message };
}

/**
 * The test bed's Git server for one suite (started before its tests, stopped after them), a new
 * repository holding `files` for each test, and the harness on that repository.
 */
export function gitServerForSuite(
  prefix: string,
  files: Record<string, string>,
) {
  let server: TestGitServer | undefined;
  let counter = 0;
  const suite = {
    get git(): TestGitServer {
      if (!server) throw new Error('the Git server is started in beforeAll');
      return server;
    },
    /** This test's repository. */
    repo: '',
    harness: (
      options: Partial<Parameters<typeof startAutomationHarness>[0]> = {},
    ) =>
      startAutomationHarness({ git: suite.git, repo: suite.repo, ...options }),
  };
  beforeAll(async () => {
    server = await startGitServer({ users: { git: GIT_PASSWORD } });
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    suite.repo = `${prefix}-${++counter}`;
    await suite.git.createRepository(suite.repo, files);
  });
  return suite;
}
