import { Condition } from '@imageops/backstage-plugin-image-automation-common';
import { objectHealth } from './objectHealth';

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
): Condition {
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: '2026-01-01T00:00:00Z',
  };
}

describe('objectHealth', () => {
  it('reports Ready with the Ready condition message', () => {
    expect(
      objectHealth({
        conditions: [
          condition(
            'Ready',
            'True',
            'Succeeded',
            'successful scan: found 3 tags',
          ),
        ],
      }),
    ).toEqual({
      readiness: 'Ready',
      reconciling: false,
      reason: 'Succeeded',
      message: 'successful scan: found 3 tags',
    });
  });

  it('lets Stalled win over Ready=False and keeps the reconciling flag', () => {
    expect(
      objectHealth({
        conditions: [
          condition('Ready', 'False', 'ImageURLInvalid', 'bad image'),
          condition(
            'Stalled',
            'True',
            'ImageURLInvalid',
            'bad image (stalled)',
          ),
        ],
      }),
    ).toEqual({
      readiness: 'Stalled',
      reconciling: false,
      reason: 'ImageURLInvalid',
      message: 'bad image (stalled)',
    });
  });

  it('reports a retrying failure as Not ready while reconciling', () => {
    expect(
      objectHealth({
        conditions: [
          condition('Ready', 'False', 'AuthenticationFailed', 'unauthorized'),
          condition('Reconciling', 'True', 'ProgressingWithRetry', 'retrying'),
        ],
      }),
    ).toEqual({
      readiness: 'Not ready',
      reconciling: true,
      reason: 'AuthenticationFailed',
      message: 'unauthorized',
    });
  });

  it('reports Reconciling while Ready is unknown', () => {
    expect(
      objectHealth({
        conditions: [
          condition(
            'Ready',
            'Unknown',
            'Progressing',
            'reconciliation in progress',
          ),
          condition(
            'Reconciling',
            'True',
            'Progressing',
            'scanning: new generation',
          ),
        ],
      }),
    ).toEqual({
      readiness: 'Reconciling',
      reconciling: true,
      reason: 'Progressing',
      message: 'scanning: new generation',
    });
  });

  it('reports Unknown when there are no conditions yet', () => {
    expect(objectHealth({})).toEqual({
      readiness: 'Unknown',
      reconciling: false,
    });
  });
});
