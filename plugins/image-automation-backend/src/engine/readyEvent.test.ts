import {
  Condition,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import { readyEvent } from './readyEvent';

const ready = (
  status: Condition['status'],
  reason: string,
  message: string,
): ObjectStatus => ({
  conditions: [
    {
      type: 'Ready',
      status,
      reason,
      message,
      lastTransitionTime: '2030-01-01T00:00:00Z',
    },
  ],
});

describe('readyEvent', () => {
  it('emits Normal when an object becomes ready or its message changes', () => {
    expect(readyEvent({}, ready('True', 'Succeeded', 'found 3 tags'))).toEqual({
      type: 'Normal',
      reason: 'Succeeded',
      message: 'found 3 tags',
    });
    expect(
      readyEvent(
        ready('True', 'Succeeded', 'found 3 tags'),
        ready('True', 'Succeeded', 'found 4 tags'),
      )?.type,
    ).toBe('Normal');
    expect(
      readyEvent(
        ready('False', 'Failure', 'x'),
        ready('True', 'Succeeded', 'ok'),
      )?.type,
    ).toBe('Normal');
  });

  it('emits Warning on failure, once per distinct failure', () => {
    const failed = ready(
      'False',
      'ReadOperationFailed',
      'scan failed: connection refused',
    );
    expect(readyEvent(ready('True', 'Succeeded', 'ok'), failed)).toEqual({
      type: 'Warning',
      reason: 'ReadOperationFailed',
      message: 'scan failed: connection refused',
    });
    expect(readyEvent(failed, failed)).toBeUndefined();
    expect(
      readyEvent(
        failed,
        ready('False', 'ReadOperationFailed', 'scan failed: timeout'),
      )?.type,
    ).toBe('Warning');
  });

  it('says nothing when nothing changed or there is no Ready condition', () => {
    expect(
      readyEvent(
        ready('True', 'Succeeded', 'ok'),
        ready('True', 'Succeeded', 'ok'),
      ),
    ).toBeUndefined();
    expect(readyEvent({}, {})).toBeUndefined();
  });

  it('tells apart a change of status, reason or message alone', () => {
    expect(
      readyEvent(ready('False', 'Same', 'same'), ready('True', 'Same', 'same')),
    ).toEqual({ type: 'Normal', reason: 'Same', message: 'same' });
    expect(
      readyEvent(ready('False', 'A', 'same'), ready('False', 'B', 'same')),
    ).toEqual({ type: 'Warning', reason: 'B', message: 'same' });
    expect(
      readyEvent(ready('False', 'A', 'one'), ready('False', 'A', 'two')),
    ).toEqual({ type: 'Warning', reason: 'A', message: 'two' });
  });

  it('says nothing while Ready is Unknown', () => {
    expect(
      readyEvent(
        {},
        ready('Unknown', 'Progressing', 'reconciliation in progress'),
      ),
    ).toBeUndefined();
    expect(
      readyEvent(
        ready('True', 'Succeeded', 'ok'),
        ready('Unknown', 'Progressing', 'x'),
      ),
    ).toBeUndefined();
  });
});
