import {
  DEFAULT_EXCLUSION_LIST,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  effectiveExclusionList,
  shouldScan,
} from './ImageRepositoryReconciler';

// Whether an ImageRepository scans now, in the order of Flux's shouldScan, and the exclusion list it
// compares: what ImageRepositoryReconciler decides before it calls the registry.

const NOW = new Date('2026-12-04T12:00:00Z');
const INTERVAL = 5 * 60_000;
const NAME = 'registry.example.com/team/app';
const scannedAgo = (ms: number): ObjectStatus => ({
  canonicalImageName: NAME,
  observedExclusionList: ['^.*\\.sig$'],
  lastScanResult: {
    tagCount: 2,
    scanTime: new Date(NOW.getTime() - ms).toISOString(),
    revision: '1',
  },
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Succeeded',
      message: 'successful scan',
      lastTransitionTime: NOW.toISOString(),
    },
  ],
});
const decide = (
  status: ObjectStatus,
  overrides: Partial<Parameters<typeof shouldScan>[0]> = {},
) =>
  shouldScan({
    status,
    canonicalName: NAME,
    exclusionList: ['^.*\\.sig$'],
    storedTagCount: 2,
    intervalMs: INTERVAL,
    now: NOW,
    ...overrides,
  });

describe('shouldScan', () => {
  it('waits for the rest of the interval after a successful scan', () => {
    expect(decide(scannedAgo(60_000))).toEqual({ waitMs: 4 * 60_000 });
    // One second left is still a wait; less is due now.
    expect(decide(scannedAgo(INTERVAL - 1000))).toEqual({ waitMs: 1000 });
    expect(decide(scannedAgo(INTERVAL - 999))).toEqual({
      reason: 'triggered by interval',
      waitMs: 0,
    });
    expect(decide(scannedAgo(INTERVAL + 60_000))).toEqual({
      reason: 'triggered by interval',
      waitMs: 0,
    });
  });

  it("gives Flux's reasons, in Flux's order", () => {
    const recent = scannedAgo(60_000);
    expect(decide({})).toEqual({ reason: 'first scan', waitMs: 0 });
    expect(decide(recent, { pendingRequest: '2026-12-04T11:59:00Z' })).toEqual({
      reason: 'reconcile requested',
      waitMs: 0,
    });
    // A request comes before every other reason.
    expect(
      decide(recent, {
        pendingRequest: 'now',
        canonicalName: 'registry.example.com/team/other',
        storedTagCount: 0,
      }).reason,
    ).toBe('reconcile requested');
    expect(decide(recent, { canonicalName: `${NAME}-renamed` })).toEqual({
      reason: 'new image name',
      waitMs: 0,
    });
    expect(
      decide(recent, { canonicalName: `${NAME}-renamed`, storedTagCount: 0 })
        .reason,
    ).toBe('new image name');
    expect(decide(recent, { storedTagCount: 0 })).toEqual({
      reason: 'no tags in database',
      waitMs: 0,
    });
  });

  it('retries at once after a failed scan (Ready=False), and only then', () => {
    const failed: ObjectStatus = {
      ...scannedAgo(60_000),
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'ReadOperationFailed',
          message: 'scan failed',
          lastTransitionTime: NOW.toISOString(),
        },
        {
          type: 'Reconciling',
          status: 'True',
          reason: 'ProgressingWithRetry',
          message: 'scanning: triggered by interval',
          lastTransitionTime: NOW.toISOString(),
        },
      ],
    };
    expect(decide(failed)).toEqual({
      reason: 'retry after a failed scan',
      waitMs: 0,
    });
    // Another condition being False is not a failed scan.
    const otherFalse: ObjectStatus = {
      ...scannedAgo(60_000),
      conditions: [
        ...scannedAgo(60_000).conditions!,
        {
          type: 'Reconciling',
          status: 'False',
          reason: 'Succeeded',
          message: '',
          lastTransitionTime: NOW.toISOString(),
        },
      ],
    };
    expect(decide(otherFalse)).toEqual({ waitMs: 4 * 60_000 });
  });

  it('scans again when the exclusion list changed, whatever its order', () => {
    const recent = scannedAgo(60_000);
    const updated = { reason: 'updated exclusion list', waitMs: 0 };
    expect(decide({ ...recent, observedExclusionList: undefined })).toEqual(
      updated,
    );
    expect(decide(recent, { exclusionList: ['^.*\\.sig$', '^debug'] })).toEqual(
      updated,
    );
    expect(decide(recent, { exclusionList: ['^debug'] })).toEqual(updated);
    expect(decide(recent, { exclusionList: [] })).toEqual(updated);
    const two = { ...recent, observedExclusionList: ['^a', '^b'] };
    expect(decide(two, { exclusionList: ['^b', '^a'] })).toEqual({
      waitMs: 4 * 60_000,
    });
    expect(decide(two, { exclusionList: ['^a', '^c'] })).toEqual(updated);
  });
});

describe('effectiveExclusionList', () => {
  const spec = (exclusionList?: string[]) => ({
    image: NAME,
    interval: '5m',
    ...(exclusionList ? { exclusionList } : {}),
  });

  it("is Flux's default when absent or empty, else the list as given", () => {
    expect(effectiveExclusionList(spec())).toEqual(DEFAULT_EXCLUSION_LIST);
    expect(effectiveExclusionList(spec([]))).toEqual(DEFAULT_EXCLUSION_LIST);
    expect(effectiveExclusionList(spec(['^debug']))).toEqual(['^debug']);
  });
});
