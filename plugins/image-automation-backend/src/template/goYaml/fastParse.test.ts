import fs from 'node:fs';
import path from 'node:path';
import { fastParseYaml } from './fastParse';
import { parseYamlDocuments } from './decode';

const CORPUS = path.resolve(
  __dirname,
  '../../../../../test/resourceset-corpus/cases',
);

/** Documents of every golden output, plus snippets at the edges of the fast subset. */
function samples(): string[] {
  const docs: string[] = [];
  for (const c of fs.readdirSync(CORPUS)) {
    const golden = path.join(CORPUS, c, 'golden.yaml');
    if (!fs.existsSync(golden)) continue;
    docs.push(
      ...fs
        .readFileSync(golden, 'utf8')
        .split(/^---\n/m)
        .filter(d => d.trim() !== '' && !d.startsWith('#')),
    );
  }
  return [
    ...docs,
    'a: 1\nb: 1.0\nc: 1e3\nd: 0x10\ne: 0777\nf: 08\ng: yes\nh: ~\ni: null\nj: 2024-01-02\nk: 12:30\nl: .5\nm: -0b101\n',
    'a: "x\\ty\\u00e9\\x41\\"q\\""\nb: \'it\'\'s\'\nc: {}\nd: []\ne:\nf: "  "\n',
    'list:\n- a\n- b: 1\n  c: 2\n- - nested\n',
    'key: |\n  line1\n\n  line3\n\nnext: x\n',
    'key: |-\n  a\n  b\nk2: |+\n  a\n\n\nk3: x\n',
    'key: |2-\n   leading\n',
    'a: b # comment\n',
    'a: b: c\n',
    'a: [1, 2]\n',
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    'a: long plain value\n  continued here\n',
    'on: x\n',
    '"quoted key": 1\n\'single\': 2\n',
    'a:\n  b:\n    c: 1\n  d:\n  - 1\n  - 2\ne: 3\n',
    'a: 1\na: 2\n',
    'x: y\n  bad: indent\n',
    '- a\n- b\n',
    'plain text\n',
    'a: "unterminated\n',
    "a: 'it's'\n",
    'a:\tb\n',
    'a: x\n   \nb: y\n',
    'url: oci://ghcr.io/x:1\ntime: 10:00:00\nneg: -1\nplus: +1\nsci: 6.02e23\n',
  ];
}

describe('fastParseYaml', () => {
  it.each(samples().map(s => [s.slice(0, 60), s] as const))(
    'agrees with the full parser or defers: %j',
    (_name, text) => {
      const fast = fastParseYaml(text);
      if (fast === undefined) return;
      expect(fast).toEqual(parseYamlDocuments(text)[0]);
    },
  );

  it('takes the fast path for typical rendered objects', () => {
    expect(
      fastParseYaml(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "1"\n',
      ),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      data: { a: '1' },
    });
  });
});
