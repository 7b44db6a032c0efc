import { setterDiff } from './setterDiff';

describe('setterDiff', () => {
  it('prints one hunk per run of changed lines, files in order, without context', () => {
    const texts = new Map([
      [
        'b.yaml',
        {
          before: 'a: 1\nimage: x:1 # m\nc: 3\n',
          after: 'a: 1\nimage: x:2 # m\nc: 3\n',
        },
      ],
      [
        'a.yaml',
        {
          before: 'one: 1\ntwo: 1\nthree: 1\nfour: 1\n',
          after: 'one: 2\ntwo: 2\nthree: 1\nfour: 2\n',
        },
      ],
    ]);
    expect(setterDiff(texts)).toBe(
      [
        '--- a/a.yaml',
        '+++ b/a.yaml',
        '@@ -1,2 +1,2 @@',
        '-one: 1',
        '-two: 1',
        '+one: 2',
        '+two: 2',
        '@@ -4,1 +4,1 @@',
        '-four: 1',
        '+four: 2',
        '--- a/b.yaml',
        '+++ b/b.yaml',
        '@@ -2,1 +2,1 @@',
        '-image: x:1 # m',
        '+image: x:2 # m',
        '',
      ].join('\n'),
    );
  });

  it('is empty when nothing changed', () => {
    expect(setterDiff(new Map())).toBe('');
  });
});
