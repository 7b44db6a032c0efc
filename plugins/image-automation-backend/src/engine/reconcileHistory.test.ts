import { recordHistory } from './reconcileHistory';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

describe('recordHistory', () => {
  it('counts repeated outcomes in one snapshot, newest first, at most five', () => {
    let history = recordHistory(undefined, {
      digest: 'sha256:a',
      status: 'ReconciliationSucceeded',
      now: at(0),
      durationMs: 1500,
      metadata: { inputs: '2', resources: '4' },
    });
    history = recordHistory(history, {
      digest: 'sha256:a',
      status: 'ReconciliationSucceeded',
      now: at(1),
      durationMs: 250,
      metadata: { inputs: '2', resources: '4' },
    });
    expect(history).toEqual([
      {
        digest: 'sha256:a',
        firstReconciled: '2026-01-01T00:00:00.000Z',
        lastReconciled: '2026-01-01T00:01:00.000Z',
        lastReconciledDuration: '250ms',
        lastReconciledStatus: 'ReconciliationSucceeded',
        totalReconciliations: 2,
        metadata: { inputs: '2', resources: '4' },
      },
    ]);
    // The same digest with another outcome is another snapshot.
    history = recordHistory(history, {
      digest: 'sha256:a',
      status: 'HealthCheckFailed',
      now: at(2),
      durationMs: 2000,
      metadata: {},
    });
    expect(history.map(s => s.lastReconciledStatus)).toEqual([
      'HealthCheckFailed',
      'ReconciliationSucceeded',
    ]);
    expect(history[0].lastReconciledDuration).toBe('2s');
    for (const [i, digest] of ['b', 'c', 'd', 'e'].entries()) {
      history = recordHistory(history, {
        digest: `sha256:${digest}`,
        status: 'ReconciliationSucceeded',
        now: at(3 + i),
        durationMs: 10,
        metadata: {},
      });
    }
    expect(history.map(s => s.digest)).toEqual([
      'sha256:e',
      'sha256:d',
      'sha256:c',
      'sha256:b',
      'sha256:a',
    ]);
    expect(history[4].lastReconciledStatus).toBe('HealthCheckFailed');
    // An earlier outcome seen again moves to the front with its count.
    history = recordHistory(history, {
      digest: 'sha256:c',
      status: 'ReconciliationSucceeded',
      now: at(10),
      durationMs: 10,
      metadata: {},
    });
    expect(history.map(s => [s.digest, s.totalReconciliations])).toEqual([
      ['sha256:c', 2],
      ['sha256:e', 1],
      ['sha256:d', 1],
      ['sha256:b', 1],
      ['sha256:a', 1],
    ]);
  });
});
