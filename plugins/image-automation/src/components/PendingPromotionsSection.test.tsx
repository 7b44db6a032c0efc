import { screen, waitFor, within } from '@testing-library/react';
import userEvent, {
  PointerEventsCheckLevel,
} from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { ConflictError } from '@backstage/errors';
import {
  PromotionGateResult,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { EntityDataHarness } from '../testing/EntityDataHarness';
import { FakeImageAutomationApi } from '../testing/FakeImageAutomationApi';
import { PendingPromotionsSection } from './PendingPromotionsSection';

const entityRef = { kind: 'Component', namespace: 'default', name: 'shop' };
const allowed = { allowed: true };

function gate(
  name: PromotionGateResult['gate'],
  state: PromotionGateResult['state'],
  summary: string,
): PromotionGateResult {
  return { gate: name, state, summary, evidence: {} };
}

/** A pending promotion of `ImagePolicy/apps/<name>` on a Git target; `overrides` replaces fields. */
function promotion(
  name: string,
  overrides: Partial<PromotionView> = {},
): PromotionView {
  return {
    id: `p-${name}`,
    entityRef: 'component:default/shop',
    target: {
      id: `git:ImageUpdateAutomation/apps/${name}`,
      type: 'git',
      objectId: `ImageUpdateAutomation/apps/${name}`,
    },
    subject: `ImagePolicy/apps/${name}`,
    from: { tag: '1.0.0', digest: 'sha256:aaaa' },
    to: { tag: '1.1.0', digest: 'sha256:bbbb' },
    state: 'pending',
    gates: [],
    votes: [],
    history: [
      { state: 'pending', at: '2026-11-22T01:00:00Z', by: 'image-automation' },
    ],
    createdAt: '2026-11-22T01:00:00Z',
    updatedAt: '2026-11-22T01:00:00Z',
    actions: { approve: allowed, reject: allowed, promoteNow: allowed },
    ...overrides,
  };
}

function fakeBackend(): FakeImageAutomationApi {
  return new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
}

/** A backend with one promotion waiting for two approvals (one given) and a passed soak. */
function webBackend(overrides: Partial<PromotionView> = {}) {
  const api = fakeBackend();
  api.addPromotion(
    promotion('web', {
      gates: [
        gate('approval', 'waiting', 'approval 1/2'),
        gate('soak', 'passed', 'soak 24h passed'),
      ],
      votes: [
        {
          actor: 'user:default/alice',
          decision: 'approve',
          digest: 'sha256:bbbb',
          at: '2026-11-22T01:30:00Z',
          reason: 'staging looks fine',
        },
      ],
      ...overrides,
    }),
    {
      diff: '--- a/apps/web/deploy.yaml\n+++ b/apps/web/deploy.yaml\n-  image: web:1.0.0 # {"$imagepolicy": "apps:web"}\n+  image: web:1.1.0 # {"$imagepolicy": "apps:web"}',
      commitMessage: 'chore: promote ImagePolicy/apps/web to 1.1.0',
    },
  );
  return api;
}

const WEB =
  'ImagePolicy/apps/web: 1.0.0 → 1.1.0 for ImageUpdateAutomation apps/web';

async function renderSection(
  api: FakeImageAutomationApi,
  pollIntervalMs = 60_000,
) {
  renderInTestApp(
    <EntityDataHarness entityRef={entityRef} pollIntervalMs={pollIntervalMs}>
      {data => <PendingPromotionsSection promotions={data.promotions} />}
    </EntityDataHarness>,
    { apis: [[imageAutomationApiRef, api]] },
  );
  return screen.findByRole('region', { name: 'Pending promotions' });
}

describe('PendingPromotionsSection', () => {
  it('groups the promotions by why they wait, in order, with their counts', async () => {
    const api = fakeBackend();
    api.addPromotion(
      promotion('a', {
        // Waits for approval and soak: the first group that matches wins.
        gates: [
          gate('soak', 'waiting', 'soak 3h left'),
          gate('approval', 'waiting', 'approval 0/1'),
        ],
      }),
    );
    api.addPromotion(
      promotion('b', { gates: [gate('approval', 'waiting', 'approval 1/2')] }),
    );
    api.addPromotion(
      promotion('c', { gates: [gate('soak', 'waiting', 'soak 3h left')] }),
    );
    api.addPromotion(
      promotion('d', {
        gates: [gate('window', 'waiting', 'window opens Mon 09:00 (UTC)')],
      }),
    );
    api.addPromotion(
      promotion('e', {
        gates: [gate('upstream', 'waiting', 'upstream shop-staging on 1.0.0')],
      }),
    );
    api.addPromotion(
      promotion('f', { gates: [gate('pin', 'waiting', 'pinned at 1.0.0')] }),
    );
    api.addPromotion(
      promotion('g', {
        gates: [gate('window', 'error', 'window: invalid cron "0 9 * *"')],
      }),
    );
    api.addPromotion(
      promotion('h', { state: 'failed', error: 'git push: permission denied' }),
    );
    api.addPromotion(
      promotion('i', {
        state: 'approved',
        // Promoted now: the approval gate still waits, but no longer holds it.
        gates: [gate('approval', 'waiting', 'approval 0/1')],
        bypassedGates: ['approval'],
        justification: 'hotfix for INC-42',
      }),
    );
    api.addPromotion(promotion('j', { state: 'applying' }));
    api.addPromotion(promotion('k', { state: 'applied' }));
    api.addPromotion(promotion('l', { state: 'rejected' }));

    const section = await renderSection(api);

    await waitFor(() =>
      expect(
        within(section)
          .getAllByRole('heading', { level: 3 })
          .map(h => h.textContent),
      ).toEqual([
        'Needs approval (2)',
        'Soaking (1)',
        'Outside window (1)',
        'Waiting on upstream (1)',
        'Pinned (1)',
        'Misconfigured (1)',
        'Failed (1)',
        'Ready (2)',
      ]),
    );
    const members = (group: string) =>
      within(screen.getByRole('region', { name: group }))
        .getAllByRole('article')
        .map(a => a.getAttribute('aria-label') ?? a.textContent);
    expect(
      within(screen.getByRole('region', { name: 'Needs approval (2)' }))
        .getAllByRole('heading', { level: 4 })
        .map(h => h.textContent),
    ).toEqual([
      'ImagePolicy/apps/a: 1.0.0 → 1.1.0',
      'ImagePolicy/apps/b: 1.0.0 → 1.1.0',
    ]);
    expect(members('Ready (2)')).toHaveLength(2);

    const failed = within(
      screen.getByRole('region', { name: 'Failed (1)' }),
    ).getByRole('article', {
      name: 'ImagePolicy/apps/h: 1.0.0 → 1.1.0 for ImageUpdateAutomation apps/h',
    });
    expect(failed).toHaveTextContent('Error: git push: permission denied');
    const ready = screen.getByRole('region', { name: 'Ready (2)' });
    expect(
      within(ready).getByRole('article', {
        name: 'ImagePolicy/apps/i: 1.0.0 → 1.1.0 for ImageUpdateAutomation apps/i',
      }),
    ).toHaveTextContent('Promoted now, bypassing approval: hotfix for INC-42');

    expect(api.calls).toContainEqual({
      method: 'getPromotions',
      args: [
        entityRef,
        { states: ['pending', 'approved', 'applying', 'failed'] },
      ],
    });
  });

  it('shows five promotions of a group, and the others on demand', async () => {
    const api = fakeBackend();
    for (let i = 0; i < 8; i++) {
      api.addPromotion(
        promotion(`app-${i}`, {
          gates: [gate('approval', 'waiting', 'approval 0/1')],
          // Newest first: app-0 … app-7.
          createdAt: `2026-11-22T01:0${9 - i}:00Z`,
        }),
      );
    }
    api.addPromotion(promotion('ready', { state: 'approved' }));
    await renderSection(api);

    const group = await screen.findByRole('region', {
      name: 'Needs approval (8)',
    });
    const names = () =>
      within(group)
        .getAllByRole('article')
        .map(a => a.getAttribute('aria-label'));
    const label = (i: number) =>
      `ImagePolicy/apps/app-${i}: 1.0.0 → 1.1.0 for ImageUpdateAutomation apps/app-${i}`;
    expect(names()).toEqual([0, 1, 2, 3, 4].map(label));
    // A group of five or fewer shows them all, without the button.
    const ready = screen.getByRole('region', { name: 'Ready (1)' });
    expect(within(ready).getAllByRole('article')).toHaveLength(1);
    expect(
      within(ready).queryByRole('button', { name: /^Show \d+ more/ }),
    ).not.toBeInTheDocument();

    await userEvent.click(
      within(group).getByRole('button', {
        name: 'Show 3 more in Needs approval',
      }),
    );

    expect(names()).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map(label));
    expect(
      within(group).queryByRole('button', { name: /^Show \d+ more/ }),
    ).not.toBeInTheDocument();
    // The focus moves on to the first card revealed, whose controls work as the others'.
    const revealed = within(group).getByRole('article', { name: label(5) });
    expect(revealed).toHaveFocus();
    expect(
      within(revealed).getByRole('button', { name: `Approve ${label(5)}` }),
    ).toBeEnabled();
  });

  it('shows what moves where, the gates as text, the ETA and the votes', async () => {
    const api = webBackend({
      from: undefined,
      to: { tag: '1.5.0', digest: 'sha256:bbbb' },
      eta: '2026-11-22T09:00:00Z',
    });
    api.addPromotion(
      promotion('api', {
        target: {
          id: 'cluster:ResourceSet/apps/api@prod',
          type: 'cluster',
          objectId: 'ResourceSet/apps/api',
          cluster: 'prod',
        },
        subject: 'ResourceSetInputProvider/apps/api',
        gates: [gate('window', 'error', 'window: invalid cron')],
      }),
    );
    await renderSection(api);

    const web = await screen.findByRole('article', {
      name: 'ImagePolicy/apps/web: (nothing) → 1.5.0 for ImageUpdateAutomation apps/web',
    });
    expect(web).toHaveTextContent(
      'ImagePolicy apps/web, written to Git by ImageUpdateAutomation apps/web',
    );
    expect(web).toHaveTextContent('Pending: waiting for its gates.');
    const gates = within(web).getByRole('list', {
      name: 'Gates of ImagePolicy/apps/web: (nothing) → 1.5.0 for ImageUpdateAutomation apps/web',
    });
    expect(
      within(gates)
        .getAllByRole('listitem')
        .map(item => item.textContent),
    ).toEqual(['approval 1/2 · waiting', 'soak 24h passed · passed']);
    expect(web).toHaveTextContent(
      'Passes by itself at 2026-11-22 09:00:00 UTC',
    );
    const votes = within(web).getByRole('list', { name: /^Votes on / });
    expect(within(votes).getByRole('listitem')).toHaveTextContent(
      'approved by user:default/alice · 2026-11-22 01:30:00 UTC · “staging looks fine”',
    );

    const cluster = screen.getByRole('article', {
      name: 'ResourceSetInputProvider/apps/api: 1.0.0 → 1.1.0 for ResourceSet apps/api in cluster prod',
    });
    expect(cluster).toHaveTextContent(
      'ResourceSetInputProvider apps/api, applied by ResourceSet apps/api in cluster prod',
    );
    expect(within(cluster).getByRole('listitem')).toHaveTextContent(
      'window: invalid cron · error',
    );
    expect(
      within(cluster).getByRole('button', {
        name: 'Approve ResourceSetInputProvider/apps/api: 1.0.0 → 1.1.0 for ResourceSet apps/api in cluster prod',
      }),
    ).toBeEnabled();
  });

  it('approves with a comment, refreshes, and then says the user approved already', async () => {
    const api = webBackend();
    await renderSection(api);
    const user = userEvent.setup();
    const loadsBefore = api.countCalls('getPromotions');

    await user.click(
      await screen.findByRole('button', { name: `Approve ${WEB}` }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: `Approve ${WEB}`,
    });
    await user.type(
      within(dialog).getByRole('textbox', { name: 'Comment' }),
      'checked the changelog',
    );
    await user.click(within(dialog).getByRole('button', { name: 'Approve' }));

    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.calls).toContainEqual({
      method: 'decidePromotion',
      args: ['p-web', { action: 'approve', comment: 'checked the changelog' }],
    });
    expect(api.countCalls('getPromotions')).toBeGreaterThan(loadsBefore);
    const approve = screen.getByRole('button', { name: `Approve ${WEB}` });
    expect(approve).toBeDisabled();
    expect(approve).toHaveAccessibleDescription(
      'You approved this version already',
    );
    const votes = screen.getByRole('list', { name: `Votes on ${WEB}` });
    expect(within(votes).getAllByRole('listitem')[1]).toHaveTextContent(
      'approved by user:default/guest',
    );
  });

  it('approves without a comment', async () => {
    const api = webBackend();
    await renderSection(api);
    const user = userEvent.setup();
    await user.click(
      await screen.findByRole('button', { name: `Approve ${WEB}` }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: `Approve ${WEB}`,
    });
    await user.click(within(dialog).getByRole('button', { name: 'Approve' }));
    await waitFor(() =>
      expect(api.calls).toContainEqual({
        method: 'decidePromotion',
        args: ['p-web', { action: 'approve' }],
      }),
    );
  });

  it('rejects only with a reason', async () => {
    const api = webBackend();
    await renderSection(api);
    const user = userEvent.setup();

    await user.click(
      await screen.findByRole('button', { name: `Reject ${WEB}` }),
    );
    const dialog = await screen.findByRole('dialog', { name: `Reject ${WEB}` });
    const confirm = within(dialog).getByRole('button', { name: 'Reject' });
    expect(confirm).toBeDisabled();
    const reason = within(dialog).getByRole('textbox', { name: 'Reason' });
    expect(reason).toBeRequired();
    await user.type(reason, '   ');
    expect(confirm).toBeDisabled();
    expect(api.countCalls('decidePromotion')).toBe(0);

    await user.clear(reason);
    await user.type(reason, 'breaks the checkout flow');
    expect(confirm).toBeEnabled();
    await user.click(confirm);

    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.calls).toContainEqual({
      method: 'decidePromotion',
      args: ['p-web', { action: 'reject', reason: 'breaks the checkout flow' }],
    });
    // Rejected promotions are closed: the section no longer lists it.
    expect(
      await screen.findByText(
        'Nothing is waiting: every target carries what its policy selected.',
      ),
    ).toBeInTheDocument();
  });

  it('names the gates promote now bypasses and requires a justification', async () => {
    const api = webBackend({
      gates: [
        gate('approval', 'waiting', 'approval 1/2'),
        gate('soak', 'waiting', 'soak 3h left'),
        gate('upstream', 'passed', 'upstream ran 1.1.0 for 2h'),
      ],
    });
    await renderSection(api);
    const user = userEvent.setup();

    await user.click(
      await screen.findByRole('button', { name: `Promote now ${WEB}` }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: `Promote now ${WEB}`,
    });
    const banner = within(dialog).getByRole('note', { name: 'Gates bypassed' });
    expect(banner).toHaveTextContent('Promote now bypasses approval, soak');
    expect(banner).toHaveTextContent(
      'approval 1/2 · waiting; soak 3h left · waiting',
    );
    expect(banner).not.toHaveTextContent('upstream');
    // What it would write is shown before the confirmation.
    expect(
      await within(dialog).findByRole('region', { name: `Diff of ${WEB}` }),
    ).toHaveTextContent('+ image: web:1.1.0 # {"$imagepolicy": "apps:web"}');

    const confirm = within(dialog).getByRole('button', { name: 'Promote now' });
    expect(confirm).toBeDisabled();
    await user.type(
      within(dialog).getByRole('textbox', { name: 'Justification' }),
      'hotfix for INC-42',
    );
    await user.click(confirm);

    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    expect(api.calls).toContainEqual({
      method: 'decidePromotion',
      args: [
        'p-web',
        { action: 'promote', justification: 'hotfix for INC-42' },
      ],
    });
    const ready = await screen.findByRole('region', { name: 'Ready (1)' });
    expect(within(ready).getByRole('article')).toHaveTextContent(
      'Promoted now, bypassing approval, soak: hotfix for INC-42',
    );
  });

  it('disables the decisions a user may not take and says why', async () => {
    const reason =
      'You lack the image-automation.promotion.approve permission for component:default/shop';
    const api = webBackend({
      actions: {
        approve: { allowed: false, reason },
        reject: { allowed: false, reason },
        promoteNow: {
          allowed: false,
          reason:
            'You lack the image-automation.promotion.force permission for component:default/shop',
        },
      },
    });
    await renderSection(api);

    const approve = await screen.findByRole('button', {
      name: `Approve ${WEB}`,
    });
    expect(approve).toBeDisabled();
    expect(approve).toHaveAccessibleDescription(reason);
    const reject = screen.getByRole('button', { name: `Reject ${WEB}` });
    expect(reject).toBeDisabled();
    expect(reject).toHaveAccessibleDescription(reason);
    const promote = screen.getByRole('button', { name: `Promote now ${WEB}` });
    expect(promote).toBeDisabled();
    expect(promote).toHaveAccessibleDescription(
      'You lack the image-automation.promotion.force permission for component:default/shop',
    );
    // Preview changes nothing and stays available.
    expect(
      screen.getByRole('button', { name: `Preview ${WEB}` }),
    ).toBeEnabled();

    const pointer = userEvent.setup({
      pointerEventsCheck: PointerEventsCheckLevel.Never,
    });
    await pointer.hover(promote);
    expect(await screen.findByRole('tooltip')).toHaveTextContent(
      'You lack the image-automation.promotion.force permission for component:default/shop',
    );
  });

  it('previews the diff and the commit message', async () => {
    const api = webBackend();
    await renderSection(api);
    const user = userEvent.setup();

    const preview = await screen.findByRole('button', {
      name: `Preview ${WEB}`,
    });
    expect(preview).toHaveAttribute('aria-expanded', 'false');
    await user.click(preview);

    const diff = await screen.findByRole('region', { name: `Diff of ${WEB}` });
    expect(diff.tagName).toBe('PRE');
    expect(diff).toHaveTextContent(
      '+ image: web:1.1.0 # {"$imagepolicy": "apps:web"}',
    );
    expect(
      screen.getByRole('region', { name: `Commit message of ${WEB}` }),
    ).toHaveTextContent('chore: promote ImagePolicy/apps/web to 1.1.0');
    expect(preview).toHaveAttribute('aria-expanded', 'true');
    expect(api.calls).toContainEqual({
      method: 'previewPromotion',
      args: ['p-web'],
    });

    await user.click(preview);
    expect(
      screen.queryByRole('region', { name: `Diff of ${WEB}` }),
    ).not.toBeInTheDocument();
  });

  it('says why a preview failed', async () => {
    const api = fakeBackend();
    api.addPromotion(promotion('web'));
    await renderSection(api);
    await userEvent.click(
      await screen.findByRole('button', { name: `Preview ${WEB}` }),
    );
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Preview failed: no preview for promotion p-web',
    );
  });

  it('shows the server message in the dialog when a decision fails', async () => {
    const api = webBackend();
    await renderSection(api);
    api.failActionsWith(
      new ConflictError('promotion p-web was superseded by 1.2.0'),
    );
    const user = userEvent.setup();

    await user.click(
      await screen.findByRole('button', { name: `Approve ${WEB}` }),
    );
    const dialog = await screen.findByRole('dialog', {
      name: `Approve ${WEB}`,
    });
    await user.click(within(dialog).getByRole('button', { name: 'Approve' }));

    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'Approve failed: promotion p-web was superseded by 1.2.0',
    );
    expect(
      screen.getByRole('dialog', { name: `Approve ${WEB}` }),
    ).toBeInTheDocument();
    expect(
      within(dialog).getByRole('button', { name: 'Approve' }),
    ).toBeEnabled();
  });

  it('shows an error and keeps the promotions it loaded before', async () => {
    const api = webBackend();
    await renderSection(api, 50);
    expect(
      await screen.findByRole('article', { name: WEB }),
    ).toBeInTheDocument();

    api.failLoadsWith(new Error('backend unavailable'));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(
      'Could not load the pending promotions — showing the last data loaded, which may be stale',
    );
    expect(alert).toHaveTextContent('backend unavailable');
    expect(screen.getByRole('article', { name: WEB })).toBeInTheDocument();
  });

  it('loads again on Retry and clears the error', async () => {
    const api = fakeBackend();
    api.failLoadsWith(new Error('backend unavailable'));
    await renderSection(api);
    const alert = await screen.findByRole('alert');
    api.failLoadsWith(undefined);
    api.addPromotion(promotion('a'));
    await userEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    await waitFor(() =>
      expect(screen.queryByRole('alert')).not.toBeInTheDocument(),
    );
    expect(
      await screen.findByRole('article', { name: /ImagePolicy/ }),
    ).toBeInTheDocument();
  });

  it('shows an error when nothing could be loaded', async () => {
    const api = fakeBackend();
    api.failLoadsWith(new Error('backend unavailable'));
    const section = await renderSection(api);
    expect(
      await within(section).findByText('Could not load the pending promotions'),
    ).toBeInTheDocument();
    expect(
      within(section).queryByText(/Nothing is waiting/),
    ).not.toBeInTheDocument();
  });

  it('says it is loading until the promotions arrive', async () => {
    const api = webBackend();
    let release: () => void = () => {};
    const blocked = new Promise<void>(resolve => {
      release = resolve;
    });
    const load = api.getPromotions.bind(api);
    jest.spyOn(api, 'getPromotions').mockImplementation(async (...args) => {
      await blocked;
      return load(...args);
    });
    const section = await renderSection(api);
    expect(
      within(section).getByText('Loading pending promotions…'),
    ).toBeInTheDocument();
    release();
    expect(
      await within(section).findByRole('article', { name: WEB }),
    ).toBeInTheDocument();
    expect(
      within(section).queryByText('Loading pending promotions…'),
    ).not.toBeInTheDocument();
  });

  it('says so when nothing is waiting', async () => {
    const api = fakeBackend();
    api.addPromotion(promotion('web', { state: 'applied' }));
    const section = await renderSection(api);
    expect(
      await within(section).findByText(
        'Nothing is waiting: every target carries what its policy selected.',
      ),
    ).toBeInTheDocument();
    expect(
      within(section).queryByRole('heading', { level: 3 }),
    ).not.toBeInTheDocument();
  });
});
