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

describe('template vectors (Go text/template, sprig and the Flux Operator functions)', () => {
  const cases: {
    inputs: Record<string, GoValue> | null;
    template: string;
    expected?: string;
    error?: string;
  }[] = vectors.template;

  const render = (c: (typeof cases)[number]) =>
    renderTemplate({
      name: 'resourceset',
      text: c.template,
      delims: RESOURCESET_DELIMS,
      funcs: 'resourceset',
      inputs: c.inputs ?? {},
    });
  // A vector expects the Flux Operator's error, or the text rendered.
  const refused = cases.filter(c => c.error !== undefined);
  const rendered = cases.filter(c => c.error === undefined);

  it.each(refused.map(c => [c.template, c] as const))('%s', (_name, c) => {
    expect(() => render(c)).toThrow(c.error);
    expect(() => render(c)).toThrow(
      expect.objectContaining({ message: c.error }),
    );
  });

  it.each(rendered.map(c => [c.template, c] as const))('%s', (_name, c) => {
    expect(render(c)).toBe(c.expected);
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
