import { screen, within } from '@testing-library/react';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import {
  FleetPromotion,
  PromotionGateResult,
  PromotionPullRequest,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { EntityDataHarness } from '../../testing/EntityDataHarness';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { objectView } from '../../testing/fixtures';
import { PendingPromotionsSection } from '../PendingPromotionsSection';
import { nextStepSummary } from '../VersionsSection';
import { FleetPromotionsTable } from '../fleet/FleetPromotionsTable';
import { ImageUpdateAutomationPanel } from '../objects/kinds/ImageUpdateAutomationPanel';
import { pullRequestFacts, safeLink } from './pullRequestModel';

const entityRef = { kind: 'Component', namespace: 'default', name: 'shop' };
const allowed = { allowed: true };
const HOST = 'gitea.example.com';
const URL_12 = `https://${HOST}/team/deploy/pulls/12`;
/** A URL a link must never get (built, not written, so no linter mistakes the test for eval). */
const SCRIPT_URL = ['javascript', 'alert(1)'].join(':');
const LABEL =
  'ImagePolicy/apps/web: 1.0.0 → 1.1.0 for ImageUpdateAutomation apps/web';

function gate(
  name: PromotionGateResult['gate'],
  state: PromotionGateResult['state'],
  summary: string,
): PromotionGateResult {
  return { gate: name, state, summary, evidence: {} };
}

function pullRequest(
  overrides: Partial<PromotionPullRequest> = {},
): PromotionPullRequest {
  return {
    url: URL_12,
    number: 12,
    host: HOST,
    state: 'open',
    updatedAt: '2026-11-22T01:45:00Z',
    ...overrides,
  };
}

/** A promotion of `ImagePolicy/apps/web` carried by pull request #12, waiting for one approval. */
function promotion(overrides: Partial<PromotionView> = {}): PromotionView {
  return {
    id: 'p-web',
    entityRef: 'component:default/shop',
    target: {
      id: 'git:ImageUpdateAutomation/apps/web',
      type: 'git',
      objectId: 'ImageUpdateAutomation/apps/web',
    },
    subject: 'ImagePolicy/apps/web',
    from: { tag: '1.0.0', digest: 'sha256:aaaa' },
    to: { tag: '1.1.0', digest: 'sha256:bbbb' },
    state: 'pending',
    gates: [gate('approval', 'waiting', 'approval 0/1')],
    votes: [],
    history: [
      { state: 'pending', at: '2026-11-22T01:00:00Z', by: 'image-automation' },
    ],
    createdAt: '2026-11-22T01:00:00Z',
    updatedAt: '2026-11-22T01:00:00Z',
    actions: { approve: allowed, reject: allowed, promoteNow: allowed },
    pullRequest: pullRequest(),
    ...overrides,
  };
}

async function renderSection(p: PromotionView) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  api.addPromotion(p);
  renderInTestApp(
    <EntityDataHarness entityRef={entityRef}>
      {data => <PendingPromotionsSection promotions={data.promotions} />}
    </EntityDataHarness>,
    { apis: [[imageAutomationApiRef, api]] },
  );
  return screen.findByRole('article', { name: LABEL });
}

/** Every coloured text in `root` says something in words: no colour alone carries a state. */
function expectNoColourWithoutText(root: HTMLElement) {
  const coloured = [
    ...root.querySelectorAll<HTMLElement>(
      '[data-color="success"],[data-color="warning"],[data-color="danger"],[data-color="info"]',
    ),
  ];
  expect(coloured.length).toBeGreaterThan(0);
  for (const element of coloured) {
    expect(element.textContent?.trim()).not.toBe('');
  }
  // A coloured border (a chip) always holds text too.
  for (const chip of root.querySelectorAll<HTMLElement>(
    'li[style*="border"]',
  )) {
    expect(chip.textContent?.trim()).not.toBe('');
  }
}

/** The chips of pull request #12 in `root`, as [text, colour] pairs. */
function stateChips(root: HTMLElement): Array<[string, string | null]> {
  const list = within(root).getByRole('list', {
    name: 'State of pull request #12',
  });
  return within(list)
    .getAllByRole('listitem')
    .map(item => {
      const text = item.firstElementChild as HTMLElement;
      return [item.textContent ?? '', text.getAttribute('data-color')];
    });
}

function expectPullRequestLink(root: HTMLElement, name: RegExp) {
  const link = within(root).getByRole('link', { name });
  expect(link).toHaveAttribute('href', URL_12);
  expect(link).toHaveAttribute('target', '_blank');
  expect(link.getAttribute('rel')).toMatch(/\bnoopener\b/);
  return link;
}

describe('pull requests on a pending promotion', () => {
  it('open, not reviewed: links the pull request and offers "Review and merge" beside the actions the backend offers', async () => {
    const card = await renderSection(promotion());
    expectPullRequestLink(card, /^Pull request #12 \(opens in a new tab\)$/);
    expect(card).toHaveTextContent(`on ${HOST}`);
    expect(stateChips(card)).toEqual([
      ['Open', 'info'],
      ['No review yet', 'secondary'],
    ]);
    expect(card).toHaveTextContent(
      `Pending: waiting for a review of pull request #12 on ${HOST}.`,
    );
    const review = within(card).getByRole('link', {
      name: `Review and merge on ${HOST}: pull request #12 for ${LABEL} (opens in a new tab)`,
    });
    expect(review).toHaveTextContent(`Review and merge on ${HOST}`);
    expect(review).toHaveAttribute('href', URL_12);
    expect(review).toHaveAttribute('target', '_blank');
    expect(review.getAttribute('rel')).toMatch(/\bnoopener\b/);
    // Approve, Reject and Promote now stay as the backend offers them.
    expect(
      within(card).getByRole('button', { name: `Approve ${LABEL}` }),
    ).toBeEnabled();
    expect(
      within(card).getByRole('button', { name: `Reject ${LABEL}` }),
    ).toBeEnabled();
    expect(
      within(card).getByRole('button', { name: `Promote now ${LABEL}` }),
    ).toBeEnabled();
    expectNoColourWithoutText(card);
  });

  it('approved by reviewers, checks passing, auto-merge on', async () => {
    const card = await renderSection(
      promotion({
        state: 'applying',
        gates: [gate('approval', 'passed', 'approval 2/1')],
        pullRequest: pullRequest({
          approvedBy: ['alice', 'bob'],
          checks: 'success',
          autoMerge: true,
        }),
      }),
    );
    expect(stateChips(card)).toEqual([
      ['Open', 'info'],
      ['Approved by alice, bob', 'success'],
      ['Checks: passing', 'success'],
      ['Auto-merge on', 'info'],
    ]);
    expect(card).toHaveTextContent(
      `Applying: proposed in pull request #12; ${HOST} merges it when its checks pass.`,
    );
    // Its gates passed: the next step is the merge, in its own group.
    expect(
      screen.getByRole('region', { name: 'Waiting for merge (1)' }),
    ).toContainElement(card);
    expect(
      within(card).getByRole('link', {
        name: /^Merge on .+: pull request #12 /,
      }),
    ).toHaveTextContent(`Merge on ${HOST}`);
    expect(
      within(card).queryByRole('link', { name: /^Review and merge/ }),
    ).toBeNull();
    expectNoColourWithoutText(card);
  });

  it('changes requested: says by whom, in words and the danger colour', async () => {
    const card = await renderSection(
      promotion({
        gates: [
          gate(
            'approval',
            'waiting',
            'rejected by review:gitea.example.com/carol',
          ),
        ],
        pullRequest: pullRequest({
          changesRequestedBy: ['carol'],
          checks: 'pending',
        }),
      }),
    );
    expect(stateChips(card)).toEqual([
      ['Open', 'info'],
      ['Changes requested by carol', 'danger'],
      ['Checks: pending', 'warning'],
    ]);
    expect(
      within(card).getByRole('link', {
        name: /^Review and merge on .+: pull request #12 /,
      }),
    ).toBeInTheDocument();
    expectNoColourWithoutText(card);
  });

  it('checks failing', async () => {
    const card = await renderSection(
      promotion({
        pullRequest: pullRequest({ approvedBy: ['alice'], checks: 'failure' }),
      }),
    );
    expect(stateChips(card)).toEqual([
      ['Open', 'info'],
      ['Approved by alice', 'success'],
      ['Checks: failing', 'danger'],
    ]);
    expectNoColourWithoutText(card);
  });

  it('merged: names the merge commit, and no review or merge is asked for', async () => {
    const card = await renderSection(
      promotion({
        // Open promotions are listed; a failed one whose pull request merged meanwhile still is.
        state: 'failed',
        error: 'reading checks failed with HTTP 502',
        gates: [gate('approval', 'passed', 'approval 1/1')],
        pullRequest: pullRequest({
          state: 'merged',
          approvedBy: ['alice'],
          mergeCommit: '0123456789abcdef0123456789abcdef01234567',
        }),
      }),
    );
    expect(stateChips(card)).toEqual([['Merged as 0123456', 'success']]);
    expect(within(card).queryByRole('link', { name: /merge/i })).toBeNull();
    expectPullRequestLink(card, /^Pull request #12/);
    expectNoColourWithoutText(card);
  });

  it('closed without merge', async () => {
    const card = await renderSection(
      promotion({
        state: 'failed',
        pullRequest: pullRequest({ state: 'closed' }),
      }),
    );
    expect(stateChips(card)).toEqual([['Closed without merge', 'danger']]);
    expect(within(card).queryByRole('link', { name: /merge/i })).toBeNull();
    // No open pull request to review: no link, Approve as the backend offers it.
    expect(
      within(card).getByRole('button', { name: `Approve ${LABEL}` }),
    ).toBeEnabled();
    expectNoColourWithoutText(card);
  });

  it('a promotion without a pull request shows none, and keeps Approve', async () => {
    const card = await renderSection(promotion({ pullRequest: undefined }));
    expect(within(card).queryByRole('link')).toBeNull();
    expect(
      within(card).queryByRole('list', { name: /pull request/ }),
    ).toBeNull();
    expect(
      within(card).getByRole('button', { name: `Approve ${LABEL}` }),
    ).toBeEnabled();
  });

  it('never links a URL that is not http(s)', async () => {
    const card = await renderSection(
      promotion({ pullRequest: pullRequest({ url: SCRIPT_URL }) }),
    );
    expect(within(card).queryByRole('link')).toBeNull();
    expect(card).toHaveTextContent(`Pull request #12 on ${HOST}`);
  });
});

describe('the versions row next step of a promotion in a pull request', () => {
  it('says which pull request, and what it waits for', () => {
    expect(nextStepSummary(promotion())).toBe(
      '1.0.0 → 1.1.0 in pull request #12 waiting: approval 0/1',
    );
    expect(
      nextStepSummary(
        promotion({
          state: 'applying',
          gates: [gate('approval', 'passed', 'approval 1/1')],
        }),
      ),
    ).toBe(`1.0.0 → 1.1.0 in pull request #12, waiting for merge on ${HOST}`);
    expect(nextStepSummary(promotion({ pullRequest: undefined }))).toBe(
      '1.0.0 → 1.1.0 waiting: approval 0/1',
    );
  });
});

describe('pullRequestFacts', () => {
  it('has words for every state', () => {
    const texts = (pr: Partial<PromotionPullRequest>) =>
      pullRequestFacts(pullRequest(pr)).map(f => f.text);
    expect(texts({ checks: 'none' })).toEqual([
      'Open',
      'No review yet',
      'Checks: none',
    ]);
    expect(texts({ state: 'merged' })).toEqual(['Merged']);
    expect(texts({ state: 'closed', approvedBy: ['alice'] })).toEqual([
      'Closed without merge',
    ]);
  });

  it('links only http(s) URLs', () => {
    expect(safeLink(URL_12)).toBe(URL_12);
    expect(safeLink(SCRIPT_URL)).toBeUndefined();
    expect(safeLink('not a url')).toBeUndefined();
  });
});

describe("the automation's pull request", () => {
  it('shows the link, branch → base, state and the versions it carries', async () => {
    await renderInTestApp(
      <ImageUpdateAutomationPanel
        object={objectView('ImageUpdateAutomation', 'web', {
          status: {
            pullRequest: {
              number: 12,
              url: URL_12,
              branch: 'image-automation/web',
              base: 'main',
              state: 'open',
              versions: { 'apps/web': '1.1.0', 'apps/worker': '2.0.1' },
              promotions: ['p-web'],
              approvedBy: ['alice'],
              checks: 'failure',
              updatedAt: '2026-11-22T01:45:00Z',
            },
          },
        })}
      />,
    );
    const section = screen.getByRole('region', { name: 'Pull request' });
    expectPullRequestLink(section, /^Pull request #12 \(opens in a new tab\)$/);
    expect(section).toHaveTextContent(`on ${HOST}`);
    expect(section).toHaveTextContent('Branchimage-automation/web → main');
    expect(
      screen.getByLabelText(
        'Automation details of ImageUpdateAutomation default/web',
      ),
    ).toHaveTextContent(
      'Push branchimage-automation/web (pull request into main)',
    );
    expect(stateChips(section)).toEqual([
      ['Open', 'info'],
      ['Approved by alice', 'success'],
      ['Checks: failing', 'danger'],
    ]);
    const versions = within(section).getByRole('list', {
      name: 'Versions in pull request #12',
    });
    expect(
      within(versions)
        .getAllByRole('listitem')
        .map(i => i.textContent),
    ).toEqual(['apps/web: 1.1.0', 'apps/worker: 2.0.1']);
    expect(section).toHaveTextContent(
      'Read from the host2026-11-22 01:45:00 UTC',
    );
    expectNoColourWithoutText(section);
  });

  it('a merged pull request names its merge commit', async () => {
    await renderInTestApp(
      <ImageUpdateAutomationPanel
        object={objectView('ImageUpdateAutomation', 'web', {
          status: {
            pullRequest: {
              number: 12,
              url: URL_12,
              branch: 'image-automation/web',
              base: 'main',
              state: 'merged',
              versions: { 'apps/web': '1.1.0' },
              promotions: ['p-web'],
              mergeCommit: 'fedcba9876543210fedcba9876543210fedcba98',
              updatedAt: '2026-11-22T01:45:00Z',
            },
          },
        })}
      />,
    );
    const section = screen.getByRole('region', { name: 'Pull request' });
    expect(stateChips(section)).toEqual([['Merged as fedcba9', 'success']]);
    expect(section).toHaveTextContent(
      'Merge commitfedcba9876543210fedcba9876543210fedcba98',
    );
  });

  it('is not shown for an automation that pushes', async () => {
    await renderInTestApp(
      <ImageUpdateAutomationPanel
        object={objectView('ImageUpdateAutomation', 'web')}
      />,
    );
    expect(screen.queryByRole('region', { name: 'Pull request' })).toBeNull();
    expect(screen.queryByRole('link')).toBeNull();
  });
});

describe('the fleet page row of a promotion in a pull request', () => {
  it('shows a compact link and the state', async () => {
    const api = new FakeImageAutomationApi({
      user: 'user:default/guest',
      now: () => new Date('2026-11-22T02:00:00Z'),
    });
    const fleet: FleetPromotion[] = [
      {
        ...promotion({
          pullRequest: pullRequest({
            approvedBy: ['alice'],
            checks: 'failure',
          }),
        }),
        owner: 'group:default/team-a',
      },
    ];
    await renderInTestApp(
      <FleetPromotionsTable promotions={fleet} onChanged={async () => {}} />,
      {
        apis: [[imageAutomationApiRef, api]],
        mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      },
    );
    const table = screen.getByRole('table', { name: 'Pending promotions' });
    const row = within(table).getAllByRole('row')[1];
    expectPullRequestLink(
      row,
      new RegExp(
        `^PR #12 on ${HOST.replace(/\./g, '\\.')} \\(opens in a new tab\\)$`,
      ),
    );
    expect(stateChips(row)).toEqual([
      ['Open', 'info'],
      ['Approved by alice', 'success'],
      ['Checks: failing', 'danger'],
    ]);
    expect(
      within(row).getByRole('link', {
        name: `Review and merge on ${HOST}: pull request #12 for ${LABEL} (opens in a new tab)`,
      }),
    ).toHaveTextContent(/^Review and merge$/);
    expect(
      within(row).getByRole('button', { name: /^Approve / }),
    ).toBeEnabled();
    // The narrow cell has one fact a line, without borders.
    const facts = within(row).getByRole('list', {
      name: 'State of pull request #12',
    });
    expect(within(facts).getAllByRole('listitem')).toHaveLength(3);
    expect(facts.querySelectorAll('li[style*="border"]')).toHaveLength(0);
    expectNoColourWithoutText(row);
  });
});
