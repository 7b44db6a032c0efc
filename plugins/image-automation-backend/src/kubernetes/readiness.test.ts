import { readObjectReadiness } from './readiness';

const base = (kind: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind,
  metadata: { name: 'x', namespace: 'a', generation: 2 },
  ...extra,
});

describe('readObjectReadiness', () => {
  it('reads missing, terminating and stale objects', () => {
    expect(readObjectReadiness(undefined).status).toBe('NotFound');
    expect(
      readObjectReadiness({
        ...base('ConfigMap'),
        metadata: { name: 'x', deletionTimestamp: '2026-01-01T00:00:00Z' },
      }).status,
    ).toBe('Terminating');
    expect(
      readObjectReadiness(
        base('Deployment', { status: { observedGeneration: 1 } }),
      ),
    ).toEqual({
      status: 'InProgress',
      message: 'observed generation 1 < 2',
    });
  });

  it('compares replica counts of workloads', () => {
    const deployment = (status: object) =>
      base('Deployment', {
        spec: { replicas: 2 },
        status: { observedGeneration: 2, ...status },
      });
    expect(
      readObjectReadiness(
        deployment({
          updatedReplicas: 2,
          readyReplicas: 1,
          availableReplicas: 1,
        }),
      ).status,
    ).toBe('InProgress');
    expect(
      readObjectReadiness(
        deployment({
          updatedReplicas: 2,
          readyReplicas: 2,
          availableReplicas: 2,
        }),
      ).status,
    ).toBe('Current');
    expect(readObjectReadiness(base('Deployment', { spec: {} })).status).toBe(
      'InProgress',
    );
    expect(
      readObjectReadiness(
        base('DaemonSet', {
          status: {
            desiredNumberScheduled: 3,
            numberReady: 3,
            updatedNumberScheduled: 3,
          },
        }),
      ).status,
    ).toBe('Current');
  });

  it('follows Ready, Stalled and Reconciling conditions (Flux objects)', () => {
    const withConditions = (conditions: object[]) =>
      base('Kustomization', { status: { observedGeneration: 2, conditions } });
    expect(
      readObjectReadiness(
        withConditions([
          { type: 'Ready', status: 'True', message: 'Applied revision' },
        ]),
      ),
    ).toEqual({
      status: 'Current',
      message: 'Applied revision',
    });
    expect(
      readObjectReadiness(
        withConditions([
          { type: 'Ready', status: 'False', message: 'waiting' },
        ]),
      ).status,
    ).toBe('InProgress');
    expect(
      readObjectReadiness(
        withConditions([
          { type: 'Stalled', status: 'True', message: 'bad spec' },
        ]),
      ),
    ).toEqual({
      status: 'Failed',
      message: 'bad spec',
    });
    expect(
      readObjectReadiness(
        withConditions([{ type: 'Reconciling', status: 'True' }]),
      ).status,
    ).toBe('InProgress');
    expect(readObjectReadiness(base('ConfigMap')).status).toBe('Current');
  });

  it('knows CRDs, Jobs and claims', () => {
    expect(
      readObjectReadiness(
        base('CustomResourceDefinition', { status: { conditions: [] } }),
      ).status,
    ).toBe('InProgress');
    expect(
      readObjectReadiness(
        base('CustomResourceDefinition', {
          status: { conditions: [{ type: 'Established', status: 'True' }] },
        }),
      ).status,
    ).toBe('Current');
    expect(
      readObjectReadiness(
        base('Job', {
          status: {
            conditions: [
              {
                type: 'Failed',
                status: 'True',
                message: 'BackoffLimitExceeded',
              },
            ],
          },
        }),
      ),
    ).toEqual({
      status: 'Failed',
      message: 'BackoffLimitExceeded',
    });
    expect(
      readObjectReadiness(
        base('PersistentVolumeClaim', { status: { phase: 'Bound' } }),
      ).status,
    ).toBe('Current');
  });
});
