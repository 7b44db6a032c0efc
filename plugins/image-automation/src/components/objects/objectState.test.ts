import { condition, objectView } from '../../testing/fixtures';
import { objectState, reconcileHandled } from './objectState';

describe('objectState', () => {
  const withConditions = (
    conditions: ReturnType<typeof condition>[],
    suspended = false,
  ) => objectView('ImagePolicy', 'web', { suspended, status: { conditions } });

  it('names each state in words, with a colour that repeats it', () => {
    expect(
      objectState(
        withConditions([condition('Ready', 'True', 'Succeeded', 'ok')]),
      ),
    ).toMatchObject({
      label: 'Ready',
      color: 'success',
      reconciling: false,
      condition: { reason: 'Succeeded' },
    });
    expect(
      objectState(
        withConditions([
          condition('Ready', 'False', 'InvalidManifest', 'invalid'),
          condition(
            'Stalled',
            'True',
            'InvalidManifest',
            'spec.x: unknown field',
          ),
        ]),
      ),
    ).toMatchObject({
      label: 'Stalled',
      color: 'danger',
      condition: { type: 'Stalled' },
    });
    expect(
      objectState(
        withConditions([
          condition('Ready', 'False', 'GitOperationFailed', 'push failed'),
          condition('Reconciling', 'True', 'ProgressingWithRetry', 'retrying'),
        ]),
      ),
    ).toMatchObject({
      label: 'Failing',
      color: 'danger',
      reconciling: true,
      condition: { type: 'Ready' },
    });
    expect(
      objectState(
        withConditions([
          condition('Reconciling', 'True', 'Progressing', 'cloning'),
        ]),
      ),
    ).toMatchObject({
      label: 'Reconciling',
      color: 'info',
      condition: { type: 'Reconciling' },
    });
    expect(objectState(withConditions([]))).toMatchObject({
      label: 'Unknown',
      color: 'secondary',
    });
  });

  it('says Suspended over Ready or Failing, but a Stalled object stays Stalled', () => {
    expect(
      objectState(
        withConditions(
          [condition('Ready', 'False', 'GitOperationFailed', 'push failed')],
          true,
        ),
      ),
    ).toMatchObject({
      label: 'Suspended',
      color: 'warning',
      condition: { type: 'Ready' },
    });
    expect(
      objectState(
        withConditions(
          [condition('Stalled', 'True', 'InvalidManifest', 'invalid')],
          true,
        ),
      ).label,
    ).toBe('Stalled');
  });
});

describe('reconcileHandled', () => {
  it('is true only once the status records the request, or a later one, as handled', () => {
    const requested = { reconcileRequestedAt: '2026-11-22T02:00:00Z' };
    expect(reconcileHandled(objectView('ImagePolicy', 'web', requested))).toBe(
      false,
    );
    expect(
      reconcileHandled(
        objectView('ImagePolicy', 'web', {
          ...requested,
          status: { lastHandledReconcileAt: '2026-11-22T01:59:59Z' },
        }),
      ),
    ).toBe(false);
    expect(
      reconcileHandled(
        objectView('ImagePolicy', 'web', {
          ...requested,
          status: { lastHandledReconcileAt: '2026-11-22T02:00:00Z' },
        }),
      ),
    ).toBe(true);
    expect(reconcileHandled(objectView('ImagePolicy', 'web'))).toBe(false);
  });
});
