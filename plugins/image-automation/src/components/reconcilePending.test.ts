import { objectView } from '../testing/fixtures';
import { reconcilePending } from './reconcilePending';

const now = new Date('2026-11-22T02:00:30Z');

describe('reconcilePending', () => {
  it('is false without a request', () => {
    expect(reconcilePending(objectView('ImageRepository', 'a'), now)).toBe(
      false,
    );
  });

  it('is true while the last run is older than the request', () => {
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T02:00:20Z',
      lastRunAt: '2026-11-22T02:00:00Z',
    });
    expect(reconcilePending(object, now)).toBe(true);
    expect(reconcilePending({ ...object, lastRunAt: undefined }, now)).toBe(
      true,
    );
  });

  it('is false once the object ran after the request', () => {
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T02:00:20Z',
      lastRunAt: '2026-11-22T02:00:21Z',
    });
    expect(reconcilePending(object, now)).toBe(false);
  });

  it('gives up a minute after the request', () => {
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T01:59:00Z',
      lastRunAt: '2026-11-22T01:58:00Z',
    });
    expect(reconcilePending(object, now)).toBe(false);
  });
});
