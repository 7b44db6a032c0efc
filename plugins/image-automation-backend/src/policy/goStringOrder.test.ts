import { sortTagsAsStored } from './goStringOrder';

describe('sortTagsAsStored (Flux TestSortTagsAndGetLatestTags)', () => {
  it.each([
    [
      ['1.0.0', '0.0.8', '1.2.5', '3.0.1', '1.0.1'],
      ['3.0.1', '1.2.5', '1.0.1', '1.0.0', '0.0.8'],
    ],
    [
      [
        '-62',
        '-88',
        '73',
        '72',
        '15',
        '16',
        '15',
        '29',
        '-33',
        '-91',
        '100',
        '101',
      ],
      [
        '73',
        '72',
        '29',
        '16',
        '15',
        '15',
        '101',
        '100',
        '-91',
        '-88',
        '-62',
        '-33',
      ],
    ],
    [
      ['latest', '6.2.0', 'Z', 'a'],
      ['latest', 'a', 'Z', '6.2.0'],
    ],
  ])('%j', (tags, sorted) => {
    expect(sortTagsAsStored(tags)).toEqual(sorted);
  });

  it('sorts by UTF-8 bytes, not UTF-16 units', () => {
    // U+FF5E is EF BD 9E in UTF-8; U+1F600 is F0 9F 98 80, so it sorts after — UTF-16 disagrees.
    expect(sortTagsAsStored(['\uFF5E', '\u{1F600}', 'z'])).toEqual([
      '\u{1F600}',
      '\uFF5E',
      'z',
    ]);
  });
});
