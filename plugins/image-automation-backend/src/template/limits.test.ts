import { renderTemplate, RESOURCESET_DELIMS, MAX_TEMPLATE_LENGTH } from '.';

/** Issue #13: a template from an untrusted manifest cannot exhaust the backend. */
const render = (
  text: string,
  limits?: Parameters<typeof renderTemplate>[0]['limits'],
) =>
  renderTemplate({
    name: 'resourceset',
    text,
    delims: RESOURCESET_DELIMS,
    funcs: 'resourceset',
    limits,
  });

const timed = (f: () => unknown) => {
  const start = Date.now();
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  return {
    ms: Date.now() - start,
    message: (error as Error | undefined)?.message,
  };
};

describe('template resource limits', () => {
  it('refuses `until 2e7` before building the list (took 9 s and 1.8 GB)', () => {
    const { ms, message } = timed(() =>
      render('<< range until 20000000 >>x<< end >>'),
    );
    expect(ms).toBeLessThan(500);
    expect(message).toBe(
      'template: resourceset:1:9: executing "resourceset" at <until 20000000>: error calling until: until would make a list of 20000000 elements; the template limit is 10000',
    );
  });

  it('refuses huge untilStep and seq lists, and keeps small ones', () => {
    expect(
      timed(() => render('<< untilStep 0 100000000 1 >>')).message,
    ).toMatch(
      /error calling untilStep: untilStep would make a list of 100000000 elements/,
    );
    expect(timed(() => render('<< seq 1 2 90000000 >>')).message).toMatch(
      /error calling seq: seq would make a list of 45000000 elements/,
    );
    expect(render('<< until 3 >> << untilStep 10 0 -4 >> << seq 3 >>')).toBe(
      '[0 1 2] [10 6 2] 1 2 3',
    );
    expect(render('<< len (until 10000) >>')).toBe('10000');
  });

  it('refuses `repeat`, `indent` and printf padding past the string limit', () => {
    expect(timed(() => render('<< repeat 1000000000 "ab" >>')).message).toMatch(
      /error calling repeat: repeat would make a string of 2000000000 characters; the template limit is 1048576/,
    );
    expect(
      timed(() => render('<< indent 900000000 "a\\nb" >>')).message,
    ).toMatch(
      /error calling indent: indent would make a string of 1800000003 characters/,
    );
    expect(timed(() => render('<< printf "%500000000d" 1 >>')).message).toMatch(
      /error calling printf: printf width would make a string of 500000000 characters/,
    );
    expect(render('<< repeat 3 "ab" >>|<< indent 2 "a\\nb" >>')).toBe(
      'ababab|  a\n  b',
    );
  });

  it('bounds what any function returns, e.g. a string doubled in a loop', () => {
    const { message } = timed(() =>
      render(
        '<< $s := "0123456789abcdef" >><< range until 30 >><< $s = print $s $s >><< end >><< len $s >>',
      ),
    );
    expect(message).toMatch(
      /error calling print: print would make a string of 2097152 characters; the template limit is 1048576/,
    );
  });

  it('bounds the total output', () => {
    const { ms, message } = timed(() =>
      render(
        '<< range until 10000 >><< range until 10000 >>xxxxxxxxxx<< end >><< end >>',
      ),
    );
    expect(ms).toBeLessThan(2500);
    expect(message).toMatch(
      /template output exceeds the limit of 4194304 characters/,
    );
  });

  it('stops at the deadline: nested ranges that would run for hours', () => {
    const { ms, message } = timed(() =>
      render(
        '<< range until 10000 >><< range until 10000 >><< range until 10000 >><< end >><< end >><< end >>',
        {
          maxListLength: 10_000,
          maxStringLength: 1 << 20,
          maxOutputLength: 4 << 20,
          timeoutMs: 300,
        },
      ),
    );
    expect(ms).toBeLessThan(1500);
    expect(message).toMatch(
      /executing "resourceset" at <.*>: template execution exceeded its time limit of 300ms/,
    );
  });

  it('runs template regexes in linear time with the Go engine: `(a+)+$` on 30 a’s and a b', () => {
    const hostile = `<< regexMatch "^(a+)+$" "${'a'.repeat(
      30,
    )}b" >>|<< regexFind "(a+)+$" "${'a'.repeat(
      5000,
    )}b" >>|<< regexReplaceAll "(a|aa)+c" "${'a'.repeat(3000)}" "x" >>`;
    const { ms } = timed(() =>
      expect(render(hostile)).toBe(`false||${'a'.repeat(3000)}`),
    );
    expect(ms).toBeLessThan(2000);
    // Go semantics kept: leftmost-first, named groups, Expand, Split.
    expect(
      render('<< regexReplaceAll "a(?P<n>x*)b" "-ab-axxb-" "${n}W" >>'),
    ).toBe('-W-xxW-');
    expect(render('<< regexFindAll "a*" "baaab" -1 >>')).toBe('[ aaa ]');
    expect(render('<< regexSplit "a*" "baaab" -1 >>')).toBe('[b b]');
  });

  it('refuses an over-long regex pattern and an over-large one, with a clear error', () => {
    const long = `<< regexMatch "${'a'.repeat(
      5000,
    )}" "a" >>|<< mustRegexMatch "${'a'.repeat(5000)}" "a" >>`;
    expect(timed(() => render(long)).message).toMatch(
      /error calling mustRegexMatch: error parsing regexp: expression too long: 5000 characters, the limit is 4096/,
    );
    expect(
      timed(() =>
        render(
          '<< regexFind "(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}(?:[a-z]{1000}){0,}" "a" >>',
        ),
      ).message,
    ).toMatch(
      // regexFind compiles with regexp.MustCompile, whose panic names the pattern
      /error calling regexFind: regexp: Compile\(`\(\?:\[a-z\]\{1000\}\)\{0,\}.*`\): error parsing regexp: expression too large/,
    );
  });

  it('refuses a template source over MAX_TEMPLATE_LENGTH', () => {
    expect(
      timed(() => render('x'.repeat(MAX_TEMPLATE_LENGTH + 1))).message,
    ).toBe(
      `template: resourceset: the template is ${
        MAX_TEMPLATE_LENGTH + 1
      } characters long; the limit is ${MAX_TEMPLATE_LENGTH}`,
    );
  });
});
