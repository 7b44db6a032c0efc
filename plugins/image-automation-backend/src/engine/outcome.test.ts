import { ObjectStatus } from '@imageops/backstage-plugin-image-automation-common';
import { outcomes, RECHECK_MS, resultOf } from './outcome';

const now = new Date('2026-01-02T03:04:05Z');
const earlier = '2026-01-01T00:00:00.000Z';

/** A status Ready=False with a retried failure, as a previous reconcile left it. */
const failing: ObjectStatus = {
  observedGeneration: 1,
  conditions: [
    {
      type: 'Ready',
      status: 'False',
      reason: 'GitOperationFailed',
      message: 'boom',
      observedGeneration: 1,
      lastTransitionTime: earlier,
    },
    {
      type: 'Reconciling',
      status: 'True',
      reason: 'ProgressingWithRetry',
      message: 'boom',
      observedGeneration: 1,
      lastTransitionTime: earlier,
    },
  ],
};

describe('resultOf', () => {
  const subject = { status: failing, generation: 2 };

  it('turns ready into Ready=True, drops Reconciling and Stalled, observes the generation and keeps the requeue', () => {
    const result = resultOf(
      subject,
      {
        type: 'ready',
        reason: 'Succeeded',
        message: 'all good',
        requeueAfterMs: 1234,
      },
      now,
    );
    expect(result).toEqual({
      status: {
        observedGeneration: 2,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Succeeded',
            message: 'all good',
            observedGeneration: 2,
            lastTransitionTime: now.toISOString(),
          },
        ],
      },
      requeueAfterMs: 1234,
    });
    expect(Object.keys(result)).toEqual(['status', 'requeueAfterMs']);
  });

  it('turns retry into Ready=False and Reconciling ProgressingWithRetry with the progress message, after the wait', () => {
    const result = resultOf(
      subject,
      {
        type: 'retry',
        reason: 'ReadOperationFailed',
        message: 'scan failed',
        afterMs: 7000,
        progressMessage: 'scanning: first scan',
      },
      now,
    );
    expect(result.requeueAfterMs).toBe(7000);
    const [ready, reconciling] = result.status.conditions!;
    expect(ready).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'ReadOperationFailed',
      message: 'scan failed',
      // Still False: the transition time stays.
      lastTransitionTime: earlier,
    });
    expect(reconciling).toMatchObject({
      type: 'Reconciling',
      reason: 'ProgressingWithRetry',
      message: 'scanning: first scan',
    });
    // A retried failure does not observe the generation (Flux's controllers do not).
    expect(result.status.observedGeneration).toBe(1);
  });

  it("a retry without a progress message leaves the failure's message on Reconciling", () => {
    const result = resultOf(
      subject,
      { type: 'retry', reason: 'X', message: 'why', afterMs: 1 },
      now,
    );
    expect(result.status.conditions![1].message).toBe('why');
  });

  it('turns stalled into Ready=False and Stalled=True, no Reconciling, looked at again after RECHECK_MS', () => {
    const result = resultOf(
      subject,
      { type: 'stalled', reason: 'AccessDenied', message: 'not yours' },
      now,
    );
    expect(result.requeueAfterMs).toBe(RECHECK_MS);
    expect(result.status.conditions!.map(c => [c.type, c.status])).toEqual([
      ['Ready', 'False'],
      ['Stalled', 'True'],
    ]);
    expect(result.status.conditions![1]).toMatchObject({
      reason: 'AccessDenied',
      message: 'not yours',
      lastTransitionTime: now.toISOString(),
    });
    expect(result.status.observedGeneration).toBe(2);
  });

  it('leaves the status as it is when waiting', () => {
    const result = resultOf(
      subject,
      { type: 'waiting', requeueAfterMs: 5000 },
      now,
    );
    expect(result).toEqual({ status: failing, requeueAfterMs: 5000 });
    expect(result.status).toBe(failing);
  });

  it('sets the conditions on the status given, and carries events, dependents and the Ready event metadata', () => {
    const events = [
      { type: 'Normal' as const, reason: 'Succeeded', message: 'pushed' },
    ];
    const result = resultOf(
      subject,
      {
        type: 'ready',
        reason: 'Succeeded',
        message: 'ok',
        requeueAfterMs: 1,
        status: { ...failing, lastPushCommit: 'abc' },
        events,
        dueNow: ['ImagePolicy/apps/a'],
        readyEventMetadata: { revision: 'main@sha1:abc' },
        readyEventType: 'Normal',
        readyEventMessage: 'ok, revision main@sha1:abc',
      },
      now,
    );
    expect(result.status.lastPushCommit).toBe('abc');
    expect(result.events).toBe(events);
    expect(result.dueNow).toEqual(['ImagePolicy/apps/a']);
    expect(result.readyEventMetadata).toEqual({ revision: 'main@sha1:abc' });
    expect(result.readyEventType).toBe('Normal');
    expect(result.readyEventMessage).toBe('ok, revision main@sha1:abc');
  });

  it('keeps an empty list of dependents as given', () => {
    const result = resultOf(
      subject,
      { type: 'waiting', requeueAfterMs: 1, dueNow: [] },
      now,
    );
    expect(result.dueNow).toEqual([]);
  });

  it('refuses an outcome type it does not know, naming it', () => {
    expect(() => resultOf(subject, { type: 'later' } as any, now)).toThrow(
      'unknown reconcile outcome "later"',
    );
  });
});

describe('outcomes', () => {
  const start = { status: failing, generation: 2 };

  it('retries after the default wait unless told otherwise, with the current progress message', () => {
    let progress = 'reconciliation in progress';
    const { failed } = outcomes(start, now, {
      defaultRetryMs: 60_000,
      progress: () => progress,
    });
    expect(failed('A', 'a').requeueAfterMs).toBe(60_000);
    progress = 'scanning: first scan';
    const later = failed('B', 'b', 3000);
    expect(later.requeueAfterMs).toBe(3000);
    expect(later.status.conditions![1].message).toBe('scanning: first scan');
  });

  it('sets every outcome on the base status and attaches the same events', () => {
    const events: Array<{
      type: 'Normal' | 'Warning';
      reason: string;
      message: string;
    }> = [];
    const base = { ...failing, lastAutomationRunTime: now.toISOString() };
    const { failed, stalled, ready, waiting } = outcomes(start, now, {
      defaultRetryMs: 1000,
      base: () => base,
      events,
    });
    for (const result of [
      failed('A', 'a'),
      stalled('B', 'b'),
      ready('Succeeded', 'ok', 10),
      waiting(20),
    ]) {
      expect(result.status.lastAutomationRunTime).toBe(now.toISOString());
      expect(result.events).toBe(events);
    }
    // What a step adds is seen by the results built before (the run's events are shared).
    events.push({ type: 'Warning', reason: 'SetterNotApplied', message: 'x' });
    expect(failed('A', 'a').events).toHaveLength(1);
  });

  it('lets one outcome override the base status and add dependents', () => {
    const { ready } = outcomes(start, now, {
      defaultRetryMs: 1000,
      base: () => failing,
    });
    const result = ready('Succeeded', 'ok', 10, {
      status: { ...failing, artifact: { revision: 'r', lastUpdateTime: 't' } },
      dueNow: ['ImageUpdateAutomation/apps/a'],
    });
    expect(result.status.artifact?.revision).toBe('r');
    expect(result.dueNow).toEqual(['ImageUpdateAutomation/apps/a']);
  });
});
