import fs from 'node:fs';
import path from 'node:path';
import { VECTORS_FILE } from '../__testUtils__/vectors';
import { GoValue } from '../reflect';
import { fastParseYaml } from './fastParse';
import { parseYaml, parseYamlDocuments } from './decode';

/*
 * The fast reader's contract (fastParse.ts): inside its simple block subset it returns exactly
 * what the full parser (go-yaml v2 rules) returns; outside it, it returns `undefined` so that
 * `parseYaml` falls back to the full parser. Every case below states which side of that line
 * it is on and asserts it, so no case can pass without checking something.
 */

const CORPUS = path.resolve(
  __dirname,
  '../../../../../test/resourceset-corpus/cases',
);

/**
 * Golden documents (rendered by the Flux Operator) that the fast reader is expected to leave to
 * the full parser, and why. Every other golden document must take the fast path.
 */
const CORPUS_DEFERS: Record<string, string> = {
  '06-nested-inputs-toyaml#1':
    'a plain scalar folded onto a deeper continuation line',
  '08-steps#1': 'a trailing `# step:` comment line',
  '09-steps-noinputs#1': 'a trailing `# step:` comment line',
  '24-yaml-quoting#0':
    'folded multi-line scalars and a `|2-` indentation indicator',
  '35-multiline-block-values#0':
    'a literal block line starting with `#` (`#!/bin/sh`)',
};

function corpusDocuments(): [string, string][] {
  const out: [string, string][] = [];
  for (const c of fs.readdirSync(CORPUS).sort()) {
    const golden = path.join(CORPUS, c, 'golden.yaml');
    if (!fs.existsSync(golden)) continue;
    fs.readFileSync(golden, 'utf8')
      .split(/^---\n/m)
      .filter(d => d.trim() !== '' && !d.startsWith('#'))
      .forEach((d, i) => out.push([`${c}#${i}`, d]));
  }
  return out;
}

/** In-subset snippets: the fast reader must return `expected` (go-yaml v2 resolution). */
const FAST: [string, GoValue][] = [
  [
    'a: 1\nb: 1.0\nc: 1e3\nd: 0x10\ne: 0777\nf: 08\ng: yes\nh: ~\ni: null\nj: 2024-01-02\nk: 12:30\nl: .5\nm: -0b101\n',
    {
      a: 1n,
      b: 1n,
      c: 1000n,
      d: 16n,
      e: 511n,
      f: 8n,
      g: true,
      h: null,
      i: null,
      j: '2024-01-02',
      k: '12:30',
      l: 0.5,
      m: -5n,
    },
  ],
  [
    'a: "x\\ty\\u00e9\\x41\\"q\\""\nb: \'it\'\'s\'\nc: {}\nd: []\ne:\nf: "  "\n',
    { a: 'x\tyéA"q"', b: "it's", c: {}, d: [], e: null, f: '  ' },
  ],
  [
    'key: |\n  line1\n\n  line3\n\nnext: x\n',
    { key: 'line1\n\nline3\n', next: 'x' },
  ],
  [
    'key: |-\n  a\n  b\nk2: |+\n  a\n\n\nk3: x\n',
    { key: 'a\nb', k2: 'a\n\n\n', k3: 'x' },
  ],
  ['"quoted key": 1\n\'single\': 2\n', { 'quoted key': 1n, single: 2n }],
  [
    'a:\n  b:\n    c: 1\n  d:\n  - 1\n  - 2\ne: 3\n',
    { a: { b: { c: 1n }, d: [1n, 2n] }, e: 3n },
  ],
  ['- a\n- b\n', ['a', 'b']],
  [
    'url: oci://ghcr.io/x:1\ntime: 10:00:00\nneg: -1\nplus: +1\nsci: 6.02e23\n',
    {
      url: 'oci://ghcr.io/x:1',
      time: '10:00:00',
      neg: -1n,
      plus: 1n,
      sci: 6.02e23,
    },
  ],
  [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "1"\n',
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      data: { a: '1' },
    },
  ],
];

/** Valid YAML outside the subset: the fast reader must defer; `parseYaml` still gives `expected`. */
const DEFERS: [string, string, GoValue][] = [
  [
    'list:\n- a\n- b: 1\n  c: 2\n- - nested\n',
    'a sequence directly inside a sequence entry',
    { list: ['a', { b: 1n, c: 2n }, ['nested']] },
  ],
  ['key: |2-\n   leading\n', 'an indentation indicator', { key: ' leading' }],
  ['a: b # comment\n', 'a trailing comment', { a: 'b' }],
  ['a: [1, 2]\n', 'a flow sequence', { a: [1n, 2n] }],
  ['a: &x 1\nb: *x\n', 'an anchor and alias', { a: 1n, b: 1n }],
  ['a: !!str 1\n', 'an explicit tag', { a: '1' }],
  [
    'a: long plain value\n  continued here\n',
    'a folded plain scalar',
    { a: 'long plain value continued here' },
  ],
  ['on: x\n', 'a key that resolves to a bool', { true: 'x' }],
  ['a: 1\na: 2\n', 'a duplicate key', { a: 2n }],
  ['plain text\n', 'a top-level scalar', 'plain text'],
  ['a:\tb\n', 'a tab', { a: 'b' }],
  ['a: x\n   \nb: y\n', 'a whitespace-only line', { a: 'x', b: true }],
];

/** Invalid YAML: the fast reader must not accept it; `parseYaml` reports go-yaml's error. */
const INVALID: [string, string][] = [
  ['a: b: c\n', 'yaml: line 1: mapping values are not allowed in this context'],
  [
    'x: y\n  bad: indent\n',
    'yaml: line 1: mapping values are not allowed in this context',
  ],
  ['a: "unterminated\n', 'yaml: line 2: found unexpected end of stream'],
  ["a: 'it's'\n", 'yaml: line 1: did not find expected key'],
];

describe('fastParseYaml', () => {
  it.each(corpusDocuments())(
    'golden document %s: fast path agrees with the full parser, or defers where expected',
    (name, text) => {
      expect.assertions(3);
      const full = parseYamlDocuments(text);
      expect(full).toHaveLength(1);
      // Deferring documents must give undefined; all others must give exactly the full result.
      expect(fastParseYaml(text)).toEqual(
        Object.hasOwn(CORPUS_DEFERS, name) ? undefined : full[0],
      );
      expect(parseYaml(text)).toEqual(full[0]);
    },
  );

  it('lists only golden documents that exist', () => {
    const names = new Set(corpusDocuments().map(([n]) => n));
    expect(Object.keys(CORPUS_DEFERS).filter(n => !names.has(n))).toEqual([]);
  });

  it.each(FAST.map(([text, expected]) => [text.slice(0, 60), text, expected]))(
    'reads %j on the fast path',
    (_name, text, expected) => {
      expect.assertions(3);
      expect(fastParseYaml(text)).toEqual(expected);
      expect(parseYaml(text)).toEqual(expected);
      expect(parseYamlDocuments(text)).toEqual([expected]);
    },
  );

  it.each(DEFERS)(
    'defers %j (%s) to the full parser',
    (text, _why, expected) => {
      expect.assertions(3);
      expect(fastParseYaml(text)).toBeUndefined();
      expect(parseYaml(text)).toEqual(expected);
      expect(parseYamlDocuments(text)).toEqual([expected]);
    },
  );

  it.each(INVALID)('does not accept invalid %j', (text, message) => {
    expect.assertions(3);
    expect(fastParseYaml(text)).toBeUndefined();
    expect(() => parseYaml(text)).toThrow(message);
    expect(() => parseYamlDocuments(text)).toThrow(message);
  });

  it.each(
    (
      JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8'))
        .jsonToYamlTemplateText as { json: GoValue; expectedYaml: string }[]
    ).map(v => [v.expectedYaml.slice(0, 60), v.expectedYaml, v.json]),
  )(
    'reads the Go-emitted template text %j on the fast path',
    (_n, text, json) => {
      expect.assertions(2);
      expect(fastParseYaml(text)).toEqual(json);
      expect(parseYaml(text)).toEqual(json);
    },
  );
});
