import fs from 'node:fs';
import { VECTORS_FILE } from '../golib/__testUtils__/vectors';
import { parseJson } from '../golib/json';
import { GoValue } from '../golib/reflect';
import { renderTemplate, RESOURCESET_DELIMS, slugify } from './index';

/** The shared conformance vectors, read with the Flux Operator's number rules. */
function loadVectors(): Record<string, any> {
  const file = VECTORS_FILE;
  return parseJson(fs.readFileSync(file, 'utf8'), 'preserve') as Record<
    string,
    any
  >;
}

const vectors = loadVectors();

describe('template vectors (flux-behaviour.md §E.3)', () => {
  const cases: {
    inputs: Record<string, GoValue> | null;
    template: string;
    expected?: string;
    error?: string;
  }[] = vectors.template;

  it.each(cases.map(c => [c.template, c] as const))('%s', (_name, c) => {
    const render = () =>
      renderTemplate({
        name: 'resourceset',
        text: c.template,
        delims: RESOURCESET_DELIMS,
        funcs: 'resourceset',
        inputs: c.inputs ?? {},
      });
    if (c.error !== undefined) {
      expect(render).toThrow(c.error);
      expect(() => render()).toThrow(
        expect.objectContaining({ message: c.error }),
      );
    } else {
      expect(render()).toBe(c.expected);
    }
  });
});

const pairs = (
  list: { input: string; expected: string }[],
): [string, string][] => list.map(v => [v.input, v.expected]);

describe('slugify vectors', () => {
  it.each(pairs(vectors.slugify))('%j → %j', (input, expected) => {
    expect(slugify(input)).toBe(expected);
  });
});

