import {
  compileGoRegexp,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM_SIZE,
  mustCompilePanicMessage,
} from './goRegexp';
import { expandGoTemplate } from './expand';

function matches(pattern: string, input: string): boolean {
  const c = compileGoRegexp(pattern);
  if (!c.ok) throw new Error(c.message);
  return c.regexp.regexp.test(input);
}

function error(pattern: string): string | undefined {
  const c = compileGoRegexp(pattern);
  return c.ok ? undefined : c.message;
}

function expand(pattern: string, template: string, input: string): string {
  const c = compileGoRegexp(pattern);
  if (!c.ok) throw new Error(c.message);
  const m = c.regexp.regexp.exec(input);
  if (!m) throw new Error('no match');
  return expandGoTemplate(c.regexp, template, m);
}

describe('compileGoRegexp', () => {
  it.each([
    ['(?=', '^v(?=1)'],
    ['(?!', 'a(?!b)'],
    ['(?>', '(?>a)'],
    ["(?'", "(?'n'a)"],
    ['(?#', '(?#comment)'],
    ['(?i', '(?i'],
    ['(?-)', '(?-)'],
  ])('rejects Perl syntax %s like Go', (expr, pattern) => {
    expect(error(pattern)).toBe(
      `error parsing regexp: invalid or unsupported Perl syntax: \`${expr}\``,
    );
  });

  it.each([
    ['[=', 'missing closing ]', '[='],
    ['a[b-', 'missing closing ]', '[b-'],
    ['(abc', 'missing closing )', '(abc'],
    ['abc)', 'unexpected )', 'abc)'],
    ['\\1', 'invalid escape sequence', '\\1'],
    ['(a)\\1', 'invalid escape sequence', '\\1'],
    ['\\Z', 'invalid escape sequence', '\\Z'],
    ['\\C', 'invalid escape sequence', '\\C'],
    ['\\8', 'invalid escape sequence', '\\8'],
    ['a\\', 'trailing backslash at end of expression', ''],
    ['[z-a]', 'invalid character class range', 'z-a'],
    ['[[:foo:]]', 'invalid character class range', '[:foo:]'],
    ['\\p{Foo}', 'invalid character class range', '\\p{Foo}'],
    ['a**', 'invalid nested repetition operator', '**'],
    ['a+*', 'invalid nested repetition operator', '+*'],
    ['a*?+', 'invalid nested repetition operator', '*?+'],
    ['a{2}{3}', 'invalid nested repetition operator', '{2}{3}'],
    ['*a', 'missing argument to repetition operator', '*'],
    ['(+a)', 'missing argument to repetition operator', '+'],
    ['a|?', 'missing argument to repetition operator', '?'],
    ['a{1001}', 'invalid repeat count', '{1001}'],
    ['a{2,1}', 'invalid repeat count', '{2,1}'],
    ['(a{100}){20}', 'invalid repeat count', '{20}'],
    ['(?P<>a)', 'invalid named capture', '(?P<>'],
    ['(?P<a-b>x)', 'invalid named capture', '(?P<a-b>'],
    ['(?<=a)b', 'invalid named capture', '(?<=a)b'],
  ])('rejects %j: %s', (pattern, code, expr) => {
    expect(error(pattern)).toBe(`error parsing regexp: ${code}: \`${expr}\``);
  });

  it('accepts what Go accepts', () => {
    for (const p of [
      '^(?P<tag>v\\d+)$',
      '(?<name>x)',
      '(?P<a>x)(?P<a>y)',
      'a{,2}',
      'a{01}',
      'x{',
      '(?i)abc',
      '(?i:a)b',
      '(?)',
      '^*',
      '\\Q.*\\E',
      '[]a]',
      '[a-]',
      '[^]a]',
      '\\pL',
      '\\p{Greek}',
      '[[:alpha:][:^digit:]]',
      '\\x41\\x{1F600}\\101\\0',
    ]) {
      expect(error(p)).toBeUndefined();
    }
  });

  it('has Go meaning for . \\s $ and flags', () => {
    expect(matches('^a.b$', 'a\rb')).toBe(true); // JS `.` rejects \r, Go's does not
    expect(matches('^a.b$', 'a\nb')).toBe(false);
    expect(matches('(?s)^a.b$', 'a\nb')).toBe(true);
    expect(matches('^\\s$', '\v')).toBe(false); // Go \s has no \v
    expect(matches('^\\s$', '\u00a0')).toBe(false);
    expect(matches('^a$', 'a\n')).toBe(false);
    expect(matches('(?m)^b$', 'a\nb\nc')).toBe(true);
    expect(matches('(?m)^b$', 'a\rb\rc')).toBe(false); // only \n ends a line in Go
    expect(matches('\\Aab\\z', 'ab')).toBe(true);
    expect(matches('(?i)^V\\d', 'v1')).toBe(true);
    expect(matches('(?i)k', '\u212a')).toBe(true); // KELVIN SIGN folds to k in Go
    expect(matches('^(?i:a)b$', 'AB')).toBe(false);
    expect(matches('^(?i:a)b$', 'Ab')).toBe(true);
    expect(matches('^(?:a(?i)b|c)$', 'C')).toBe(true); // flags last until the group closes
    expect(matches('^(?:(?i)a)b$', 'AB')).toBe(false);
    expect(matches('(?i)[^k]', 'K')).toBe(false);
    expect(matches('^x{$', 'x{')).toBe(true);
    expect(matches('^\\Q.*\\E$', '.*')).toBe(true);
    expect(matches('[[:^digit:]]', '5')).toBe(false);
  });

  it('is leftmost-first and greedy like Go, with U swapping greediness', () => {
    expect(expand('(a+)', '$1', 'aaa')).toBe('aaa');
    expect(expand('(?U)(a+)', '$1', 'aaa')).toBe('a');
    expect(expand('(?U)(a+?)', '$1', 'aaa')).toBe('aaa');
    expect(expand('(a|ab)(c|bcd)', '$1-$2', 'abcd')).toBe('a-bcd');
    // Go keeps what an earlier iteration captured; a backtracking JavaScript engine would not.
    expect(expand('(?:(a)|b)+', '$1', 'ab')).toBe('a');
    const emptyLoop = compileGoRegexp('(a*)*');
    if (!emptyLoop.ok) throw new Error(emptyLoop.message);
    expect(emptyLoop.regexp.regexp.exec('b')?.[1]).toBe(''); // JavaScript: undefined
  });
});

describe('expandGoTemplate', () => {
  it.each([
    ['^ver(\\d+)', '$1', 'ver12', '12'],
    ['^ver(\\d+)', '$1x', 'ver12', ''],
    ['^ver(\\d+)', '${1}x', 'ver12', '12x'],
    ['^ver(\\d+)', '$9', 'ver12', ''],
    ['^ver(\\d+)', '$$1', 'ver12', '$1'],
    ['^ver(\\d+)', '$', 'ver12', '$'],
    ['^ver(\\d+)', '${1', 'ver12', '${1'],
    ['^ver(\\d+)', '$01', 'ver12', ''],
    ['^ver(?P<01>\\d+)', '$01', 'ver12', '12'],
    ['^ver(\\d+)', '${01}', 'ver12', ''],
    ['^ver(\\d+)', '$1é', 'ver12', ''],
    ['^ver(\\d+)', '[$é]', 'ver12', '[]'],
    ['^ver(?P<n>\\d+)', '$missing-$n', 'ver12', '-12'],
    ['^ver(?P<n>\\d+)', '${n}.0', 'ver12', '12.0'],
    ['(?P<a>x)?(?P<a>y)', '$a', 'y', 'y'],
    ['ver(\\d+)', '$1', 'ver3ver4', '3'],
  ])('%s with %j on %s', (pattern, template, input, out) => {
    expect(expand(pattern, template, input)).toBe(out);
  });
});

describe('compileGoRegexp limits', () => {
  it('matches in linear time where a backtracking engine would not finish', () => {
    const c = compileGoRegexp('^(a+)+$');
    if (!c.ok) throw new Error(c.message);
    const start = Date.now();
    expect(c.regexp.regexp.test(`${'a'.repeat(5000)}b`)).toBe(false);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('refuses 1000 nested captures like Go, but not 999 or deep non-capturing groups', () => {
    const nested = (n: number, open = '(') =>
      `${open.repeat(n)}a${')'.repeat(n)}`;
    expect(compileGoRegexp(nested(999)).ok).toBe(true);
    expect(compileGoRegexp(nested(1000))).toEqual({
      ok: false,
      message: `error parsing regexp: expression nests too deeply: \`${nested(
        1000,
      )}\``,
    });
    // Deep, but under MAX_PATTERN_LENGTH.
    const deep = compileGoRegexp(nested(1000, '(?:'));
    expect(deep.ok && deep.regexp.regexp.test('a')).toBe(true);
  });
});

describe('compileGoRegexp size limits (issue #13)', () => {
  it('refuses a pattern longer than MAX_PATTERN_LENGTH before parsing, without echoing it', () => {
    const hostile = '[\\p{L}]{1000}'.repeat(2600); // ~33 KB: took 10 s and 1.8 GB to compile
    const start = Date.now();
    const c = compileGoRegexp(hostile);
    expect(Date.now() - start).toBeLessThan(100);
    expect(c).toEqual({
      ok: false,
      limit: true,
      message: `error parsing regexp: expression too long: ${hostile.length} characters, the limit is ${MAX_PATTERN_LENGTH}`,
    });
    expect(compileGoRegexp('a'.repeat(MAX_PATTERN_LENGTH)).ok).toBe(true);
  });

  it('refuses a short pattern whose expanded program is too large', () => {
    const start = Date.now();
    const c = compileGoRegexp('(?:[\\p{L}]{1000}){0,}'.repeat(60));
    expect(Date.now() - start).toBeLessThan(1000);
    expect(c).toEqual({
      ok: false,
      limit: true,
      message: `error parsing regexp: expression too large: it would compile to more than ${MAX_PROGRAM_SIZE} instructions`,
    });
    // Big but legitimate programs still compile.
    expect(compileGoRegexp('[0-9a-f]{1000}'.repeat(20)).ok).toBe(true);
    expect(compileGoRegexp('((a{10}){10}){10}').ok).toBe(true);
  });
});

describe('mustCompilePanicMessage', () => {
  // What Go's regexp.MustCompile panics with for these patterns.
  it.each([
    [
      'a(',
      'regexp: Compile(`a(`): error parsing regexp: missing closing ): `a(`',
    ],
    [
      '(`',
      'regexp: Compile("(`"): error parsing regexp: missing closing ): `(``',
    ],
    [
      '(\t',
      'regexp: Compile(`(\t`): error parsing regexp: missing closing ): `(\t`',
    ],
    [
      '(\ufeff',
      'regexp: Compile("(\\ufeff"): error parsing regexp: missing closing ): `(\ufeff`',
    ],
  ])('%j', (pattern, panic) => {
    const compiled = compileGoRegexp(pattern);
    expect(compiled.ok).toBe(false);
    expect(
      mustCompilePanicMessage(pattern, compiled.ok ? '' : compiled.message),
    ).toBe(panic);
  });
});
