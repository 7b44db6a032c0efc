import { screen, waitFor, within } from '@testing-library/react';
import userEvent, {
  PointerEventsCheckLevel,
} from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { NotAllowedError } from '@backstage/errors';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../testing/FakeImageAutomationApi';
import { condition, objectView } from '../testing/fixtures';
import { EntityImageAutomationContent } from './EntityImageAutomationContent';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'podinfo',
    namespace: 'default',
    annotations: { 'image-automation.io/manifests': './automation.yaml' },
  },
  spec: { type: 'service', owner: 'team-a', lifecycle: 'production' },
};

function fakeBackend(): FakeImageAutomationApi {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  api.addObject(
    objectView('ImageRepository', 'podinfo', {
      spec: { image: 'ghcr.io/stefanprodan/podinfo', interval: '5m' },
      status: {
        canonicalImageName: 'ghcr.io/stefanprodan/podinfo',
        lastScanResult: {
          tagCount: 42,
          scanTime: '2026-11-22T01:00:00Z',
          revision: 'sha256:1111',
        },
        conditions: [
          condition(
            'Ready',
            'True',
            'Succeeded',
            'successful scan: found 42 tags',
          ),
        ],
      },
    }),
    [
      {
        id: 1,
        objectId: 'ImageRepository/default/podinfo',
        startedAt: '2026-11-22T01:00:00Z',
        durationMs: 850,
        outcome: 'success',
        tagCount: 42,
        revision: 'sha256:1111',
        tagsAdded: ['6.5.1'],
        tagsRemoved: ['5.0.0'],
        requests: 2,
      },
      {
        id: 2,
        objectId: 'ImageRepository/default/podinfo',
        startedAt: '2026-11-22T00:55:00Z',
        durationMs: 2400,
        outcome: 'failure',
        error: 'GET https://ghcr.io/v2/: 503 Service Unavailable',
        tagCount: 0,
        tagsAdded: [],
        tagsRemoved: [],
        requests: 3,
      },
    ],
  );
  api.addObject(
    objectView('ImagePolicy', 'podinfo', {
      status: {
        latestRef: {
          name: 'ghcr.io/stefanprodan/podinfo',
          tag: '6.5.1',
          digest: 'sha256:abcd',
        },
        observedPreviousRef: {
          name: 'ghcr.io/stefanprodan/podinfo',
          tag: '6.5.0',
        },
        conditions: [
          condition(
            'Ready',
            'False',
            'InvalidPolicy',
            'invalid policy: improper constraint',
          ),
          condition(
            'Stalled',
            'True',
            'InvalidPolicy',
            'invalid policy: improper constraint',
          ),
        ],
      },
      actions: {
        suspend: {
          allowed: false,
          reason: 'You are not an owner of component:default/podinfo',
        },
        resume: {
          allowed: false,
          reason: 'You are not an owner of component:default/podinfo',
        },
        reconcile: { allowed: true },
      },
    }),
  );
  api.addObject(
    objectView('ImageUpdateAutomation', 'podinfo', {
      suspended: true,
      suspendedBy: 'user:default/alice',
      suspendedAt: '2026-11-21T09:30:00Z',
      status: {
        conditions: [
          condition('Ready', 'False', 'GitOperationFailed', 'failed to push'),
          condition('Reconciling', 'True', 'ProgressingWithRetry', 'retrying'),
        ],
      },
    }),
  );
  return api;
}

async function renderTab(api: FakeImageAutomationApi) {
  renderInTestApp(
    <EntityProvider entity={entity}>
      <EntityImageAutomationContent />
    </EntityProvider>,
    { apis: [[imageAutomationApiRef, api]] },
  );
  return screen.findByRole('region', {
    name: 'ImageRepository default/podinfo',
  });
}

describe('EntityImageAutomationContent', () => {
  it('lists the objects with their state as text, the reason and message, and the kind fields', async () => {
    const repository = await renderTab(fakeBackend());
    expect(within(repository).getByText('Ready')).toBeInTheDocument();
    expect(within(repository).getByText('Succeeded')).toBeInTheDocument();
    expect(
      within(repository).getByText(/successful scan: found 42 tags/),
    ).toBeInTheDocument();
    expect(
      within(repository).getAllByText('ghcr.io/stefanprodan/podinfo'),
    ).toHaveLength(2);
    expect(within(repository).getByText('42')).toBeInTheDocument();
    expect(
      within(repository).getByText('2026-11-22 01:00:00 UTC'),
    ).toBeInTheDocument();

    const policy = screen.getByRole('region', {
      name: 'ImagePolicy default/podinfo',
    });
    expect(within(policy).getByText('Stalled')).toBeInTheDocument();
    expect(
      within(policy).getByText(/invalid policy: improper constraint/),
    ).toBeInTheDocument();
    expect(within(policy).getByText('6.5.1@sha256:abcd')).toBeInTheDocument();
    expect(within(policy).getByText('6.5.0')).toBeInTheDocument();

    const automation = screen.getByRole('region', {
      name: 'ImageUpdateAutomation default/podinfo',
    });
    expect(within(automation).getByText('Not ready')).toBeInTheDocument();
    expect(within(automation).getByText('Reconciling')).toBeInTheDocument();
    expect(within(automation).getByText('Suspended')).toBeInTheDocument();
    expect(
      within(automation).getByText(
        'Suspended by user:default/alice at 2026-11-21 09:30:00 UTC',
      ),
    ).toBeInTheDocument();
    expect(
      within(automation).getByRole('button', {
        name: 'Resume ImageUpdateAutomation default/podinfo',
      }),
    ).toBeEnabled();
  });

  it('shows the recent scans of an ImageRepository', async () => {
    await renderTab(fakeBackend());
    const table = await screen.findByRole('grid', {
      name: 'Recent scans of ImageRepository default/podinfo',
    });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(
      within(rows[0]).getByText('2026-11-22 01:00:00 UTC'),
    ).toBeInTheDocument();
    expect(within(rows[0]).getByText('Success')).toBeInTheDocument();
    expect(within(rows[0]).getByText('6.5.1')).toBeInTheDocument();
    expect(within(rows[0]).getByText('5.0.0')).toBeInTheDocument();
    expect(within(rows[0]).getByText('850 ms')).toBeInTheDocument();
    expect(within(rows[1]).getByText('Failure')).toBeInTheDocument();
    expect(
      within(rows[1]).getByText(
        'GET https://ghcr.io/v2/: 503 Service Unavailable',
      ),
    ).toBeInTheDocument();
  });

  it('disables the actions the user may not use and says why', async () => {
    await renderTab(fakeBackend());
    const suspend = screen.getByRole('button', {
      name: 'Suspend ImagePolicy default/podinfo',
    });
    expect(suspend).toBeDisabled();
    expect(suspend).toHaveAccessibleDescription(
      'You are not an owner of component:default/podinfo',
    );
    expect(
      screen.getByRole('button', {
        name: 'Reconcile ImagePolicy default/podinfo',
      }),
    ).toBeEnabled();

    // The disabled button lets the pointer through to its wrapper, as a browser would.
    const pointer = userEvent.setup({
      pointerEventsCheck: PointerEventsCheckLevel.Never,
    });
    await pointer.hover(suspend);
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      'You are not an owner of component:default/podinfo',
    );
  });

  it('suspends an object through the API and shows the new state', async () => {
    const api = fakeBackend();
    await renderTab(api);
    const loadsBefore = api.countCalls('getEntityObjects');

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Suspend ImageRepository default/podinfo',
      }),
    );

    const repository = screen.getByRole('region', {
      name: 'ImageRepository default/podinfo',
    });
    expect(
      await within(repository).findByText(
        'Suspended by user:default/guest at 2026-11-22 02:00:00 UTC',
      ),
    ).toBeInTheDocument();
    expect(api.calls).toContainEqual({
      method: 'runAction',
      args: [
        expect.objectContaining({ id: 'ImageRepository/default/podinfo' }),
        'suspend',
      ],
    });
    expect(api.countCalls('getEntityObjects')).toBeGreaterThan(loadsBefore);
    expect(
      within(repository).getByRole('button', {
        name: 'Resume ImageRepository default/podinfo',
      }),
    ).toBeEnabled();
  });

  it('shows the new scan after a reconcile without waiting for the next poll', async () => {
    const api = fakeBackend();
    await renderTab(api);
    const table = await screen.findByRole('grid', {
      name: 'Recent scans of ImageRepository default/podinfo',
    });
    expect(within(table).getAllByRole('row')).toHaveLength(3);

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Reconcile ImageRepository default/podinfo',
      }),
    );

    await waitFor(() =>
      expect(within(table).getAllByRole('row')).toHaveLength(4),
    );
    expect(within(table).getAllByText('2026-11-22 02:00:00 UTC')).toHaveLength(
      1,
    );
  });

  it('shows the error message when an action fails', async () => {
    const api = fakeBackend();
    await renderTab(api);
    api.failActionsWith(new NotAllowedError('the permission policy changed'));

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Reconcile ImagePolicy default/podinfo',
      }),
    );

    const policy = screen.getByRole('region', {
      name: 'ImagePolicy default/podinfo',
    });
    expect(await within(policy).findByRole('alert')).toHaveTextContent(
      'Reconcile failed: the permission policy changed',
    );
  });

  it('shows, section by section, that the backend cannot be reached', async () => {
    const api = fakeBackend();
    api.failLoadsWith(new Error('backend unavailable'));
    renderInTestApp(
      <EntityProvider entity={entity}>
        <EntityImageAutomationContent />
      </EntityProvider>,
      { apis: [[imageAutomationApiRef, api]] },
    );
    expect(
      await screen.findByText('Could not load the automation objects'),
    ).toBeInTheDocument();
    expect(await screen.findByText('Could not load the versions')).toBeInTheDocument();
    expect(await screen.findByText('Could not load the pending promotions')).toBeInTheDocument();
    expect(screen.getAllByText('backend unavailable')).toHaveLength(3);
  });

  it('shows the versions and the pending promotions above the objects, each loaded on its own', async () => {
    const api = fakeBackend();
    api.setVersions('component:default/podinfo', []);
    renderInTestApp(
      <EntityProvider entity={entity}>
        <EntityImageAutomationContent />
      </EntityProvider>,
      { apis: [[imageAutomationApiRef, api]] },
    );
    const headings = await screen.findAllByRole('heading', { level: 2 });
    expect(headings.map(h => h.textContent)).toEqual(
      expect.arrayContaining(['Versions', 'Pending promotions', 'Automation objects']),
    );
    expect(
      await screen.findByText('Nothing is waiting: every target carries what its policy selected.'),
    ).toBeInTheDocument();
    expect(api.countCalls('getVersions')).toBeGreaterThanOrEqual(1);
    expect(api.countCalls('getPromotions')).toBeGreaterThanOrEqual(1);
  });

  it('says so when the entity has no automation objects', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    renderInTestApp(
      <EntityProvider entity={entity}>
        <EntityImageAutomationContent />
      </EntityProvider>,
      { apis: [[imageAutomationApiRef, api]] },
    );
    expect(
      await screen.findByText(/No automation objects belong to this entity/),
    ).toBeInTheDocument();
  });
});
