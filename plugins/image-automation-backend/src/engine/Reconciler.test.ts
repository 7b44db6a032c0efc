import { ReconcileAborted } from './Reconciler';

describe('ReconcileAborted', () => {
  it("is an Error that says why and what, as the signal's reason a reconciler rethrows", () => {
    const aborted = new ReconcileAborted(
      'deadline',
      'reconcile aborted after 6m0s',
    );
    expect(aborted).toBeInstanceOf(Error);
    expect(aborted.name).toBe('ReconcileAborted');
    expect(aborted.why).toBe('deadline');
    expect(aborted.message).toBe('reconcile aborted after 6m0s');
    expect(String(aborted)).toBe(
      'ReconcileAborted: reconcile aborted after 6m0s',
    );
    const controller = new AbortController();
    controller.abort(aborted);
    expect(() => controller.signal.throwIfAborted()).toThrow(aborted);
  });
});
