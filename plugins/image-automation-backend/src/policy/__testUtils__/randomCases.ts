/**
 * Seeded random ImagePolicy cases for the differential test: tag lists and ranges drawn from
 * the corners of the Masterminds grammar (prefixes, partial versions, leading zeros,
 * prereleases, build metadata, wildcards, hyphen ranges, `||`, commas, junk).
 */

import { SelectLatestTagArgs } from '../types';
import { sortTagsAsStored } from '../goStringOrder';
import { seededRandom } from '../../golib/__testUtils__/seededRandom';

export function caseGenerator(seed: number) {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const chance = (p: number) => rnd() < p;

  // Each case draws its numbers near one base version, so ranges and tags meet at the
  // boundaries where the Masterminds rules differ (0.x carets, dirty minors, …).
  let base = [0, 0, 0];
  const near = (i: number) =>
    String(Math.max(0, base[Math.min(i, 2)] + pick([-1, 0, 0, 1])));
  const number = (_: unknown, i: number) =>
    chance(0.95)
      ? near(i)
      : pick([
          `0${int(10)}`,
          String(int(3000)),
          '18446744073709551615',
          '18446744073709551616',
        ]);
  const identifier = () =>
    chance(0.9)
      ? pick([
          'alpha',
          'beta',
          'rc',
          'rc9',
          String(int(12)),
          '0',
          'x',
          'a-b',
          'RC',
        ])
      : pick(['', '01', '99999999999999999999', '18446744073709551616']);
  const dotted = (part: () => string) =>
    Array.from({ length: 1 + int(3) }, part).join('.');

  const version = (): string => {
    let v = '';
    if (chance(0.2)) v = 'v';
    else if (chance(0.04)) v = pick(['V', 'b', '=']);
    v += Array.from(
      { length: pick([3, 3, 3, 3, 3, 3, 3, 3, 2, 1, 4]) },
      number,
    ).join('.');
    if (chance(0.3)) v += `-${dotted(identifier)}`;
    if (chance(0.12))
      v += `+${dotted(() =>
        pick(['build', String(int(5)), 'sha.abc', 'b-1']),
      )}`;
    if (chance(0.03)) v += pick(['p', '.', '-', '_x']);
    return v;
  };
  const tag = (): string =>
    chance(0.08)
      ? pick(['latest', 'main', 'sha-abc123', '', '1.2.3.4', '1..2', '1.2.'])
      : version();

  const wildcard = () => pick(['x', 'X', '*']);
  const constraintVersion = (): string => {
    let v = '';
    if (chance(0.08)) v = 'v';
    else if (chance(0.02)) v = 'V';
    const parts = pick([3, 3, 2, 1]);
    const segs = Array.from({ length: parts }, (_, i) =>
      chance(0.12) ? wildcard() : near(i),
    );
    v += segs.join('.');
    if (chance(0.2))
      v += `-${dotted(() =>
        pick(['0', 'rc', 'alpha', String(int(5)), 'beta.1']),
      )}`;
    if (chance(0.04)) v += '+meta';
    if (chance(0.02)) v += pick(['p', 'x1', '|1', '.']);
    return v;
  };
  const ops = ['', '=', '!=', '>', '<', '>=', '=>', '<=', '=<', '~', '~>', '^'];
  const op = () => (chance(0.5) ? pick(['>=', '^', '~', '', '>']) : pick(ops));
  const constraint = () =>
    `${op()}${chance(0.2) ? ' ' : ''}${constraintVersion()}`;
  const group = (): string => {
    if (chance(0.1)) return `${constraintVersion()} - ${constraintVersion()}`;
    const n = pick([1, 1, 1, 2, 2, 3]);
    return Array.from({ length: n }, constraint).join(
      pick([' ', ', ', ',', '  ']),
    );
  };
  const range = (): string => {
    if (chance(0.03)) {
      return pick([
        '',
        '*-*',
        'a',
        '-1',
        '1.0.0 -',
        '||',
        '>=1.0.0 ||',
        ' ',
        // Non-printable and non-ASCII text, quoted by Go's %q in the error.
        '\u00a0',
        '>=1.0.0 é',
        '\t1.0\x07',
        '"1"',
        '\\',
        '\u00ad',
        '\u{1F600}',
        '1.0\u2028',
      ]);
    }
    const n = chance(0.2) ? 2 + int(2) : 1;
    return Array.from({ length: n }, group).join(pick([' || ', '||']));
  };

  /** The next case: tags already in the order the repository stores them. */
  return (): SelectLatestTagArgs => {
    base = [pick([0, 0, 1, 2, 5]), pick([0, 0, 1, 3]), pick([0, 1, 2, 9])];
    const tags = Array.from({ length: int(16) }, tag);
    return {
      policy: { semver: { range: range() } },
      tags: sortTagsAsStored(tags),
    };
  };
}

/** Cases for the other policies and filterTags: numbers, words, extract templates. */
export function otherCaseGenerator(seed: number) {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const numeric = () =>
    pick([
      () => String(int(1000) - 500),
      () => `${int(100)}.${int(100)}`,
      () => `${int(10)}e${int(5)}`,
      () =>
        pick([
          'inf',
          '-Inf',
          'NaN',
          '+5',
          '.5',
          '5.',
          '1_000',
          '0x1p4',
          '0x10',
          '1e400',
          'abc',
          '',
        ]),
      () => `0${int(10)}`,
      // Strings from the characters Go's ParseFloat cares about: mostly invalid, which
      // probes its exact acceptance set (the policy stops at the first invalid tag).
      () =>
        Array.from({ length: 1 + int(7) }, () =>
          pick([...'0123456789._+-eEpPxXabfinINFtyT']),
        ).join(''),
      () =>
        pick([
          '0x1.8p1',
          '0X_1p-2',
          '1_0.5',
          '1e+_5',
          '0x1p',
          'infinity',
          '+NaN',
          '-nan',
          '1e',
          '.e1',
          '0.e1',
          '1__0',
          '0b101',
          '0o7',
        ]),
    ])();
  const word = () =>
    pick([
      () => `rel-${int(50)}`,
      () => `v1.${int(20)}.${int(5)}`,
      () =>
        `${2020 + int(6)}${String(1 + int(12)).padStart(2, '0')}${String(
          1 + int(28),
        ).padStart(2, '0')}-${int(999999)}`,
      () => pick(['main', 'latest', 'Z', 'a', 'B', 'é', '𝔘']),
      () => `build-${int(100)}-sha${int(1000)}`,
    ])();
  const filters: Array<{ pattern: string; extract: string } | undefined> = [
    undefined,
    { pattern: '', extract: '' },
    { pattern: '^rel-(\\d+)$', extract: '$1' },
    { pattern: 'v(?P<maj>\\d+)\\.(?P<min>\\d+)', extract: '$maj.$min' },
    { pattern: '^(?P<ts>\\d{8})-(?P<n>\\d+)$', extract: '$ts$n' },
    { pattern: '^(\\d{8})-', extract: '${1}x' },
    { pattern: 'build-(\\d+)', extract: '$1' },
    { pattern: '(?i)^[a-z]', extract: '' },
    { pattern: '[[:digit:]]+', extract: '$0' },
    { pattern: '^v1\\.(\\d+)', extract: '1.$1.0' },
    { pattern: '(', extract: '' },
    { pattern: 'a{2,1}', extract: '' },
  ];
  return (): SelectLatestTagArgs => {
    const kind = int(3);
    const order = pick(['asc', 'desc', 'ASC', 'DESC', '', 'Asc']);
    if (kind === 0) {
      return {
        policy: { numerical: { order } },
        filterTags: pick(filters.slice(0, 3)),
        tags: sortTagsAsStored(Array.from({ length: int(10) }, numeric)),
      };
    }
    const tags = sortTagsAsStored(Array.from({ length: int(10) }, word));
    if (kind === 1)
      return {
        policy: { alphabetical: { order } },
        filterTags: pick(filters),
        tags,
      };
    return {
      policy: {
        semver: {
          range: pick(['>=0.0.0', '*', '>=1.0', '1.x', '>=20200101.0.0-0']),
        },
      },
      filterTags: pick(filters),
      tags,
    };
  };
}
