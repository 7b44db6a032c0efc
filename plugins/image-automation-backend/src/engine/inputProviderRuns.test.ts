import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ExternalServiceStandIn,
  FaultProxy,
  pushImage,
  startExternalServiceStandIn,
  startFaultProxy,
  startRegistry,
  TestRegistry,
  loopbackResolver,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { exportedRevision } from '../inputs';
import { RegistryClient } from '../registry';
import { SharedListings } from '../registry/sharedListings';
import { DatabaseListingStore } from '../store/DatabaseListingStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { ResourceSetInputProviderReconciler } from './ResourceSetInputProviderReconciler';

jest.setTimeout(60_000);

// What one run of a ResourceSetInputProvider decides beyond its inputs: the Ready message while the
// revision stands, the force marker, when a shared listing is read afresh, the next slot of a
// schedule, and how a registry's or a service's failure ends the run. Against a real registry (a
// fault-injecting proxy in front of it where the registry must fail or hang) and a stand-in
// external service on 127.0.0.1.

const TERMINAL =
  'Reconciliation failed terminally due to configuration error: ';
const T0 = new Date('2025-01-06T08:30:00Z');

function rsip(
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): AutomationObject {
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSetInputProvider',
    metadata: {
      name,
      namespace: 'apps',
      ...(annotations ? { annotations } : {}),
    },
    spec,
  };
}

const condition = (result: { status: ObjectStatus }, type: string) =>
  result.status.conditions?.find(c => c.type === type);

describe('ResourceSetInputProviderReconciler runs', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let service: ExternalServiceStandIn;
  let store: ObjectStore;
  let listings: SharedListings;
  const logger = mockServices.logger.mock();
  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  beforeAll(async () => {
    registry = await startRegistry();
    await pushImage(registry, 'charts/app', ['1.0.0']);
    proxy = await startFaultProxy(registry.url);
    service = await startExternalServiceStandIn();
    const knex = await databases.init('SQLITE_3');
    store = await DatabaseObjectStore.create({ knex });
    listings = new SharedListings({
      store: await DatabaseListingStore.create({ knex, skipMigrations: true }),
      registry: new RegistryClient({}),
    });
  });
  afterAll(async () => {
    await service?.stop();
    await proxy?.stop();
    await registry?.stop();
  });
  beforeEach(() => {
    proxy.clear();
    jest.clearAllMocks();
  });

  function reconciler(
    more: Partial<
      ConstructorParameters<typeof ResourceSetInputProviderReconciler>[0]
    > = {},
  ) {
    return new ResourceSetInputProviderReconciler({
      objects: store,
      registry: new RegistryClient({ retries: { attempts: 1 } }),
      credentials: NamedCredentials.fromConfig(new ConfigReader({})),
      logger,
      config: new ConfigReader({
        imageAutomation: {
          inputProviders: {
            allowedHosts: ['127.0.0.1'],
            insecureHosts: ['127.0.0.1'],
          },
        },
      }),
      ...more,
    });
  }

  async function declare(...manifests: AutomationObject[]) {
    await store.syncSource(
      'test',
      manifests.map(manifest => ({
        manifest,
        source: { type: 'config' as const, location: 'test' },
      })),
    );
  }
  const stored = async (name: string) =>
    (await store.get(`ResourceSetInputProvider/apps/${name}`))!;

  /**
   * One reconcile that takes `tookMs` by the clock it reads (the first `Date.now()` is its start,
   * every later one `tookMs` after it), from the status a previous run left.
   */
  async function timedRun(
    object: StoredObject,
    status: ObjectStatus,
    now: Date,
    tookMs: number,
  ) {
    const start = Date.now();
    let calls = 0;
    const clock = jest
      .spyOn(Date, 'now')
      .mockImplementation(() => (calls++ === 0 ? start : start + tookMs));
    try {
      return await reconciler().reconcile({ ...object, status }, now);
    } finally {
      clock.mockRestore();
    }
  }

  it('keeps the Ready message and its transition time while the revision stands, and says so only on a new revision', async () => {
    await declare(
      rsip('steady', { type: 'Static', defaultValues: { v: '1' } }),
    );
    const first = await timedRun(await stored('steady'), {}, T0, 3_000);
    const revision = first.status.lastExportedRevision;
    expect(revision).toBe(exportedRevision(first.status.exportedInputs!));
    expect(condition(first, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
      message: 'Reconciliation finished in 3s',
      lastTransitionTime: T0.toISOString(),
    });
    expect(first.readyEventMessage).toBe(
      `Reconciliation finished in 3s, revision ${revision}`,
    );
    expect(logger.debug).toHaveBeenCalledWith(
      `ResourceSetInputProvider/apps/steady: exported 1 inputs, revision ${revision}`,
    );

    // The same inputs an hour later, in 5 s: the message (and so the engine's event) stays.
    logger.debug.mockClear();
    const later = new Date(T0.getTime() + 3_600_000);
    const same = await timedRun(
      await stored('steady'),
      first.status,
      later,
      5_000,
    );
    expect(same.status.lastExportedRevision).toBe(revision);
    expect(same.status.conditions).toEqual(first.status.conditions);
    expect(logger.debug).not.toHaveBeenCalled();

    // New inputs: the message is this run's, the transition time stays (Ready was True before).
    await declare(
      rsip('steady', { type: 'Static', defaultValues: { v: '2' } }),
    );
    const changed = await timedRun(
      await stored('steady'),
      same.status,
      later,
      5_000,
    );
    const newRevision = changed.status.lastExportedRevision;
    expect(newRevision).not.toBe(revision);
    expect(condition(changed, 'Ready')).toMatchObject({
      message: 'Reconciliation finished in 5s',
      lastTransitionTime: T0.toISOString(),
    });
    expect(logger.debug).toHaveBeenCalledWith(
      `ResourceSetInputProvider/apps/steady: exported 1 inputs, revision ${newRevision}`,
    );

    // After a failure, the same revision again gets this run's message.
    const failedBefore: ObjectStatus = {
      ...changed.status,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'ReconciliationFailed',
          message: 'failed to call OCI provider: boom',
          lastTransitionTime: later.toISOString(),
        },
      ],
    };
    const recovered = await timedRun(
      await stored('steady'),
      failedBefore,
      later,
      7_000,
    );
    expect(condition(recovered, 'Ready')?.message).toBe(
      'Reconciliation finished in 7s',
    );
  });

  it('remembers a handled force request on the runs after it', async () => {
    await declare(
      rsip(
        'forced',
        { type: 'Static' },
        {
          'reconcile.fluxcd.io/requestedAt': 'f1',
          'reconcile.fluxcd.io/forceAt': 'f1',
        },
      ),
    );
    const forced = await reconciler().reconcile(await stored('forced'), T0);
    expect(forced.status.lastHandledForceAt).toBe('f1');
    const next = await reconciler().reconcile(
      { ...(await stored('forced')), status: forced.status },
      new Date(T0.getTime() + 600_000),
    );
    // Forgetting it would make the same forceAt bypass the schedule again.
    expect(next.status.lastHandledForceAt).toBe('f1');
  });

  it('reads a shared listing up to an interval old, but lists afresh for a reconcile request', async () => {
    await pushImage(registry, 'charts/fresh', ['1.0.0']);
    await declare(
      rsip('fresh', {
        type: 'OCIArtifactTag',
        url: `oci://${proxy.host}/charts/fresh`,
      }),
    );
    const sharing = reconciler({ listings });
    const tagLists = () =>
      proxy.requests.filter(r => r.path.startsWith('/v2/charts/fresh/tags/'))
        .length;
    const tags = (result: { status: ObjectStatus }) =>
      result.status.exportedInputs?.map(i => i.tag).sort();

    const first = await sharing.reconcile(await stored('fresh'), T0);
    expect(tags(first)).toEqual(['1.0.0']);
    expect(tagLists()).toBe(1);

    await pushImage(registry, 'charts/fresh', ['1.1.0']);
    const cached = await sharing.reconcile(
      { ...(await stored('fresh')), status: first.status },
      T0,
    );
    expect(tags(cached)).toEqual(['1.0.0']);
    expect(tagLists()).toBe(1);

    const requested = await sharing.reconcile(
      {
        ...(await stored('fresh')),
        status: cached.status,
        reconcileRequestedAt: 'now-please',
      },
      T0,
    );
    expect(tags(requested)).toEqual(['1.0.0', '1.1.0']);
    expect(tagLists()).toBe(2);
    expect(requested.status.lastHandledReconcileAt).toBe('now-please');
  });

  it('after a forced run, waits for the next activation when it comes before the interval, and keeps the interval when it falls on it', async () => {
    const schedule = [{ cron: '0 * * * *', window: '30m' }];
    await declare(
      rsip(
        'hourly',
        { type: 'Static', schedule },
        {
          'reconcile.fluxcd.io/requestedAt': 'f',
          'reconcile.fluxcd.io/forceAt': 'f',
        },
      ),
    );
    // Forced at 08:55, outside the 08:00 window: 10 minutes on is 09:05, inside the 09:00
    // window, but the activation at 09:00 comes first.
    const beforeNext = await reconciler().reconcile(
      await stored('hourly'),
      new Date('2025-01-06T08:55:00Z'),
    );
    expect(beforeNext.status.exportedInputs).toHaveLength(1);
    expect(beforeNext.requeueAfterMs).toBe(5 * 60_000);
    expect(beforeNext.status.nextSchedule).toMatchObject({
      cron: '0 * * * *',
      window: '30m0s',
      when: '2025-01-06T09:00:00Z',
    });
    // Forced at 08:50: the interval ends at the activation itself, inside its window.
    const onNext = await reconciler().reconcile(
      await stored('hourly'),
      new Date('2025-01-06T08:50:00Z'),
    );
    expect(onNext.requeueAfterMs).toBe(10 * 60_000);
    expect(onNext.status.nextSchedule).toBeUndefined();
  });

  it('bounds the registry calls by reconcileTimeout', async () => {
    await declare(
      rsip(
        'slow',
        { type: 'OCIArtifactTag', url: `oci://${proxy.host}/charts/app` },
        { 'fluxcd.controlplane.io/reconcileTimeout': '1s' },
      ),
    );
    proxy.inject({
      times: Infinity,
      match: r => r.path.includes('/tags/list'),
      action: { delayMs: 8_000 },
    });
    const started = Date.now();
    const result = await reconciler().reconcile(await stored('slow'), T0);
    expect(Date.now() - started).toBeLessThan(7_000);
    expect(condition(result, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: expect.stringMatching(
        new RegExp(
          `^failed to call OCI provider: failed to list OCI tags for '${proxy.host}/charts/app': GET .*: no response within \\d+ ms$`,
        ),
      ),
    });
  });

  it('a digest the registry does not give fails the run, naming the cause; nothing is exported', async () => {
    await declare(
      rsip('no-digest', {
        type: 'OCIArtifactTag',
        url: `oci://${proxy.host}/charts/app`,
      }),
    );
    proxy.inject({
      times: Infinity,
      match: r => r.path.includes('/manifests/'),
      action: { status: 500, body: 'manifest store unavailable' },
    });
    const result = await reconciler().reconcile(await stored('no-digest'), T0);
    expect(condition(result, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: expect.stringMatching(
        /^failed to call OCI provider: .*500.*manifest store unavailable/,
      ),
    });
    expect(condition(result, 'Stalled')).toBeUndefined();
    expect(result.status.exportedInputs).toBeUndefined();
  });

  it('speaks plain HTTP to a registry that is not on loopback only with spec.insecure', async () => {
    // A test-only resolver: registry.test is this machine, reached by a name that is not loopback.
    const lookup = loopbackResolver(['registry.test']);
    const port = registry.host.split(':')[1];
    const url = `oci://registry.test:${port}/charts/app`;
    await declare(
      rsip('plain', { type: 'OCIArtifactTag', url, insecure: true }),
      rsip('tls', { type: 'OCIArtifactTag', url }),
    );
    const named = reconciler({
      registry: new RegistryClient({ lookup, retries: { attempts: 1 } }),
    });
    const plain = await named.reconcile(await stored('plain'), T0);
    expect(plain.status.exportedInputs?.map(i => i.tag)).toEqual(['1.0.0']);
    const tls = await named.reconcile(await stored('tls'), T0);
    expect(condition(tls, 'Ready')).toMatchObject({
      status: 'False',
      message: expect.stringMatching(
        /^failed to call OCI provider: failed to list OCI tags for 'registry\.test:\d+\/charts\/app': /,
      ),
    });
  });

  it('an external service is asked again when its Retry-After says, between a second and an hour', async () => {
    const provider = (name: string) =>
      rsip(name, {
        type: 'ExternalService',
        url: `${service.baseUrl}/${name}`,
        insecure: true,
      });
    await declare(
      provider('answers'),
      provider('wait-2m'),
      provider('wait-0'),
      provider('wait-2h'),
      provider('down'),
    );
    service.answer('/answers', { body: { inputs: [{ id: 'a', env: 'x' }] } });
    const busy = (seconds: string) => ({
      status: 429,
      body: 'slow down',
      headers: { 'retry-after': seconds },
    });
    service.answer('/wait-2m', busy('120'));
    service.answer('/wait-0', busy('0'));
    service.answer('/wait-2h', busy('7200'));
    service.answer('/down', { status: 503, body: 'down' });

    const answers = await reconciler().reconcile(await stored('answers'), T0);
    expect(answers.status.exportedInputs).toEqual([{ id: 'a', env: 'x' }]);

    const requeue = async (name: string) => {
      const result = await reconciler().reconcile(await stored(name), T0);
      expect(condition(result, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
      });
      expect(condition(result, 'Stalled')).toBeUndefined();
      return result.requeueAfterMs;
    };
    expect(await requeue('wait-2m')).toBe(120_000);
    expect(await requeue('wait-0')).toBe(1_000);
    expect(await requeue('wait-2h')).toBe(3_600_000);
    // No Retry-After: the usual retry of a failure, a minute at most.
    expect(await requeue('down')).toBe(60_000);
  });

  it('a type this plugin does not serve is Stalled ProviderNotSupported, naming it', async () => {
    await declare(
      rsip('codecommit', {
        type: 'AWSCodeCommitBranch',
        url: 'https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app',
      }),
    );
    const result = await reconciler().reconcile(await stored('codecommit'), T0);
    expect(condition(result, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ProviderNotSupported',
      message: `${TERMINAL}spec.type 'AWSCodeCommitBranch' is not supported yet`,
    });
    expect(condition(result, 'Stalled')).toMatchObject({ status: 'True' });
  });
});
