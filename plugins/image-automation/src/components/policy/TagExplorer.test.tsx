import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Location, useLocation } from 'react-router-dom';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import {
  PolicyExplanation,
  TagVerdictView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { objectView } from '../../testing/fixtures';
import { TagExplorer } from './TagExplorer';

const TABLE = 'Tags of ImagePolicy default/podinfo';
const DIGEST = `sha256:6200${'f'.repeat(60)}`;
const PATTERN = '^(?:rel-)?([0-9].*)?$';

const policy = objectView('ImagePolicy', 'podinfo', {
  spec: {
    imageRepositoryRef: { name: 'podinfo' },
    policy: { semver: { range: '>=6.0.0 <7.0.0' } },
    filterTags: { pattern: PATTERN, extract: '$1' },
  },
});

const verdict = (
  tag: string,
  name: string,
  sentence: string,
  extra: Partial<TagVerdictView> = {},
): TagVerdictView => ({
  tag,
  verdict: name,
  sentence,
  firstSeenAt: '2026-11-20T08:00:00Z',
  ...extra,
});

/** As the backend answers for the policy above: every verdict the explorer has to explain. */
const explanation: PolicyExplanation = {
  repositoryId: 'ImageRepository/default/podinfo',
  selection: { ok: true, tag: '6.2.0' },
  exclusionList: ['^.*\\.sig$'],
  verdicts: [
    verdict('main-abc', 'filtered-out', 'Does not match filterTags.pattern.'),
    verdict(
      'rel-',
      'extract-empty',
      'filterTags.extract produced an empty string, which is not a version.',
    ),
    verdict('7.0.0', 'out-of-range', 'A version outside the semver range.', {
      detail: 'extracted "7.0.0"',
    }),
    verdict(
      '6.2.0',
      'selected',
      'Selected: this is the latest tag under the policy.',
      {
        detail: 'extracted "6.2.0"',
        digest: DIGEST,
        firstSeenAt: '2026-11-21T09:30:00Z',
      },
    ),
    verdict('6.1.0', 'eligible', 'Eligible, but older than the selected tag.', {
      detail: 'extracted "6.1.0"; older than 6.2.0',
    }),
    verdict('6.0.0', 'eligible', 'Eligible, but older than the selected tag.', {
      detail: 'extracted "6.0.0"; older than 6.2.0',
    }),
    verdict(
      '6.0',
      'not-semver',
      'Not a semantic version (Flux needs at least two dots, e.g. 1.2.3), so the semver policy skips it.',
    ),
  ],
};

function fakeBackend(answer: PolicyExplanation = explanation) {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  api.addObject(policy);
  api.setPolicyExplanation(policy.id, answer);
  return api;
}

let location: Location;
function LocationProbe() {
  location = useLocation();
  return null;
}

async function renderExplorer(
  api: FakeImageAutomationApi,
  url = '/image-updates?object=ImagePolicy%2Fdefault%2Fpodinfo',
) {
  renderInTestApp(
    <>
      <TagExplorer policy={policy} />
      <LocationProbe />
    </>,
    { apis: [[imageAutomationApiRef, api]], initialRouteEntries: [url] },
  );
  return screen.findByRole('table', { name: TABLE });
}

/** The tags of the table's rows, in order (the header row has none). */
function tagsOf(table: HTMLElement): string[] {
  return within(table)
    .queryAllByRole('rowheader')
    .map(cell => cell.textContent ?? '');
}

function rowOf(table: HTMLElement, tag: string) {
  const header = within(table).getByRole('rowheader', { name: tag });
  const row = header.closest<HTMLElement>('tr')!;
  const [verdictCell, reason, digest, firstSeen] =
    within(row).getAllByRole('cell');
  return { verdict: verdictCell, reason, digest, firstSeen };
}

function query(): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(location.search));
}

describe('TagExplorer', () => {
  it('lists every stored tag with its verdict and reason in words, digest and first-seen time', async () => {
    const table = await renderExplorer(fakeBackend());

    expect(screen.getByRole('heading', { name: 'Tags' })).toBeInTheDocument();
    expect(
      screen.getByText('7 tags · 3 eligible · selected 6.2.0'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/exclusion list \(\^\.\*\\\.sig\$\) are dropped/),
    ).toBeInTheDocument();
    expect(
      within(table)
        .getAllByRole('columnheader')
        .map(c => c.textContent),
    ).toEqual(['Tag', 'Verdict', 'Reason', 'Digest', 'First seen']);
    expect(tagsOf(table)).toEqual([
      'main-abc',
      'rel-',
      '7.0.0',
      '6.2.0',
      '6.1.0',
      '6.0.0',
      '6.0',
    ]);

    const selected = rowOf(table, '6.2.0');
    expect(selected.verdict).toHaveTextContent('Selected');
    expect(within(selected.verdict).getByText('Selected')).toHaveAttribute(
      'data-color',
      'success',
    );
    expect(selected.reason).toHaveTextContent(
      'Selected: this is the latest tag under the policy.extracted "6.2.0"',
    );
    expect(selected.digest).toHaveTextContent(DIGEST);
    expect(selected.firstSeen).toHaveTextContent('2026-11-21 09:30:00 UTC');

    const older = rowOf(table, '6.1.0');
    expect(older.verdict).toHaveTextContent('Eligible');
    expect(older.reason).toHaveTextContent(
      'Eligible, but older than the selected tag.extracted "6.1.0"; older than 6.2.0',
    );
    expect(older.digest).toHaveTextContent('not resolved');

    // The reasons name the policy's range and pattern.
    expect(rowOf(table, '7.0.0').verdict).toHaveTextContent(
      'Outside the range',
    );
    expect(rowOf(table, '7.0.0').reason).toHaveTextContent(
      'Outside the range >=6.0.0 <7.0.0.',
    );
    expect(rowOf(table, 'main-abc').verdict).toHaveTextContent('Filtered out');
    expect(rowOf(table, 'main-abc').reason).toHaveTextContent(
      `Does not match filterTags.pattern ${PATTERN}.`,
    );
    expect(rowOf(table, 'rel-').verdict).toHaveTextContent('Empty extract');
    expect(rowOf(table, 'rel-').reason).toHaveTextContent(
      'filterTags.extract produced an empty string',
    );
    expect(rowOf(table, '6.0').verdict).toHaveTextContent('Not valid semver');
    expect(
      within(rowOf(table, '6.0').verdict).getByText('Not valid semver'),
    ).toHaveAttribute('data-color', 'secondary');
    // Few tags: no pagination.
    expect(
      screen.queryByRole('button', { name: 'Next table page' }),
    ).not.toBeInTheDocument();
  });

  it('narrows the rows by verdict and search, keeping both in the URL beside the other parameters', async () => {
    const user = userEvent.setup();
    const table = await renderExplorer(fakeBackend());
    expect(screen.getByRole('radio', { name: 'All' })).toBeChecked();

    await user.click(screen.getByRole('radio', { name: 'Rejected only' }));
    expect(tagsOf(table)).toEqual(['main-abc', 'rel-', '7.0.0', '6.0']);
    expect(query()).toEqual({
      object: 'ImagePolicy/default/podinfo',
      tagFilter: 'rejected',
    });
    expect(screen.getByRole('status')).toHaveTextContent('4 of 7 tags match');

    await user.click(screen.getByRole('radio', { name: 'Eligible only' }));
    expect(tagsOf(table)).toEqual(['6.2.0', '6.1.0', '6.0.0']);
    expect(query().tagFilter).toBe('eligible');

    await user.type(
      screen.getByRole('searchbox', { name: 'Search tags' }),
      '6.0',
    );
    await waitFor(() => expect(tagsOf(table)).toEqual(['6.0.0']));
    expect(query()).toEqual({
      object: 'ImagePolicy/default/podinfo',
      tagFilter: 'eligible',
      tagSearch: '6.0',
    });

    await user.click(screen.getByRole('radio', { name: 'All' }));
    expect(tagsOf(table)).toEqual(['6.0.0', '6.0']);
    expect(query()).toEqual({
      object: 'ImagePolicy/default/podinfo',
      tagSearch: '6.0',
    });

    await user.type(
      screen.getByRole('searchbox', { name: 'Search tags' }),
      'x',
    );
    expect(
      await within(table).findByText('No tag matches the filter.'),
    ).toBeInTheDocument();
  });

  it('opens on the filter and search of the URL', async () => {
    const table = await renderExplorer(
      fakeBackend(),
      '/image-updates?tagFilter=rejected&tagSearch=REL',
    );

    expect(screen.getByRole('radio', { name: 'Rejected only' })).toBeChecked();
    expect(screen.getByRole('searchbox', { name: 'Search tags' })).toHaveValue(
      'REL',
    );
    expect(tagsOf(table)).toEqual(['rel-']);
  });

  it('renders 10,000 tags a page at a time, with the counts in text', async () => {
    const user = userEvent.setup();
    const tags = Array.from({ length: 10_000 }, (_, i) => `1.0.${9999 - i}`);
    const many: PolicyExplanation = {
      ...explanation,
      selection: { ok: true, tag: '1.0.9999' },
      verdicts: tags.map((tag, i) => {
        if (i === 0)
          return verdict(
            tag,
            'selected',
            'Selected: this is the latest tag under the policy.',
          );
        if (i < 3)
          return verdict(
            tag,
            'eligible',
            'Eligible, but older than the selected tag.',
          );
        return verdict(
          tag,
          'out-of-range',
          'A version outside the semver range.',
        );
      }),
    };
    const table = await renderExplorer(fakeBackend(many));

    expect(
      screen.getByText('10,000 tags · 3 eligible · selected 1.0.9999'),
    ).toBeInTheDocument();
    expect(within(table).getAllByRole('row')).toHaveLength(101);
    expect(screen.getByText('Tags 1–100 of 10,000')).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Previous table page' }),
    ).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Next table page' }));
    expect(screen.getByText('Tags 101–200 of 10,000')).toBeInTheDocument();
    expect(tagsOf(table)[0]).toBe('1.0.9899');
    expect(within(table).getAllByRole('row')).toHaveLength(101);

    // A filter starts again at its first page.
    await user.click(screen.getByRole('radio', { name: 'Eligible only' }));
    expect(tagsOf(table)).toEqual(['1.0.9999', '1.0.9998', '1.0.9997']);
    expect(
      screen.queryByRole('button', { name: 'Next table page' }),
    ).not.toBeInTheDocument();
  });

  it('says when nothing is selected and when the repository has no tags yet', async () => {
    await renderExplorer(
      fakeBackend({
        ...explanation,
        selection: {
          ok: false,
          reason: 'DependencyNotReady',
          message: 'no tags in database',
        },
        verdicts: [],
      }),
    );

    expect(
      screen.getByText('0 tags · 0 eligible · nothing selected'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('Nothing is selected: no tags in database'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/The repository has no stored tags yet/),
    ).toBeInTheDocument();
  });

  it('shows why the tags could not be loaded, and loads them on Retry', async () => {
    const user = userEvent.setup();
    const api = fakeBackend();
    api.failLoadsWith(
      new NotAllowedError(
        'You lack the image-automation.object.read permission',
      ),
    );
    renderInTestApp(<TagExplorer policy={policy} />, {
      apis: [[imageAutomationApiRef, api]],
    });

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load the tags of this policy');
    expect(alert).toHaveTextContent(
      'You lack the image-automation.object.read permission',
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();

    api.failLoadsWith(undefined);
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(
      await screen.findByRole('table', { name: TABLE }),
    ).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });
});
