import { ImagePolicySpec } from '@imageops/backstage-plugin-image-automation-common';
import { TagRecord } from '../store/ScanStore';
import { prepareVersionGap, versionGap } from './versionGap';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse('2024-01-01T00:00:00.000Z');
const NOW = new Date('2024-03-01T00:00:00.000Z');

const at = (ms: number) => new Date(T0 + ms).toISOString();

/** A present tag first seen `ms` after T0. */
function tag(name: string, ms: number): TagRecord {
  return { tag: name, firstSeenAt: at(ms), lastSeenAt: NOW.toISOString() };
}

function spec(
  policy: ImagePolicySpec['policy'],
  filterTags?: ImagePolicySpec['filterTags'],
): ImagePolicySpec {
  return {
    imageRepositoryRef: { name: 'app' },
    policy,
    ...(filterTags ? { filterTags } : {}),
  };
}

describe('versionGap', () => {
  describe('semver', () => {
    const tags = [
      tag('1.0.0', 0),
      tag('1.1.0', 2 * DAY),
      tag('1.2.0', 5 * DAY),
      tag('1.2.1', 9 * DAY),
      tag('2.0.0', 10 * DAY),
      tag('latest', 11 * DAY),
    ];

    it('reports the newest version even outside the range, and the minor steps behind', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '^1.0.0' } }),
          tags,
          deployedTag: '1.0.0',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '2.0.0', firstSeenAt: at(10 * DAY) },
        behind: { tags: 3, summary: '2 minor · 3 tags · 9d', ageMs: 9 * DAY },
      });
    });

    it('counts distinct majors when the majors differ', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }),
          tags: [
            tag('1.2.0', 0),
            tag('2.0.0', HOUR),
            tag('2.1.0', 2 * HOUR),
            tag('3.0.0', 3 * HOUR),
          ],
          deployedTag: '1.2.0',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '3.0.0', firstSeenAt: at(3 * HOUR) },
        behind: { tags: 3, summary: '2 major · 3 tags · 3h', ageMs: 3 * HOUR },
      });
    });

    it('counts distinct patches when only the patches differ', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '~1.2' } }),
          tags: [
            tag('1.2.0', 0),
            tag('1.2.1', 5 * MINUTE),
            tag('v1.2.2', 12 * MINUTE),
            tag('1.2.2', 12 * MINUTE),
            tag('1.3.0', 20 * MINUTE),
          ],
          deployedTag: '1.2.0',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '1.3.0', firstSeenAt: at(20 * MINUTE) },
        // v1.2.2 and 1.2.2 are two tags of one patch step.
        behind: {
          tags: 3,
          summary: '2 patch · 3 tags · 12m',
          ageMs: 12 * MINUTE,
        },
      });
    });

    it('says up to date when the deployed tag is the selection, above it, or above the range', () => {
      const policySpec = spec({ semver: { range: '^1.0.0' } });
      for (const deployedTag of ['1.2.1', '1.5.0', '2.0.0', '3.0.0']) {
        expect(versionGap({ policySpec, tags, deployedTag, now: NOW })).toEqual(
          {
            newest: { tag: '2.0.0', firstSeenAt: at(10 * DAY) },
            behind: { tags: 0, summary: 'up to date' },
          },
        );
      }
    });

    it('counts from a deployed version the repository does not have, without an age', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '^1.0.0' } }),
          tags,
          deployedTag: '1.1.5',
          now: NOW,
        }).behind,
      ).toEqual({ tags: 2, summary: '1 minor · 2 tags' });
      // Below the range: still ordered, and every eligible tag is newer.
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '^1.0.0' } }),
          tags,
          deployedTag: '0.9.0',
          now: NOW,
        }).behind,
      ).toEqual({ tags: 4, summary: '1 major · 4 tags' });
    });

    it('says so when the deployed tag is not a version', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '^1.0.0' } }),
          tags,
          deployedTag: 'latest',
          now: NOW,
        }).behind,
      ).toEqual({
        tags: 4,
        summary: '4 tags · deployed tag is not a semver version',
      });
    });

    it('leaves behind out when the deployed tag is unknown', () => {
      const policySpec = spec({ semver: { range: '^1.0.0' } });
      const newest = { tag: '2.0.0', firstSeenAt: at(10 * DAY) };
      expect(versionGap({ policySpec, tags, now: NOW })).toEqual({ newest });
      expect(
        versionGap({ policySpec, tags, deployedTag: '', now: NOW }),
      ).toEqual({ newest });
    });
  });

  describe('prereleases', () => {
    const tags = [
      tag('1.0.0', 0),
      tag('1.1.0-rc.1', DAY),
      tag('1.1.0-rc.2', 3 * DAY),
    ];

    it('are newest, but not eligible unless the range admits them', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }),
          tags,
          deployedTag: '1.0.0',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '1.1.0-rc.2', firstSeenAt: at(3 * DAY) },
        behind: { tags: 0, summary: 'up to date' },
      });
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }),
          tags,
          deployedTag: '1.1.0-rc.1',
          now: NOW,
        }).behind,
      ).toEqual({ tags: 0, summary: 'up to date' });
    });

    it('are counted when the range admits them; a prerelease step has no level', () => {
      const policySpec = spec({ semver: { range: '>=1.0.0-0' } });
      expect(
        versionGap({ policySpec, tags, deployedTag: '1.0.0', now: NOW }).behind,
      ).toEqual({ tags: 2, summary: '1 minor · 2 tags · 3d', ageMs: 3 * DAY });
      expect(
        versionGap({ policySpec, tags, deployedTag: '1.1.0-rc.1', now: NOW })
          .behind,
      ).toEqual({ tags: 1, summary: '1 tag · 2d', ageMs: 2 * DAY });
    });
  });

  describe('filterTags with extract', () => {
    const filterTags = {
      pattern: '^main-[a-f0-9]+-(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+)$',
      extract: '$version',
    };
    const tags = [
      tag('main-abc123-1.0.0', 0),
      tag('main-def456-1.1.0', 4 * DAY),
      tag('main-aaa111-1.1.1', 6 * DAY),
      tag('pr-7-9.9.9', 7 * DAY),
      tag('0.1.0', 8 * DAY),
    ];

    it('orders extracted values; newest ignores the filter', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }, filterTags),
          tags,
          deployedTag: 'main-abc123-1.0.0',
          now: NOW,
        }),
      ).toEqual({
        // The only tag that parses as a version by itself.
        newest: { tag: '0.1.0', firstSeenAt: at(8 * DAY) },
        behind: { tags: 2, summary: '1 minor · 2 tags · 6d', ageMs: 6 * DAY },
      });
    });

    it('orders a deployed tag the repository no longer has by its extracted value', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }, filterTags),
          tags,
          deployedTag: 'main-fff000-0.9.0',
          now: NOW,
        }).behind,
      ).toEqual({ tags: 3, summary: '1 major · 3 tags' });
    });

    it('says so when the deployed tag does not match the pattern', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }, filterTags),
          tags,
          deployedTag: '1.0.0',
          now: NOW,
        }).behind,
      ).toEqual({
        tags: 3,
        summary: '3 tags · deployed tag does not match filterTags',
      });
    });

    it('falls back to the most recently first seen tag when no tag is a version', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '>=1.0.0' } }, filterTags),
          tags: tags.filter(t => t.tag !== '0.1.0'),
          deployedTag: 'main-def456-1.1.0',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: 'pr-7-9.9.9', firstSeenAt: at(7 * DAY) },
        behind: { tags: 1, summary: '1 patch · 1 tag · 2d', ageMs: 2 * DAY },
      });
    });
  });

  describe('alphabetical', () => {
    const filterTags = {
      pattern: '^main-(?P<ts>[0-9]+)$',
      extract: '$ts',
    };
    const tags = [
      tag('main-20240101', 0),
      tag('main-20240105', 4 * DAY),
      tag('main-20240110', 9 * DAY),
      tag('pr-5-20240111', 10 * DAY),
    ];

    it('ascending: newest is the byte-wise greatest of all tags', () => {
      expect(
        versionGap({
          policySpec: spec({ alphabetical: { order: 'asc' } }, filterTags),
          tags,
          deployedTag: 'main-20240101',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: 'pr-5-20240111', firstSeenAt: at(10 * DAY) },
        behind: { tags: 2, summary: '2 tags · 9d', ageMs: 9 * DAY },
      });
    });

    it('descending: the byte-wise least comes first', () => {
      expect(
        versionGap({
          policySpec: spec({ alphabetical: { order: 'desc' } }, filterTags),
          tags,
          deployedTag: 'main-20240110',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: 'main-20240101', firstSeenAt: at(0) },
        behind: { tags: 2, summary: '2 tags' },
      });
    });

    it('does not order a deployed tag the pattern rejects', () => {
      expect(
        versionGap({
          policySpec: spec({ alphabetical: {} }, filterTags),
          tags,
          deployedTag: 'latest',
          now: NOW,
        }).behind,
      ).toEqual({
        tags: 3,
        summary: '3 tags · deployed tag does not match filterTags',
      });
    });
  });

  describe('numerical', () => {
    const tags = [
      tag('1', 0),
      tag('2', DAY),
      tag('10', 9 * DAY),
      tag('latest', 10 * DAY),
    ];
    const digits = { pattern: '^[0-9]+$' };

    it('ascending: orders numbers, not strings', () => {
      expect(
        versionGap({
          policySpec: spec({ numerical: { order: 'asc' } }, digits),
          tags,
          deployedTag: '2',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '10', firstSeenAt: at(9 * DAY) },
        behind: { tags: 1, summary: '1 tag · 8d', ageMs: 8 * DAY },
      });
    });

    it('descending: the lowest number comes first', () => {
      expect(
        versionGap({
          policySpec: spec({ numerical: { order: 'desc' } }, digits),
          tags,
          deployedTag: '10',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '1', firstSeenAt: at(0) },
        behind: { tags: 2, summary: '2 tags' },
      });
    });

    it('says so when the deployed tag is not a number', () => {
      expect(
        versionGap({
          policySpec: spec({ numerical: {} }),
          tags: tags.filter(t => t.tag !== 'latest'),
          deployedTag: 'latest',
          now: NOW,
        }).behind,
      ).toEqual({ tags: 3, summary: '3 tags · deployed tag is not a number' });
    });

    it('reports no selection when the policy fails on a non-numeric tag', () => {
      expect(
        versionGap({
          policySpec: spec({ numerical: {} }),
          tags,
          deployedTag: '2',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '10', firstSeenAt: at(9 * DAY) },
        behind: { tags: 0, summary: 'no tag selected by the policy' },
      });
    });
  });

  describe('age and edge cases', () => {
    it('formats the gap in its largest whole unit and omits a negative one', () => {
      const gap = (ms: number) =>
        versionGap({
          policySpec: spec({ semver: { range: '*' } }),
          tags: [tag('1.0.0', DAY), tag('1.0.1', DAY + ms)],
          deployedTag: '1.0.0',
          now: NOW,
        }).behind;
      expect(gap(30 * 1000)).toEqual({
        tags: 1,
        summary: '1 patch · 1 tag · <1m',
        ageMs: 30 * 1000,
      });
      expect(gap(59 * MINUTE)).toEqual({
        tags: 1,
        summary: '1 patch · 1 tag · 59m',
        ageMs: 59 * MINUTE,
      });
      expect(gap(23 * HOUR + 59 * MINUTE)).toEqual({
        tags: 1,
        summary: '1 patch · 1 tag · 23h',
        ageMs: 23 * HOUR + 59 * MINUTE,
      });
      expect(gap(DAY)).toEqual({
        tags: 1,
        summary: '1 patch · 1 tag · 1d',
        ageMs: DAY,
      });
      // A backport pushed before the deployed tag was first seen.
      expect(gap(-HOUR)).toEqual({ tags: 1, summary: '1 patch · 1 tag' });
    });

    it('ignores tags that are gone, but still reads the deployed tag’s first sighting', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '*' } }),
          tags: [
            { ...tag('1.0.0', 0), goneSince: at(DAY) },
            tag('1.1.0', 3 * DAY),
            { ...tag('2.0.0', 4 * DAY), goneSince: at(5 * DAY) },
          ],
          deployedTag: '1.0.0',
          now: NOW,
        }),
      ).toEqual({
        newest: { tag: '1.1.0', firstSeenAt: at(3 * DAY) },
        behind: { tags: 1, summary: '1 minor · 1 tag · 3d', ageMs: 3 * DAY },
      });
    });

    it('has no newest and no selection without tags', () => {
      expect(
        versionGap({
          policySpec: spec({ semver: { range: '*' } }),
          tags: [],
          deployedTag: '1.0.0',
          now: NOW,
        }),
      ).toEqual({
        behind: { tags: 0, summary: 'no tag selected by the policy' },
      });
    });

    it('falls back to the most recent first sighting when the policy is invalid', () => {
      expect(
        versionGap({
          policySpec: spec({ alphabetical: { order: 'up' as 'asc' } }),
          tags: [tag('b', 0), tag('a', DAY), tag('c', DAY)],
          deployedTag: 'a',
          now: NOW,
        }),
      ).toEqual({
        // `c` and `a` tie; `c` comes first in stored (descending) order.
        newest: { tag: 'c', firstSeenAt: at(DAY) },
        behind: { tags: 0, summary: 'no tag selected by the policy' },
      });
    });
  });

  describe('one preparation for several targets', () => {
    const semverTags = [
      tag('1.0.0', 0),
      tag('1.1.0', 2 * DAY),
      tag('1.2.0-rc.1', 4 * DAY),
      tag('1.2.0', 5 * DAY),
      { ...tag('1.2.1', 9 * DAY), goneSince: at(10 * DAY) },
      tag('1.3.0', 11 * DAY),
      tag('2.0.0', 12 * DAY),
      tag('latest', 13 * DAY),
    ];
    const extracted = [
      tag('main-abc123-1.0.0', 0),
      tag('main-def456-1.1.0', 4 * DAY),
      tag('main-aaa111-1.1.1', 6 * DAY),
      tag('pr-7-9.9.9', 7 * DAY),
      tag('0.1.0', 8 * DAY),
    ];
    const numbers = [tag('1', 0), tag('2', DAY), tag('10', 9 * DAY)];
    const cases: Array<{
      name: string;
      policySpec: ImagePolicySpec;
      tags: TagRecord[];
      deployed: Array<string | undefined>;
    }> = [
      {
        name: 'semver, with a tag gone and one not a version',
        policySpec: spec({ semver: { range: '^1.0.0' } }),
        tags: semverTags,
        deployed: [
          '1.0.0',
          '1.2.0',
          '1.2.1',
          '1.3.0',
          '0.9.0',
          '3.0.0',
          'latest',
          undefined,
          '',
          '1.0.0',
        ],
      },
      {
        name: 'semver admitting prereleases',
        policySpec: spec({ semver: { range: '>=1.0.0-0' } }),
        tags: semverTags,
        deployed: ['1.1.0', '1.2.0-rc.1', '1.2.0-rc.0', '2.0.0', 'v1.1.0'],
      },
      {
        name: 'semver with filterTags extract',
        policySpec: spec(
          { semver: { range: '>=1.0.0' } },
          {
            pattern: '^main-[a-f0-9]+-(?P<version>[0-9]+\\.[0-9]+\\.[0-9]+)$',
            extract: '$version',
          },
        ),
        tags: extracted,
        deployed: [
          'main-abc123-1.0.0',
          'main-fff000-0.9.0',
          '1.0.0',
          'main-aaa111-1.1.1',
          'pr-7-9.9.9',
          'main-def456-1.1.0',
        ],
      },
      {
        name: 'alphabetical with filterTags extract',
        policySpec: spec(
          { alphabetical: { order: 'desc' } },
          { pattern: '^main-(?P<ts>[0-9]+)$', extract: '$ts' },
        ),
        tags: [
          tag('main-20240101', 0),
          tag('main-20240105', 4 * DAY),
          tag('main-20240110', 9 * DAY),
          tag('pr-5-20240111', 10 * DAY),
        ],
        deployed: ['main-20240110', 'main-20240101', 'latest', 'main-2024'],
      },
      {
        name: 'numerical',
        policySpec: spec({ numerical: { order: 'asc' } }),
        tags: numbers,
        deployed: ['2', '1', '10', '11', 'latest', '1e1'],
      },
      {
        name: 'numerical failing on a non-numeric tag',
        policySpec: spec({ numerical: {} }),
        tags: [...numbers, tag('latest', 10 * DAY)],
        deployed: ['2', 'latest', undefined],
      },
      {
        name: 'an invalid policy',
        policySpec: spec({ alphabetical: { order: 'up' as 'asc' } }),
        tags: [tag('b', 0), tag('a', DAY), tag('c', DAY)],
        deployed: ['a', 'c', undefined],
      },
      {
        name: 'no tags',
        policySpec: spec({ semver: { range: '*' } }),
        tags: [],
        deployed: [undefined, '1.0.0', ''],
      },
    ];

    it.each(cases)(
      '$name: answers each deployed tag as a separate versionGap',
      ({ policySpec, tags, deployed }) => {
        const prepared = prepareVersionGap({ policySpec, tags });
        const answers = deployed.map(deployedTag => prepared.gap(deployedTag));
        deployed.forEach((deployedTag, i) => {
          expect(answers[i]).toEqual(
            versionGap({ policySpec, tags, deployedTag, now: NOW }),
          );
        });
        // Asked again in the reverse order: nothing carried from one answer to the next.
        [...deployed].reverse().forEach((deployedTag, i) => {
          expect(prepared.gap(deployedTag)).toEqual(
            answers[deployed.length - 1 - i],
          );
        });
      },
    );

    it('gives each target its own objects', () => {
      const prepared = prepareVersionGap({
        policySpec: spec({ semver: { range: '^1.0.0' } }),
        tags: semverTags,
      });
      const first = prepared.gap('1.0.0');
      first.newest!.tag = 'changed';
      first.behind!.summary = 'changed';
      expect(prepared.gap('1.0.0')).toEqual({
        newest: { tag: '2.0.0', firstSeenAt: at(12 * DAY) },
        behind: {
          tags: 3,
          summary: '3 minor · 3 tags · 11d',
          ageMs: 11 * DAY,
        },
      });
    });
  });
});
