import { markFailed, markStalled } from '../engine/conditions';
import { KubeApiError } from '../kubernetes/errors';
import { MAX_MESSAGE_LENGTH, truncateMessage } from './truncateMessage';

describe('truncateMessage', () => {
  it('keeps short messages as they are', () => {
    expect(truncateMessage('scan failed: 401')).toBe('scan failed: 401');
    expect(truncateMessage('x'.repeat(MAX_MESSAGE_LENGTH))).toHaveLength(
      MAX_MESSAGE_LENGTH,
    );
  });

  it('cuts a multi-megabyte message to the limit and says how much was cut', () => {
    const huge = `GET https://registry/v2/: unexpected status code 500: ${'<html>'.repeat(
      1_000_000,
    )}`;
    const cut = truncateMessage(huge);
    expect(cut.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(
      cut.startsWith(
        'GET https://registry/v2/: unexpected status code 500: <html>',
      ),
    ).toBe(true);
    expect(cut).toMatch(/… \(\d+ more characters\)$/);
    const more = Number(/\((\d+) more/.exec(cut)![1]);
    expect(
      cut.length - cut.indexOf('…') + (huge.length - more),
    ).toBeGreaterThan(0);
    expect(huge.slice(0, huge.length - more)).toBe(
      cut.slice(0, cut.indexOf('…')),
    );
  });

  it('never splits a surrogate pair', () => {
    const cut = truncateMessage('😀'.repeat(100), 41);
    expect(cut.length).toBeLessThanOrEqual(41);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut)).toBe(false);
  });
});

describe('where messages enter status (issue #13)', () => {
  it('every condition message is bounded', () => {
    const huge = `apply failed: ${'y'.repeat(2_000_000)}`;
    for (const mark of [markFailed, markStalled]) {
      const status = mark({}, 'ReconciliationFailed', huge, new Date(), 1);
      for (const c of status.conditions ?? [])
        expect(c.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    }
  });

  it('a Kubernetes API server’s (or proxy’s) huge answer is bounded in the error', () => {
    const body = '<html>'.repeat(1_000_000);
    const causes = Array.from({ length: 10_000 }, () => ({
      field: 'spec',
      message: body.slice(0, 5000),
    }));
    const error = new KubeApiError(500, 'HTTP 500', body, causes);
    expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.apiMessage.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(error.causes).toHaveLength(50);
    expect(error.causes[0].message!.length).toBeLessThanOrEqual(1024);
  });
});
