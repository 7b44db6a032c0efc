import { objectView } from '../testing/fixtures';
import { reconcilePending } from './reconcilePending';

const now = new Date('2026-11-22T02:00:30Z');

describe('reconcilePending', () => {
  it('is false without a request', () => {
    expect(reconcilePending(objectView('ImageRepository', 'a'), now)).toBe(
      false,
    );
  });

  it('is true until the backend records it handled the request', () => {
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T02:00:20Z',
      lastRunAt: '2026-11-22T02:00:00Z',
      status: { lastHandledReconcileAt: '2026-11-22T01:00:00Z' },
    });
    expect(reconcilePending(object, now)).toBe(true);
    expect(reconcilePending({ ...object, status: {} }, now)).toBe(true);
  });

  it('stays true when a run finished after the request without handling it', () => {
    // The run claimed the object before the request arrived, so it did not see it.
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T02:00:20Z',
      lastRunAt: '2026-11-22T02:00:21Z',
      status: { lastHandledReconcileAt: '2026-11-22T01:00:00Z' },
    });
    expect(reconcilePending(object, now)).toBe(true);
  });

  it('is false once the backend handled this request or a later one', () => {
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T02:00:20Z',
      status: { lastHandledReconcileAt: '2026-11-22T02:00:20Z' },
    });
    expect(reconcilePending(object, now)).toBe(false);
    expect(
      reconcilePending(
        {
          ...object,
          status: { lastHandledReconcileAt: '2026-11-22T02:00:25Z' },
        },
        now,
      ),
    ).toBe(false);
  });

  it('gives up a minute after the request', () => {
    const object = objectView('ImageRepository', 'a', {
      reconcileRequestedAt: '2026-11-22T01:59:00Z',
      lastRunAt: '2026-11-22T01:58:00Z',
    });
    expect(reconcilePending(object, now)).toBe(false);
  });
});
