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
import { StoredObject } from '../store/ObjectStore';
import { MAX_MESSAGE_LENGTH } from '../util/truncateMessage';
import { ImageRepositoryReconciler } from './ImageRepositoryReconciler';
import { beginReconcile, scheduleProblem, setScheduleLimits } from './preamble';

jest.setTimeout(60_000);

// Issue #13, resource limits that reach a condition: an interval below the configured minimum,
// and a registry answering multi-megabyte errors. A real registry with a fault proxy in front.

const ENTITY = 'component:default/app';

describe('schedule and message limits on ImageRepositories', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'team/app', ['1.0.0', '1.1.0']);
    proxy = await startFaultProxy(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });
  afterEach(() => proxy.clear());

  async function setup() {
    const knex = await databases.init('SQLITE_3');
    const objects = await DatabaseObjectStore.create({ knex });
    const scans = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const reconciler = new ImageRepositoryReconciler({
      objects,
      scans,
      registry: new RegistryClient({
        retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      }),
      credentials: NamedCredentials.fromConfig(
        new ConfigReader({
          imageAutomation: { registry: { insecureHosts: ['127.0.0.1'] } },
        }),
      ),
      logger: mockServices.logger.mock(),
    });
    const declare = (
      repos: Array<{ name: string; interval: string; timeout?: string }>,
    ) =>
      objects.syncSource(
        's',
        repos.map(r => ({
          manifest: {
            apiVersion: 'image.toolkit.fluxcd.io/v1',
            kind: 'ImageRepository',
            metadata: { name: r.name, namespace: 'apps' },
            spec: {
              image: `${proxy.host}/team/app`,
              interval: r.interval,
              insecure: true,
              ...(r.timeout ? { timeout: r.timeout } : {}),
            },
          },
          source: { type: 'config' as const, location: 'file:///app.yaml' },
          entityRef: ENTITY,
        })),
      );
    const reconcile = async (name: string) => {
      const object = (await objects.get(`ImageRepository/apps/${name}`))!;
      return reconciler.reconcile(object, new Date());
    };
    return { declare, reconcile, scans };
  }

  it('stalls `interval: 1ms` naming the minimum, without contacting the registry; the neighbour scans', async () => {
    const { declare, reconcile } = await setup();
    await declare([
      { name: 'hot', interval: '1ms' },
      { name: 'short-timeout', interval: '5m', timeout: '1ms' },
      { name: 'neighbour', interval: '5m' },
    ]);
    const hot = await reconcile('hot');
    expect(hot.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Stalled',
        status: 'True',
        reason: 'IntervalTooShort',
        message:
          'spec.interval "1ms" is shorter than the minimum interval of 1m0s (imageAutomation.engine.minIntervalSeconds)',
      }),
    );
    expect(hot.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'IntervalTooShort',
      }),
    );
    expect(hot.requeueAfterMs).toBeGreaterThanOrEqual(60_000);
    const timeout = await reconcile('short-timeout');
    expect(timeout.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Stalled',
        message:
          'spec.timeout "1ms" is shorter than the minimum timeout of 1s (imageAutomation.engine.minTimeoutSeconds)',
      }),
    );
    expect(proxy.requests).toHaveLength(0);

    const neighbour = await reconcile('neighbour');
    expect(neighbour.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    );
    expect(proxy.requests.length).toBeGreaterThan(0);
  });

  it('accepts short intervals where the operator opted in (engine.minIntervalSeconds)', async () => {
    const restore = setScheduleLimits({ minIntervalMs: 0 });
    try {
      const { declare, reconcile } = await setup();
      await declare([{ name: 'fast', interval: '1s' }]);
      const fast = await reconcile('fast');
      expect(fast.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
    } finally {
      restore();
    }
  });

  it('keeps a registry’s 5 MB error body out of the condition, the scan record and the event', async () => {
    const { declare, reconcile, scans } = await setup();
    await declare([{ name: 'app', interval: '5m' }]);
    proxy.inject({
      times: Infinity,
      match: r => r.path.includes('/tags/list'),
      action: {
        status: 500,
        body: `<html>${'<div>busy</div>'.repeat(350_000)}</html>`,
      },
    });
    const result = await reconcile('app');
    const ready = result.status.conditions?.find(c => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False' });
    expect(ready!.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(ready!.message).toMatch(
      /unexpected status code 500 Internal Server Error: <html><div>busy/,
    );
    const [latest] = (
      await scans.listScans('ImageRepository/apps/app', { limit: 1 })
    ).items;
    expect(latest).toMatchObject({
      outcome: 'failure',
      errorKind: 'server',
      errorStatus: 500,
    });
    expect(latest.error!.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    for (const e of result.events ?? [])
      expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  });
});

describe('scheduleProblem for every kind that has an interval or timeout', () => {
  const object = (
    kind: string,
    spec: Record<string, unknown>,
    annotations?: Record<string, string>,
  ) =>
    ({
      id: `${kind}/apps/x`,
      kind,
      namespace: 'apps',
      name: 'x',
      generation: 1,
      status: {},
      manifest: {
        apiVersion: 'v1',
        kind,
        metadata: { name: 'x', namespace: 'apps', annotations },
        spec,
      },
    } as unknown as StoredObject);
  const limits = { minIntervalMs: 60_000, minTimeoutMs: 1_000 };

  it.each([
    [
      'GitRepository',
      { interval: '10s' },
      undefined,
      'spec.interval "10s" is shorter than the minimum interval of 1m0s',
    ],
    ['ImagePolicy', { interval: '500ms' }, undefined, 'spec.interval "500ms"'],
    [
      'ImageUpdateAutomation',
      { interval: '59.9s' },
      undefined,
      'spec.interval "59.9s"',
    ],
    [
      'GitRepository',
      { interval: '1m', timeout: '100ms' },
      undefined,
      'spec.timeout "100ms" is shorter than the minimum timeout of 1s',
    ],
    [
      'ResourceSet',
      {},
      { 'fluxcd.controlplane.io/reconcileEvery': '1ms' },
      'metadata.annotations[fluxcd.controlplane.io/reconcileEvery] "1ms"',
    ],
    [
      'ResourceSetInputProvider',
      {},
      { 'fluxcd.controlplane.io/reconcileTimeout': '0s' },
      'metadata.annotations[fluxcd.controlplane.io/reconcileTimeout] "0s"',
    ],
    [
      'ResourceSet',
      {
        steps: [
          { name: 'a', timeout: '1m' },
          { name: 'b', timeout: '1ms' },
        ],
      },
      undefined,
      'spec.steps[1].timeout "1ms"',
    ],
  ])('%s %j %j is refused', (kind, spec, annotations, message) => {
    expect(scheduleProblem(object(kind, spec, annotations), limits)).toContain(
      message,
    );
  });

  it('accepts the minimum itself, longer values and unparsable ones (left to validation)', () => {
    expect(
      scheduleProblem(
        object('GitRepository', { interval: '1m', timeout: '1s' }),
        limits,
      ),
    ).toBeUndefined();
    expect(
      scheduleProblem(
        object(
          'ResourceSet',
          {},
          { 'fluxcd.controlplane.io/reconcileEvery': '1h' },
        ),
        limits,
      ),
    ).toBeUndefined();
    expect(
      scheduleProblem(
        object(
          'ResourceSet',
          {},
          { 'fluxcd.controlplane.io/reconcileEvery': 'soon' },
        ),
        limits,
      ),
    ).toBeUndefined();
  });

  it('is what beginReconcile applies, after validation and suspension', () => {
    const restore = setScheduleLimits({ minIntervalMs: 120_000 });
    try {
      const rset = object(
        'ResourceSet',
        { resources: [] },
        { 'fluxcd.controlplane.io/reconcileEvery': '1m' },
      );
      (rset.manifest as any).apiVersion = 'fluxcd.controlplane.io/v1';
      const begun = beginReconcile(rset, new Date());
      expect('done' in begun && begun.done.status.conditions).toContainEqual(
        expect.objectContaining({
          type: 'Stalled',
          reason: 'IntervalTooShort',
          message: expect.stringContaining('minimum interval of 2m0s'),
        }),
      );
    } finally {
      restore();
    }
  });
});
