import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Knex } from 'knex';
import { metrics } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  SchedulerServiceTaskInvocationDefinition,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import type { MetricsService } from '@backstage/backend-plugin-api/alpha';
import {
  mockServices,
  startTestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AutomationObject } from '@imageops/backstage-plugin-image-automation-common';
import {
  pushImage,
  startRegistry,
  TestRegistry,
} from '@internal/image-automation-test/testbed';
import { Engine } from '../engine/Engine';
import { imageAutomationPlugin } from '../plugin';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabasePromotionStore } from '../store/DatabasePromotionStore';
import {
  ImageAutomationMetrics,
  meteredPromotionStore,
  registryLabel,
} from './metrics';

/*
 * The plugin's OpenTelemetry instruments (issue #16), read with the SDK's own reader from a
 * MeterProvider registered as the global one, as a backend's instrumentation file registers it:
 * the real plugin in a real Backstage backend (Backstage's MetricsService, SQLite) scans two real
 * registries (one open, one answering 401) and one registry that is not allowed.
 */

jest.setTimeout(120_000);

/** Collects on demand (what a Prometheus scrape or a periodic exporter does). */
class TestReader extends MetricReader {
  protected async onShutdown() {}
  protected async onForceFlush() {}
}

interface Point {
  attributes: Record<string, unknown>;
  value: number;
}

/** Every metric of a scope as name → data points; a histogram's value is its count. */
async function collect(
  reader: MetricReader,
  scope: string,
): Promise<Map<string, Point[]>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const result = new Map<string, Point[]>();
  for (const scopeMetrics of resourceMetrics.scopeMetrics.filter(
    s => s.scope.name === scope,
  )) {
    for (const metric of scopeMetrics.metrics) {
      const points = (
        metric.dataPoints as Array<{
          attributes: Record<string, unknown>;
          value: any;
        }>
      ).map(p => ({
        attributes: p.attributes,
        value:
          metric.dataPointType === DataPointType.HISTOGRAM
            ? p.value.count
            : p.value,
      }));
      result.set(metric.descriptor.name, points);
    }
  }
  return result;
}

/** The sum of the points whose attributes include `attributes`. */
function total(
  points: Map<string, Point[]>,
  name: string,
  attributes: Record<string, unknown> = {},
): number {
  return (points.get(name) ?? [])
    .filter(p =>
      Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
    )
    .reduce((sum, p) => sum + p.value, 0);
}

const PASSWORD = 'metrics-test-password-never-an-attribute';

describe('the metrics of a running plugin', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  let open: TestRegistry;
  let locked: TestRegistry;
  let dir: string;
  let knex: Knex;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  const tasks = new Map<string, () => Promise<void>>();

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(provider);
    open = await startRegistry();
    locked = await startRegistry({
      htpasswd: { username: 'ci', password: PASSWORD },
    });
    await pushImage(open, 'team/app', ['1.0.0', '1.1.0']);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-automation-metrics-'));
    const repository = (name: string, image: string) =>
      `apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: { name: ${name}, namespace: platform }\nspec: { image: ${image}, interval: 1h, timeout: 10s }\n---\n`;
    await fs.writeFile(
      path.join(dir, 'platform.yaml'),
      [
        repository('open', `${open.host}/team/app`),
        repository('locked', `${locked.host}/team/app`),
        repository('elsewhere', 'registry.example.com/team/app'),
        'apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: { name: open, namespace: platform }\nspec: { imageRepositoryRef: { name: open }, policy: { semver: { range: ">=1.0.0" } } }\n',
      ].join(''),
    );
    knex = await databases.init('SQLITE_3');
    backend = await startTestBackend({
      features: [
        imageAutomationPlugin,
        catalogServiceMock.factory({ entities: [] }),
        mockServices.database.factory({ knex }),
        // The test runs the plugin's tasks when it says so.
        mockServices.scheduler.mock({
          async scheduleTask(
            task: SchedulerServiceTaskScheduleDefinition &
              SchedulerServiceTaskInvocationDefinition,
          ) {
            tasks.set(
              task.id,
              () => task.fn(new AbortController().signal) as Promise<void>,
            );
          },
          async triggerTask() {},
        }).factory,
        mockServices.rootConfig.factory({
          data: {
            imageAutomation: {
              fileRoots: [dir],
              locations: [{ target: path.join(dir, 'platform.yaml') }],
              // Both test registries listen on 127.0.0.1 (on two ports): one value of `registry`.
              allowedRegistries: ['127.0.0.1'],
            },
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await Promise.all([open?.stop(), locked?.stop()]);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    await provider.shutdown();
    metrics.disable();
  });

  it('counts scans by result, registry requests by status class, reconciles by kind and result, and the queue', async () => {
    const scope = 'backstage-plugin-image-automation';
    await tasks.get('image-automation-sync-manifests')!();
    // Declared and not yet reconciled: four objects due now.
    let points = await collect(reader, scope);
    expect(total(points, 'image_automation.queue.depth')).toBe(4);
    expect(total(points, 'image_automation.scans.count')).toBe(0);

    await tasks.get('image-automation-reconcile')!();
    points = await collect(reader, scope);

    // Scans: one success, one refused by the registry (401), one never sent (host not allowed).
    expect(
      total(points, 'image_automation.scans.count', { result: 'success' }),
    ).toBe(1);
    expect(
      total(points, 'image_automation.scans.count', { result: 'unauthorized' }),
    ).toBe(1);
    expect(
      total(points, 'image_automation.scans.count', {
        result: 'hostNotAllowed',
      }),
    ).toBe(1);
    expect(total(points, 'image_automation.scans.count')).toBe(3);
    expect(
      total(points, 'image_automation.scans.duration', { result: 'success' }),
    ).toBe(1);

    // Requests: named by the allow-list entry they matched, never by port, path or image.
    expect(
      total(points, 'image_automation.registry.requests.count', {
        registry: '127.0.0.1',
        status_class: '2xx',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      total(points, 'image_automation.registry.requests.count', {
        registry: '127.0.0.1',
        status_class: '4xx',
      }),
    ).toBeGreaterThanOrEqual(1);
    const registries = new Set(
      (points.get('image_automation.registry.requests.count') ?? []).map(
        p => p.attributes.registry,
      ),
    );
    expect([...registries]).toEqual(['127.0.0.1']);

    // Reconciles: by kind and result, failures with their reason.
    const reconciles = 'image_automation.reconciles.count';
    expect(
      total(points, reconciles, { kind: 'ImageRepository', result: 'ready' }),
    ).toBe(1);
    expect(
      total(points, reconciles, {
        kind: 'ImageRepository',
        result: 'failed',
        reason: 'ReadOperationFailed',
      }),
    ).toBe(1);
    expect(
      total(points, reconciles, {
        kind: 'ImageRepository',
        result: 'stalled',
        reason: 'RegistryNotAllowed',
      }),
    ).toBe(1);
    expect(
      total(points, reconciles, { kind: 'ImagePolicy', result: 'ready' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      total(points, 'image_automation.reconciles.duration', {
        kind: 'ImageRepository',
      }),
    ).toBe(3);
    expect(
      total(points, 'image_automation.engine.pass.duration'),
    ).toBeGreaterThanOrEqual(2);
    expect(total(points, 'image_automation.lease.losses.count')).toBe(0);
    // Nothing due any more: the backlog is empty.
    expect(total(points, 'image_automation.queue.depth')).toBe(0);

    // No attribute value carries an object's name, an image, a host:port or a secret.
    const values = JSON.stringify(
      [...points.values()].flatMap(p => p.map(q => q.attributes)),
    );
    for (const text of [
      'team/app',
      open.host,
      locked.host,
      'registry.example.com',
      'platform',
      PASSWORD,
    ]) {
      expect(values).not.toContain(text);
    }
  });

  it('reports promotions by state from the database', async () => {
    const store = await DatabasePromotionStore.create({
      knex,
      skipMigrations: true,
    });
    const version = (tag: string) => ({
      image: 'registry.example.com/team/app',
      tag,
    });
    const now = new Date();
    const target = (id: string) => ({ id, type: 'git' as const, objectId: id });
    await store.create({
      target: target('a'),
      subject: 'ImagePolicy/platform/open',
      to: version('1.1.0'),
      by: 'test',
      now,
    });
    const b = await store.create({
      target: target('b'),
      subject: 'ImagePolicy/platform/open',
      to: version('1.1.0'),
      by: 'test',
      now,
    });
    await store.update(
      b.id,
      b.revision,
      { state: 'applied', closedAt: now.toISOString() },
      now,
    );
    const points = await collect(reader, 'backstage-plugin-image-automation');
    expect(
      total(points, 'image_automation.promotions', { state: 'pending' }),
    ).toBe(1);
    expect(
      total(points, 'image_automation.promotions', { state: 'applied' }),
    ).toBe(1);
    expect(
      total(points, 'image_automation.promotions', { state: 'failed' }),
    ).toBe(0);
    expect(total(points, 'image_automation.promotions')).toBe(2);
  });
});

describe('the instruments behind the plugin', () => {
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  function meter() {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    // Backstage's MetricsService has the Meter's methods; the test reads this meter directly.
    const service = provider.getMeter('test') as unknown as MetricsService;
    return {
      reader,
      instruments: new ImageAutomationMetrics(service, {
        allowedRegistries: ['*.example.com', 'ghcr.io', '127.0.0.1:5000'],
      }),
    };
  }

  it('counts the states promotions enter through the store: created, superseded, updated', async () => {
    const knex = await databases.init('SQLITE_3');
    const { reader, instruments } = meter();
    const store = meteredPromotionStore(
      await DatabasePromotionStore.create({ knex }),
      instruments,
    );
    const now = new Date();
    const target = {
      id: 'git:ImageUpdateAutomation/apps/shop',
      type: 'git' as const,
      objectId: 'ImageUpdateAutomation/apps/shop',
    };
    const subject = 'ImagePolicy/apps/shop';
    await store.create({
      target,
      subject,
      to: { tag: '1.1.0' },
      by: 'test',
      now,
    });
    const second = await store.create({
      target,
      subject,
      to: { tag: '1.2.0' },
      by: 'test',
      now,
    });
    await store.update(second.id, second.revision, { state: 'approved' }, now);
    // A stale revision changes nothing and counts nothing.
    await store.update(second.id, second.revision, { state: 'rejected' }, now);
    const points = await collect(reader, 'test');
    const name = 'image_automation.promotions.transitions.count';
    expect(total(points, name, { state: 'pending' })).toBe(2);
    expect(total(points, name, { state: 'superseded' })).toBe(1);
    expect(total(points, name, { state: 'approved' })).toBe(1);
    expect(total(points, name, { state: 'rejected' })).toBe(0);
    expect(await store.countByState()).toEqual({ superseded: 1, approved: 1 });
  });

  it('counts a reconcile whose lease another instance took as a lease loss, and discards its result', async () => {
    const knex = await databases.init('SQLITE_3');
    const { reader, instruments } = meter();
    const objects = await DatabaseObjectStore.create({ knex });
    const manifest = {
      apiVersion: 'image.toolkit.fluxcd.io/v1',
      kind: 'ImageRepository',
      metadata: { name: 'slow', namespace: 'apps' },
      spec: { image: 'registry.example.com/team/app', interval: '1h' },
    } as AutomationObject;
    await objects.syncSource('config:test', [
      { manifest, source: { type: 'config', location: 'file:///test.yaml' } },
    ]);
    let stolen = false;
    const engine = new Engine({
      objects,
      logger: mockServices.logger.mock(),
      batchSize: 10,
      leaseMs: 1000,
      metrics: instruments,
      reconcilers: [
        {
          apiVersion: 'image.toolkit.fluxcd.io/v1',
          kind: 'ImageRepository',
          // A reconcile that outlives its lease while another instance claims the object.
          async reconcile(object) {
            const claimed = await objects.claimDue({
              owner: 'other',
              now: new Date(Date.now() + 5000),
              limit: 1,
              leaseMs: 60_000,
            });
            stolen = claimed.length === 1;
            await new Promise(resolve => setTimeout(resolve, 1500));
            return {
              status: { ...object.status, conditions: [] },
              requeueAfterMs: 60_000,
            };
          },
        },
      ],
    });
    expect(await objects.countDue(new Date())).toBe(1);
    await engine.runPass();
    expect(stolen).toBe(true);
    const points = await collect(reader, 'test');
    expect(
      total(points, 'image_automation.lease.losses.count', {
        kind: 'ImageRepository',
      }),
    ).toBe(1);
    // Its result was discarded: not counted as a reconcile.
    expect(total(points, 'image_automation.reconciles.count')).toBe(0);
    expect(total(points, 'image_automation.engine.pass.duration')).toBe(1);
    // Leased by the other instance: not in the backlog.
    expect(await objects.countDue(new Date())).toBe(0);
  });

  it('names registries by the allow-list entry that allowed them, so the values are bounded by the list', () => {
    const list = ['*.example.com', 'ghcr.io', '127.0.0.1:5000'];
    expect(registryLabel('ghcr.io', list)).toBe('ghcr.io');
    expect(registryLabel('GHCR.io', list)).toBe('ghcr.io');
    expect(registryLabel('a.example.com', list)).toBe('*.example.com');
    expect(registryLabel('b.c.example.com:8443', list)).toBe('*.example.com');
    expect(registryLabel('127.0.0.1:5000', list)).toBe('127.0.0.1:5000');
    expect(registryLabel('127.0.0.1:5001', list)).toBe('other');
    expect(registryLabel('attacker.test', ['*'])).toBe('*');
  });
});
