import { checkDowngrade } from './downgradeGuard';

const previous = [
  { id: '1', tag: '6.1.0', digest: 'sha256:a' },
  { id: '2', tag: '6.0.0', digest: 'sha256:b' },
];

describe('checkDowngrade', () => {
  it('holds when the newest exported tag is gone and would still come first', () => {
    expect(
      checkDowngrade({
        filter: { semver: '>=6.0.0' },
        listedTags: ['6.0.0', '5.0.0'],
        selectedTags: ['6.0.0'],
        previous,
      }),
    ).toEqual({ hold: true, missingTag: '6.1.0', fallbackTag: '6.0.0' });
    expect(
      checkDowngrade({
        filter: { semver: '>=6.0.0' },
        listedTags: [],
        selectedTags: [],
        previous,
      }),
    ).toEqual({
      hold: true,
      missingTag: '6.1.0',
      fallbackTag: undefined,
    });
  });

  it('does not hold while the tag is listed, when a newer one exists, or when the filter excludes it', () => {
    expect(
      checkDowngrade({
        filter: undefined,
        listedTags: ['6.1.0'],
        selectedTags: ['6.1.0'],
        previous,
      }).hold,
    ).toBe(false);
    expect(
      checkDowngrade({
        filter: { semver: '>=6.0.0' },
        listedTags: ['6.2.0'],
        selectedTags: ['6.2.0'],
        previous,
      }).hold,
    ).toBe(false);
    expect(
      checkDowngrade({
        filter: { semver: '<6.1.0' },
        listedTags: ['6.0.0'],
        selectedTags: ['6.0.0'],
        previous,
      }).hold,
    ).toBe(false);
    expect(
      checkDowngrade({
        filter: undefined,
        listedTags: ['a'],
        selectedTags: ['a'],
        previous: undefined,
      }).hold,
    ).toBe(false);
  });

  it('orders without semver as the provider does (reverse byte order)', () => {
    const latest = [{ id: '1', tag: 'b', digest: 'sha256:a' }];
    expect(
      checkDowngrade({
        filter: undefined,
        listedTags: ['a'],
        selectedTags: ['a'],
        previous: latest,
      }).hold,
    ).toBe(true);
    expect(
      checkDowngrade({
        filter: undefined,
        listedTags: ['c'],
        selectedTags: ['c'],
        previous: latest,
      }).hold,
    ).toBe(false);
  });
});
