import { mockServices } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import {
  AutomationObject,
  ObjectEvent,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { ImageAutomationMetrics } from '../metrics/metrics';
import {
  MANIFEST_ERROR_ANNOTATION,
  MANIFEST_ERROR_API_VERSION,
  MANIFEST_ERROR_KIND,
  MANIFEST_ERROR_REASON_ANNOTATION,
} from '../objects/parseManifests';
import { CONVERTED_FROM_ANNOTATION } from '../objects/fluxCompatibility';
import { DatabaseEventStore } from '../store/DatabaseEventStore';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { EventStore } from '../store/EventStore';
import {
  DeclaredObject,
  ObjectStore,
  StoredObject,
} from '../store/ObjectStore';
import { createStoreTestDatabases } from '../store/testDatabases';
import { markFailed, markReady, markStalled } from './conditions';
import { Engine, EngineOptions, RECONCILE_TIMEOUT_REASON } from './Engine';
import {
  ReconcileAborted,
  ReconcileContext,
  ReconcileResult,
  Reconciler,
} from './Reconciler';

// The reconcile loop over the real object and event stores (SQLite, and PostgreSQL when the test
// script provides it), with fake reconcilers that stand in for the real ones and record what the
// engine hands them: which objects run, when, how many at once, and the abort signal. Fast enough
// to run once per mutant of the engine (docs/testing.md, module `engine`).

jest.setTimeout(60_000);

const databases = createStoreTestDatabases();

const ENTITY = 'component:default/shop';
const IMAGE = 'image.toolkit.fluxcd.io/v1';
const SOURCE = 'source.toolkit.fluxcd.io/v1';

function imageRepository(
  name: string,
  extra: Partial<AutomationObject> = {},
): AutomationObject {
  return {
    apiVersion: IMAGE,
    kind: 'ImageRepository',
    metadata: { name, namespace: 'apps' },
    spec: { image: `ghcr.io/acme/${name}`, interval: '5m' },
    ...extra,
  };
}

function imagePolicy(
  name: string,
  spec: Record<string, unknown> = {},
): AutomationObject {
  return {
    apiVersion: IMAGE,
    kind: 'ImagePolicy',
    metadata: { name, namespace: 'apps' },
    spec: {
      imageRepositoryRef: { name },
      policy: { semver: { range: '>=1.0.0' } },
      ...spec,
    },
  };
}

function gitRepository(
  name: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): AutomationObject {
  return {
    apiVersion: SOURCE,
    kind: 'GitRepository',
    metadata: {
      name,
      namespace: 'apps',
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      url: 'https://git.example.com/fleet.git',
      interval: '5m',
      ref: { branch: 'main' },
      ...spec,
    },
  };
}

function declared(
  manifest: AutomationObject,
  granted: string[] | undefined = ['*'],
): DeclaredObject {
  return {
    manifest,
    entityRef: ENTITY,
    source: { type: 'catalog', location: 'file:///catalog/shop.yaml' },
    grantedNamespaces: granted,
  };
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));
const aborted = (signal: AbortSignal) =>
  new Promise<ReconcileAborted>(resolve => {
    if (signal.aborted) resolve(signal.reason);
    else
      signal.addEventListener('abort', () => resolve(signal.reason), {
        once: true,
      });
  });

type Behaviour = (
  object: StoredObject,
  now: Date,
  context: ReconcileContext,
) => Promise<ReconcileResult>;

const readyResult = (
  object: StoredObject,
  now: Date,
  requeueAfterMs = 300_000,
): ReconcileResult => ({
  status: markReady(
    object.status,
    'Succeeded',
    `reconciled ${object.name}`,
    now,
    object.generation,
  ),
  requeueAfterMs,
});

/** Stands in for a real reconciler: records every call and what it saw; by default Ready at once. */
class FakeReconciler implements Reconciler {
  readonly runs: Array<{
    id: string;
    now: Date;
    signal: AbortSignal;
    startedAt: number;
  }> = [];
  running = 0;
  maxRunning = 0;
  timeoutMs?: Reconciler['timeoutMs'];

  constructor(
    readonly kind: string,
    readonly apiVersion: string,
    private readonly behaviour: Behaviour = async (object, now) =>
      readyResult(object, now),
  ) {}

  async reconcile(
    object: StoredObject,
    now: Date,
    context?: ReconcileContext,
  ): Promise<ReconcileResult> {
    this.runs.push({
      id: object.id,
      now,
      signal: context!.signal,
      startedAt: Date.now(),
    });
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      return await this.behaviour(object, now, context!);
    } finally {
      this.running--;
    }
  }

  ids() {
    return this.runs.map(r => r.id).sort();
  }
}

/** Records what the engine reports to metrics (the real class needs a MetricsService). */
function recordingMetrics() {
  const calls = {
    reconciled: [] as Array<{
      kind: string;
      result: string;
      durationMs: number;
      reason?: string;
    }>,
    leaseLost: [] as string[],
    passes: [] as number[],
  };
  const metrics = {
    reconciled: (
      kind: string,
      result: string,
      durationMs: number,
      reason?: string,
    ) => calls.reconciled.push({ kind, result, durationMs, reason }),
    leaseLost: (kind: string) => calls.leaseLost.push(kind),
    passCompleted: (durationMs: number) => calls.passes.push(durationMs),
  } as unknown as ImageAutomationMetrics;
  return { metrics, calls };
}

/** The real event store, also keeping what was recorded with its metadata (which is not stored). */
function recordingEvents(real: EventStore) {
  const recorded: Array<Omit<ObjectEvent, 'id'>> = [];
  const events: EventStore = {
    ...real,
    list: real.list.bind(real),
    listByReason: real.listByReason.bind(real),
    prune: real.prune.bind(real),
    record: async event => {
      recorded.push(event);
      await real.record(event);
    },
  };
  return { events, recorded };
}

describe.each(databases.eachSupportedId())('Engine on %p', databaseId => {
  let knex: Knex;
  let objects: DatabaseObjectStore;
  let eventStore: DatabaseEventStore;
  let logger: ReturnType<typeof mockServices.logger.mock>;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
    objects = await DatabaseObjectStore.create({ knex });
    eventStore = await DatabaseEventStore.create({
      knex,
      skipMigrations: true,
    });
    logger = mockServices.logger.mock();
  });

  function engine(
    reconcilers: Reconciler[],
    options: Partial<EngineOptions> = {},
  ) {
    return new Engine({
      objects,
      reconcilers,
      logger,
      batchSize: 20,
      leaseMs: 60_000,
      instanceId: 'engine-a',
      ...options,
    });
  }

  async function declare(
    ...manifests: Array<AutomationObject | DeclaredObject>
  ) {
    await objects.syncSource(
      'entity:component:default/shop',
      manifests.map(m => ('manifest' in m ? m : declared(m))),
    );
  }

  /** Whether another instance could take the object now (due, and nobody holds its lease). */
  async function claimableBy(
    owner: string,
    id: string,
    at = new Date(Date.now() + 1000),
  ) {
    const claimed = await objects.claimDue({
      owner,
      now: at,
      limit: 100,
      leaseMs: 60_000,
    });
    return claimed.map(o => o.id).includes(id);
  }

  const repoId = (name: string) => `ImageRepository/apps/${name}`;
  const ready = (status: ObjectStatus | undefined) =>
    status?.conditions?.find(c => c.type === 'Ready');
  const stalled = (status: ObjectStatus | undefined) =>
    status?.conditions?.find(c => c.type === 'Stalled');

  describe('a pass', () => {
    it('runs every due object once with the reconciler of its apiVersion and kind, and stores the outcome', async () => {
      await declare(
        imageRepository('web'),
        imageRepository('api'),
        imagePolicy('web'),
      );
      const repos = new FakeReconciler('ImageRepository', IMAGE);
      const policies = new FakeReconciler('ImagePolicy', IMAGE);
      const at = new Date(Date.now() + 1000);
      const count = await engine([repos, policies]).runPass(() => at);
      expect(count).toBe(3);
      expect(repos.ids()).toEqual([repoId('api'), repoId('web')]);
      expect(policies.ids()).toEqual(['ImagePolicy/apps/web']);
      expect(repos.runs.every(r => r.now.getTime() === at.getTime())).toBe(
        true,
      );
      const web = await objects.get(repoId('web'));
      expect(ready(web?.status)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
        message: 'reconciled web',
      });
      // Stored with its schedule: next run after the requeue, ran at the pass's time, lease released.
      expect(web?.nextRunAt).toBe(
        new Date(at.getTime() + 300_000).toISOString(),
      );
      expect(web?.lastRunAt).toBe(at.toISOString());
      expect(
        await claimableBy(
          'engine-b',
          repoId('web'),
          new Date(at.getTime() + 299_000),
        ),
      ).toBe(false);
      expect(
        await claimableBy(
          'engine-b',
          repoId('web'),
          new Date(at.getTime() + 301_000),
        ),
      ).toBe(true);
      // Nothing is due any more: the next pass runs nothing.
      expect(
        await engine([repos, policies]).runPass(
          () => new Date(at.getTime() + 1000),
        ),
      ).toBe(0);
      expect(repos.runs).toHaveLength(2);
    });

    it('says how many it reconciled in the log only when there were some', async () => {
      const quiet = engine([]);
      expect(await quiet.runPass()).toBe(0);
      expect(logger.debug).not.toHaveBeenCalled();
      await declare(imageRepository('web'));
      expect(
        await engine([new FakeReconciler('ImageRepository', IMAGE)]).runPass(),
      ).toBe(1);
      expect(logger.debug).toHaveBeenCalledWith(
        'Reconciled 1 automation objects',
      );
    });

    it('runs at most `concurrency` objects at once (four by default, at least one)', async () => {
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      const slow = () =>
        new FakeReconciler('ImageRepository', IMAGE, async (object, now) => {
          await sleep(60);
          return readyResult(object, now);
        });
      for (const [concurrency, expected] of [
        [2, 2],
        [undefined, 4],
        [0, 1],
      ] as const) {
        await objects.syncSource('entity:component:default/shop', []);
        await declare(...names.map(n => imageRepository(n)));
        const reconciler = slow();
        expect(await engine([reconciler], { concurrency }).runPass()).toBe(6);
        expect(reconciler.maxRunning).toBe(expected);
      }
    });

    it('never runs more at once than the batch allows', async () => {
      await declare(
        imageRepository('a'),
        imageRepository('b'),
        imageRepository('c'),
      );
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          await sleep(50);
          return readyResult(object, now);
        },
      );
      expect(
        await engine([reconciler], { concurrency: 4, batchSize: 2 }).runPass(),
      ).toBe(2);
      expect(reconciler.maxRunning).toBe(2);
      expect(reconciler.runs).toHaveLength(2);
    });

    it('takes at most `batchSize` objects, claiming the next one as a worker gets free', async () => {
      await declare(...['a', 'b', 'c', 'd', 'e'].map(n => imageRepository(n)));
      const reconciler = new FakeReconciler('ImageRepository', IMAGE);
      expect(
        await engine([reconciler], { concurrency: 1, batchSize: 3 }).runPass(),
      ).toBe(3);
      expect(reconciler.runs).toHaveLength(3);
      expect(await objects.countDue(new Date(Date.now() + 1000))).toBe(2);
      // With room for all, one worker goes on until nothing is due.
      const all = new FakeReconciler('ImageRepository', IMAGE);
      await declare(
        ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(n => imageRepository(n)),
      );
      expect(
        await engine([all], { concurrency: 2, batchSize: 20 }).runPass(),
      ).toBe(4);
      expect([...reconciler.ids(), ...all.ids()].sort()).toEqual(
        ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(repoId),
      );
    });

    it('claims an object only when it starts it: those waiting for a worker keep no lease', async () => {
      await declare(
        imageRepository('a'),
        imageRepository('b'),
        imageRepository('c'),
      );
      const waiting: number[] = [];
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          waiting.push(await objects.countDue(new Date(Date.now() + 1000)));
          return readyResult(object, now);
        },
      );
      expect(
        await engine([reconciler], { concurrency: 1, batchSize: 3 }).runPass(),
      ).toBe(3);
      expect(waiting).toEqual([2, 1, 0]);
    });

    it('does not go on claiming when the first claim found fewer due than workers', async () => {
      await declare(
        imageRepository('a'),
        imageRepository('b'),
        imageRepository('later'),
      );
      const at = new Date(Date.now() + 1000);
      // `later` is not due at the pass's start; the first reconcile makes it due.
      await objects.claimDue({
        owner: 'setup',
        now: at,
        limit: 3,
        leaseMs: 60_000,
      });
      for (const id of [repoId('a'), repoId('b')])
        await objects.releaseLease(id, 'setup', at);
      await objects.completeRun(repoId('later'), 'setup', {
        status: {},
        nextRunAt: new Date(at.getTime() + 3_600_000),
        ranAt: at,
      });
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          await objects.markDue([repoId('later')], new Date(Date.now() - 5000));
          return readyResult(object, now);
        },
      );
      expect(
        await engine([reconciler], { concurrency: 4 }).runPass(() => at),
      ).toBe(2);
      expect(reconciler.ids()).toEqual([repoId('a'), repoId('b')]);
      // The next pass runs it.
      expect(
        await engine([reconciler], { concurrency: 4 }).runPass(() => at),
      ).toBe(1);
    });

    it('stops every worker once one claim came back empty: what becomes due after it waits for the next pass', async () => {
      await declare(
        imageRepository('a'),
        imageRepository('b'),
        imageRepository('later'),
      );
      const at = new Date(Date.now() + 1000);
      await objects.claimDue({
        owner: 'setup',
        now: at,
        limit: 3,
        leaseMs: 60_000,
      });
      for (const id of [repoId('a'), repoId('b')])
        await objects.releaseLease(id, 'setup', at);
      await objects.completeRun(repoId('later'), 'setup', {
        status: {},
        nextRunAt: new Date(at.getTime() + 3_600_000),
        ranAt: at,
      });
      // What each claim found, in order: the pass's first claim, then each worker's next one.
      const found: number[] = [];
      const claimDue = objects.claimDue.bind(objects);
      jest.spyOn(objects, 'claimDue').mockImplementation(async options => {
        const claimed = await claimDue(options);
        found.push(claimed.length);
        return claimed;
      });
      // `a` ends at once and its worker's next claim finds nothing; only then does `b` make
      // `later` due, before its own worker would claim again.
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          if (object.name === 'b') {
            while (!found.includes(0)) await sleep(5);
            await objects.markDue(
              [repoId('later')],
              new Date(Date.now() - 5000),
            );
          }
          return readyResult(object, now);
        },
      );
      expect(
        await engine([reconciler], { concurrency: 2 }).runPass(() => at),
      ).toBe(2);
      expect(found).toEqual([2, 0]);
      expect(reconciler.ids()).toEqual([repoId('a'), repoId('b')]);
      expect(
        await engine([reconciler], { concurrency: 2 }).runPass(() => at),
      ).toBe(1);
    });

    it('reports the pass to metrics and to the readiness check', async () => {
      const { metrics, calls } = recordingMetrics();
      const e = engine([new FakeReconciler('ImageRepository', IMAGE)], {
        metrics,
      });
      const created = e.activity().lastProgressAt.getTime();
      expect(e.activity().lastPassAt).toBeUndefined();
      await sleep(5);
      await e.runPass();
      expect(calls.passes).toHaveLength(1);
      expect(calls.passes[0]).toBeGreaterThanOrEqual(0);
      const { lastPassAt, lastProgressAt } = e.activity();
      expect(lastPassAt).toBeInstanceOf(Date);
      expect(lastProgressAt.getTime()).toBeGreaterThan(created);
    });

    it('names itself with a fresh id unless given one', () => {
      const a = new Engine({
        objects,
        reconcilers: [],
        logger,
        batchSize: 1,
        leaseMs: 1000,
      });
      const b = new Engine({
        objects,
        reconcilers: [],
        logger,
        batchSize: 1,
        leaseMs: 1000,
      });
      expect(a.instanceId).toMatch(/^image-automation-[0-9a-f-]{36}$/);
      expect(a.instanceId).not.toBe(b.instanceId);
      expect(engine([]).instanceId).toBe('engine-a');
    });
  });

  describe('error isolation', () => {
    it('one reconciler throwing does not stop the others; the object is Stalled InternalError with the message', async () => {
      await declare(
        imageRepository('a'),
        imageRepository('b'),
        imageRepository('c'),
      );
      const at = new Date(Date.now() + 1000);
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          if (object.name === 'b') throw new Error('boom in b');
          return readyResult(object, now);
        },
      );
      const { metrics, calls } = recordingMetrics();
      expect(
        await engine([reconciler], { concurrency: 1, metrics }).runPass(
          () => at,
        ),
      ).toBe(3);
      expect(reconciler.ids()).toEqual(['a', 'b', 'c'].map(repoId));
      const b = await objects.get(repoId('b'));
      expect(ready(b?.status)).toMatchObject({
        status: 'False',
        reason: 'InternalError',
        message: 'reconcile failed: boom in b',
      });
      expect(stalled(b?.status)).toMatchObject({
        status: 'True',
        reason: 'InternalError',
      });
      expect(b?.status.observedGeneration).toBe(1);
      expect(b?.nextRunAt).toBe(new Date(at.getTime() + 60_000).toISOString());
      expect(ready((await objects.get(repoId('c')))?.status)?.status).toBe(
        'True',
      );
      expect(logger.error).toHaveBeenCalledWith(
        `Reconciling ${repoId('b')} failed unexpectedly`,
        expect.any(Error),
      );
      expect(calls.reconciled.find(r => r.result === 'stalled')).toMatchObject({
        kind: 'ImageRepository',
        reason: 'InternalError',
      });
    });

    it('a store failure while storing one outcome is logged and the worker goes on', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const failing: ObjectStore = Object.create(objects);
      failing.completeRun = async (id, owner, result) => {
        if (id === repoId('a')) throw new Error('connection reset');
        return objects.completeRun(id, owner, result);
      };
      const reconciler = new FakeReconciler('ImageRepository', IMAGE);
      const e = new Engine({
        objects: failing,
        reconcilers: [reconciler],
        logger,
        batchSize: 20,
        leaseMs: 60_000,
        concurrency: 1,
      });
      expect(await e.runPass()).toBe(2);
      expect(reconciler.ids()).toEqual([repoId('a'), repoId('b')]);
      expect(logger.error).toHaveBeenCalledWith(
        `Could not store the reconcile of ${repoId(
          'a',
        )}: Error: connection reset`,
      );
      expect(ready((await objects.get(repoId('b')))?.status)?.status).toBe(
        'True',
      );
    });

    it('a failed claim ends that worker; what it had run is counted', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const failing: ObjectStore = Object.create(objects);
      let claims = 0;
      failing.claimDue = async options => {
        if (++claims > 1) throw new Error('database went away');
        return objects.claimDue(options);
      };
      const reconciler = new FakeReconciler('ImageRepository', IMAGE);
      const e = new Engine({
        objects: failing,
        reconcilers: [reconciler],
        logger,
        batchSize: 20,
        leaseMs: 60_000,
        concurrency: 1,
      });
      expect(await e.runPass()).toBe(1);
      expect(reconciler.runs).toHaveLength(1);
      expect(logger.warn).toHaveBeenCalledWith(
        'Could not claim due automation objects: Error: database went away',
      );
    });
  });

  describe('leases', () => {
    it('renews the lease while a run outlasts it: another instance cannot claim the object meanwhile', async () => {
      await declare(imageRepository('long'));
      const leaseMs = 600;
      const seen: boolean[] = [];
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          for (let i = 0; i < 5; i++) {
            await sleep(250);
            seen.push(await claimableBy('engine-b', object.id, new Date()));
          }
          expect(signal.aborted).toBe(false);
          return readyResult(object, now);
        },
      );
      const other = new FakeReconciler('ImageRepository', IMAGE);
      const a = engine([reconciler], { leaseMs });
      const b = engine([other], { leaseMs, instanceId: 'engine-b' });
      const created = a.activity().lastProgressAt.getTime();
      const progress: number[] = [];
      const watch = setInterval(
        () => progress.push(a.activity().lastProgressAt.getTime()),
        100,
      );
      const running = a.runPass();
      await sleep(700);
      expect(await b.runPass()).toBe(0);
      expect(await running).toBe(1);
      clearInterval(watch);
      expect(seen).toEqual(Array(5).fill(false));
      expect(other.runs).toHaveLength(0);
      expect(reconciler.runs[0].signal.aborted).toBe(false);
      expect(ready((await objects.get(repoId('long')))?.status)?.status).toBe(
        'True',
      );
      // The renewals show progress while the run goes on.
      expect(progress.some(p => p > created)).toBe(true);
    });

    it('aborts the run when another instance took the lease, and stores nothing of it', async () => {
      await declare(imageRepository('taken'));
      const { metrics, calls } = recordingMetrics();
      let reason: ReconcileAborted | undefined;
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          // Another instance takes the object over (as if this lease had run out).
          await objects.releaseLease(object.id, 'engine-a', new Date());
          expect(await claimableBy('engine-b', object.id, new Date())).toBe(
            true,
          );
          reason = await aborted(signal);
          // A reconciler that ignores the signal: whatever it returns is dropped.
          return { ...readyResult(object, now), dueNow: [repoId('other')] };
        },
      );
      const { events, recorded } = recordingEvents(eventStore);
      await engine([reconciler], { leaseMs: 900, metrics, events }).runPass();
      expect(reason).toBeInstanceOf(ReconcileAborted);
      expect(reason?.why).toBe('lease');
      expect(reason?.message).toBe(
        `the lease on ${repoId('taken')} was taken by another instance`,
      );
      const stored = await objects.get(repoId('taken'));
      expect(stored?.status.conditions).toBeUndefined();
      expect(stored?.lastRunAt).toBeUndefined();
      expect(recorded).toEqual([]);
      expect(calls.leaseLost).toEqual(['ImageRepository']);
      expect(calls.reconciled).toEqual([]);
      expect(logger.warn).toHaveBeenCalledWith(
        `Stopped reconciling ${repoId('taken')}: the lease on ${repoId(
          'taken',
        )} was taken by another instance; nothing of this run was stored`,
      );
    });

    it('aborts the run before the lease runs out when it cannot be renewed', async () => {
      await declare(imageRepository('unreachable'));
      const unreachable: ObjectStore = Object.create(objects);
      unreachable.renewLease = async () => {
        throw new Error('ECONNREFUSED');
      };
      const leaseMs = 900;
      let elapsed = 0;
      let reason: ReconcileAborted | undefined;
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          const started = Date.now();
          reason = await aborted(signal);
          elapsed = Date.now() - started;
          return readyResult(object, now);
        },
      );
      const { metrics, calls } = recordingMetrics();
      const e = new Engine({
        objects: unreachable,
        reconcilers: [reconciler],
        logger,
        batchSize: 5,
        leaseMs,
        instanceId: 'engine-a',
        metrics,
      });
      await e.runPass();
      expect(reason?.why).toBe('lease');
      expect(reason?.message).toBe(
        `the lease on ${repoId(
          'unreachable',
        )} was not renewed in time (is the database reachable?)`,
      );
      // A sixth of the lease before it runs out.
      expect(elapsed).toBeGreaterThanOrEqual(leaseMs - leaseMs / 6 - 60);
      expect(elapsed).toBeLessThan(leaseMs);
      expect(logger.warn).toHaveBeenCalledWith(
        `Could not renew the lease on ${repoId(
          'unreachable',
        )}: Error: ECONNREFUSED`,
      );
      expect(
        (await objects.get(repoId('unreachable')))?.status.conditions,
      ).toBeUndefined();
      expect(calls.leaseLost).toEqual(['ImageRepository']);
    });

    it('a lease lost between renewals: the outcome is refused and nothing follows it', async () => {
      await declare(imageRepository('lost'), imageRepository('dependent'));
      const at = new Date(Date.now() + 1000);
      // `dependent` is not due; the run would make it due.
      await objects.claimDue({
        owner: 'setup',
        now: at,
        limit: 5,
        leaseMs: 60_000,
      });
      await objects.releaseLease(repoId('lost'), 'setup', at);
      await objects.completeRun(repoId('dependent'), 'setup', {
        status: {},
        nextRunAt: new Date(at.getTime() + 3_600_000),
        ranAt: at,
      });
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          await objects.releaseLease(object.id, 'engine-a', new Date());
          await objects.claimDue({
            owner: 'engine-b',
            now: new Date(Date.now() + 2000),
            limit: 1,
            leaseMs: 60_000,
          });
          return {
            ...readyResult(object, now),
            dueNow: [repoId('dependent')],
            events: [{ type: 'Normal', reason: 'Pushed', message: 'x' }],
          };
        },
      );
      const { metrics, calls } = recordingMetrics();
      const changed: string[] = [];
      const owners: string[] = [];
      const { events, recorded } = recordingEvents(eventStore);
      await engine([reconciler], {
        metrics,
        events,
        notifier: { changed: (_c, ref) => changed.push(String(ref)) },
        owners: { objectChanged: o => owners.push(o.id) },
      }).runPass(() => at);
      expect(
        (await objects.get(repoId('lost')))?.status.conditions,
      ).toBeUndefined();
      expect(logger.warn).toHaveBeenCalledWith(
        `Lost the lease on ${repoId(
          'lost',
        )} while reconciling it; its result was discarded`,
      );
      expect(calls.leaseLost).toEqual(['ImageRepository']);
      expect(calls.reconciled).toEqual([]);
      expect(recorded).toEqual([]);
      expect(changed).toEqual([]);
      expect(owners).toEqual([]);
      expect((await objects.get(repoId('dependent')))?.nextRunAt).toBe(
        new Date(at.getTime() + 3_600_000).toISOString(),
      );
    });

    it('two engines racing on the same objects run every object exactly once', async () => {
      const names = Array.from({ length: 16 }, (_, i) => `o${i}`);
      await declare(...names.map(n => imageRepository(n)));
      const runs = new Map<string, number>();
      const running = new Set<string>();
      const overlaps: string[] = [];
      const counting = () =>
        new FakeReconciler('ImageRepository', IMAGE, async (object, now) => {
          if (running.has(object.id)) overlaps.push(object.id);
          running.add(object.id);
          runs.set(object.id, (runs.get(object.id) ?? 0) + 1);
          await sleep(5);
          running.delete(object.id);
          return readyResult(object, now);
        });
      // Separate store instances on one database, as two replicas would have.
      const storeB = await DatabaseObjectStore.create({
        knex,
        skipMigrations: true,
      });
      const a = engine([counting()], { batchSize: 6, concurrency: 3 });
      const b = new Engine({
        objects: storeB,
        reconcilers: [counting()],
        logger,
        batchSize: 6,
        leaseMs: 60_000,
        instanceId: 'engine-b',
        concurrency: 3,
      });
      let total = 0;
      for (let round = 0; round < 5; round++) {
        const [x, y] = await Promise.all([a.runPass(), b.runPass()]);
        total += x + y;
      }
      expect(overlaps).toEqual([]);
      expect([...runs.keys()].sort()).toEqual(names.map(repoId).sort());
      expect([...runs.values()].every(n => n === 1)).toBe(true);
      expect(total).toBe(16);
    });
  });

  describe('stopping a pass', () => {
    it('claims nothing once the pass is stopped', async () => {
      await declare(imageRepository('a'));
      const reconciler = new FakeReconciler('ImageRepository', IMAGE);
      const stop = new AbortController();
      stop.abort();
      expect(await engine([reconciler]).runPass(undefined, stop.signal)).toBe(
        0,
      );
      expect(reconciler.runs).toHaveLength(0);
      expect(await claimableBy('engine-b', repoId('a'))).toBe(true);
    });

    it('stops running reconciles, releases their leases so they are due at once, and claims no more', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const stop = new AbortController();
      let reason: ReconcileAborted | undefined;
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          setTimeout(() => stop.abort(), 20);
          reason = await aborted(signal);
          return readyResult(object, now);
        },
      );
      const e = engine([reconciler], { concurrency: 1 });
      expect(await e.runPass(undefined, stop.signal)).toBe(1);
      expect(reconciler.runs).toHaveLength(1);
      expect(reason?.why).toBe('shutdown');
      expect(reason?.message).toBe(
        `the reconcile of ${reconciler.runs[0].id} was stopped: the engine is stopping`,
      );
      const first = await objects.get(reconciler.runs[0].id);
      expect(first?.status.conditions).toBeUndefined();
      // Released: any instance may take it now.
      expect(
        await claimableBy('engine-b', reconciler.runs[0].id, new Date()),
      ).toBe(true);
      expect(logger.info).toHaveBeenCalledWith(
        `Stopped reconciling ${reconciler.runs[0].id} (the engine is stopping); it is due again at once`,
      );
    });

    it('a reconcile that starts after the pass was stopped is stopped at once', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const stop = new AbortController();
      const stopping: ObjectStore = Object.create(objects);
      let claims = 0;
      stopping.claimDue = async options => {
        const claimed = await objects.claimDue(options);
        // The stop arrives while the claim is under way: the object is claimed, then stopped.
        if (++claims === 2) stop.abort();
        return claimed;
      };
      const startedAborted: boolean[] = [];
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          startedAborted.push(signal.aborted);
          return readyResult(object, now);
        },
      );
      const e = new Engine({
        objects: stopping,
        reconcilers: [reconciler],
        logger,
        batchSize: 20,
        leaseMs: 60_000,
        concurrency: 1,
        instanceId: 'engine-a',
      });
      expect(await e.runPass(undefined, stop.signal)).toBe(2);
      expect(startedAborted).toEqual([false, true]);
      const second = reconciler.runs[1].id;
      expect((await objects.get(second))?.status.conditions).toBeUndefined();
      expect(await claimableBy('engine-b', second, new Date())).toBe(true);
    });
  });

  describe('deadline', () => {
    it('aborts a reconcile at its timeout plus grace: Ready=False ReconcileTimeout, retried after a minute', async () => {
      await declare(imageRepository('slow'));
      const at = new Date();
      let elapsed = 0;
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (_object, _now, { signal }) => {
          const started = Date.now();
          await aborted(signal);
          elapsed = Date.now() - started;
          signal.throwIfAborted();
          throw new Error('unreachable');
        },
      );
      reconciler.timeoutMs = async () => 300;
      const { metrics, calls } = recordingMetrics();
      await engine([reconciler], {
        deadlineGraceMs: 200,
        defaultTimeoutMs: 10_000,
        metrics,
      }).runPass(() => at);
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(5000);
      const stored = await objects.get(repoId('slow'));
      const message =
        'reconcile aborted after 500ms: its timeout is 300ms, and 200ms more passed';
      expect(ready(stored?.status)).toMatchObject({
        status: 'False',
        reason: RECONCILE_TIMEOUT_REASON,
        message,
      });
      expect(
        stored?.status.conditions?.find(c => c.type === 'Reconciling'),
      ).toMatchObject({ status: 'True', reason: 'ProgressingWithRetry' });
      expect(stalled(stored?.status)).toBeUndefined();
      expect(stored?.nextRunAt).toBe(
        new Date(at.getTime() + 60_000).toISOString(),
      );
      expect(logger.error).not.toHaveBeenCalled();
      expect(calls.reconciled).toEqual([
        expect.objectContaining({
          result: 'failed',
          reason: RECONCILE_TIMEOUT_REASON,
        }),
      ]);
    });

    it('keeps what a reconcile returns even after its deadline', async () => {
      await declare(imageRepository('late'));
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          await aborted(signal);
          return readyResult(object, now);
        },
      );
      reconciler.timeoutMs = () => 100;
      await engine([reconciler], { deadlineGraceMs: 100 }).runPass();
      expect(reconciler.runs[0].signal.reason.why).toBe('deadline');
      expect(ready((await objects.get(repoId('late')))?.status)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
    });

    it('uses the engine default when the reconciler names no timeout or fails to', async () => {
      for (const timeoutMs of [
        undefined,
        () => undefined,
        () => Promise.reject(new Error('bad spec')),
      ]) {
        await objects.syncSource('entity:component:default/shop', []);
        await declare(imageRepository('x'));
        const reconciler = new FakeReconciler(
          'ImageRepository',
          IMAGE,
          async (object, now, { signal }) => {
            await aborted(signal);
            signal.throwIfAborted();
            return readyResult(object, now);
          },
        );
        if (timeoutMs)
          reconciler.timeoutMs = timeoutMs as Reconciler['timeoutMs'];
        await engine([reconciler], {
          defaultTimeoutMs: 150,
          deadlineGraceMs: 50,
        }).runPass();
        expect(ready((await objects.get(repoId('x')))?.status)?.message).toBe(
          'reconcile aborted after 200ms: its timeout is 150ms, and 50ms more passed',
        );
      }
    });

    it('by default allows five minutes and one minute of grace', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          await sleep(400);
          expect(signal.aborted).toBe(false);
          return readyResult(object, now);
        },
      );
      // Grace given, timeout the default (five minutes); then timeout given, grace the default.
      await engine([reconciler], {
        deadlineGraceMs: 10,
        concurrency: 1,
        batchSize: 1,
      }).runPass();
      await engine([reconciler], {
        defaultTimeoutMs: 10,
        concurrency: 1,
        batchSize: 1,
      }).runPass();
      expect(reconciler.runs).toHaveLength(2);
      expect(reconciler.runs.every(r => !r.signal.aborted)).toBe(true);
      for (const name of ['a', 'b'])
        expect(ready((await objects.get(repoId(name)))?.status)?.status).toBe(
          'True',
        );
    });
  });

  describe('after a run', () => {
    it("records the reconciler's events and the Ready transition, with its metadata when Normal", async () => {
      await declare(imageRepository('web'));
      const at = new Date(Date.now() + 1000);
      let outcome: 'ready' | 'failed' = 'ready';
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => ({
          ...(outcome === 'ready'
            ? readyResult(object, now, 1000)
            : {
                status: markFailed(
                  object.status,
                  'ReadOperationFailed',
                  'scan failed',
                  now,
                  object.generation,
                ),
                requeueAfterMs: 1000,
              }),
          events: [
            {
              type: 'Normal' as const,
              reason: 'Scanned',
              message: 'found 3 tags',
            },
          ],
          readyEventMetadata: { revision: 'sha256:abc' },
        }),
      );
      const { events, recorded } = recordingEvents(eventStore);
      await engine([reconciler], { events }).runPass(() => at);
      expect(recorded).toEqual([
        {
          objectId: repoId('web'),
          time: at.toISOString(),
          type: 'Normal',
          reason: 'Scanned',
          message: 'found 3 tags',
        },
        {
          objectId: repoId('web'),
          time: at.toISOString(),
          type: 'Normal',
          reason: 'Succeeded',
          message: 'reconciled web',
          metadata: { revision: 'sha256:abc' },
        },
      ]);
      expect(
        (await eventStore.list(repoId('web'))).items.map(e => e.reason).sort(),
      ).toEqual(['Scanned', 'Succeeded']);
      // A Warning transition carries no metadata.
      outcome = 'failed';
      const later = new Date(at.getTime() + 5000);
      await engine([reconciler], { events }).runPass(() => later);
      expect(recorded.slice(2)).toEqual([
        {
          objectId: repoId('web'),
          time: later.toISOString(),
          type: 'Normal',
          reason: 'Scanned',
          message: 'found 3 tags',
        },
        {
          objectId: repoId('web'),
          time: later.toISOString(),
          type: 'Warning',
          reason: 'ReadOperationFailed',
          message: 'scan failed',
        },
      ]);
      // The same failure again: only the reconciler's own event.
      const again = new Date(later.getTime() + 5000);
      await engine([reconciler], { events }).runPass(() => again);
      expect(recorded.slice(4).map(e => e.reason)).toEqual(['Scanned']);
    });

    it('records the Ready transition without metadata when the reconciler gives none', async () => {
      await declare(imageRepository('web'));
      const { events, recorded } = recordingEvents(eventStore);
      await engine([new FakeReconciler('ImageRepository', IMAGE)], {
        events,
      }).runPass();
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).not.toHaveProperty('metadata');
      expect(recorded[0]).toMatchObject({
        type: 'Normal',
        reason: 'Succeeded',
      });
    });

    it('tells the notifier, the owners and the metrics what the run stored', async () => {
      await declare(
        imageRepository('web'),
        imagePolicy('web'),
        gitRepository('fleet'),
      );
      const at = new Date(Date.now() + 1000);
      const repos = new FakeReconciler('ImageRepository', IMAGE);
      const policies = new FakeReconciler(
        'ImagePolicy',
        IMAGE,
        async (object, now) => ({
          status: markFailed(
            object.status,
            'DependencyNotReady',
            'no scan yet',
            now,
            object.generation,
          ),
          requeueAfterMs: 1000,
        }),
      );
      const git = new FakeReconciler(
        'GitRepository',
        SOURCE,
        async (object, now) => ({
          status: markStalled(
            object.status,
            'InvalidURL',
            'bad url',
            now,
            object.generation,
          ),
          requeueAfterMs: 1000,
        }),
      );
      const changed: Array<[string, string | undefined]> = [];
      const owners: Array<{
        id: string;
        before: ObjectStatus;
        after: ObjectStatus;
      }> = [];
      const { metrics, calls } = recordingMetrics();
      await engine([repos, policies, git], {
        metrics,
        concurrency: 1,
        notifier: { changed: (change, ref) => changed.push([change, ref]) },
        owners: {
          objectChanged: (o, before, after) =>
            owners.push({ id: o.id, before, after }),
        },
      }).runPass(() => at);
      expect(changed).toEqual([
        ['objects', ENTITY],
        ['objects', ENTITY],
        ['objects', ENTITY],
      ]);
      const byId = Object.fromEntries(owners.map(o => [o.id, o]));
      expect(byId[repoId('web')].before).toEqual({ observedGeneration: -1 });
      expect(ready(byId[repoId('web')].after)?.status).toBe('True');
      expect(ready(byId['ImagePolicy/apps/web'].after)?.reason).toBe(
        'DependencyNotReady',
      );
      const byKind = Object.fromEntries(calls.reconciled.map(r => [r.kind, r]));
      expect(byKind.ImageRepository).toMatchObject({
        result: 'ready',
        reason: undefined,
      });
      expect(byKind.ImagePolicy).toMatchObject({
        result: 'failed',
        reason: 'DependencyNotReady',
      });
      expect(byKind.GitRepository).toMatchObject({
        result: 'stalled',
        reason: 'InvalidURL',
      });
      expect(
        calls.reconciled.every(r => r.durationMs >= 0 && r.durationMs < 10_000),
      ).toBe(true);
    });

    it('counts a run of a suspended object as suspended, and one without a Ready condition as failed', async () => {
      await declare(imageRepository('paused'), imageRepository('blank'));
      await objects.setSuspended(
        repoId('paused'),
        true,
        'user:default/ops',
        new Date(),
      );
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async object => ({ status: object.status, requeueAfterMs: 1000 }),
      );
      const { metrics, calls } = recordingMetrics();
      await engine([reconciler], { metrics }).runPass(
        () => new Date(Date.now() + 1000),
      );
      const byName = Object.fromEntries(
        calls.reconciled.map(r => [r.kind + r.result, r]),
      );
      expect(calls.reconciled).toHaveLength(2);
      expect(byName.ImageRepositorysuspended).toBeDefined();
      expect(byName.ImageRepositoryfailed).toMatchObject({ reason: undefined });
    });

    it('counts Stalled=False as not stalled', async () => {
      await declare(imageRepository('web'));
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          const status = markReady(
            object.status,
            'Succeeded',
            'ok',
            now,
            object.generation,
          );
          return {
            status: {
              ...status,
              conditions: [
                ...status.conditions!,
                {
                  type: 'Stalled',
                  status: 'False',
                  reason: 'Recovered',
                  message: '',
                  lastTransitionTime: now.toISOString(),
                },
              ],
            },
            requeueAfterMs: 1000,
          };
        },
      );
      const { metrics, calls } = recordingMetrics();
      await engine([reconciler], { metrics }).runPass();
      expect(calls.reconciled).toEqual([
        expect.objectContaining({ result: 'ready' }),
      ]);
    });

    it('makes the objects a run names due now, and only those', async () => {
      await declare(imageRepository('web'), imagePolicy('a'), imagePolicy('b'));
      const at = new Date(Date.now() + 1000);
      // The policies ran an hour ago and are next due in an hour.
      await objects.claimDue({
        owner: 'setup',
        now: at,
        limit: 5,
        leaseMs: 60_000,
      });
      await objects.releaseLease(repoId('web'), 'setup', at);
      for (const id of ['ImagePolicy/apps/a', 'ImagePolicy/apps/b']) {
        await objects.completeRun(id, 'setup', {
          status: {},
          nextRunAt: new Date(at.getTime() + 3_600_000),
          ranAt: at,
        });
      }
      const repos = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => ({
          ...readyResult(object, now),
          dueNow: ['ImagePolicy/apps/a'],
        }),
      );
      const policies = new FakeReconciler('ImagePolicy', IMAGE);
      // One worker: after the repository it claims again, and finds the policy the run made due.
      expect(
        await engine([repos, policies], { concurrency: 1 }).runPass(() => at),
      ).toBe(2);
      expect(policies.ids()).toEqual(['ImagePolicy/apps/a']);
      expect(
        await claimableBy(
          'engine-b',
          'ImagePolicy/apps/b',
          new Date(Date.now() + 1000),
        ),
      ).toBe(false);
    });
  });

  describe('objects the engine decides about itself', () => {
    it("an invalid manifest is Stalled with the parser's reason and message", async () => {
      const broken = (
        name: string,
        annotations: Record<string, string>,
      ): AutomationObject => ({
        apiVersion: MANIFEST_ERROR_API_VERSION,
        kind: MANIFEST_ERROR_KIND,
        metadata: { name, namespace: 'apps', annotations },
        spec: {},
      });
      await declare(
        broken('one', {
          [MANIFEST_ERROR_ANNOTATION]: 'line 3: mapping values are not allowed',
          [MANIFEST_ERROR_REASON_ANNOTATION]: 'InvalidYAML',
        }),
        broken('two', {}),
      );
      const at = new Date(Date.now() + 1000);
      const reconciler = new FakeReconciler(
        MANIFEST_ERROR_KIND,
        MANIFEST_ERROR_API_VERSION,
      );
      await engine([reconciler]).runPass(() => at);
      expect(reconciler.runs).toHaveLength(0);
      const one = await objects.get(`${MANIFEST_ERROR_KIND}/apps/one`);
      expect(ready(one?.status)).toMatchObject({
        status: 'False',
        reason: 'InvalidYAML',
        message: 'line 3: mapping values are not allowed',
      });
      expect(stalled(one?.status)).toMatchObject({
        status: 'True',
        reason: 'InvalidYAML',
      });
      expect(one?.nextRunAt).toBe(
        new Date(at.getTime() + 3_600_000).toISOString(),
      );
      const two = await objects.get(`${MANIFEST_ERROR_KIND}/apps/two`);
      expect(ready(two?.status)).toMatchObject({
        reason: 'InvalidManifest',
        message: 'invalid manifest',
      });
    });

    it("an entity's object outside its granted namespaces does nothing, whatever its kind", async () => {
      await objects.syncSource('entity:component:default/shop', [
        declared(imageRepository('web'), ['other']),
        { ...declared(imagePolicy('web')), grantedNamespaces: undefined },
        declared(imageRepository('granted'), ['apps']),
      ]);
      await objects.syncSource('config:platform.yaml', [
        {
          manifest: imageRepository('platform'),
          source: { type: 'config', location: 'platform.yaml' },
        },
      ]);
      await objects.syncSource('entity:component:default/nobody', [
        {
          manifest: {
            ...imageRepository('orphan'),
            metadata: { name: 'orphan', namespace: 'apps' },
          },
          source: { type: 'catalog', location: 'x' },
          grantedNamespaces: [],
        },
      ]);
      const at = new Date(Date.now() + 1000);
      const repos = new FakeReconciler('ImageRepository', IMAGE);
      const policies = new FakeReconciler('ImagePolicy', IMAGE);
      await engine([repos, policies]).runPass(() => at);
      expect(repos.ids()).toEqual([repoId('granted'), repoId('platform')]);
      expect(policies.runs).toHaveLength(0);
      const web = await objects.get(repoId('web'));
      expect(ready(web?.status)).toMatchObject({
        status: 'False',
        reason: 'NamespaceNotGranted',
        message: `namespace 'apps' is not granted to ${ENTITY} (imageAutomation.tenancy.namespaces)`,
      });
      expect(stalled(web?.status)?.reason).toBe('NamespaceNotGranted');
      expect(web?.nextRunAt).toBe(
        new Date(at.getTime() + 3_600_000).toISOString(),
      );
      expect(
        ready((await objects.get('ImagePolicy/apps/web'))?.status)?.reason,
      ).toBe('NamespaceNotGranted');
      expect(
        ready((await objects.get(repoId('orphan')))?.status)?.message,
      ).toBe(
        `namespace 'apps' is not granted to this object (imageAutomation.tenancy.namespaces)`,
      );
    });

    it('a kind no reconciler serves is Stalled KindNotSupported, after validation, suspension and requests', async () => {
      await declare(
        imagePolicy('valid'),
        imagePolicy('paused'),
        imagePolicy('invalid', { policy: { semver: 5 } }),
      );
      await objects.setSuspended(
        'ImagePolicy/apps/paused',
        true,
        'user:default/ops',
        new Date(),
      );
      const requested = await objects.requestReconcile(
        'ImagePolicy/apps/valid',
        'user:default/ops',
        new Date(),
      );
      const at = new Date(Date.now() + 1000);
      const { metrics, calls } = recordingMetrics();
      await engine([new FakeReconciler('ImageRepository', IMAGE)], {
        metrics,
      }).runPass(() => at);
      const valid = await objects.get('ImagePolicy/apps/valid');
      expect(ready(valid?.status)).toMatchObject({
        status: 'False',
        reason: 'KindNotSupported',
        message: `ImagePolicy (${IMAGE}) is not reconciled by this version of the image-automation plugin`,
      });
      expect(stalled(valid?.status)?.reason).toBe('KindNotSupported');
      // The request was handled, as every kind's preamble does.
      expect(valid?.status.lastHandledReconcileAt).toBe(
        requested?.reconcileRequestedAt,
      );
      expect(valid?.nextRunAt).toBe(
        new Date(at.getTime() + 3_600_000).toISOString(),
      );
      // Suspended: nothing but the schedule changes.
      const paused = await objects.get('ImagePolicy/apps/paused');
      expect(paused?.status).toEqual({ observedGeneration: -1 });
      expect(paused?.nextRunAt).toBe(
        new Date(at.getTime() + 3_600_000).toISOString(),
      );
      expect(
        calls.reconciled.filter(r => r.result === 'suspended'),
      ).toHaveLength(1);
      // Invalid: the validation's message.
      const invalid = await objects.get('ImagePolicy/apps/invalid');
      expect(ready(invalid?.status)?.reason).toBe('InvalidManifest');
      expect(ready(invalid?.status)?.message).toContain(
        'ImagePolicy "invalid" is invalid',
      );
    });

    it('a kind this plugin reconciles in an apiVersion Flux no longer serves says what to change', async () => {
      await declare(
        {
          ...imageRepository('old'),
          apiVersion: 'image.toolkit.fluxcd.io/v1beta1',
        },
        {
          ...gitRepository('old', { ignore: '/*' }),
          apiVersion: 'source.toolkit.fluxcd.io/v1beta1',
        },
      );
      const repos = new FakeReconciler('ImageRepository', IMAGE);
      await engine([
        repos,
        new FakeReconciler('GitRepository', SOURCE),
      ]).runPass();
      expect(repos.runs).toHaveLength(0);
      // Only Flux's current kinds get notes on their fields.
      const git = await objects.get('GitRepository/apps/old');
      expect(git?.status.conditions?.map(c => `${c.type}=${c.reason}`)).toEqual(
        ['Ready=UnsupportedAPIVersion', 'Stalled=UnsupportedAPIVersion'],
      );
      const old = await objects.get('ImageRepository/apps/old');
      expect(ready(old?.status)).toMatchObject({
        reason: 'UnsupportedAPIVersion',
        message: expect.stringContaining(
          'ImageRepository image.toolkit.fluxcd.io/v1beta1 is not supported',
        ),
      });
      expect(stalled(old?.status)?.reason).toBe('UnsupportedAPIVersion');
    });

    it('a kind unknown to this plugin is refused by validation', async () => {
      await declare({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w', namespace: 'apps' },
        spec: {},
      });
      await engine([]).runPass();
      const widget = await objects.get('Widget/apps/w');
      expect(ready(widget?.status)).toMatchObject({
        reason: 'InvalidManifest',
        message: expect.stringContaining('no kind "Widget"'),
      });
    });
  });

  describe('notes for manifests written for an older or fuller Flux', () => {
    const IGNORED = 'spec.ignore has no effect here';

    it('adds FieldsIgnored while fields without effect are set, and warns once per generation', async () => {
      await declare(gitRepository('fleet', { ignore: '/*\n!/deploy' }));
      const git = new FakeReconciler('GitRepository', SOURCE);
      const { events, recorded } = recordingEvents(eventStore);
      const first = new Date(Date.now() + 1000);
      await engine([git], { events }).runPass(() => first);
      let stored = await objects.get('GitRepository/apps/fleet');
      const note = stored?.status.conditions?.find(
        c => c.type === 'FieldsIgnored',
      );
      expect(note).toMatchObject({
        status: 'True',
        reason: 'FieldHasNoEffect',
        observedGeneration: 1,
        lastTransitionTime: first.toISOString(),
      });
      expect(note?.message).toContain(IGNORED);
      expect(ready(stored?.status)?.status).toBe('True');
      expect(recorded.filter(e => e.type === 'Warning')).toEqual([
        expect.objectContaining({
          reason: 'FieldHasNoEffect',
          message: expect.stringContaining(IGNORED),
        }),
      ]);
      // The next run of the same generation: the condition keeps its time, no new warning.
      await objects.requestReconcile(
        'GitRepository/apps/fleet',
        'user:default/ops',
        new Date(),
      );
      const second = new Date(Date.now() + 5000);
      await engine([git], { events }).runPass(() => second);
      stored = await objects.get('GitRepository/apps/fleet');
      expect(
        stored?.status.conditions?.find(c => c.type === 'FieldsIgnored')
          ?.lastTransitionTime,
      ).toBe(first.toISOString());
      expect(recorded.filter(e => e.type === 'Warning')).toHaveLength(1);
      // The field removed: the condition goes.
      await declare(gitRepository('fleet'));
      await engine([git], { events }).runPass(
        () => new Date(Date.now() + 10_000),
      );
      stored = await objects.get('GitRepository/apps/fleet');
      expect(stored?.status.conditions?.map(c => c.type)).toEqual(['Ready']);
      expect(recorded.filter(e => e.type === 'Warning')).toHaveLength(1);
    });

    it("sets the condition's time anew when the reconciler passes it on as not True", async () => {
      await declare(
        gitRepository('fleet', {
          include: [{ repository: { name: 'other' } }],
        }),
      );
      const at = new Date(Date.now() + 1000);
      const git = new FakeReconciler(
        'GitRepository',
        SOURCE,
        async (object, now) => {
          const result = readyResult(object, now);
          return {
            ...result,
            status: {
              ...result.status,
              conditions: [
                ...result.status.conditions!,
                {
                  type: 'FieldsIgnored',
                  status: 'False',
                  reason: 'x',
                  message: 'x',
                  lastTransitionTime: '2020-01-01T00:00:00.000Z',
                },
              ],
            },
          };
        },
      );
      await engine([git]).runPass(() => at);
      const note = (
        await objects.get('GitRepository/apps/fleet')
      )?.status.conditions?.filter(c => c.type === 'FieldsIgnored');
      expect(note).toEqual([
        expect.objectContaining({
          status: 'True',
          lastTransitionTime: at.toISOString(),
          message: expect.stringContaining('spec.include has no effect'),
        }),
      ]);
    });

    it("takes FieldsIgnored's time from its own previous condition, never from another condition", async () => {
      await declare(gitRepository('fleet', { ignore: '/*\n!/deploy' }));
      const OLD = '2020-01-01T00:00:00.000Z';
      // The reconciler keeps Ready=True from long ago (as markReady does for an unchanged status)
      // and passes the object's other conditions on.
      const git = new FakeReconciler('GitRepository', SOURCE, async object => ({
        status: {
          ...object.status,
          observedGeneration: object.generation,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Succeeded',
              message: 'stored artifact',
              lastTransitionTime: OLD,
            },
            ...(object.status.conditions ?? []).filter(c => c.type !== 'Ready'),
          ],
        },
        requeueAfterMs: 300_000,
      }));
      const noteTime = async () =>
        (
          await objects.get('GitRepository/apps/fleet')
        )?.status.conditions?.find(c => c.type === 'FieldsIgnored')
          ?.lastTransitionTime;
      const first = new Date(Date.now() + 1000);
      await engine([git]).runPass(() => first);
      expect(await noteTime()).toBe(first.toISOString());
      await objects.requestReconcile(
        'GitRepository/apps/fleet',
        'user:default/ops',
        new Date(),
      );
      await engine([git]).runPass(() => new Date(Date.now() + 5000));
      expect(await noteTime()).toBe(first.toISOString());
    });

    it('warns once that a converted apiVersion should be updated', async () => {
      await declare(
        gitRepository(
          'fleet',
          {},
          { [CONVERTED_FROM_ANNOTATION]: 'source.toolkit.fluxcd.io/v1beta2' },
        ),
      );
      const git = new FakeReconciler('GitRepository', SOURCE);
      const { events, recorded } = recordingEvents(eventStore);
      await engine([git], { events }).runPass();
      expect(recorded.filter(e => e.type === 'Warning')).toEqual([
        expect.objectContaining({
          reason: 'APIVersionConverted',
          message: expect.stringContaining(
            'converted from source.toolkit.fluxcd.io/v1beta2 to v1',
          ),
        }),
      ]);
      const status = (await objects.get('GitRepository/apps/fleet'))?.status;
      expect(status?.conditions?.map(c => c.type)).toEqual(['Ready']);
      // A run that does not observe the generation (it failed before) warns not.
      await declare(
        gitRepository(
          'fleet',
          { interval: '10m' },
          { [CONVERTED_FROM_ANNOTATION]: 'source.toolkit.fluxcd.io/v1beta2' },
        ),
      );
      const failing = new FakeReconciler(
        'GitRepository',
        SOURCE,
        async object => ({ status: object.status, requeueAfterMs: 1000 }),
      );
      await engine([failing], { events }).runPass();
      expect(recorded.filter(e => e.type === 'Warning')).toHaveLength(1);
    });

    it('passes through the result of a kind Flux does not define untouched, and adds no events', async () => {
      await declare(imageRepository('web'));
      const { events, recorded } = recordingEvents(eventStore);
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async object => ({
          status: { ...object.status, observedGeneration: object.generation },
          requeueAfterMs: 1000,
        }),
      );
      await engine([reconciler], { events }).runPass();
      expect(recorded).toEqual([]);
      expect((await objects.get(repoId('web')))?.status).toEqual({
        observedGeneration: 1,
      });
    });
  });

  describe('bookkeeping', () => {
    it('a pass without an event store records nothing and fails nothing', async () => {
      await declare(imageRepository('web'));
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => ({
          ...readyResult(object, now),
          events: [{ type: 'Normal', reason: 'Scanned', message: 'x' }],
        }),
      );
      expect(await engine([reconciler]).runPass()).toBe(1);
      expect(logger.error).not.toHaveBeenCalled();
      expect(logger.warn).not.toHaveBeenCalled();
      expect((await eventStore.list(repoId('web'))).items).toEqual([]);
    });

    it('reports how long a pass took', async () => {
      await declare(imageRepository('web'));
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          await sleep(100);
          return readyResult(object, now);
        },
      );
      const { metrics, calls } = recordingMetrics();
      await engine([reconciler], { metrics }).runPass();
      expect(calls.passes).toHaveLength(1);
      expect(calls.passes[0]).toBeGreaterThanOrEqual(90);
      expect(calls.passes[0]).toBeLessThan(10_000);
    });

    it('shows progress after each stored run, not only at the end of a pass', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const seen: Array<{ startedAt: number; progress: number }> = [];
      const e = {} as { engine: Engine };
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          seen.push({
            startedAt: Date.now(),
            progress: e.engine.activity().lastProgressAt.getTime(),
          });
          await sleep(20);
          return readyResult(object, now);
        },
      );
      e.engine = engine([reconciler], { concurrency: 1 });
      await e.engine.runPass();
      expect(seen).toHaveLength(2);
      // The second run starts after the first was stored, which counted as progress.
      expect(seen[1].progress).toBeGreaterThan(seen[0].startedAt);
    });

    it('renews every third of the lease, not more often, and stops renewing when the run ends', async () => {
      await declare(imageRepository('a'), imageRepository('b'));
      const counting: ObjectStore = Object.create(objects);
      const renewals: string[] = [];
      counting.renewLease = async (id, owner, until) => {
        renewals.push(id);
        return objects.renewLease(id, owner, until);
      };
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now) => {
          await sleep(object.name === 'a' ? 700 : 1100);
          return readyResult(object, now);
        },
      );
      const long = new Engine({
        objects: counting,
        reconcilers: [reconciler],
        logger,
        batchSize: 1,
        leaseMs: 60_000,
        instanceId: 'engine-a',
      });
      await long.runPass();
      expect(renewals).toEqual([]);
      const short = new Engine({
        objects: counting,
        reconcilers: [reconciler],
        logger,
        batchSize: 1,
        leaseMs: 900,
        instanceId: 'engine-a',
      });
      await short.runPass();
      // Every 300 ms during a run of 1.1 s: three renewals, then none once it ended.
      expect(renewals.length).toBeGreaterThanOrEqual(2);
      expect(renewals.length).toBeLessThanOrEqual(3);
      const after = renewals.length;
      await sleep(700);
      expect(renewals).toHaveLength(after);
      expect(ready((await objects.get(repoId('b')))?.status)?.status).toBe(
        'True',
      );
    });

    it('after an abort, renewals no longer count as progress', async () => {
      await declare(imageRepository('a'));
      const e = {} as { engine: Engine };
      const progress: number[] = [];
      const reconciler = new FakeReconciler(
        'ImageRepository',
        IMAGE,
        async (object, now, { signal }) => {
          await aborted(signal);
          progress.push(e.engine.activity().lastProgressAt.getTime());
          // Ignores the deadline and goes on while renewals keep succeeding.
          await sleep(800);
          progress.push(e.engine.activity().lastProgressAt.getTime());
          return readyResult(object, now);
        },
      );
      reconciler.timeoutMs = () => 50;
      e.engine = engine([reconciler], { leaseMs: 600, deadlineGraceMs: 50 });
      await e.engine.runPass();
      expect(progress).toHaveLength(2);
      expect(progress[1]).toBe(progress[0]);
    });
  });
});
