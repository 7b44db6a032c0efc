import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { InputError } from '@backstage/errors';
import {
  PolicyExplanation,
  PolicyPreviewRequest,
  TagVerdictView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { FakeImageAutomationApi } from '../../testing/FakeImageAutomationApi';
import { objectView } from '../../testing/fixtures';
import { PolicyPreview } from './PolicyPreview';

const SPEC = {
  imageRepositoryRef: { name: 'podinfo' },
  policy: { semver: { range: '>=6.0.0 <7.0.0' } },
  filterTags: { pattern: '^v?(.*)$', extract: '$1' },
  digestReflectionPolicy: 'Always',
};
const policy = objectView('ImagePolicy', 'podinfo', { spec: SPEC });
const SENTENCES: Record<string, string> = {
  selected: 'Selected: this is the latest tag under the policy.',
  eligible: 'Eligible, but older than the selected tag.',
  'out-of-range': 'A version outside the semver range.',
  'not-evaluated': 'Not evaluated: the policy could not select a tag.',
};

/** An explanation of the tags 7.0.0, 6.2.0 and 6.1.0 with the given verdicts. */
function explanation(
  selection: PolicyExplanation['selection'],
  verdicts: [string, string, string],
): PolicyExplanation {
  const tags = ['7.0.0', '6.2.0', '6.1.0'];
  return {
    repositoryId: 'ImageRepository/default/podinfo',
    selection,
    exclusionList: [],
    verdicts: tags.map(
      (tag, i): TagVerdictView => ({
        tag,
        verdict: verdicts[i],
        sentence: SENTENCES[verdicts[i]],
      }),
    ),
  };
}

const CURRENT = explanation({ ok: true, tag: '6.2.0' }, [
  'out-of-range',
  'selected',
  'eligible',
]);

/** What the backend computes for the ranges the tests type. */
function answer(request: PolicyPreviewRequest): PolicyExplanation {
  if (
    (request.spec.filterTags as { pattern?: string } | undefined)?.pattern ===
    '['
  ) {
    throw new InputError(
      'ImagePolicy "preview" is invalid: spec.filterTags.pattern: invalid regular expression \'[\'',
    );
  }
  const semver = (request.spec.policy as { semver?: { range: string } }).semver;
  switch (semver?.range) {
    case '>=6.0.0':
      return explanation({ ok: true, tag: '7.0.0' }, [
        'selected',
        'eligible',
        'eligible',
      ]);
    case '>=8.0.0':
      return explanation(
        {
          ok: false,
          reason: 'Failure',
          message: 'unable to determine latest version from provided list',
        },
        ['out-of-range', 'out-of-range', 'out-of-range'],
      );
    case 'one point two': {
      const message = 'invalid policy: improper constraint: one point two';
      return explanation({ ok: false, reason: 'InvalidPolicy', message }, [
        'not-evaluated',
        'not-evaluated',
        'not-evaluated',
      ]);
    }
    default:
      return CURRENT;
  }
}

function fakeBackend() {
  const api = new FakeImageAutomationApi({
    user: 'user:default/guest',
    now: () => new Date('2026-11-22T02:00:00Z'),
  });
  api.addObject(policy);
  api.setPolicyExplanation(policy.id, CURRENT);
  api.answerPolicyPreviews(answer);
  return api;
}

async function renderPreview(api = fakeBackend()) {
  renderInTestApp(<PolicyPreview policy={policy} />, {
    apis: [[imageAutomationApiRef, api]],
  });
  await screen.findByRole('form', { name: 'Proposed policy' });
  return api;
}

/** Replaces a text field's value and presses Preview. */
async function previewWith(
  user: ReturnType<typeof userEvent.setup>,
  field: string,
  value: string,
) {
  const input = screen.getByRole('textbox', { name: field });
  await user.clear(input);
  // `[` and `{` start key descriptors in user-event; doubled, they are typed as text.
  if (value) await user.type(input, value.replace(/[[{]/g, '$&$&'));
  await user.click(screen.getByRole('button', { name: 'Preview' }));
}

const box = (name: string) => screen.getByRole('group', { name });

describe('PolicyPreview', () => {
  it("prefills the form from the policy's spec and says nothing is saved", async () => {
    const api = await renderPreview();

    expect(
      screen.getByRole('heading', { name: 'Policy preview' }),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/Preview only — nothing is saved/),
    ).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: 'Semver range' })).toBeChecked();
    expect(screen.getByRole('textbox', { name: 'Semver range' })).toHaveValue(
      '>=6.0.0 <7.0.0',
    );
    expect(
      screen.getByRole('textbox', { name: 'filterTags pattern' }),
    ).toHaveValue('^v?(.*)$');
    expect(
      screen.getByRole('textbox', { name: 'filterTags extract' }),
    ).toHaveValue('$1');
    // Nothing is asked before Preview.
    expect(api.countCalls('previewPolicy')).toBe(0);
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('shows the current and proposed selections, the diff and the proposed verdicts, sending the edited spec', async () => {
    const user = userEvent.setup();
    const api = await renderPreview();

    await previewWith(user, 'Semver range', '>=6.0.0');

    expect(
      api.calls.filter(c => c.method === 'previewPolicy').map(c => c.args),
    ).toEqual([
      [
        {
          namespace: 'default',
          spec: { ...SPEC, policy: { semver: { range: '>=6.0.0' } } },
        },
      ],
    ]);
    expect(
      await screen.findByRole('group', { name: 'Current selection' }),
    ).toHaveTextContent('6.2.0');
    expect(box('Proposed selection')).toHaveTextContent('7.0.0');
    expect(box('Diff')).toHaveTextContent('6.2.0 → 7.0.0');
    expect(box('Diff')).toHaveTextContent(
      '2 tags with a new verdict · 1 newly eligible · 0 no longer eligible',
    );
    expect(
      screen.getByText('3 tags · 3 eligible · selected 7.0.0'),
    ).toBeInTheDocument();

    const table = screen.getByRole('table', {
      name: 'Tags under the proposed policy',
    });
    const row = (tag: string) =>
      within(table)
        .getByRole('rowheader', { name: tag })
        .closest<HTMLElement>('tr')!;
    expect(
      within(row('7.0.0'))
        .getAllByRole('cell')
        .map(c => c.textContent),
    ).toEqual([
      '● Selected',
      SENTENCES.selected,
      'was Outside the range',
      'not resolved',
      '—',
    ]);
    expect(row('6.2.0')).toHaveTextContent('was Selected');
    expect(row('6.1.0')).toHaveTextContent('unchanged');

    // The proposed verdicts filter like the explorer's.
    await user.click(screen.getByRole('radio', { name: 'Rejected only' }));
    expect(
      within(table).getByText('No tag matches the filter.'),
    ).toBeInTheDocument();

    // An edit after the preview marks the result as out of date.
    await user.type(
      screen.getByRole('textbox', { name: 'Semver range' }),
      ' <9',
    );
    expect(
      screen.getByText(/The form has changed since this preview/),
    ).toBeInTheDocument();
  });

  it('says "Same selection" when the edit changes nothing', async () => {
    const user = userEvent.setup();
    await renderPreview();

    await previewWith(user, 'filterTags extract', '');

    expect(
      await screen.findByRole('group', { name: 'Diff' }),
    ).toHaveTextContent('Same selection');
    expect(box('Diff')).toHaveTextContent('0 tags with a new verdict');
    expect(box('Proposed selection')).toHaveTextContent('6.2.0');
  });

  it('says "Nothing would be selected" with the reason when no tag passes', async () => {
    const user = userEvent.setup();
    await renderPreview();

    await previewWith(user, 'Semver range', '>=8.0.0');

    expect(
      await screen.findByRole('group', { name: 'Diff' }),
    ).toHaveTextContent('Nothing would be selected');
    expect(box('Proposed selection')).toHaveTextContent(
      'Nothing would be selectedunable to determine latest version from provided list',
    );
    expect(box('Current selection')).toHaveTextContent('6.2.0');
    expect(box('Diff')).toHaveTextContent(
      '2 tags with a new verdict · 0 newly eligible · 2 no longer eligible',
    );
  });

  it("shows the backend's message for an invalid range, verbatim", async () => {
    const user = userEvent.setup();
    await renderPreview();

    await previewWith(user, 'Semver range', 'one point two');

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'invalid policy: improper constraint: one point two',
    );
    expect(box('Proposed selection')).toHaveTextContent('Invalid policy');
    expect(box('Diff')).toHaveTextContent('Invalid policy');
  });

  it("shows the backend's refusal of a spec, and no stale result", async () => {
    const user = userEvent.setup();
    await renderPreview();
    await previewWith(user, 'Semver range', '>=6.0.0');
    expect(
      await screen.findByRole('group', { name: 'Diff' }),
    ).toBeInTheDocument();

    await previewWith(user, 'filterTags pattern', '[');

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The preview failed');
    expect(alert).toHaveTextContent(
      `ImagePolicy "preview" is invalid: spec.filterTags.pattern: invalid regular expression '['`,
    );
    expect(
      screen.queryByRole('group', { name: 'Diff' }),
    ).not.toBeInTheDocument();
  });

  it('sends an alphabetical order without filterTags when the pattern and extract are emptied', async () => {
    const user = userEvent.setup();
    const api = await renderPreview();

    await user.click(screen.getByRole('radio', { name: 'Alphabetical' }));
    expect(
      screen.queryByRole('textbox', { name: 'Semver range' }),
    ).not.toBeInTheDocument();
    await user.click(screen.getByRole('radio', { name: 'Descending' }));
    await user.clear(
      screen.getByRole('textbox', { name: 'filterTags pattern' }),
    );
    await previewWith(user, 'filterTags extract', '');

    await screen.findByRole('group', { name: 'Diff' });
    const { policy: _policy, filterTags: _filterTags, ...rest } = SPEC;
    expect(api.calls.find(c => c.method === 'previewPolicy')?.args).toEqual([
      {
        namespace: 'default',
        spec: { ...rest, policy: { alphabetical: { order: 'desc' } } },
      },
    ]);
  });
});
