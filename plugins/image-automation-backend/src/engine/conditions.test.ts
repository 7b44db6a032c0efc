import {
  Condition,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ConditionType,
  markFailed,
  markReady,
  markStalled,
  readyCondition,
} from './conditions';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-01T00:05:00.000Z');

const condition = (
  type: string,
  status: Condition['status'],
  reason = 'R',
  at = T0,
): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${status}`,
  lastTransitionTime: at.toISOString(),
});

const types = (status: ObjectStatus) =>
  status.conditions?.map(c => `${c.type}=${c.status}`);

describe('conditions', () => {
  it("names Flux's condition types", () => {
    expect(ConditionType).toEqual({
      Ready: 'Ready',
      Reconciling: 'Reconciling',
      Stalled: 'Stalled',
    });
  });

  describe('markReady', () => {
    it('sets Ready=True for the generation and drops Reconciling and Stalled, keeping other conditions and fields', () => {
      const before: ObjectStatus = {
        observedGeneration: 1,
        lastHandledReconcileAt: 'x',
        conditions: [
          condition('Stalled', 'True'),
          condition('Reconciling', 'True'),
          condition('Ready', 'False'),
          condition('FieldsIgnored', 'True'),
        ],
      };
      const after = markReady(before, 'Succeeded', 'found 3 tags', T1, 2);
      expect(after).toEqual({
        observedGeneration: 2,
        lastHandledReconcileAt: 'x',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Succeeded',
            message: 'found 3 tags',
            observedGeneration: 2,
            lastTransitionTime: T1.toISOString(),
          },
          condition('FieldsIgnored', 'True'),
        ],
      });
      expect(before.conditions).toHaveLength(4);
    });

    it('keeps the transition time while the status stays the same, and works without conditions', () => {
      const first = markReady({}, 'Succeeded', 'one', T0, 1);
      expect(readyCondition(first)?.lastTransitionTime).toBe(T0.toISOString());
      const second = markReady(first, 'Succeeded', 'two', T1, 1);
      expect(readyCondition(second)).toMatchObject({
        message: 'two',
        lastTransitionTime: T0.toISOString(),
      });
      // Another condition's time does not count: only the same type's.
      const failed = markFailed(second, 'Failure', 'x', T1, 1);
      expect(readyCondition(failed)?.lastTransitionTime).toBe(T1.toISOString());
      expect(
        readyCondition(markReady(failed, 'Succeeded', 'ok', T0, 1))
          ?.lastTransitionTime,
      ).toBe(T0.toISOString());
    });

    it('bounds the message', () => {
      const long = 'x'.repeat(100_000);
      const message = readyCondition(
        markReady({}, 'Succeeded', long, T0, 1),
      )!.message;
      expect(message.length).toBeLessThan(long.length);
    });
  });

  describe('markFailed', () => {
    it('sets Ready=False and Reconciling=True ProgressingWithRetry with the message, drops Stalled, keeps observedGeneration', () => {
      const before: ObjectStatus = {
        observedGeneration: 1,
        conditions: [condition('Stalled', 'True'), condition('Ready', 'True')],
      };
      const after = markFailed(
        before,
        'ReadOperationFailed',
        'connection refused',
        T1,
        2,
      );
      expect(after).toEqual({
        observedGeneration: 1,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'ReadOperationFailed',
            message: 'connection refused',
            observedGeneration: 2,
            lastTransitionTime: T1.toISOString(),
          },
          {
            type: 'Reconciling',
            status: 'True',
            reason: 'ProgressingWithRetry',
            message: 'connection refused',
            observedGeneration: 2,
            lastTransitionTime: T1.toISOString(),
          },
        ],
      });
    });

    it("keeps Reconciling's transition time across repeated failures", () => {
      const once = markFailed({}, 'A', 'a', T0, 1);
      const twice = markFailed(once, 'B', 'b', T1, 1);
      expect(
        twice.conditions?.map(c => [c.type, c.reason, c.lastTransitionTime]),
      ).toEqual([
        ['Ready', 'B', T0.toISOString()],
        ['Reconciling', 'ProgressingWithRetry', T0.toISOString()],
      ]);
    });
  });

  describe('markStalled', () => {
    it('sets Ready=False and Stalled=True with the same reason and message, drops Reconciling, sets observedGeneration', () => {
      const before: ObjectStatus = {
        conditions: [
          condition('Reconciling', 'True'),
          condition('Ready', 'True'),
        ],
      };
      const after = markStalled(
        before,
        'InvalidManifest',
        'spec.image is required',
        T1,
        3,
      );
      expect(after).toEqual({
        observedGeneration: 3,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'InvalidManifest',
            message: 'spec.image is required',
            observedGeneration: 3,
            lastTransitionTime: T1.toISOString(),
          },
          {
            type: 'Stalled',
            status: 'True',
            reason: 'InvalidManifest',
            message: 'spec.image is required',
            observedGeneration: 3,
            lastTransitionTime: T1.toISOString(),
          },
        ],
      });
    });

    it('orders Ready, Reconciling, Stalled first, then the others in their order', () => {
      const before: ObjectStatus = {
        conditions: [
          condition('Zeta', 'True'),
          condition('Alpha', 'True'),
          condition('Stalled', 'True'),
          condition('Ready', 'True'),
        ],
      };
      expect(types(markStalled(before, 'X', 'x', T1, 1))).toEqual([
        'Ready=False',
        'Stalled=True',
        'Zeta=True',
        'Alpha=True',
      ]);
      expect(
        types(
          markFailed(
            { conditions: [condition('Other', 'True')] },
            'X',
            'x',
            T1,
            1,
          ),
        ),
      ).toEqual(['Ready=False', 'Reconciling=True', 'Other=True']);
    });
  });

  it('readyCondition finds the Ready condition, if any', () => {
    expect(readyCondition({})).toBeUndefined();
    expect(
      readyCondition({ conditions: [condition('Stalled', 'True')] }),
    ).toBeUndefined();
    expect(
      readyCondition({
        conditions: [condition('Stalled', 'True'), condition('Ready', 'False')],
      })?.status,
    ).toBe('False');
  });
});
