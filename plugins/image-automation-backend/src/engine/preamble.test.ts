import { StoredObject } from '../store/ObjectStore';
import {
  beginReconcile,
  fluxProgressMessage,
  MAX_RETRY_MS,
  RECHECK_MS,
  REQUESTED_AT_ANNOTATION,
  retryAfter,
  scheduleProblem,
  setScheduleLimits,
} from './preamble';

// What every reconciler does first (beginReconcile) and the small rules they share: the wait before
// a retry, Flux's progress message. The limits of intervals and timeouts per kind are in
// resourceLimits.test.ts.

const NOW = new Date('2026-12-04T12:00:00Z');

function repository(
  overrides: Partial<StoredObject> = {},
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): StoredObject {
  return {
    id: 'ImageRepository/apps/app',
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageRepository',
    namespace: 'apps',
    name: 'app',
    sourceKey: 'config:x',
    source: { type: 'config', location: 'x' },
    manifest: {
      apiVersion: 'image.toolkit.fluxcd.io/v1',
      kind: 'ImageRepository',
      metadata: {
        name: 'app',
        namespace: 'apps',
        ...(annotations ? { annotations } : {}),
      },
      spec: { image: 'registry.example.com/team/app', interval: '5m', ...spec },
    },
    generation: 2,
    status: {},
    suspended: false,
    nextRunAt: NOW.toISOString(),
    ...overrides,
  };
}

const started = (object: StoredObject) => {
  const begun = beginReconcile<Record<string, unknown>>(object, NOW);
  if ('done' in begun) throw new Error('expected the reconcile to start');
  return begun.start;
};
const done = (object: StoredObject) => {
  const begun = beginReconcile(object, NOW);
  if (!('done' in begun)) throw new Error('expected the reconcile to end');
  return begun.done;
};

describe('beginReconcile', () => {
  it('starts a valid object with its spec, status and generation, and no request pending', () => {
    const start = started(repository());
    expect(start).toEqual({
      spec: { image: 'registry.example.com/team/app', interval: '5m' },
      status: {},
      generation: 2,
      pendingRequest: undefined,
    });
  });

  it('notes a reconcile request once: pending until handled, then recorded as handled', () => {
    const at = '2026-12-04T11:59:00Z';
    // Asked through the API (the stored request) or Flux's annotation.
    for (const object of [
      repository({ reconcileRequestedAt: at }),
      repository({}, {}, { [REQUESTED_AT_ANNOTATION]: at }),
    ]) {
      const start = started(object);
      expect(start.pendingRequest).toBe(at);
      expect(start.status.lastHandledReconcileAt).toBe(at);
    }
    // Already handled: not pending again, and the record stays.
    const handled = started(
      repository({
        reconcileRequestedAt: at,
        status: { lastHandledReconcileAt: at },
      }),
    );
    expect(handled.pendingRequest).toBeUndefined();
    expect(handled.status.lastHandledReconcileAt).toBe(at);
    // No request: nothing recorded.
    expect('lastHandledReconcileAt' in started(repository()).status).toBe(
      false,
    );
  });

  it('a suspended object (in Backstage or by spec.suspend) changes nothing but the handled request', () => {
    const at = '2026-12-04T11:59:00Z';
    for (const object of [
      repository({ suspended: true, reconcileRequestedAt: at }),
      repository({ reconcileRequestedAt: at }, { suspend: true }),
    ]) {
      const result = done(object);
      expect(result.status).toEqual({ lastHandledReconcileAt: at });
      expect(result.requeueAfterMs).toBe(RECHECK_MS);
    }
  });

  it('an invalid manifest is Stalled InvalidManifest, naming the field', () => {
    const result = done(repository({}, { image: 42 }));
    const ready = result.status.conditions?.find(c => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidManifest' });
    expect(ready?.message).toContain('spec.image');
  });

  it('a field it must not ignore is Stalled, before anything is called', () => {
    const result = done(repository({}, { proxySecretRef: { name: 'proxy' } }));
    const ready = result.status.conditions?.find(c => c.type === 'Ready');
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'FieldNotSupported',
    });
    expect(
      result.status.conditions?.find(c => c.type === 'Stalled')?.status,
    ).toBe('True');
  });

  it('an interval below the minimum is Stalled IntervalTooShort', () => {
    const result = done(repository({}, { interval: '5s' }));
    expect(
      result.status.conditions?.find(c => c.type === 'Ready'),
    ).toMatchObject({
      reason: 'IntervalTooShort',
      message:
        'spec.interval "5s" is shorter than the minimum interval of 1m0s (imageAutomation.engine.minIntervalSeconds)',
    });
  });
});

describe('scheduleProblem', () => {
  it('checks the timeout of every ResourceSet step, even next to a step without one', () => {
    const object = repository({}, { steps: [null, { timeout: '10ms' }] });
    expect(scheduleProblem(object)).toBe(
      'spec.steps[1].timeout "10ms" is shorter than the minimum timeout of 1s (imageAutomation.engine.minTimeoutSeconds)',
    );
  });
});

describe('setScheduleLimits', () => {
  it('applies limits until the function it returns restores the previous ones', () => {
    const object = repository({}, { interval: '30s' });
    expect(scheduleProblem(object)).toContain('minimum interval of 1m0s');
    const restore = setScheduleLimits({ minIntervalMs: 10_000 });
    expect(scheduleProblem(object)).toBeUndefined();
    restore();
    expect(scheduleProblem(object)).toContain('minimum interval of 1m0s');
  });
});

describe('retryAfter', () => {
  it('retries after the interval, at most a minute and at least a second', () => {
    expect(retryAfter(30_000)).toBe(30_000);
    expect(retryAfter(10 * 60_000)).toBe(MAX_RETRY_MS);
    expect(MAX_RETRY_MS).toBe(60_000);
    expect(retryAfter(10)).toBe(1000);
  });
});

describe('fluxProgressMessage', () => {
  const start = (generation: number, observedGeneration?: number) => ({
    spec: {},
    generation,
    status: observedGeneration === undefined ? {} : { observedGeneration },
  });

  it("is image-reflector-controller's: the generations while they differ, else in progress", () => {
    expect(fluxProgressMessage(start(1))).toBe(
      'processing object: new generation -1 -> 1',
    );
    expect(fluxProgressMessage(start(3, 2))).toBe(
      'processing object: new generation 2 -> 3',
    );
    expect(fluxProgressMessage(start(3, 3))).toBe('reconciliation in progress');
    // Generation 0 observed is a generation, not an absent one.
    expect(fluxProgressMessage(start(1, 0))).toBe(
      'processing object: new generation 0 -> 1',
    );
  });
});
