import vectors from './__fixtures__/flux-policy-vectors.json';
import { applyTagFilter, compileTagFilter } from './applyTagFilter';
import { selectLatestTag } from './selectLatestTag';
import { PolicySelection } from './types';

/** Vectors write errors as `ERR: msg` (retried) or `ERR(invalid policy): msg` (Stalled). */
function expected(selection: PolicySelection): string {
  if (selection.ok) return selection.tag;
  return selection.reason === 'InvalidPolicy'
    ? `ERR(invalid policy): ${selection.message.replace(
        /^invalid policy: /,
        '',
      )}`
    : `ERR: ${selection.message}`;
}

describe('Flux conformance vectors', () => {
  describe('semver', () => {
    it.each(
      vectors.semver.map(v => [v.input.range, v.input.tags.join(' '), v]),
    )('range %j over [%s]', (_range, _tags, v) => {
      const selection = selectLatestTag({
        policy: { semver: { range: v.input.range } },
        tags: v.input.tags,
        // With no tags at all Flux stops earlier (`no tags in database`); the vector is
        // about the policer's own empty-list error, reached when a filter drops every tag.
        ...(v.input.tags.length === 0
          ? { filterTags: { pattern: '^$' }, tags: ['not-empty'] }
          : {}),
      });
      expect(expected(selection)).toBe(v.expected);
    });
  });

  describe('numerical', () => {
    it.each(
      vectors.numerical.map(v => [v.input.order, v.input.tags.join(' '), v]),
    )('%s over [%s]', (_order, _tags, v) => {
      const selection = selectLatestTag({
        policy: { numerical: { order: v.input.order } },
        tags: v.input.tags,
        ...(v.input.tags.length === 0
          ? { filterTags: { pattern: '^$' }, tags: ['not-empty'] }
          : {}),
      });
      expect(expected(selection)).toBe(v.expected);
    });
  });

  describe('alphabetical', () => {
    it.each(
      vectors.alphabetical.map(v => [v.input.order, v.input.tags.join(' '), v]),
    )('%s over [%s]', (_order, _tags, v) => {
      const selection = selectLatestTag({
        policy: { alphabetical: { order: v.input.order } },
        tags: v.input.tags,
      });
      expect(expected(selection)).toBe(v.expected);
    });
  });

  describe('filterTags', () => {
    // A vector expects an error (`ERR: msg`, a string) or the tags kept (an object).
    const rows = (refused: boolean) =>
      vectors.filterTags
        .filter(v => (typeof v.expected === 'string') === refused)
        .map(
          v =>
            [
              v.input.pattern,
              v.input.extract,
              v.input.tags.join(' '),
              v,
            ] as const,
        );

    it.each(rows(true))('pattern %j extract %j over [%s]', (_p, _e, _t, v) => {
      const compiled = compileTagFilter(v.input);
      const goError = (v.expected as string).slice(5);
      expect('error' in compiled).toBe(true);
      // The vector holds Go's regexp error; Flux wraps it with the pattern.
      expect(`ERR: ${(compiled as { error: string }).error}`).toBe(
        `ERR: invalid regular expression pattern '${v.input.pattern}': ${goError}`,
      );
      const selection = selectLatestTag({
        policy: { alphabetical: {} },
        filterTags: v.input,
        tags: v.input.tags,
      });
      expect(selection).toEqual({
        ok: false,
        reason: 'InvalidPolicy',
        stalled: true,
        message: `failed to filter tags: invalid regular expression pattern '${v.input.pattern}': ${goError}`,
      });
    });

    it.each(rows(false))('pattern %j extract %j over [%s]', (_p, _e, _t, v) => {
      const compiled = compileTagFilter(v.input);
      if ('error' in compiled) throw new Error(compiled.error);
      const filtered = applyTagFilter(compiled, v.input.extract, v.input.tags);
      expect(Object.fromEntries(filtered.originals)).toEqual(v.expected);
    });
  });
});
