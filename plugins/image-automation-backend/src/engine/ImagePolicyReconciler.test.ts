import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  pushImage,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { RegistryClient } from '../registry';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { ImagePolicyReconciler } from './ImagePolicyReconciler';
import { ImageRepositoryReconciler } from './ImageRepositoryReconciler';

jest.setTimeout(60_000);

// The ImagePolicy's first moments, as image-reflector-controller v1.1.1 shows them (test/src/flux
// compares the two on a real controller): a policy declared with its repository waits for the first
// scan, and a failure keeps Flux's progress message on Reconciling.

const ENTITY = 'component:default/app';

describe('ImagePolicyReconciler before and after its repository scanned', () => {
  let registry: TestRegistry;
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/app', ['1.0.0', '1.1.0']);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  async function setup(repositorySpec: Record<string, unknown> = {}) {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const registryClient = new RegistryClient({ retries: { baseDelayMs: 10 } });
    const credentials = NamedCredentials.fromConfig(new ConfigReader({}));
    const repositories = new ImageRepositoryReconciler({
      objects,
      scans,
      registry: registryClient,
      credentials,
      logger: mockServices.logger.mock(),
    });
    const policies = new ImagePolicyReconciler({
      objects,
      scans,
      registry: registryClient,
      credentials,
    });
    await objects.syncSource('s', [
      {
        manifest: {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImageRepository',
          metadata: { name: 'app', namespace: 'apps' },
          spec: {
            image: `${registry.host}/team/app`,
            interval: '5m',
            insecure: true,
            ...repositorySpec,
          },
        },
        source: { type: 'config', location: 'file:///app.yaml' },
        entityRef: ENTITY,
      },
      {
        manifest: {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImagePolicy',
          metadata: { name: 'app', namespace: 'apps' },
          spec: {
            imageRepositoryRef: { name: 'app' },
            policy: { semver: { range: '1.x' } },
          },
        },
        source: { type: 'config', location: 'file:///app.yaml' },
        entityRef: ENTITY,
      },
    ]);
    /** Reconciles the repository and stores its status through a lease, as the engine does. */
    const scanRepository = async () => {
      const now = new Date();
      const claimed = await objects.claimDue({
        owner: 'test',
        now,
        limit: 10,
        leaseMs: 60_000,
      });
      const repository = claimed.find(o => o.kind === 'ImageRepository')!;
      const result = await repositories.reconcile(repository, now);
      await objects.completeRun(repository.id, 'test', {
        status: result.status,
        nextRunAt: now,
        ranAt: now,
      });
      return result;
    };
    const reconcilePolicy = async () =>
      policies.reconcile(
        (await objects.get('ImagePolicy/apps/app'))!,
        new Date(),
      );
    return { scanRepository, reconcilePolicy, objects };
  }

  it('waits without a condition while its repository has not been reconciled, then selects', async () => {
    const { scanRepository, reconcilePolicy } = await setup();
    const waiting = await reconcilePolicy();
    expect(waiting.status.conditions ?? []).toEqual([]);
    expect(waiting.requeueAfterMs).toBe(5_000);

    await scanRepository();
    const selected = await reconcilePolicy();
    expect(selected.status.latestRef).toEqual({
      name: `${registry.host}/team/app`,
      tag: '1.1.0',
    });
    expect(selected.status.conditions).toEqual([
      expect.objectContaining({
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
      }),
    ]);
  });

  it('a repository that failed its scan: DependencyNotReady at once, with the progress message on Reconciling', async () => {
    const { scanRepository, reconcilePolicy } = await setup({
      image: `${registry.host}/team/missing`,
    });
    const scanned = await scanRepository();
    expect(scanned.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'ReadOperationFailed',
      }),
    );
    const policy = await reconcilePolicy();
    expect(policy.status.conditions).toEqual([
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'DependencyNotReady',
        message: 'retrying in 30s error: no tags in database',
      }),
      expect.objectContaining({
        type: 'Reconciling',
        status: 'True',
        reason: 'ProgressingWithRetry',
        message: 'processing object: new generation -1 -> 1',
      }),
    ]);
    expect(policy.requeueAfterMs).toBe(30_000);
  });

  it('a suspended repository is not waited for', async () => {
    const { reconcilePolicy } = await setup({ suspend: true });
    const policy = await reconcilePolicy();
    expect(policy.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'DependencyNotReady',
      }),
    );
  });
});
