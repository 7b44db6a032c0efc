import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import {
  PromotionView,
  TargetVersionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { EntityDataHarness } from '../testing/EntityDataHarness';
import { FakeImageAutomationApi } from '../testing/FakeImageAutomationApi';
import { ActionButton } from './ActionButton';
import { formatAge, formatVersion, VersionsSection } from './VersionsSection';

// The real button, counted: a row that re-renders renders its Pin / Unpin button again.
jest.mock('./ActionButton', () => {
  const actual = jest.requireActual('./ActionButton');
  return { ...actual, ActionButton: jest.fn(actual.ActionButton) };
});
const actionButtonRenders = () => (ActionButton as jest.Mock).mock.calls.length;

const entityRef = { kind: 'Component', namespace: 'default', name: 'web' };
const DAY = 24 * 60 * 60 * 1000;
const DIGEST_100 = `sha256:abcd1234${'0'.repeat(56)}`;
const DIGEST_120 = `sha256:ef567890${'1'.repeat(56)}`;

const gitRow: TargetVersionView = {
  target: {
    id: 'git:ImageUpdateAutomation/apps/auto',
    type: 'git',
    objectId: 'ImageUpdateAutomation/apps/auto',
  },
  subject: 'ImagePolicy/apps/web',
  image: 'ghcr.io/acme/web',
  markers: [
    {
      file: 'deploy/web.yaml',
      line: 12,
      setter: '{"$imagepolicy": "apps:web"}',
      value: 'ghcr.io/acme/web:1.0.0',
    },
    {
      file: 'deploy/canary.yaml',
      line: 30,
      setter: '{"$imagepolicy": "apps:web"}',
      value: 'ghcr.io/acme/web:1.0.0',
    },
  ],
  deployed: { image: 'ghcr.io/acme/web', tag: '1.0.0', digest: DIGEST_100 },
  selected: { image: 'ghcr.io/acme/web', tag: '1.2.0', digest: DIGEST_120 },
  newest: { tag: '1.2.0' },
  behind: { tags: 2, summary: '2 minor · 2 tags · 3d' },
};

const clusterRow: TargetVersionView = {
  target: {
    id: 'cluster:ResourceSet/apps/web@prod-eu',
    type: 'cluster',
    objectId: 'ResourceSet/apps/web',
    cluster: 'prod-eu',
  },
  subject: 'ResourceSetInputProvider/apps/web-tags',
  image: 'ghcr.io/acme/web',
  deployed: { image: 'ghcr.io/acme/web', tag: '1.2.0' },
  running: {
    summary: '2/3 pods on 1.2.0',
    images: [
      { image: 'ghcr.io/acme/web:1.2.0', pods: 2 },
      { image: 'ghcr.io/acme/web:1.0.0', pods: 1 },
    ],
  },
  selected: { image: 'ghcr.io/acme/web', tag: '1.2.0' },
  newest: { tag: '1.2.0' },
  behind: { tags: 0, summary: 'up to date' },
  promotionId: 'promotion-7',
};

const unreachableRow: TargetVersionView = {
  ...clusterRow,
  target: {
    id: 'cluster:ResourceSet/apps/web@prod-us',
    type: 'cluster',
    objectId: 'ResourceSet/apps/web',
    cluster: 'prod-us',
  },
  running: {
    summary: "cluster 'prod-us' could not be read: connect ECONNREFUSED",
    images: [],
    error: "cluster 'prod-us' could not be read: connect ECONNREFUSED",
  },
  promotionId: undefined,
};

const workerRow: TargetVersionView = {
  target: {
    id: 'git:ImageUpdateAutomation/apps/auto',
    type: 'git',
    objectId: 'ImageUpdateAutomation/apps/auto',
  },
  subject: 'ImagePolicy/apps/worker',
  image: 'ghcr.io/acme/worker',
  markers: [
    {
      file: 'deploy/worker.yaml',
      line: 8,
      setter: '{"$imagepolicy": "apps:worker"}',
      value: 'ghcr.io/acme/worker:3.1.0',
    },
  ],
  deployed: { image: 'ghcr.io/acme/worker', tag: '3.1.0' },
  selected: { image: 'ghcr.io/acme/worker', tag: '3.2.0' },
  newest: { tag: '3.2.0' },
  behind: { tags: 1, summary: '1 minor · 1 tag' },
};

/** The open promotion of the prod-eu row (`promotion-7`): 1.0.0 → 1.2.0, with these gates. */
function clusterPromotion(gates: PromotionView['gates']): PromotionView {
  return {
    id: 'promotion-7',
    entityRef: 'component:default/web',
    target: clusterRow.target,
    subject: clusterRow.subject,
    from: { tag: '1.0.0' },
    to: { tag: '1.2.0' },
    state: 'pending',
    gates,
    votes: [],
    history: [],
    createdAt: '2026-11-22T01:00:00Z',
    updatedAt: '2026-11-22T01:00:00Z',
    actions: {
      approve: { allowed: true },
      reject: { allowed: true },
      promoteNow: { allowed: true },
    },
  };
}

function fakeBackend(): FakeImageAutomationApi {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  const threeDaysAgo = new Date(Date.now() - 3 * DAY - 60_000).toISOString();
  api.setVersions('component:default/web', [
    { ...gitRow, newest: { tag: '1.2.0', firstSeenAt: threeDaysAgo } },
    clusterRow,
    unreachableRow,
    workerRow,
  ]);
  return api;
}

/** Renders the section over `api` (without waiting for it to load). */
function renderVersions(api: FakeImageAutomationApi, pollIntervalMs?: number) {
  renderInTestApp(
    <EntityDataHarness entityRef={entityRef} pollIntervalMs={pollIntervalMs}>
      {data => (
        <VersionsSection
          versions={data.versions}
          promotions={data.promotions}
        />
      )}
    </EntityDataHarness>,
    { apis: [[imageAutomationApiRef, api]] },
  );
}

/** Renders the section over `api` and waits for the table of ghcr.io/acme/web. */
async function renderSection(
  api: FakeImageAutomationApi,
  pollIntervalMs?: number,
) {
  renderVersions(api, pollIntervalMs);
  return screen.findByRole('table', { name: 'Versions of ghcr.io/acme/web' });
}

/** The cells of a row, by column: target, deployed, selected, newest, behind, next step, actions. */
function cellsOf(row: HTMLElement) {
  const [target, ...cells] = [
    within(row).getByRole('rowheader'),
    ...within(row).getAllByRole('cell'),
  ];
  const [deployed, selected, newest, behind, nextStep, actions] = cells;
  return { target, deployed, selected, newest, behind, nextStep, actions };
}

describe('VersionsSection', () => {
  it('shows a table per image with a row per target', async () => {
    await renderSection(fakeBackend());
    expect(
      screen.getByRole('region', { name: 'Versions' }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('table', { name: 'Versions of ghcr.io/acme/worker' }),
    ).toBeInTheDocument();
    const table = screen.getByRole('table', {
      name: 'Versions of ghcr.io/acme/web',
    });
    const columns = within(table)
      .getAllByRole('columnheader')
      .map(c => c.textContent);
    expect(columns).toEqual([
      'Target',
      'Deployed',
      'Selected',
      'Newest',
      'Behind',
      'Next step',
      'Actions',
    ]);
    // A header row and three targets.
    expect(within(table).getAllByRole('row')).toHaveLength(4);
  });

  it('shows a Git target with its markers, versions, age and how far behind', async () => {
    const table = await renderSection(fakeBackend());
    const row = within(table).getByRole('row', {
      name: /Git ImageUpdateAutomation\/apps\/auto/,
    });
    const cells = cellsOf(row);
    expect(cells.target).toHaveTextContent(
      'deploy/web.yaml:12, deploy/canary.yaml:30',
    );
    expect(cells.target).toHaveTextContent('via ImagePolicy/apps/web');
    expect(cells.deployed).toHaveTextContent('1.0.0@sha256:abcd1234');
    expect(cells.deployed).not.toHaveTextContent(DIGEST_100);
    expect(cells.selected).toHaveTextContent('1.2.0@sha256:ef567890');
    expect(cells.newest).toHaveTextContent('1.2.0first seen 3d ago');
    expect(cells.behind).toHaveTextContent('2 minor · 2 tags · 3d');
    expect(
      within(cells.behind).getByText('2 minor · 2 tags · 3d'),
    ).toHaveAttribute('data-color', 'warning');
    expect(cells.nextStep).toHaveTextContent('—');
    expect(
      within(cells.actions).getByRole('button', {
        name: 'Pin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto',
      }),
    ).toBeEnabled();
  });

  it('says why a Git target has no tag data when its policy may not read the repository (#13)', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date('2026-11-22T02:00:00Z'),
    });
    const reason =
      "reference not allowed: spec.imageRepositoryRef: cross-namespace reference to ImageRepository 'bank/vault' denied";
    api.setVersions('component:default/web', [
      {
        ...gitRow,
        selected: undefined,
        newest: undefined,
        behind: undefined,
        tagsUnavailable: reason,
      },
    ]);
    const table = await renderSection(api);
    const cells = cellsOf(
      within(table).getByRole('row', {
        name: /Git ImageUpdateAutomation\/apps\/auto/,
      }),
    );
    expect(cells.deployed).toHaveTextContent('1.0.0');
    expect(cells.newest).toHaveTextContent(reason);
    expect(within(cells.newest).getByText(reason)).toHaveAttribute(
      'data-color',
      'warning',
    );
    expect(cells.behind).toHaveTextContent('—');
  });

  it('shows a cluster target with what its pods run and its pending promotion', async () => {
    const table = await renderSection(fakeBackend());
    const row = within(table).getByRole('row', {
      name: /Cluster prod-eu/,
    });
    const cells = cellsOf(row);
    expect(cells.target).toHaveTextContent('ResourceSet/apps/web');
    expect(cells.target).toHaveTextContent(
      'via ResourceSetInputProvider/apps/web-tags',
    );
    expect(cells.deployed).toHaveTextContent('1.2.0');
    expect(cells.deployed).toHaveTextContent('2/3 pods on 1.2.0');
    expect(cells.behind).toHaveTextContent('up to date');
    expect(within(cells.behind).getByText('up to date')).toHaveAttribute(
      'data-color',
      'success',
    );
    expect(cells.nextStep).toHaveTextContent('Promotion pending');
  });

  it("gives a row's next step from its open promotion's gates", async () => {
    const api = fakeBackend();
    const gate = (
      name: 'approval' | 'soak',
      state: 'passed' | 'waiting',
      summary: string,
    ) => ({
      gate: name,
      state,
      summary,
      evidence: {},
    });
    api.addPromotion(
      clusterPromotion([
        gate('approval', 'waiting', 'approval 1/2'),
        gate('soak', 'waiting', 'soak 3h left'),
      ]),
    );
    const table = await renderSection(api);
    const row = within(table).getByRole('row', { name: /Cluster prod-eu/ });
    await waitFor(() =>
      expect(cellsOf(row).nextStep).toHaveTextContent(
        '1.0.0 → 1.2.0 waiting: approval 1/2 · soak 3h left',
      ),
    );
  });

  it('promotes a row now, through the justification dialog', async () => {
    const api = fakeBackend();
    api.addPromotion(
      clusterPromotion([
        {
          gate: 'soak',
          state: 'waiting',
          summary: 'soak 3h left',
          evidence: {},
        },
      ]),
    );
    const table = await renderSection(api);
    const row = within(table).getByRole('row', { name: /Cluster prod-eu/ });
    const promote = await within(row).findByRole('button', {
      name: /^Promote now ResourceSetInputProvider\/apps\/web-tags: 1\.0\.0 → 1\.2\.0/,
    });
    expect(
      within(row).queryByRole('button', { name: /^Approve / }),
    ).not.toBeInTheDocument();
    await userEvent.click(promote);
    const dialog = await screen.findByRole('dialog', { name: /^Promote now / });
    await userEvent.type(
      within(dialog).getByRole('textbox', { name: 'Justification' }),
      'hotfix',
    );
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Promote now' }),
    );
    await waitFor(() => expect(api.countCalls('decidePromotion')).toBe(1));
  });

  it("previews, read-only, what the row's promotion would write to each cluster", async () => {
    const api = fakeBackend();
    api.addPromotion(clusterPromotion([]), {
      diff: '',
      objects: [
        {
          cluster: 'prod-eu',
          object: 'apps/v1/Deployment/apps/web',
          action: 'configured',
          diff: '-        image: ghcr.io/acme/web:1.0.0\n+        image: ghcr.io/acme/web:1.2.0',
        },
      ],
    });
    const table = await renderSection(api);
    const row = within(table).getByRole('row', { name: /Cluster prod-eu/ });
    await userEvent.click(
      await within(row).findByRole('button', {
        name: /^Preview ResourceSetInputProvider\/apps\/web-tags: 1\.0\.0 → 1\.2\.0/,
      }),
    );
    const dialog = await screen.findByRole('dialog', { name: /^Preview / });
    expect(
      await within(dialog).findByRole('region', {
        name: 'Diff of apps/v1/Deployment/apps/web in cluster prod-eu',
      }),
    ).toHaveTextContent('+ image: ghcr.io/acme/web:1.2.0');
    expect(
      within(dialog).getByText(
        /apps\/v1\/Deployment\/apps\/web in cluster prod-eu: configured/,
      ),
    ).toBeInTheDocument();
    expect(api.countCalls('previewPromotion')).toBe(1);
    expect(api.countCalls('decidePromotion')).toBe(0);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Close' }),
    );
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
  });

  it('shows, once opened, when each tag ran on each target', async () => {
    const api = fakeBackend();
    const event = (
      id: string,
      kind: 'tag-seen' | 'applied',
      time: string,
      tag: string,
      targetId?: string,
    ) => ({
      id,
      kind,
      time,
      tag,
      image: 'ghcr.io/acme/web',
      ...(targetId ? { targetId } : {}),
      message: id,
    });
    api.setTimeline('component:default/web', {
      lanes: [],
      items: [
        event(
          'a',
          'applied',
          '2026-11-21T09:00:00Z',
          '1.2.0',
          clusterRow.target.id,
        ),
        event(
          'b',
          'applied',
          '2026-11-21T08:00:00Z',
          '1.2.0',
          clusterRow.target.id,
        ),
        event('c', 'tag-seen', '2026-11-20T10:00:00Z', '1.2.0'),
        event(
          'd',
          'applied',
          '2026-11-19T10:00:00Z',
          '1.0.0',
          gitRow.target.id,
        ),
        event('e', 'tag-seen', '2026-11-20T11:00:00Z', '9.9.9'),
      ],
    });
    await renderSection(api);
    expect(api.countCalls('getTimeline')).toBe(0);
    await userEvent.click(
      screen.getByRole('button', {
        name: 'When each tag of ghcr.io/acme/web ran where',
      }),
    );
    const grid = await screen.findByRole('table', {
      name: 'When each tag of ghcr.io/acme/web ran where',
    });
    const rows = within(grid).getAllByRole('row').slice(1);
    // Only tags that ran somewhere, newest first; a target's first application counts.
    expect(rows.map(r => within(r).getByRole('rowheader').textContent)).toEqual(
      ['1.2.0', '1.0.0'],
    );
    expect(rows[0]).toHaveTextContent('2026-11-20 10:00:00 UTC');
    expect(rows[0]).toHaveTextContent('from 2026-11-21 08:00:00 UTC');
    expect(rows[1]).toHaveTextContent('not in the recorded scans');
    expect(rows[1]).toHaveTextContent('from 2026-11-19 10:00:00 UTC');
    expect(within(rows[1]).getAllByText('never').length).toBeGreaterThan(0);
  });

  it('says so when a cluster could not be read', async () => {
    const table = await renderSection(fakeBackend());
    const row = within(table).getByRole('row', { name: /Cluster prod-us/ });
    const { deployed } = cellsOf(row);
    expect(deployed).toHaveTextContent(
      "Running pods unknown: cluster 'prod-us' could not be read: connect ECONNREFUSED",
    );
    expect(within(deployed).getByText(/could not be read/)).toHaveAttribute(
      'data-color',
      'warning',
    );
  });

  it('pins a target at its deployed version, with a reason', async () => {
    const api = fakeBackend();
    const table = await renderSection(api);
    const user = userEvent.setup();

    await user.click(
      screen.getByRole('button', {
        name: 'Pin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto',
      }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: 'Pin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto',
    });
    expect(dialog).toHaveTextContent(
      'Holds ImagePolicy/apps/web on ImageUpdateAutomation/apps/auto at 1.0.0@sha256:abcd1234',
    );

    // The reason is required.
    await user.click(within(dialog).getByRole('button', { name: 'Pin' }));
    const reason = within(dialog).getByRole('textbox', { name: /Reason/ });
    await waitFor(() => expect(reason).toBeInvalid());
    expect(reason).toHaveAccessibleDescription(
      'Say why the version is held, for whoever finds it pinned.',
    );
    expect(api.countCalls('pin')).toBe(0);

    const loadsBefore = api.countCalls('getVersions');
    await user.type(reason, 'release freeze');
    await user.click(within(dialog).getByRole('button', { name: 'Pin' }));

    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.calls).toContainEqual({
      method: 'pin',
      args: [
        {
          targetId: 'git:ImageUpdateAutomation/apps/auto',
          subject: 'ImagePolicy/apps/web',
          version: gitRow.deployed,
          reason: 'release freeze',
        },
      ],
    });
    expect(api.countCalls('getVersions')).toBeGreaterThan(loadsBefore);
    const row = within(table).getByRole('row', {
      name: /Git ImageUpdateAutomation\/apps\/auto/,
    });
    await waitFor(() =>
      expect(cellsOf(row).nextStep).toHaveTextContent(
        'Pinned at 1.0.0@sha256:abcd1234 by user:default/guest: release freeze',
      ),
    );
    expect(
      within(row).getByRole('button', {
        name: 'Unpin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto',
      }),
    ).toBeEnabled();
  });

  it('shows why a pin failed in the dialog', async () => {
    const api = fakeBackend();
    await renderSection(api);
    api.failActionsWith(new NotAllowedError('you do not own this entity'));
    const user = userEvent.setup();

    await user.click(
      screen.getByRole('button', {
        name: 'Pin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto',
      }),
    );
    const dialog = await screen.findByRole('dialog');
    await user.type(
      within(dialog).getByRole('textbox', { name: /Reason/ }),
      'hold',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Pin' }));

    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'Pin failed: you do not own this entity',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
  });

  it('cannot pin a target that deploys nothing yet, and says why', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    api.setVersions('component:default/web', [
      { ...gitRow, deployed: undefined, behind: undefined },
    ]);
    await renderSection(api);
    const pin = screen.getByRole('button', {
      name: 'Pin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto',
    });
    expect(pin).toBeDisabled();
    expect(pin).toHaveAccessibleDescription(
      'Nothing is deployed on this target yet, so there is no version to pin.',
    );
  });

  it('unpins a pinned target', async () => {
    const api = fakeBackend();
    await api.pin({
      targetId: workerRow.target.id,
      subject: workerRow.subject,
      version: workerRow.deployed!,
      reason: 'incident 42',
    });
    renderVersions(api);
    const table = await screen.findByRole('table', {
      name: 'Versions of ghcr.io/acme/worker',
    });
    const row = within(table).getByRole('row', {
      name: /ImagePolicy\/apps\/worker/,
    });
    expect(cellsOf(row).nextStep).toHaveTextContent(
      'Pinned at 3.1.0 by user:default/guest: incident 42',
    );

    await userEvent.click(
      within(row).getByRole('button', {
        name: 'Unpin ImagePolicy/apps/worker on git:ImageUpdateAutomation/apps/auto',
      }),
    );

    expect(
      await within(row).findByRole('button', {
        name: 'Pin ImagePolicy/apps/worker on git:ImageUpdateAutomation/apps/auto',
      }),
    ).toBeEnabled();
    expect(cellsOf(row).nextStep).toHaveTextContent('—');
    expect(api.calls).toContainEqual({
      method: 'unpin',
      args: ['git:ImageUpdateAutomation/apps/auto', 'ImagePolicy/apps/worker'],
    });
  });

  it('shows why an unpin failed', async () => {
    const api = fakeBackend();
    await api.pin({
      targetId: workerRow.target.id,
      subject: workerRow.subject,
      version: workerRow.deployed!,
      reason: 'incident 42',
    });
    await renderSection(api);
    api.failActionsWith(new NotAllowedError('you do not own this entity'));

    await userEvent.click(
      screen.getByRole('button', {
        name: 'Unpin ImagePolicy/apps/worker on git:ImageUpdateAutomation/apps/auto',
      }),
    );

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Unpin failed: you do not own this entity',
    );
  });

  it('shows a load error and keeps the versions it had', async () => {
    const api = fakeBackend();
    const table = await renderSection(api, 50);
    api.failLoadsWith(new Error('backend unavailable'));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load the versions');
    expect(alert).toHaveTextContent('backend unavailable');
    expect(table).toBeInTheDocument();
    expect(within(table).getAllByRole('row')).toHaveLength(4);
  });

  it('shows a load error when nothing could be loaded', async () => {
    const api = fakeBackend();
    api.failLoadsWith(new Error('backend unavailable'));
    renderVersions(api);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'backend unavailable',
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('says so when no markers or targets are known', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date(),
    });
    renderVersions(api);
    const section = screen.getByRole('region', { name: 'Versions' });
    expect(section).toHaveTextContent('Loading versions…');
    await waitFor(() =>
      expect(section).toHaveTextContent(
        /No versions are known for this entity yet: no Git manifest carries an image policy marker/,
      ),
    );
    expect(within(section).queryByRole('table')).not.toBeInTheDocument();
  });
});

describe('VersionsSection with many images', () => {
  /** `count` images of two targets each: `ghcr.io/acme/app-0` … */
  function manyImages(count: number): FakeImageAutomationApi {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date('2026-11-22T02:00:00Z'),
    });
    api.setVersions(
      'component:default/web',
      Array.from({ length: count }, (_, i) => [
        {
          ...gitRow,
          image: `ghcr.io/acme/app-${i}`,
          subject: `ImagePolicy/apps/app-${i}`,
        },
        {
          ...workerRow,
          image: `ghcr.io/acme/app-${i}`,
          subject: `ImagePolicy/apps/app-${i}-w`,
        },
      ]).flat(),
    );
    return api;
  }
  const versionTables = () =>
    screen
      .getAllByRole('table', { name: /^Versions of / })
      .map(t => t.getAttribute('aria-label'));

  it('shows the first three images, and the others on demand with every row', async () => {
    renderVersions(manyImages(8));
    await screen.findByRole('table', {
      name: 'Versions of ghcr.io/acme/app-0',
    });
    expect(versionTables()).toEqual(
      [0, 1, 2].map(i => `Versions of ghcr.io/acme/app-${i}`),
    );
    for (const table of screen.getAllByRole('table', {
      name: /^Versions of /,
    })) {
      expect(within(table).getAllByRole('row')).toHaveLength(3);
    }
    expect(screen.getByText('3 of 8 images shown.')).toBeInTheDocument();

    await userEvent.click(
      screen.getByRole('button', { name: 'Show 5 more images' }),
    );

    expect(versionTables()).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map(i => `Versions of ghcr.io/acme/app-${i}`),
    );
    const revealed = screen.getByRole('table', {
      name: 'Versions of ghcr.io/acme/app-7',
    });
    expect(within(revealed).getAllByRole('row')).toHaveLength(3);
    expect(
      within(revealed).getByRole('button', {
        name: 'Pin ImagePolicy/apps/app-7 on git:ImageUpdateAutomation/apps/auto',
      }),
    ).toBeEnabled();
    expect(
      screen.queryByRole('button', { name: /^Show \d+ more/ }),
    ).not.toBeInTheDocument();
    expect(screen.queryByText(/images shown/)).not.toBeInTheDocument();
    // The focus goes to the first image revealed, not back to the top of the page.
    expect(
      screen.getByRole('heading', { name: 'ghcr.io/acme/app-3' }),
    ).toHaveFocus();
  });

  it('offers no "Show more" for three images or fewer', async () => {
    renderVersions(manyImages(3));
    await screen.findByRole('table', {
      name: 'Versions of ghcr.io/acme/app-2',
    });
    expect(versionTables()).toHaveLength(3);
    expect(
      screen.queryByRole('button', { name: /^Show \d+ more/ }),
    ).not.toBeInTheDocument();
  });

  it('re-renders no row when the Pin dialog opens or its reason is typed', async () => {
    renderVersions(manyImages(3));
    await screen.findByRole('table', {
      name: 'Versions of ghcr.io/acme/app-2',
    });
    // Six rows, each with its Pin button, have rendered.
    expect(actionButtonRenders()).toBeGreaterThanOrEqual(6);
    const user = userEvent.setup();
    const before = actionButtonRenders();

    await user.click(
      screen.getByRole('button', {
        name: 'Pin ImagePolicy/apps/app-1 on git:ImageUpdateAutomation/apps/auto',
      }),
    );
    const dialog = await screen.findByRole('dialog');
    await user.type(
      within(dialog).getByRole('textbox', { name: /Reason/ }),
      'freeze',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );

    expect(actionButtonRenders()).toBe(before);
  });
});

describe('VersionsSection re-rendering', () => {
  const rendersOf = (name: string) =>
    (ActionButton as jest.Mock).mock.calls.filter(
      ([props]) => props.accessibleName === name,
    ).length;

  it('re-renders only the rows whose promotion arrives when the promotions load', async () => {
    const api = fakeBackend();
    api.addPromotion(clusterPromotion([]));
    // The promotions answer only once the versions are shown.
    let answer: () => void = () => {};
    const answered = new Promise<void>(resolve => {
      answer = resolve;
    });
    const getPromotions = api.getPromotions.bind(api);
    jest.spyOn(api, 'getPromotions').mockImplementation(async (...args) => {
      await answered;
      return getPromotions(...args);
    });
    const table = await renderSection(api);
    const gitPin =
      'Pin ImagePolicy/apps/web on git:ImageUpdateAutomation/apps/auto';
    const workerPin =
      'Pin ImagePolicy/apps/worker on git:ImageUpdateAutomation/apps/auto';
    const clusterPin = `Pin ResourceSetInputProvider/apps/web-tags on ${clusterRow.target.id}`;
    const before = [gitPin, workerPin, clusterPin].map(rendersOf);
    expect(before.every(n => n >= 1)).toBe(true);

    answer();
    const row = within(table).getByRole('row', { name: /Cluster prod-eu/ });
    expect(
      await within(row).findByRole('button', { name: /^Promote now / }),
    ).toBeEnabled();

    expect(rendersOf(gitPin)).toBe(before[0]);
    expect(rendersOf(workerPin)).toBe(before[1]);
    expect(rendersOf(clusterPin)).toBeGreaterThan(before[2]);
  });
});

describe('formatVersion', () => {
  it('shortens the digest', () => {
    expect(formatVersion({ tag: '1.0.0', digest: DIGEST_100 })).toBe(
      '1.0.0@sha256:abcd1234',
    );
    expect(formatVersion({ tag: '1.0.0' })).toBe('1.0.0');
    expect(formatVersion(undefined)).toBe('—');
  });
});

describe('formatAge', () => {
  const now = new Date('2026-11-22T02:00:00Z');
  it('says how long ago, coarsely', () => {
    expect(formatAge('2026-11-22T01:59:30Z', now)).toBe('just now');
    expect(formatAge('2026-11-22T01:55:00Z', now)).toBe('5m ago');
    expect(formatAge('2026-11-21T23:00:00Z', now)).toBe('3h ago');
    expect(formatAge('2026-11-19T01:00:00Z', now)).toBe('3d ago');
  });
});
