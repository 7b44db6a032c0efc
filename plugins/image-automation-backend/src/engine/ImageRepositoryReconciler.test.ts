import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  FaultProxy,
  pushImage,
  startFaultProxy,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { RegistryClient } from '../registry';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { adler32 } from '../golib/adler32/adler32';
import { sortTagsAsStored } from '../policy/goStringOrder';
import { DeclaredObject } from '../store/ObjectStore';
import { ImageRepositoryReconciler } from './ImageRepositoryReconciler';
import { ReconcileResult } from './Reconciler';

jest.setTimeout(60_000);

// A real registry (Debian's distribution 2.8) with Basic auth, and a fault-injecting proxy in
// front of it for 5xx answers; a failed scan records the registry error's class and HTTP status.

const PASSWORD = 'correct-horse-not-in-scans';
const WRONG = 'wrong-secret-not-in-scans';
const ENTITY = 'component:default/app';

describe('ImageRepositoryReconciler records why a scan failed', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  beforeAll(async () => {
    registry = await startRegistry({
      htpasswd: { username: 'alice', password: PASSWORD },
    });
    await pushImage(registry, 'team/app', ['1.0.0', '1.1.0']);
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  async function setup(
    registryClient: RegistryClient = new RegistryClient({
      retries: { baseDelayMs: 10 },
    }),
  ) {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const logger = mockServices.logger.mock();
    const reconciler = new ImageRepositoryReconciler({
      objects,
      scans,
      registry: registryClient,
      credentials: NamedCredentials.fromConfig(
        new ConfigReader({
          imageAutomation: {
            // Granted to the test's entity, bound to the test bed's loopback registries, which
            // speak plain HTTP (#13: both opted in explicitly).
            credentials: {
              good: {
                type: 'basic',
                username: 'alice',
                password: PASSWORD,
                allowedEntities: [ENTITY],
                hosts: ['127.0.0.1'],
              },
              bad: {
                type: 'basic',
                username: 'alice',
                password: WRONG,
                allowedEntities: [ENTITY],
                hosts: ['127.0.0.1'],
              },
              elsewhere: {
                type: 'basic',
                username: 'alice',
                password: PASSWORD,
                allowedEntities: [ENTITY],
                hosts: ['registry.example.com'],
              },
            },
            registry: { insecureHosts: ['127.0.0.1'] },
          },
        }),
      ),
      logger,
    });
    /**
     * Declares the repository (`spec` changes its spec, `extra` adds objects), reconciles it once
     * (with the status of an earlier run, at `now`) and returns its newest scan and the result.
     */
    async function scan(
      host: string,
      secret: string,
      options: {
        repository?: string;
        spec?: Record<string, unknown>;
        extra?: DeclaredObject[];
        previous?: ReconcileResult;
        now?: Date;
      } = {},
    ) {
      await objects.syncSource('s', [
        {
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: 'app', namespace: 'apps' },
            spec: {
              image: `${host}/${options.repository ?? 'team/app'}`,
              interval: '5m',
              insecure: true,
              secretRef: { name: secret },
              ...options.spec,
            },
          },
          source: { type: 'config', location: 'file:///app.yaml' },
          entityRef: ENTITY,
        },
        ...(options.extra ?? []),
      ]);
      const stored = (await objects.get('ImageRepository/apps/app'))!;
      const object = options.previous
        ? { ...stored, status: options.previous.status }
        : stored;
      const result = await reconciler.reconcile(
        object,
        options.now ?? new Date(),
      );
      const [latest] = (await scans.listScans(object.id, { limit: 1 })).items;
      return { result, latest, object };
    }
    return { scan, reconciler, scans, logger };
  }

  // As image-reflector-controller v1.1.1 does (test/src/flux compares the two): a retried failure
  // leaves Reconciling with the progress message the reconcile had reached, not the error.
  it('a retried failure keeps the progress message on Reconciling, as Flux does', async () => {
    const reconciling = (status: any) =>
      status.conditions.find((c: any) => c.type === 'Reconciling');
    const { scan, reconciler } = await setup();
    // Refused before a scan begins, on a new generation.
    const refused = await scan(proxy.host, 'elsewhere');
    expect(reconciling(refused.result.status)).toMatchObject({
      status: 'True',
      reason: 'ProgressingWithRetry',
      message: 'processing object: new generation -1 -> 1',
    });
    expect(refused.result.status.observedGeneration).toBe(-1);
    // Failed while scanning.
    const unauthorized = await scan(registry.host, 'bad');
    expect(reconciling(unauthorized.result.status)).toMatchObject({
      reason: 'ProgressingWithRetry',
      message: 'scanning: first scan',
    });
    // After a success, a requested scan of the same generation fails: the scan's reason.
    const ok = await scan(registry.host, 'good');
    expect(ok.result.status.observedGeneration).toBe(ok.object.generation);
    proxy.clear();
    proxy.inject({
      times: Infinity,
      action: { status: 503, body: 'maintenance' },
    });
    try {
      const object = {
        ...ok.object,
        manifest: {
          ...ok.object.manifest,
          spec: { ...ok.object.manifest.spec, image: `${proxy.host}/team/app` },
        },
        status: ok.result.status,
        reconcileRequestedAt: '2026-01-01T00:00:00Z',
      };
      const failed = await reconciler.reconcile(object, new Date());
      expect(reconciling(failed.status)).toMatchObject({
        message: 'scanning: reconcile requested',
      });
      // Refused before scanning on the same generation: the reconcile's start.
      const early = await reconciler.reconcile(
        {
          ...object,
          manifest: {
            ...object.manifest,
            spec: { ...object.manifest.spec, secretRef: { name: 'elsewhere' } },
          },
        },
        new Date(),
      );
      expect(reconciling(early.status)).toMatchObject({
        message: 'reconciliation in progress',
      });
    } finally {
      proxy.clear();
    }
  });

  it('an invalid exclusion list fails the scan only when a scan begins, as Flux does', async () => {
    const { scan, reconciler } = await setup();
    const ok = await scan(registry.host, 'good');
    const object = {
      ...ok.object,
      manifest: {
        ...ok.object.manifest,
        spec: { ...ok.object.manifest.spec, exclusionList: ['^(unclosed'] },
      },
      status: ok.result.status,
    };
    // The exclusion list changed, so a scan is due: it fails naming the pattern.
    const failed = await reconciler.reconcile(object, new Date());
    expect(failed.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'ReadOperationFailed',
        message:
          'scan failed: failed to compile regex ^(unclosed: error parsing regexp: missing closing ): `^(unclosed`',
      }),
    );
    expect(failed.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Reconciling',
        message: 'scanning: updated exclusion list',
      }),
    );
  });

  it('a success records no error class', async () => {
    const { scan } = await setup();
    const { latest } = await scan(registry.host, 'good');
    expect(latest).toMatchObject({ outcome: 'success', tagCount: 2 });
    expect(latest.errorKind).toBeUndefined();
    expect(latest.errorStatus).toBeUndefined();
  });

  it('a credential bound to another host is refused before the registry is contacted (#13)', async () => {
    const { scan } = await setup();
    proxy.clear();
    const before = proxy.requests.length;
    const { result } = await scan(proxy.host, 'elsewhere');
    expect(result.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'AuthenticationFailed',
        message: `failed to configure authentication options: credential 'elsewhere' may not be sent to ${proxy.host}/team/app: it is bound to registry.example.com (imageAutomation.credentials.elsewhere.hosts)`,
      }),
    );
    expect(proxy.requests.length).toBe(before);
  });

  it('wrong credentials: unauthorized (HTTP 401), without the password', async () => {
    const { scan } = await setup();
    const { result, latest } = await scan(registry.host, 'bad');
    expect(latest).toMatchObject({
      outcome: 'failure',
      errorKind: 'unauthorized',
      errorStatus: 401,
    });
    expect(latest.error).toMatch(/^scan failed: GET http:\/\/.*UNAUTHORIZED/);
    expect(JSON.stringify(latest)).not.toContain(WRONG);
    expect(JSON.stringify(latest)).not.toContain(PASSWORD);
    expect(result.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'ReadOperationFailed',
      }),
    );
  });

  it('a registry answering 503 after the retries: server (HTTP 503)', async () => {
    const { scan } = await setup();
    proxy.clear();
    proxy.inject({
      times: Infinity,
      action: { status: 503, body: 'maintenance' },
    });
    try {
      const { latest } = await scan(proxy.host, 'good');
      expect(latest).toMatchObject({
        outcome: 'failure',
        errorKind: 'server',
        errorStatus: 503,
      });
      expect(latest.requests).toBeGreaterThan(1);
    } finally {
      proxy.clear();
    }
  });

  it('a refused connection: network, without an HTTP status', async () => {
    const { scan } = await setup();
    const { latest } = await scan('127.0.0.1:1', 'good');
    expect(latest).toMatchObject({ outcome: 'failure', errorKind: 'network' });
    expect(latest.errorStatus).toBeUndefined();
  });

  it('an error that is not a registry error records no class', async () => {
    const broken = new RegistryClient();
    jest
      .spyOn(broken, 'listTags')
      .mockRejectedValue(new Error('something unexpected'));
    const { scan } = await setup(broken);
    const { latest } = await scan(registry.host, 'good');
    expect(latest).toMatchObject({
      outcome: 'failure',
      error: 'scan failed: something unexpected',
    });
    expect(latest.errorKind).toBeUndefined();
    expect(latest.errorStatus).toBeUndefined();
  });

  const ready = (result: ReconcileResult) =>
    result.status.conditions?.find(c => c.type === 'Ready');
  const stalled = (result: ReconcileResult) =>
    result.status.conditions?.find(c => c.type === 'Stalled')?.status;

  it("is the engine's reconciler for ImageRepository, bounding a scan by spec.timeout, else the interval", async () => {
    // Built in the test, so that mutation testing sees a test use the class's fields.
    const { reconciler } = await setup();
    expect(reconciler.kind).toBe('ImageRepository');
    expect(reconciler.apiVersion).toBe('image.toolkit.fluxcd.io/v1');
    const object = (spec: Record<string, unknown>) =>
      ({ manifest: { spec } } as unknown as Parameters<
        ImageRepositoryReconciler['timeoutMs']
      >[0]);
    expect(reconciler.timeoutMs(object({ interval: '5m' }))).toBe(300_000);
    expect(
      reconciler.timeoutMs(object({ interval: '5m', timeout: '30s' })),
    ).toBe(30_000);
    expect(reconciler.timeoutMs(object({}))).toBeUndefined();
  });

  it('a successful scan: the tags after the exclusion list, the checksum, ten latest tags, the next scan an interval later', async () => {
    const tags = Array.from({ length: 12 }, (_, i) => `1.${i}.0`);
    await pushImage(registry, 'team/many', [...tags, 'sha256-0a.sig']);
    const { scan, logger } = await setup();
    const { result, latest } = await scan(registry.host, 'good', {
      repository: 'team/many',
    });
    // Flux's default exclusion list drops the signature tag; stored in Go's string order.
    const stored = sortTagsAsStored(tags);
    const revision = String(adler32(JSON.stringify(stored)));
    expect(ready(result)).toMatchObject({
      status: 'True',
      reason: 'Succeeded',
      message: `successful scan: found 12 tags with checksum ${revision}`,
    });
    expect(result.status.lastScanResult).toMatchObject({
      tagCount: 12,
      revision,
      latestTags: stored.slice(0, 10),
    });
    expect(result.status.observedExclusionList).toEqual(['^.*\\.sig$']);
    expect(result.requeueAfterMs).toBe(300_000);
    expect(latest).toMatchObject({ outcome: 'success', tagCount: 12 });
    expect(latest.durationMs).toBeGreaterThanOrEqual(0);
    expect(latest.durationMs).toBeLessThan(60_000);
    expect(logger.debug).toHaveBeenCalledWith(
      'ImageRepository/apps/app: scanning: first scan; successful scan, next scan in 5m0s',
    );
  });

  it('an exclusion list of its own replaces the default, excluding what any entry matches; one that excludes everything leaves no latestTags', async () => {
    await pushImage(registry, 'team/excluded', [
      '1.0.0',
      'debug-1',
      'sha256-0a.sig',
    ]);
    const { scan } = await setup();
    const own = await scan(registry.host, 'good', {
      repository: 'team/excluded',
      spec: { exclusionList: ['^debug'] },
    });
    expect(own.result.status.lastScanResult?.latestTags).toEqual([
      'sha256-0a.sig',
      '1.0.0',
    ]);
    expect(own.result.status.observedExclusionList).toEqual(['^debug']);
    // A tag matching any entry is excluded.
    const both = await scan(registry.host, 'good', {
      repository: 'team/excluded',
      spec: { exclusionList: ['^debug', '\\.sig$'] },
    });
    expect(both.result.status.lastScanResult?.latestTags).toEqual(['1.0.0']);
    const none = await scan(registry.host, 'good', {
      repository: 'team/excluded',
      spec: { exclusionList: ['.*'] },
    });
    expect(ready(none.result)?.message).toMatch(
      /^successful scan: found 0 tags with checksum \d+$/,
    );
    expect(none.result.status.lastScanResult?.tagCount).toBe(0);
    expect(none.result.status.lastScanResult).not.toHaveProperty('latestTags');
  });

  it('makes the policies of the repository due when its tags changed, not when a scan finds the same tags', async () => {
    const policy: DeclaredObject = {
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
    };
    const { scan } = await setup();
    const first = await scan(registry.host, 'good', { extra: [policy] });
    expect(first.result.dueNow).toEqual(['ImagePolicy/apps/app']);
    // An interval later: scanned again, the same tags.
    const later = new Date(Date.now() + 6 * 60_000);
    const again = await scan(registry.host, 'good', {
      extra: [policy],
      previous: first.result,
      now: later,
    });
    expect(again.result.status.lastScanResult?.scanTime).toBe(
      later.toISOString(),
    );
    expect(again.result.dueNow).toEqual([]);
    // Within the interval: no scan at all, no status change.
    const early = await scan(registry.host, 'good', {
      extra: [policy],
      previous: again.result,
      now: new Date(later.getTime() + 60_000),
    });
    expect(early.result.status).toEqual(again.result.status);
    expect(early.result.requeueAfterMs).toBe(4 * 60_000);
  });

  it('an unsupported provider is an invalid manifest, refused before the registry is contacted', async () => {
    const { scan } = await setup();
    proxy.clear();
    const { result } = await scan(proxy.host, 'good', {
      spec: { provider: 'azuredevops' },
    });
    expect(ready(result)).toMatchObject({
      status: 'False',
      reason: 'InvalidManifest',
      message:
        'ImageRepository "app" is invalid: spec.provider: Unsupported value: "azuredevops": supported values: "generic", "aws", "azure", "gcp"',
    });
    expect(proxy.requests).toEqual([]);
    // generic is the default provider, named.
    const generic = await scan(registry.host, 'good', {
      spec: { provider: 'generic' },
    });
    expect(ready(generic.result)?.reason).toBe('Succeeded');
  });

  it('a registry host outside imageAutomation.allowedRegistries is Stalled RegistryNotAllowed, and recorded', async () => {
    const { scan } = await setup(
      new RegistryClient({ allowedHosts: ['registry.example.com'] }),
    );
    const { result, latest } = await scan(registry.host, 'good');
    expect(ready(result)).toMatchObject({
      status: 'False',
      reason: 'RegistryNotAllowed',
    });
    expect(ready(result)?.message).toContain(registry.host);
    expect(stalled(result)).toBe('True');
    expect(latest).toMatchObject({
      outcome: 'failure',
      errorKind: 'hostNotAllowed',
    });
  });

  it('more tags than the limit: TagLimitExceeded, retried', async () => {
    const { scan } = await setup(new RegistryClient({ maxTags: 1 }));
    const { result, latest } = await scan(registry.host, 'good');
    expect(ready(result)).toMatchObject({
      status: 'False',
      reason: 'TagLimitExceeded',
    });
    expect(ready(result)?.message).toMatch(/^scan failed: /);
    expect(stalled(result)).toBeUndefined();
    expect(latest).toMatchObject({ outcome: 'failure', errorKind: 'tagLimit' });
  });

  it('a registry that says how long to wait (429 Retry-After) is asked again a second after that', async () => {
    const { scan } = await setup(
      new RegistryClient({
        retries: { baseDelayMs: 10, maxRetryAfterMs: 1000 },
      }),
    );
    proxy.clear();
    proxy.inject({
      times: Infinity,
      action: { status: 429, headers: { 'Retry-After': '120' } },
    });
    try {
      const { result, latest } = await scan(proxy.host, 'good');
      expect(ready(result)?.reason).toBe('ReadOperationFailed');
      expect(result.requeueAfterMs).toBe(121_000);
      expect(latest).toMatchObject({
        outcome: 'failure',
        errorKind: 'rateLimited',
        errorStatus: 429,
      });
      expect(latest.durationMs).toBeGreaterThanOrEqual(0);
      expect(latest.durationMs).toBeLessThan(60_000);
    } finally {
      proxy.clear();
    }
  });
});
