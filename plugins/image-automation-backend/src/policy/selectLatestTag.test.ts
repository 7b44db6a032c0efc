import { explainSelection } from './explainSelection';
import { selectLatestTag } from './selectLatestTag';
import { TAG_VERDICT_SENTENCES } from './tagVerdict';

describe('selectLatestTag', () => {
  it('checks in Flux order: invalid policy, then no tags, then invalid pattern', () => {
    expect(
      selectLatestTag({ policy: {}, filterTags: { pattern: '(' }, tags: [] }),
    ).toEqual({
      ok: false,
      reason: 'InvalidPolicy',
      stalled: true,
      message: 'invalid policy: given ImagePolicyChoice object is invalid',
    });
    expect(
      selectLatestTag({
        policy: { semver: { range: '*' } },
        filterTags: { pattern: '(' },
        tags: [],
      }),
    ).toEqual({
      ok: false,
      reason: 'DependencyNotReady',
      stalled: false,
      message: 'no tags in database',
    });
    expect(
      selectLatestTag({
        policy: { semver: { range: '*' } },
        filterTags: { pattern: '[=' },
        tags: ['1.0.0'],
      }),
    ).toEqual({
      ok: false,
      reason: 'InvalidPolicy',
      stalled: true,
      message:
        "failed to filter tags: invalid regular expression pattern '[=': error parsing regexp: missing closing ]: `[=`",
    });
  });

  it('stalls an ImagePolicy whose pattern is too long, quickly and without repeating it (issue #13)', () => {
    const hostile = '[\\p{L}]{1000}'.repeat(2600); // ~33 KB: compiled for 10 s, 1.8 GB
    const start = Date.now();
    const selection = selectLatestTag({
      policy: { semver: { range: '*' } },
      filterTags: { pattern: hostile },
      tags: ['1.0.0'],
    });
    expect(Date.now() - start).toBeLessThan(1000);
    expect(selection).toEqual({
      ok: false,
      reason: 'InvalidPolicy',
      stalled: true,
      message: `failed to filter tags: invalid regular expression pattern: error parsing regexp: expression too long: ${hostile.length} characters, the limit is 4096`,
    });
  });

  it('uses the first of semver, alphabetical, numerical', () => {
    const tags = ['b', '2.0.0', '10', '1.0.0'];
    expect(
      selectLatestTag({
        policy: { semver: { range: '*' }, alphabetical: {}, numerical: {} },
        tags,
      }),
    ).toEqual({ ok: true, tag: '2.0.0' });
    expect(
      selectLatestTag({ policy: { alphabetical: {}, numerical: {} }, tags }),
    ).toEqual({
      ok: true,
      tag: 'b',
    });
  });

  it('upper-cases the order like Go and rejects unknown orders as an invalid policy', () => {
    expect(
      selectLatestTag({
        policy: { alphabetical: { order: 'desc' } },
        tags: ['a', 'b'],
      }),
    ).toEqual({
      ok: true,
      tag: 'a',
    });
    expect(
      selectLatestTag({
        policy: { numerical: { order: 'down' } },
        tags: ['1'],
      }),
    ).toEqual({
      ok: false,
      reason: 'InvalidPolicy',
      stalled: true,
      message:
        "invalid policy: invalid order argument provided: 'DOWN', must be one of: ASC, DESC",
    });
  });

  it('takes NaN when reached, and the element right after it', () => {
    const numerical = (tags: string[]) =>
      selectLatestTag({ policy: { numerical: {} }, tags });
    expect(numerical(['NaN', '5', '3'])).toEqual({ ok: true, tag: '5' });
    expect(numerical(['5', 'NaN'])).toEqual({ ok: true, tag: 'NaN' });
    expect(numerical(['1.0', '1', '01'])).toEqual({ ok: true, tag: '01' });
  });

  it('is deterministic among equal versions after extract: candidates in descending byte order', () => {
    // Both extract to versions equal to 1.0.0; "v1.0.0" sorts before "1.0.0" descending.
    const args = {
      policy: { semver: { range: '>=1.0.0' } },
      filterTags: { pattern: '^(?:rel|build)-(.*)$', extract: '$1' },
    };
    for (const tags of [
      ['rel-1.0.0', 'build-v1.0.0'],
      ['build-v1.0.0', 'rel-1.0.0'],
    ]) {
      expect(selectLatestTag({ ...args, tags })).toEqual({
        ok: true,
        tag: 'build-v1.0.0',
      });
    }
  });

  it('maps an extracted value back to the last tag that produced it', () => {
    expect(
      selectLatestTag({
        policy: { numerical: {} },
        filterTags: { pattern: '-(\\d+)$', extract: '$1' },
        tags: ['b-7', 'a-7', 'c-3'],
      }),
    ).toEqual({ ok: true, tag: 'a-7' });
  });
});

describe('explainSelection', () => {
  const verdicts = (args: Parameters<typeof explainSelection>[0]) =>
    Object.fromEntries(
      explainSelection(args).verdicts.map(v => [v.tag, v.verdict]),
    );

  it('explains a semver policy', () => {
    expect(
      verdicts({
        policy: { semver: { range: '>=1.0.0 <2.0.0' } },
        tags: [
          'v1.0.0',
          'latest',
          '2.0.0',
          '1.5.0-rc.1',
          '1.2',
          '1.0.0',
          '1.4.0',
        ],
      }),
    ).toEqual({
      'v1.0.0': 'eligible',
      latest: 'not-semver',
      '2.0.0': 'out-of-range',
      '1.5.0-rc.1': 'prerelease-excluded',
      '1.2': 'not-semver',
      '1.0.0': 'eligible',
      '1.4.0': 'selected',
    });
  });

  it('marks ties, filtered tags and extract collisions', () => {
    const result = explainSelection({
      policy: { semver: { range: '*' } },
      filterTags: { pattern: '^(?:a|b|c)-(.*)$', extract: '$1' },
      tags: ['c-1.0.0', 'b-v1.0.0', 'a-1.0.0', 'x-2.0.0'],
    });
    expect(result.selection).toEqual({ ok: true, tag: 'b-v1.0.0' });
    expect(result.verdicts).toEqual([
      {
        tag: 'c-1.0.0',
        verdict: 'extract-collision',
        detail: '"1.0.0" is taken by a-1.0.0',
      },
      { tag: 'b-v1.0.0', verdict: 'selected', detail: 'extracted "v1.0.0"' },
      {
        tag: 'a-1.0.0',
        verdict: 'same-version',
        detail: 'extracted "1.0.0"; equal to b-v1.0.0',
      },
      { tag: 'x-2.0.0', verdict: 'filtered-out' },
    ]);
  });

  it('explains numerical failures and alphabetical order', () => {
    expect(
      verdicts({ policy: { numerical: {} }, tags: ['3', 'x', '10'] }),
    ).toEqual({
      '3': 'not-evaluated',
      x: 'not-numeric',
      '10': 'not-evaluated',
    });
    expect(
      verdicts({
        policy: { alphabetical: { order: 'desc' } },
        tags: ['b', 'a'],
      }),
    ).toEqual({
      b: 'eligible',
      a: 'selected',
    });
  });

  it('marks every tag not-evaluated when the policy is invalid', () => {
    const result = explainSelection({
      policy: { semver: { range: '' } },
      tags: ['1.0.0'],
    });
    expect(result.verdicts).toEqual([
      {
        tag: '1.0.0',
        verdict: 'not-evaluated',
        detail: 'invalid policy: improper constraint: ""',
      },
    ]);
  });

  it('has a sentence for every verdict', () => {
    for (const sentence of Object.values(TAG_VERDICT_SENTENCES))
      expect(sentence).toMatch(/\.$/);
  });
});
