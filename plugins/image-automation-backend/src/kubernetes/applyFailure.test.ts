import { classifyApplyFailure } from './applyFailure';
import {
  ApplyConflictError,
  ClusterUnreachableError,
  KubeApiError,
} from './errors';
import { ApplyError } from './ServerSideApplier';

describe('classifyApplyFailure', () => {
  it('tells what an apply failure means and whether to retry soon', () => {
    const unreachable = new ClusterUnreachableError(
      'prod',
      'https://k',
      new Error('connect ECONNREFUSED'),
    );
    expect(classifyApplyFailure(new ApplyError([], [unreachable]))).toEqual({
      kind: 'Unreachable',
      reason: 'ReconciliationFailed',
      message:
        "cluster 'prod' (https://k) is unreachable: connect ECONNREFUSED; will retry",
      retrySoon: true,
    });
    expect(
      classifyApplyFailure(
        new ApplyConflictError(
          'ConfigMap/a/b',
          [{ manager: 'x', field: '.data.k' }],
          'me',
        ),
      ).kind,
    ).toBe('Conflict');
    expect(
      classifyApplyFailure(new KubeApiError(403, 'Forbidden', 'no', [])),
    ).toMatchObject({ kind: 'Forbidden', retrySoon: false });
    expect(
      classifyApplyFailure(new KubeApiError(422, 'Invalid', 'bad', [])),
    ).toMatchObject({ kind: 'Invalid', retrySoon: false });
    expect(
      classifyApplyFailure(
        new KubeApiError(429, 'TooManyRequests', 'slow down', []),
      ),
    ).toMatchObject({ kind: 'Other', retrySoon: true });
    expect(
      classifyApplyFailure(
        new ApplyError(
          [],
          [
            new Error(
              "Secret/a/x refused: kind Secret is not in the allowed kinds of cluster 'prod'",
            ),
          ],
        ),
      ),
    ).toMatchObject({ kind: 'Refused', retrySoon: false });
    expect(
      classifyApplyFailure(
        new Error('health check failed: timeout waiting for Deployment/a/b'),
      ),
    ).toEqual({
      kind: 'HealthCheck',
      reason: 'HealthCheckFailed',
      message: 'health check failed: timeout waiting for Deployment/a/b',
      retrySoon: false,
    });
  });
});
