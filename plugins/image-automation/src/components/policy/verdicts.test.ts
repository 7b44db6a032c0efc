import { PolicyExplanation } from '@imageops/backstage-plugin-image-automation-common';
import { formOf, specOf } from './policyForm';
import {
  diffVerdicts,
  parseVerdictFilter,
  presentVerdict,
  summarizeExplanation,
} from './verdicts';

const explanation = (
  selection: PolicyExplanation['selection'],
  verdicts: Array<[string, string]>,
): PolicyExplanation => ({
  repositoryId: 'ImageRepository/default/web',
  selection,
  exclusionList: [],
  verdicts: verdicts.map(([tag, verdict]) => ({
    tag,
    verdict,
    sentence: `${verdict}.`,
  })),
});

describe('verdicts', () => {
  it('reads an unknown filter from the URL as all tags', () => {
    expect(parseVerdictFilter('rejected')).toBe('rejected');
    expect(parseVerdictFilter('Rejected')).toBe('all');
    expect(parseVerdictFilter(null)).toBe('all');
  });

  it('counts in words, singular for one', () => {
    expect(
      summarizeExplanation(
        explanation({ ok: true, tag: '1.0.0' }, [['1.0.0', 'selected']]),
      ),
    ).toBe('1 tag · 1 eligible · selected 1.0.0');
  });

  it('shows a verdict it does not know by its name and the backend sentence, in neutral colour', () => {
    expect(
      presentVerdict(
        { tag: 'x', verdict: 'signed-only', sentence: 'Only signed tags.' },
        {},
      ),
    ).toEqual({
      label: 'signed-only',
      color: 'secondary',
      glyph: '✕',
      reason: 'Only signed tags.',
    });
  });

  it('diffs only the tags both explanations have', () => {
    const diff = diffVerdicts(
      explanation({ ok: true, tag: 'b' }, [
        ['a', 'eligible'],
        ['b', 'selected'],
      ]),
      explanation({ ok: true, tag: 'c' }, [
        ['a', 'eligible'],
        ['b', 'out-of-range'],
        ['c', 'selected'],
      ]),
    );
    expect([...diff.previous]).toEqual([['b', 'Selected']]);
    expect(diff).toMatchObject({ newlyEligible: 0, noLongerEligible: 1 });
  });
});

describe('policyForm', () => {
  it('prefills a numerical policy without filterTags, and writes back only what the form holds', () => {
    const spec = {
      imageRepositoryRef: { name: 'web' },
      policy: { numerical: { order: 'desc' } },
      interval: '5m',
    };
    const form = formOf(spec);
    expect(form).toEqual({
      ordering: 'numerical',
      range: '',
      order: 'desc',
      pattern: '',
      extract: '',
    });
    expect(specOf(spec, form)).toEqual(spec);
    expect(
      specOf(spec, {
        ...form,
        ordering: 'semver',
        range: '>=1',
        pattern: '^v',
      }),
    ).toEqual({
      imageRepositoryRef: { name: 'web' },
      interval: '5m',
      policy: { semver: { range: '>=1' } },
      filterTags: { pattern: '^v' },
    });
  });
});
