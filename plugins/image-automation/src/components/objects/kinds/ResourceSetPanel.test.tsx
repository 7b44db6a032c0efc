import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { ClusterInventoryView } from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../../../testing/FakeImageAutomationApi';
import { objectView } from '../../../testing/fixtures';
import { ResourceSetPanel } from './ResourceSetPanel';

const resourceSet = objectView('ResourceSet', 'podinfo', {
  apiVersion: 'fluxcd.controlplane.io/v1',
  spec: { inputs: [{ env: 'prod' }] },
  status: {
    appliedClusters: ['prod-eu', 'staging'],
    lastAppliedRevision: 'sha256:feed',
    // The union over the clusters, as the status keeps it: the panel shows the backend's per-cluster inventories instead.
    inventory: { entries: [{ id: 'apps_podinfo_apps_Deployment', v: 'v1' }] },
  },
});

const prod: ClusterInventoryView = {
  cluster: 'prod-eu',
  state: 'applied',
  lastAppliedRevision: 'sha256:feed',
  updatedAt: '2026-11-22T01:00:00Z',
  entries: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'apps',
      name: 'podinfo',
    },
    { apiVersion: 'v1', kind: 'Namespace', name: 'apps' },
    { apiVersion: 'v1', kind: 'Service', namespace: 'apps', name: 'podinfo' },
  ],
};

const staging: ClusterInventoryView = {
  cluster: 'staging',
  state: 'failed',
  updatedAt: '2026-11-22T01:05:00Z',
  entries: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'apps-staging',
      name: 'podinfo',
    },
  ],
};

function fakeBackend(clusters: ClusterInventoryView[] = [prod, staging]) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  api.addObject(resourceSet);
  api.setInventory(resourceSet.id, clusters);
  return api;
}

function renderPanel(api: FakeImageAutomationApi) {
  renderInTestApp(<ResourceSetPanel object={resourceSet} />, {
    apis: [[imageAutomationApiRef, api]],
  });
}

/** The text of each object row of a cluster's table (the header row left out). */
function rowsOf(cluster: HTMLElement): string[][] {
  const table = within(cluster).getByRole('table');
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map(row => [
      within(row).getByRole('rowheader').textContent ?? '',
      ...within(row)
        .getAllByRole('cell')
        .map(cell => cell.textContent ?? ''),
    ]);
}

describe('ResourceSetPanel inventory', () => {
  it('groups the inventory by cluster: name, number of objects, then kind, namespace and name', async () => {
    const api = fakeBackend();
    renderPanel(api);

    const inventory = await screen.findByRole('region', {
      name: 'Inventory by cluster',
    });
    const prodGroup = await within(inventory).findByRole('region', {
      name: 'Cluster prod-eu',
    });
    const stagingGroup = within(inventory).getByRole('region', {
      name: 'Cluster staging',
    });
    expect(
      within(inventory)
        .getAllByRole('heading', { level: 4 })
        .map(h => h.textContent),
    ).toEqual(['Cluster prod-eu', 'Cluster staging']);

    expect(
      within(prodGroup).getByText(
        /^3 objects · applied · revision sha256:feed/,
      ),
    ).toBeInTheDocument();
    expect(
      within(prodGroup).getByRole('table', {
        name: 'Inventory of ResourceSet default/podinfo in prod-eu',
      }),
    ).toBeInTheDocument();
    expect(
      within(prodGroup)
        .getAllByRole('columnheader')
        .map(c => c.textContent),
    ).toEqual(['Kind', 'Namespace', 'Name', 'API version']);
    expect(rowsOf(prodGroup)).toEqual([
      ['Deployment', 'apps', 'podinfo', 'apps/v1'],
      ['Namespace', '—', 'apps', 'v1'],
      ['Service', 'apps', 'podinfo', 'v1'],
    ]);

    expect(
      within(stagingGroup).getByText(/^1 object · last apply failed/),
    ).toBeInTheDocument();
    expect(rowsOf(stagingGroup)).toEqual([
      ['Deployment', 'apps-staging', 'podinfo', 'apps/v1'],
    ]);
    expect(
      api.calls
        .filter(c => c.method === 'getResourceSetInventory')
        .map(c => c.args),
    ).toContainEqual([{ namespace: 'default', name: 'podinfo' }]);
  });

  it('lists 25 objects of a large cluster at first, and more on demand', async () => {
    const user = userEvent.setup();
    const many: ClusterInventoryView = {
      ...prod,
      entries: Array.from({ length: 60 }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'apps',
        name: `config-${String(i).padStart(2, '0')}`,
      })),
    };
    renderPanel(fakeBackend([many]));

    const group = await screen.findByRole('region', {
      name: 'Cluster prod-eu',
    });
    expect(
      within(group).getByText(/^60 objects · applied/),
    ).toBeInTheDocument();
    expect(rowsOf(group)).toHaveLength(25);

    await user.click(
      within(group).getByRole('button', { name: 'Show 25 more in prod-eu' }),
    );
    expect(rowsOf(group)).toHaveLength(50);
    expect(rowsOf(group)[25][2]).toBe('config-25');
    await user.click(
      within(group).getByRole('button', { name: 'Show 10 more in prod-eu' }),
    );
    expect(rowsOf(group)).toHaveLength(60);
    expect(rowsOf(group)[59][2]).toBe('config-59');
    expect(
      within(group).queryByRole('button', { name: /^Show \d+ more/ }),
    ).not.toBeInTheDocument();
  });

  it('says when nothing was applied yet', async () => {
    renderPanel(fakeBackend([]));
    const inventory = await screen.findByRole('region', {
      name: 'Inventory by cluster',
    });
    expect(
      await within(inventory).findByText('Nothing applied yet.'),
    ).toBeInTheDocument();
    expect(within(inventory).queryByRole('table')).not.toBeInTheDocument();
  });

  it('shows loading, then why the inventory could not be loaded, and loads it on Retry', async () => {
    const user = userEvent.setup();
    const api = fakeBackend();
    api.failLoadsWith(
      new NotAllowedError(
        'You lack the image-automation.object.read permission',
      ),
    );
    renderPanel(api);

    const inventory = screen.getByRole('region', {
      name: 'Inventory by cluster',
    });
    expect(
      within(inventory).getByText('Loading inventory…'),
    ).toBeInTheDocument();
    const alert = await within(inventory).findByRole('alert');
    expect(alert).toHaveTextContent(
      'Could not load the inventory of this resource set',
    );
    expect(alert).toHaveTextContent(
      'You lack the image-automation.object.read permission',
    );
    expect(
      within(inventory).queryByText('Loading inventory…'),
    ).not.toBeInTheDocument();
    expect(within(inventory).queryByRole('table')).not.toBeInTheDocument();

    api.failLoadsWith(undefined);
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(
      await within(inventory).findByRole('region', { name: 'Cluster prod-eu' }),
    ).toBeInTheDocument();
    expect(within(inventory).queryByRole('alert')).not.toBeInTheDocument();
  });
});
