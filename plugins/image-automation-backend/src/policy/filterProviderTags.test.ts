import { filterProviderTags } from './filterProviderTags';

describe('filterProviderTags (Flux Operator filtering.Filters.Tags vectors)', () => {
  const three = ['v1.0.0', 'v1.1.0', 'v2.0.0'];
  const four = ['v1.0.0', 'v1.1.0', 'v2.0.0', 'v1.2.0'];

  it.each([
    [
      'no filter: reverse byte order',
      undefined,
      three,
      ['v2.0.0', 'v1.1.0', 'v1.0.0'],
    ],
    ['include', { includeTag: '^v1\\.' }, three, ['v1.1.0', 'v1.0.0']],
    [
      'include + exclude',
      { includeTag: '^v1\\.', excludeTag: '^v1\\.0\\.0$' },
      four,
      ['v1.2.0', 'v1.1.0'],
    ],
    [
      'semver',
      { semver: '>= 1.0.0 < 2.0.0' },
      four,
      ['v1.2.0', 'v1.1.0', 'v1.0.0'],
    ],
    ['limit', { limit: 2 }, four, ['v2.0.0', 'v1.2.0']],
    [
      'semver + limit',
      { semver: '>= 1.0.0 < 2.0.0', limit: 1 },
      four,
      ['v1.2.0'],
    ],
    [
      'all filters with junk',
      {
        includeTag: '^v1\\.',
        excludeTag: '^v1\\.0\\.0$',
        semver: '>= 1.0.0 < 2.0.0',
      },
      [...four, 'rubbish', 'garbage'],
      ['v1.2.0', 'v1.1.0'],
    ],
    [
      'calver',
      { semver: '>=2024.1.1', limit: 1 },
      ['2024.01.01', '2024.01.02', '2024.01.03'],
      ['2024.01.03'],
    ],
  ])('%s', (_name, filter, tags, expected) => {
    expect(filterProviderTags(filter, tags)).toEqual({
      ok: true,
      tags: expected,
    });
  });

  it('keeps listing order among equal versions (stable sort)', () => {
    expect(
      filterProviderTags({ semver: '*' }, [
        '1.0.0',
        'v1.0.0',
        '1.0.0+b',
        '2.0.0',
      ]),
    ).toEqual({
      ok: true,
      tags: ['2.0.0', '1.0.0', 'v1.0.0', '1.0.0+b'],
    });
  });

  it('uses only the last non-empty include and exclude (Branch → Tag → Environment)', () => {
    const tags = ['main', 'v1.0.0', 'prod'];
    expect(
      filterProviderTags({ includeBranch: '^main$', includeTag: '^v' }, tags),
    ).toEqual({
      ok: true,
      tags: ['v1.0.0'],
    });
    expect(
      filterProviderTags(
        { excludeTag: '^v', excludeEnvironment: '^prod$' },
        tags,
      ),
    ).toEqual({
      ok: true,
      tags: ['v1.0.0', 'main'],
    });
  });

  it('defaults the limit to 100, also for 0 and negative limits', () => {
    const tags = Array.from(
      { length: 150 },
      (_, i) => `t${String(i).padStart(3, '0')}`,
    );
    for (const limit of [undefined, 0, -1]) {
      const result = filterProviderTags({ limit }, tags);
      expect(result.ok && result.tags.length).toBe(100);
    }
  });

  it('reports invalid regexes and ranges with Flux Operator text, in its order', () => {
    expect(filterProviderTags({ includeTag: '(', semver: '*-*' }, [])).toEqual({
      ok: false,
      message:
        'invalid includeTag regex: error parsing regexp: missing closing ): `(`',
    });
    expect(
      filterProviderTags(
        { excludeBranch: '[', includeEnvironment: '(?=x)' },
        [],
      ),
    ).toEqual({
      ok: false,
      message:
        'invalid includeEnvironment regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    });
    expect(filterProviderTags({ semver: '*-*' }, [])).toEqual({
      ok: false,
      message: 'invalid semver expression: improper constraint: "*-*"',
    });
  });
});
