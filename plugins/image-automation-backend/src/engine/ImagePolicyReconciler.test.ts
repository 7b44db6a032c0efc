import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  deleteTag,
  pushImage,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { DeclaredObject } from '../store/ObjectStore';
import { ReconcileResult } from './Reconciler';
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
  let appDigest: string;
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  beforeAll(async () => {
    registry = await startRegistry();
    // Both tags point at one image.
    appDigest = (await pushImage(registry, 'team/app', ['1.0.0', '1.1.0']))
      .digest;
  });
  afterAll(async () => {
    await registry?.stop();
  });

  /**
   * The stores, both reconcilers and a repository apps/app of `team/app` with a policy apps/app
   * (semver 1.x) declared with it; `policy` and `extra` change or add objects.
   */
  async function setup(
    repositorySpec: Record<string, unknown> = {},
    {
      policy = {},
      extra = [],
    }: { policy?: Record<string, unknown>; extra?: DeclaredObject[] } = {},
  ) {
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
            ...policy,
          },
        },
        source: { type: 'config', location: 'file:///app.yaml' },
        entityRef: ENTITY,
      },
      ...extra,
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
    /** Reconciles a policy (apps/app by default) as stored, or with the status of an earlier run. */
    const reconcilePolicy = async (
      previous?: Pick<ReconcileResult, 'status'>,
      id = 'ImagePolicy/apps/app',
    ) => {
      const stored = (await objects.get(id))!;
      return policies.reconcile(
        previous ? { ...stored, status: previous.status } : stored,
        new Date(),
      );
    };
    return { scanRepository, reconcilePolicy, objects, scans, policies };
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

  const ready = (result: ReconcileResult) =>
    result.status.conditions?.find(c => c.type === 'Ready');
  const declared = (
    kind: string,
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
    options: { catalog?: boolean; grantedNamespaces?: string[] } = {},
  ): DeclaredObject => ({
    manifest: {
      apiVersion: 'image.toolkit.fluxcd.io/v1',
      kind,
      metadata: { name, namespace },
      spec,
    },
    source: options.catalog
      ? { type: 'catalog', location: 'url:https://example.com/a.yaml' }
      : { type: 'config', location: 'file:///app.yaml' },
    entityRef: ENTITY,
    ...(options.grantedNamespaces
      ? { grantedNamespaces: options.grantedNamespaces }
      : {}),
  });
  const automation = (namespace: string, name: string) =>
    declared('ImageUpdateAutomation', namespace, name, {
      interval: '5m',
      sourceRef: { kind: 'GitRepository', name: 'fleet' },
      git: { commit: { author: { email: 'bot@example.com' } } },
    });

  it("is the engine's reconciler for ImagePolicy", async () => {
    // Built in the test, so that mutation testing sees a test use the class's fields.
    const { objects, scans } = await setup();
    const fresh = new ImagePolicyReconciler({
      objects,
      scans,
      registry: new RegistryClient(),
      credentials: NamedCredentials.fromConfig(new ConfigReader({})),
    });
    expect(fresh.kind).toBe('ImagePolicy');
    expect(fresh.apiVersion).toBe('image.toolkit.fluxcd.io/v1');
  });

  it('reflects the digest with digestReflectionPolicy Always, records it with the tag, and never without it', async () => {
    const plain = await setup();
    await plain.scanRepository();
    const withoutDigest = await plain.reconcilePolicy();
    expect(withoutDigest.status.latestRef).toEqual({
      name: `${registry.host}/team/app`,
      tag: '1.1.0',
    });

    const { scanRepository, reconcilePolicy, scans } = await setup(
      {},
      { policy: { digestReflectionPolicy: 'Always', interval: '10m' } },
    );
    await scanRepository();
    const digest = appDigest;
    const reflected = await reconcilePolicy();
    expect(reflected.status.latestRef).toEqual({
      name: `${registry.host}/team/app`,
      tag: '1.1.0',
      digest,
    });
    expect(ready(reflected)?.message).toBe(
      `Latest image tag for ${registry.host}/team/app resolved to 1.1.0 with digest ${digest}`,
    );
    // Always: every interval, not only the idle recheck.
    expect(reflected.requeueAfterMs).toBe(600_000);
    const tags = await scans.presentTags('ImageRepository/apps/app');
    expect(tags.find(t => t.tag === '1.1.0')?.digest).toBe(digest);
  });

  it('a digest the registry cannot give is a failure naming the reference, and the last selection stays', async () => {
    await pushImage(registry, 'team/vanishing', ['1.0.0', '1.4.0']);
    const { scanRepository, reconcilePolicy } = await setup(
      { image: `${registry.host}/team/vanishing` },
      { policy: { digestReflectionPolicy: 'Always', interval: '10m' } },
    );
    await scanRepository();
    const first = await reconcilePolicy();
    expect(first.status.latestRef?.tag).toBe('1.4.0');
    await deleteTag(registry, 'team/vanishing', '1.4.0');
    const failed = await reconcilePolicy(first);
    const reference = `${registry.host}/team/vanishing:1.4.0`;
    expect(ready(failed)).toMatchObject({
      status: 'False',
      reason: 'Failure',
    });
    expect(ready(failed)?.message).toMatch(
      new RegExp(
        `^failed fetching digest of ${reference}: failed fetching descriptor for "${reference}": .*manifest unknown`,
        'i',
      ),
    );
    expect(failed.status.latestRef).toEqual(first.status.latestRef);
  });

  it('keeps observedPreviousRef to a selection that changed, and makes the automations of its namespace due only then', async () => {
    await pushImage(registry, 'team/moving', ['1.0.0', '1.3.0']);
    const { scanRepository, reconcilePolicy, policies, objects } = await setup(
      { image: `${registry.host}/team/moving` },
      {
        policy: { policy: { semver: { range: '~1.0' } } },
        extra: [automation('apps', 'auto'), automation('other', 'elsewhere')],
      },
    );
    await scanRepository();
    const first = await reconcilePolicy();
    expect(first.status.latestRef?.tag).toBe('1.0.0');
    // No previous selection: no observedPreviousRef field at all, as Flux omits it.
    expect('observedPreviousRef' in first.status).toBe(false);
    expect(first.dueNow).toEqual(['ImageUpdateAutomation/apps/auto']);

    const unchanged = await reconcilePolicy(first);
    expect(unchanged.status.latestRef).toEqual(first.status.latestRef);
    expect('observedPreviousRef' in unchanged.status).toBe(false);
    expect(unchanged.dueNow).toBeUndefined();

    // The policy widened: 1.3.0 is selected now.
    const stored = (await objects.get('ImagePolicy/apps/app'))!;
    const widened = {
      ...stored,
      manifest: {
        ...stored.manifest,
        spec: {
          imageRepositoryRef: { name: 'app' },
          policy: { semver: { range: '1.x' } },
        },
      },
    };
    const moved = await policies.reconcile(
      { ...widened, status: unchanged.status },
      new Date(),
    );
    const name = `${registry.host}/team/moving`;
    expect(moved.status.latestRef).toEqual({ name, tag: '1.3.0' });
    expect(moved.status.observedPreviousRef).toEqual({ name, tag: '1.0.0' });
    expect(ready(moved)?.message).toBe(
      `Latest image tag for ${name} resolved to 1.3.0 (previously ${name}:1.0.0)`,
    );
    expect(moved.dueNow).toEqual(['ImageUpdateAutomation/apps/auto']);
    // The same selection again keeps the previous one as it was.
    const again = await policies.reconcile(
      { ...widened, status: moved.status },
      new Date(),
    );
    expect(again.status.observedPreviousRef).toEqual({ name, tag: '1.0.0' });
    expect(again.dueNow).toBeUndefined();
  });

  it("the same tag under another image name (the repository's image changed) is a new selection", async () => {
    const { scanRepository, reconcilePolicy } = await setup(
      {},
      { extra: [automation('apps', 'auto')] },
    );
    await scanRepository();
    const before = { name: 'registry.example.com/team/app', tag: '1.1.0' };
    const moved = await reconcilePolicy({ status: { latestRef: before } });
    expect(moved.status.latestRef).toEqual({
      name: `${registry.host}/team/app`,
      tag: '1.1.0',
    });
    expect(moved.status.observedPreviousRef).toEqual(before);
    expect(moved.dueNow).toEqual(['ImageUpdateAutomation/apps/auto']);
  });

  it('a digest alone changing is a new selection', async () => {
    await pushImage(registry, 'team/retagged', ['2.0.0'], { seed: 'one' });
    const { scanRepository, reconcilePolicy } = await setup(
      { image: `${registry.host}/team/retagged` },
      {
        policy: {
          policy: { semver: { range: '2.x' } },
          digestReflectionPolicy: 'Always',
          interval: '10m',
        },
        extra: [automation('apps', 'auto')],
      },
    );
    await scanRepository();
    const first = await reconcilePolicy();
    const unchanged = await reconcilePolicy(first);
    expect(unchanged.dueNow).toBeUndefined();
    // The same tag pushed again with other content.
    await pushImage(registry, 'team/retagged', ['2.0.0'], { seed: 'two' });
    const moved = await reconcilePolicy(unchanged);
    expect(moved.status.latestRef?.digest).not.toBe(
      first.status.latestRef?.digest,
    );
    expect(moved.status.observedPreviousRef).toEqual(first.status.latestRef);
    expect(moved.dueNow).toEqual(['ImageUpdateAutomation/apps/auto']);
  });

  it("a repository that does not exist: DependencyNotReady with Flux's text, retried in 30 s", async () => {
    const { reconcilePolicy } = await setup(
      {},
      { policy: { imageRepositoryRef: { name: 'nope' } } },
    );
    const policy = await reconcilePolicy();
    expect(ready(policy)).toMatchObject({
      status: 'False',
      reason: 'DependencyNotReady',
      message:
        'failed to get the referred ImageRepository: referenced ImageRepository does not exist: ImageRepository.image.toolkit.fluxcd.io "nope" not found',
    });
    expect(policy.requeueAfterMs).toBe(30_000);
  });

  it('a repository whose image does not parse: Stalled ImageURLInvalid', async () => {
    const { reconcilePolicy } = await setup({
      image: 'Registry.Example/UPPER',
    });
    const policy = await reconcilePolicy();
    expect(ready(policy)).toMatchObject({
      status: 'False',
      reason: 'ImageURLInvalid',
    });
    expect(
      policy.status.conditions?.find(c => c.type === 'Stalled')?.status,
    ).toBe('True');
  });

  describe('a policy in another namespace than its repository', () => {
    const crossPolicy = (options: {
      catalog?: boolean;
      grantedNamespaces?: string[];
    }) =>
      declared(
        'ImagePolicy',
        'other',
        'cross',
        {
          imageRepositoryRef: { name: 'app', namespace: 'apps' },
          policy: { semver: { range: '1.x' } },
        },
        options,
      );
    const CROSS = 'ImagePolicy/other/cross';
    const ACL_DENIED =
      "failed to get the referred ImageRepository: access denied: 'apps/app' can't be accessed due to missing ACL labels on 'accessFrom'";

    it("platform objects (config): only where the repository's accessFrom admits every namespace, as Flux without namespace labels", async () => {
      const closed = await setup({}, { extra: [crossPolicy({})] });
      await closed.scanRepository();
      const denied = await closed.reconcilePolicy(undefined, CROSS);
      expect(ready(denied)).toMatchObject({
        status: 'False',
        reason: 'AccessDenied',
        message: ACL_DENIED,
      });
      // A selector with labels cannot match: namespaces have no labels here.
      const labelled = await setup(
        {
          accessFrom: {
            namespaceSelectors: [{ matchLabels: { team: 'other' } }],
          },
        },
        { extra: [crossPolicy({})] },
      );
      await labelled.scanRepository();
      expect(
        ready(await labelled.reconcilePolicy(undefined, CROSS))?.message,
      ).toBe(ACL_DENIED);

      const open = await setup(
        { accessFrom: { namespaceSelectors: [{ matchLabels: {} }] } },
        { extra: [crossPolicy({})] },
      );
      await open.scanRepository();
      const admitted = await open.reconcilePolicy(undefined, CROSS);
      expect(ready(admitted)?.reason).toBe('Succeeded');
      expect(admitted.status.latestRef?.tag).toBe('1.1.0');
    });

    it('catalog objects: by the namespaces granted to the entity, or the accessFrom of the repository', async () => {
      const granted = await setup(
        {},
        {
          extra: [
            crossPolicy({
              catalog: true,
              grantedNamespaces: ['other', 'apps'],
            }),
          ],
        },
      );
      await granted.scanRepository();
      const admitted = await granted.reconcilePolicy(undefined, CROSS);
      expect(ready(admitted)?.reason).toBe('Succeeded');

      const notGranted = await setup(
        {},
        {
          extra: [crossPolicy({ catalog: true, grantedNamespaces: ['other'] })],
        },
      );
      await notGranted.scanRepository();
      const denied = await notGranted.reconcilePolicy(undefined, CROSS);
      expect(ready(denied)).toMatchObject({
        status: 'False',
        reason: 'AccessDenied',
        message: `spec.imageRepositoryRef: cross-namespace reference to ImageRepository 'apps/app' denied: namespace 'apps' is not granted to ${ENTITY} and the ImageRepository's accessFrom does not admit namespace 'other' (imageAutomation.tenancy.namespaces)`,
      });
      expect(
        denied.status.conditions?.find(c => c.type === 'Stalled')?.status,
      ).toBe('True');
    });
  });
});
