import { compareGoStrings, utf8Length } from './compare';

describe('compareGoStrings', () => {
  it('compares UTF-8 bytes, not UTF-16 units', () => {
    // U+FF5E is EF BD 9E in UTF-8; U+1F600 is F0 9F 98 80, so it sorts after — UTF-16 disagrees.
    expect(compareGoStrings('\u{1F600}', '\uFF5E')).toBe(1);
    expect(compareGoStrings('\uFF5E', '\u{1F600}')).toBe(-1);
    expect('\u{1F600}' < '\uFF5E').toBe(true);
  });

  it('orders prefixes first and equal strings as equal', () => {
    expect(compareGoStrings('ab', 'abc')).toBe(-1);
    expect(compareGoStrings('abc', 'ab')).toBe(1);
    expect(compareGoStrings('Z', 'a')).toBe(-1);
    expect(compareGoStrings('é', 'é')).toBe(0);
  });
});

describe('utf8Length', () => {
  it('measures strings in UTF-8 bytes', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('\uFF5E')).toBe(3);
    expect(utf8Length('\u{1F600}')).toBe(4);
  });
});
