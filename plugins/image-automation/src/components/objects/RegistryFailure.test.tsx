import { act, screen, within } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import {
  AutomationObjectView,
  RegistryErrorKind,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';
import { fixClock } from '../../testing/fixClock';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { condition, objectView } from '../../testing/fixtures';
import { HistoryPanel } from './HistoryPanel';
import { ImageRepositoryPanel } from './kinds/ImageRepositoryPanel';
import {
  REGISTRY_ERROR_LABELS,
  registryErrorClass,
  registryFailingText,
} from './RegistryFailure';

const NOW = new Date('2026-11-22T02:00:00Z');
const MESSAGE =
  'scan failed: GET https://ghcr.io/v2/stefanprodan/podinfo/tags/list?n=1000: UNAUTHORIZED: authentication required';

function repository(
  overrides: Partial<AutomationObjectView> = {},
): AutomationObjectView {
  return objectView('ImageRepository', 'podinfo', {
    spec: { image: 'ghcr.io/stefanprodan/podinfo', interval: '5m' },
    lastRunAt: '2026-11-22T01:58:00Z',
    nextRunAt: '2026-11-22T02:01:00Z',
    status: {
      canonicalImageName: 'ghcr.io/stefanprodan/podinfo',
      lastScanResult: {
        tagCount: 42,
        scanTime: '2026-11-22T01:00:00Z',
        revision: '1234567',
        latestTags: ['6.5.1', '6.5.0'],
      },
      conditions: [
        condition('Ready', 'False', 'ReadOperationFailed', MESSAGE),
        condition('Reconciling', 'True', 'ProgressingWithRetry', MESSAGE),
      ],
    },
    ...overrides,
  });
}

function scan(id: number, fields: Partial<ScanRecord>): ScanRecord {
  return {
    id,
    objectId: 'ImageRepository/default/podinfo',
    startedAt: '2026-11-22T01:00:00Z',
    durationMs: 120,
    outcome: 'success',
    tagCount: 42,
    revision: '1234567',
    tagsAdded: [],
    tagsRemoved: [],
    requests: 1,
    ...fields,
  };
}

const GOOD = scan(1, {});
const UNAUTHORIZED = scan(2, {
  startedAt: '2026-11-22T01:58:00Z',
  outcome: 'failure',
  tagCount: 0,
  revision: undefined,
  error: MESSAGE,
  errorKind: 'unauthorized',
  errorStatus: 401,
});

async function render(
  Panel: typeof ImageRepositoryPanel,
  object: AutomationObjectView,
  scans: ScanRecord[],
) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => NOW,
  });
  api.addObject(object, scans);
  renderInTestApp(<Panel object={object} />, {
    apis: [[imageAutomationApiRef, api]],
  });
  // Lets the first loads (the newest scan, the scans list) finish.
  await act(() => new Promise(resolve => setTimeout(resolve, 20)));
  return api;
}

describe('a failing registry', () => {
  fixClock(NOW);

  it('the Repository panel says why, since when and when it retries, and marks what the last good scan found stale', async () => {
    await render(ImageRepositoryPanel, repository(), [GOOD, UNAUTHORIZED]);
    const line = await screen.findByRole('status');
    expect(line).toHaveTextContent(
      'Registry failing: unauthorized (HTTP 401) · last good scan 2026-11-22 01:00:00 UTC (1h ago) · next retry 2026-11-22 02:01:00 UTC (in 1m)',
    );
    const details = screen.getByLabelText(
      'Repository details of ImageRepository default/podinfo',
    );
    expect(within(details).getByText('Last good scan')).toBeInTheDocument();
    expect(within(details).queryByText('Last scan')).not.toBeInTheDocument();
    // Tags, revision and latest tags are the last good scan's.
    expect(within(details).getAllByText('(stale)')).toHaveLength(3);
    expect(within(details).getByText(/^42/)).toHaveTextContent('42 (stale)');
  });

  it('the scans list shows the same line, and the class of each failed scan beside its message', async () => {
    await render(HistoryPanel, repository(), [GOOD, UNAUTHORIZED]);
    expect(await screen.findByRole('status')).toHaveTextContent(
      /^Registry failing: unauthorized \(HTTP 401\) · last good scan/,
    );
    const scans = screen.getByRole('table', {
      name: 'Scans of ImageRepository default/podinfo',
    });
    const failure = within(scans).getByRole('row', {
      name: '2026-11-22 01:58:00 UTC',
    });
    const cells = within(failure).getAllByRole('cell');
    expect(cells[cells.length - 1]).toHaveTextContent(
      `unauthorized (HTTP 401): ${MESSAGE}`,
    );
    // The successful scan has no error and no class.
    const success = within(scans).getByRole('row', {
      name: '2026-11-22 01:00:00 UTC',
    });
    expect(within(success).queryByText(/HTTP/)).not.toBeInTheDocument();
  });

  it('a Ready repository shows no line, marks nothing stale and asks for no scan', async () => {
    const api = await render(
      ImageRepositoryPanel,
      repository({
        status: {
          ...repository().status,
          conditions: [
            condition('Ready', 'True', 'Succeeded', 'successful scan'),
          ],
        },
      }),
      [GOOD],
    );
    expect(screen.getByText('Last scan')).toBeInTheDocument();
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
    expect(screen.queryByText('(stale)')).not.toBeInTheDocument();
    expect(api.countCalls('getScans')).toBe(0);
  });

  it('a repository failing for another reason than its last scan shows no registry line', async () => {
    // E.g. a credential that cannot be used: no scan was attempted, the last one succeeded.
    const api = await render(ImageRepositoryPanel, repository(), [GOOD]);
    // The newest scan was loaded (and succeeded), so nothing is said about the registry.
    expect(screen.getByText('Last scan')).toBeInTheDocument();
    expect(api.countCalls('getScans')).toBe(1);
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
    expect(screen.queryByText('(stale)')).not.toBeInTheDocument();
  });
});

describe('registry error classes', () => {
  it('names every kind in words, with the HTTP status when there was one', () => {
    const kinds = Object.keys(REGISTRY_ERROR_LABELS) as RegistryErrorKind[];
    expect(kinds).toHaveLength(14);
    for (const kind of kinds) {
      expect(REGISTRY_ERROR_LABELS[kind]).toMatch(/^[A-Za-z][A-Za-z ]+$/);
    }
    expect(
      registryErrorClass({ errorKind: 'rateLimited', errorStatus: 429 }),
    ).toBe('rate limited (HTTP 429)');
    expect(registryErrorClass({ errorKind: 'server', errorStatus: 503 })).toBe(
      'server error (HTTP 503)',
    );
    expect(registryErrorClass({ errorKind: 'tls' })).toBe('TLS');
    expect(registryErrorClass({ errorKind: 'network' })).toBe('network');
    expect(registryErrorClass({ errorKind: 'timeout' })).toBe('timeout');
    expect(registryErrorClass({})).toBeUndefined();
  });

  it('says when there is no good scan, no retry while suspended, and a retry due now', () => {
    const unclassified = scan(3, {
      outcome: 'failure',
      error: 'scan failed: boom',
    });
    expect(
      registryFailingText(
        repository({ status: { conditions: [] }, suspended: true }),
        unclassified,
        NOW,
      ),
    ).toBe(
      'Registry failing: unclassified error · no good scan yet · no retry while suspended',
    );
    expect(
      registryFailingText(
        repository({ nextRunAt: '2026-11-22T01:59:00Z' }),
        UNAUTHORIZED,
        NOW,
      ),
    ).toBe(
      'Registry failing: unauthorized (HTTP 401) · last good scan 2026-11-22 01:00:00 UTC (1h ago) · next retry due now',
    );
  });
});
