import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router-dom';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { SignalApi, signalApiRef } from '@backstage/plugin-signals-react';
import { JsonObject } from '@backstage/types';
import {
  FleetObject,
  FleetPromotion,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { condition, objectView } from '../../testing/fixtures';
import { FleetPage } from './FleetPage';

const SHOP = 'component:default/shop';
const CART = 'component:default/cart';
const TEAM_A = 'group:default/team-a';
const TEAM_B = 'group:default/team-b';
const allowed = { allowed: true };
const noForce = {
  allowed: false,
  reason: `You lack the image-automation.promotion.force permission for ${SHOP}`,
};

function hoursAgo(hours: number): string {
  return new Date(Date.now() - hours * 3_600_000).toISOString();
}

function promotion(overrides: Partial<FleetPromotion> = {}): FleetPromotion {
  return {
    id: 'p-shop',
    entityRef: SHOP,
    owner: TEAM_A,
    target: {
      id: 'git:ImageUpdateAutomation/apps/shop',
      type: 'git',
      objectId: 'ImageUpdateAutomation/apps/shop',
    },
    subject: 'ImagePolicy/apps/shop',
    from: { image: 'ghcr.io/acme/shop', tag: '1.4.1' },
    to: { image: 'ghcr.io/acme/shop', tag: '1.5.0', digest: 'sha256:bbbb' },
    state: 'pending',
    gates: [
      {
        gate: 'approval',
        state: 'waiting',
        summary: 'approval 0/1',
        evidence: {},
      },
      {
        gate: 'soak',
        state: 'passed',
        summary: 'soak 24h passed',
        evidence: {},
      },
    ],
    votes: [],
    history: [{ state: 'pending', at: hoursAgo(2), by: 'image-automation' }],
    createdAt: hoursAgo(2),
    updatedAt: hoursAgo(2),
    actions: { approve: allowed, reject: allowed, promoteNow: noForce },
    ...overrides,
  };
}

function failing(
  kind: string,
  name: string,
  overrides: Partial<FleetObject>,
): FleetObject {
  return {
    ...objectView(kind, name, {
      namespace: 'apps',
      id: `${kind}/apps/${name}`,
    }),
    health: 'Unknown',
    ...overrides,
  };
}

const PROMOTION =
  'ImagePolicy/apps/shop: 1.4.1 → 1.5.0 for ImageUpdateAutomation apps/shop';

function backend() {
  const api = new FakeImageAutomationApi({
    user: 'user:default/alice',
    now: () => new Date(),
  });
  api.setFleet({
    promotions: [promotion()],
    failing: [
      failing('ImagePolicy', 'shop', {
        entityRef: SHOP,
        owner: TEAM_A,
        health: 'Stalled',
        reason: 'InvalidSemverRange',
        message: 'invalid semver range ">=1.x"',
        since: hoursAgo(3),
        status: {
          conditions: [
            condition(
              'Stalled',
              'True',
              'InvalidSemverRange',
              'invalid semver range ">=1.x"',
            ),
          ],
        },
      }),
      failing('ResourceSet', 'cart', {
        entityRef: CART,
        owner: TEAM_B,
        health: 'Suspended',
        message: 'Suspended by user:default/bob',
        since: hoursAgo(26),
        suspended: true,
      }),
    ],
  });
  return api;
}

/** Shows the query string the page keeps its filters in. */
function QueryString() {
  return <output aria-label="Query string">{useLocation().search}</output>;
}

async function renderPage(
  api: FakeImageAutomationApi,
  query = '',
  signals?: SignalApi,
) {
  const page = (
    <>
      <FleetPage pollIntervalMs={60_000} />
      <QueryString />
    </>
  );
  const options = {
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
    initialRouteEntries: [`/image-automation${query}`],
  };
  if (signals) {
    renderInTestApp(page, {
      ...options,
      apis: [
        [imageAutomationApiRef, api],
        [signalApiRef, signals],
      ],
    });
  } else {
    renderInTestApp(page, { ...options, apis: [[imageAutomationApiRef, api]] });
  }
  expect(
    await screen.findByRole('heading', { level: 1, name: 'Image automation' }),
  ).toBeInTheDocument();
}

/** The cells of a row, by column name. */
function cells(
  table: HTMLElement,
  row: HTMLElement,
): Record<string, HTMLElement> {
  const columns = within(table)
    .getAllByRole('columnheader')
    .map(c => c.textContent ?? '');
  const all = [
    ...within(row).queryAllByRole('rowheader'),
    ...within(row).queryAllByRole('cell'),
  ].sort((a, b) =>
    a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1,
  );
  return Object.fromEntries(columns.map((column, i) => [column, all[i]]));
}

const query = () =>
  screen.getByRole('status', { name: 'Query string' }).textContent;

describe('FleetPage', () => {
  it('shows the pending promotions and the failing automations in tables', async () => {
    await renderPage(backend());

    const promotions = await screen.findByRole('table', {
      name: 'Pending promotions',
    });
    const [row] = within(promotions).getAllByRole('row').slice(1);
    const promotionCells = cells(promotions, row);
    expect(
      within(promotionCells.Entity).getByRole('link', {
        name: 'component:shop',
      }),
    ).toHaveAttribute('href', '/catalog/default/component/shop');
    expect(promotionCells.Entity).toHaveTextContent('Owner: team-a');
    expect(promotionCells.Image).toHaveTextContent('ghcr.io/acme/shop');
    expect(promotionCells.Target).toHaveTextContent(
      'ImageUpdateAutomation apps/shop',
    );
    expect(promotionCells.Change).toHaveTextContent('1.4.1 → 1.5.0');
    expect(
      within(
        within(promotionCells.Gates).getByRole('list', {
          name: `Gates of ${PROMOTION}`,
        }),
      )
        .getAllByRole('listitem')
        .map(item => item.textContent),
    ).toEqual(['approval 0/1 · waiting', 'soak 24h passed · passed']);
    expect(
      within(promotionCells.Actions).getByRole('button', {
        name: `Approve ${PROMOTION}`,
      }),
    ).toBeEnabled();

    const objects = screen.getByRole('table', { name: 'Failing automations' });
    const rows = within(objects).getAllByRole('row').slice(1);
    expect(rows.map(r => cells(objects, r).Object.textContent)).toEqual([
      'ImagePolicy apps/shop',
      'ResourceSet apps/cart',
    ]);
    const stalled = cells(objects, rows[0]);
    expect(stalled.State).toHaveTextContent('Stalled');
    expect(stalled.Message).toHaveTextContent('InvalidSemverRange');
    expect(stalled.Message).toHaveTextContent('invalid semver range ">=1.x"');
    expect(stalled.Since).toHaveTextContent('3h ago');
    const suspended = cells(objects, rows[1]);
    expect(suspended.State).toHaveTextContent('Suspended');
    expect(suspended.Entity).toHaveTextContent('Owner: team-b');
    expect(suspended.Since).toHaveTextContent('1d ago');

    expect(
      screen.getByRole('heading', { name: 'Pending promotions (1)' }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('heading', { name: 'Failing automations (2)' }),
    ).toBeInTheDocument();
  });

  it('keeps the filters in the URL and sends them with the request', async () => {
    const api = backend();
    await renderPage(api);
    const user = userEvent.setup();
    await screen.findByRole('table', { name: 'Failing automations' });

    await user.click(screen.getByRole('button', { name: /Owner$/ }));
    await user.click(await screen.findByRole('option', { name: 'team-b' }));

    await waitFor(() =>
      expect(query()).toBe('?owner=group%3Adefault%2Fteam-b'),
    );
    await waitFor(() =>
      expect(
        api.calls.filter(c => c.method === 'getFleet').at(-1)?.args,
      ).toEqual([{ owner: TEAM_B }]),
    );
    await waitFor(() =>
      expect(
        screen.queryByRole('table', { name: 'Pending promotions' }),
      ).not.toBeInTheDocument(),
    );
    expect(
      screen.getByText('No pending promotions you may act on.'),
    ).toBeInTheDocument();
    const objects = screen.getByRole('table', { name: 'Failing automations' });
    expect(within(objects).getAllByRole('row')).toHaveLength(2);
    expect(objects).toHaveTextContent('ResourceSet apps/cart');

    await user.click(screen.getByRole('button', { name: /State$/ }));
    await user.click(await screen.findByRole('option', { name: 'Stalled' }));
    await waitFor(() =>
      expect(query()).toBe('?owner=group%3Adefault%2Fteam-b&state=Stalled'),
    );
    expect(
      await screen.findByText('Nothing matches these filters.'),
    ).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(query()).toBe(''));
    expect(
      await screen.findByRole('table', { name: 'Pending promotions' }),
    ).toBeInTheDocument();
  });

  it('opens a linked view with its filters applied', async () => {
    const api = backend();
    await renderPage(api, '?kind=ImagePolicy&state=Stalled');

    const objects = await screen.findByRole('table', {
      name: 'Failing automations',
    });
    expect(within(objects).getAllByRole('row')).toHaveLength(2);
    expect(objects).toHaveTextContent('ImagePolicy apps/shop');
    expect(api.calls.find(c => c.method === 'getFleet')?.args).toEqual([
      { kind: 'ImagePolicy', state: 'Stalled' },
    ]);
    expect(screen.getByRole('button', { name: /Kind$/ })).toHaveTextContent(
      'ImagePolicy',
    );
    expect(screen.getByRole('button', { name: /State$/ })).toHaveTextContent(
      'Stalled',
    );
  });

  it('approves through the confirm dialog, then reloads the fleet', async () => {
    const api = backend();
    await renderPage(api);
    const user = userEvent.setup();
    const loadsBefore = api.countCalls('getFleet');

    await user.click(
      await screen.findByRole('button', { name: `Approve ${PROMOTION}` }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: `Approve ${PROMOTION}`,
    });
    expect(api.countCalls('decidePromotion')).toBe(0);
    await user.click(within(dialog).getByRole('button', { name: 'Approve' }));

    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.calls).toContainEqual({
      method: 'decidePromotion',
      args: ['p-shop', { action: 'approve' }],
    });
    expect(api.countCalls('getFleet')).toBeGreaterThan(loadsBefore);
    const approve = screen.getByRole('button', {
      name: `Approve ${PROMOTION}`,
    });
    expect(approve).toBeDisabled();
    expect(approve).toHaveAccessibleDescription(
      'You approved this version already',
    );
  });

  it('shows why an action is disabled', async () => {
    await renderPage(backend());
    const promoteNow = await screen.findByRole('button', {
      name: `Promote now ${PROMOTION}`,
    });
    expect(promoteNow).toBeDisabled();
    expect(promoteNow).toHaveAccessibleDescription(noForce.reason);
  });

  it('says when nothing needs the user', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/alice',
      now: () => new Date(),
    });
    await renderPage(api);
    expect(
      await screen.findByText(
        'Nothing needs you: no pending promotions you may act on and no failing automations.',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('shows a load error with Retry, and the fleet once a retry succeeds', async () => {
    const api = backend();
    api.failLoadsWith(new Error('backend unavailable'));
    await renderPage(api);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load the fleet');
    expect(alert).toHaveTextContent('backend unavailable');

    api.failLoadsWith(undefined);
    await userEvent
      .setup()
      .click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(
      await screen.findByRole('table', { name: 'Pending promotions' }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('reloads when the backend signals a change on the fleet channel', async () => {
    const listeners = new Map<string, (message: JsonObject) => void>();
    const signals: SignalApi = {
      subscribe: (channel, onMessage) => {
        listeners.set(channel, onMessage as (message: JsonObject) => void);
        return { unsubscribe: () => listeners.delete(channel) };
      },
    };
    const api = backend();
    await renderPage(api, '', signals);
    const objects = await screen.findByRole('table', {
      name: 'Failing automations',
    });
    expect(within(objects).getAllByRole('row')).toHaveLength(3);
    expect([...listeners.keys()]).toEqual(['image-automation:fleet']);

    api.setFleet({
      promotions: [],
      failing: [
        failing('ImageRepository', 'web', {
          entityRef: SHOP,
          health: 'Failing',
          message: 'registry answered 401',
        }),
      ],
    });
    act(() =>
      listeners.get('image-automation:fleet')!({
        change: 'objects',
        entityRef: SHOP,
      }),
    );
    expect(
      await screen.findByText('registry answered 401'),
    ).toBeInTheDocument();
  });
});
