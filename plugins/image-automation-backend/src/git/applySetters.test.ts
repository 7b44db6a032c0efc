import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';
import { applySetters } from './applySetters';

const policies = new Map<string, ImageRef | undefined>([
  ['p', { name: 'ghcr.io/acme/app', tag: '1.1.0' }],
  ['d', { name: 'ghcr.io/acme/app', tag: '1.1.0', digest: 'sha256:abc' }],
  ['pending', undefined],
  ['numeric', { name: 'app', tag: '1.10' }],
  ['date', { name: 'app', tag: '2024-06-27' }],
]);

function apply(text: string) {
  return applySetters({ file: 'f.yaml', text, namespace: 'ns', policies });
}

const M = '{"$imagepolicy": "ns:p"}';

describe('marker attachment (C.4)', () => {
  it.each([
    [
      'a mapping value line comment',
      `image: app:1 # ${M}\n`,
      `image: ghcr.io/acme/app:1.1.0 # ${M}\n`,
    ],
    [
      'a sequence item line comment',
      `- app:1 # ${M}\n`,
      `- ghcr.io/acme/app:1.1.0 # ${M}\n`,
    ],
    [
      'a comment above a sequence item',
      `args:\n  # ${M}\n  - app:1\n`,
      `args:\n  # ${M}\n  - ghcr.io/acme/app:1.1.0\n`,
    ],
    [
      'a double-quoted value',
      `image: "app:1" # ${M}\n`,
      `image: "ghcr.io/acme/app:1.1.0" # ${M}\n`,
    ],
    [
      'a single-quoted value',
      `image: 'app:1' # ${M}\n`,
      `image: 'ghcr.io/acme/app:1.1.0' # ${M}\n`,
    ],
    [
      'several leading #',
      `image: app:1 ### ${M}\n`,
      `image: ghcr.io/acme/app:1.1.0 ### ${M}\n`,
    ],
    [
      'extra string keys',
      `image: app:1 # {"$imagepolicy": "ns:p", "note": "x"}\n`,
      `image: ghcr.io/acme/app:1.1.0 # {"$imagepolicy": "ns:p", "note": "x"}\n`,
    ],
    [
      'a value in a sequence of mappings',
      `- name: c\n  image: app:1 # ${M}\n`,
      `- name: c\n  image: ghcr.io/acme/app:1.1.0 # ${M}\n`,
    ],
    // kyaml applies these too (test/src/flux/gitSetters.test.ts, flow-collection-comments); in a flow collection `name:tag` is quoted.
    [
      'an item of a flow sequence spanning lines, after its comma',
      `images: [\n  app:1, # ${M}\n]\n`,
      `images: [\n  "ghcr.io/acme/app:1.1.0", # ${M}\n]\n`,
    ],
    [
      'an item of a flow sequence below a marker line',
      `images: [\n  # ${M}\n  app:1\n]\n`,
      `images: [\n  # ${M}\n  "ghcr.io/acme/app:1.1.0"\n]\n`,
    ],
    [
      'a value of a flow mapping spanning lines',
      `image: {\n  ref: app:1 # ${M}\n}\n`,
      `image: {\n  ref: "ghcr.io/acme/app:1.1.0" # ${M}\n}\n`,
    ],
  ])('updates %s', (_case, before, after) => {
    expect(apply(before).text).toBe(after);
  });

  it.each([
    [
      'a comment above a mapping value (it belongs to the key)',
      `# ${M}\nimage: app:1\n`,
    ],
    [
      'a comment after the key with the value on the next line',
      `image: # ${M}\n  app:1\n`,
    ],
    ['a flow sequence', `images: [app:1] # ${M}\n`],
    [
      'a flow mapping value before the closing brace on its line',
      `image: {ref: app:1} # ${M}\n`,
    ],
    [
      'a comment above a key of a flow mapping',
      `image: {\n  # ${M}\n  ref: app:1\n}\n`,
    ],
    ['a key', `? app:1 # ${M}\n: x\n`],
    ['a mapping', `image: # ${M}\n  a: b\n`],
    ['trailing text after the JSON', `image: app:1 # ${M} # note\n`],
    [
      'a non-string JSON value',
      `image: app:1 # {"$imagepolicy": "ns:p", "n": 1}\n`,
    ],
    ['a block scalar body', `script: |\n  echo app:1 # ${M}\n`],
    [
      'a head comment when a non-marker line comment exists',
      `# ${M}\n- app:1 # note\n`,
    ],
    ['a multi-line head comment', `# note\n# ${M}\n- app:1\n`],
  ])('does not update %s', (_case, text) => {
    const result = apply(text);
    expect(result.text).toBeUndefined();
    expect(result.changes).toEqual([]);
  });

  it('changes nothing when the value is already current, and still reports the marker', () => {
    expect(apply(`image: ghcr.io/acme/app:1.1.0 # ${M}\n`)).toEqual({
      changes: [],
      warnings: [],
      markers: [
        {
          file: 'f.yaml',
          line: 1,
          setter: 'ns:p',
          policy: 'p',
          value: 'ghcr.io/acme/app:1.1.0',
        },
      ],
    });
  });

  it('leaves the markers of held policies alone, silently, and moves the others', () => {
    const text = `a: app:1 # ${M}\nb: app:1 # {"$imagepolicy": "ns:numeric"}\nc: x # {"$imagepolicy": "other:p"}\n`;
    const result = applySetters({
      file: 'f.yaml',
      text,
      namespace: 'ns',
      policies,
      held: new Set(['p']),
    });
    expect(result.text).toBe(
      `a: app:1 # ${M}\nb: app:1.10 # {"$imagepolicy": "ns:numeric"}\nc: x # {"$imagepolicy": "other:p"}\n`,
    );
    expect(result.changes.map(c => c.setter)).toEqual(['ns:numeric']);
    expect(result.markers.map(m => [m.line, m.policy, m.value])).toEqual([
      [1, 'p', 'app:1'],
      [2, 'numeric', 'app:1'],
      [3, undefined, 'x'],
    ]);
    // A marker of another namespace is still reported as not applied; a held one is not.
    expect(result.warnings.map(w => w.line)).toEqual([3]);
  });
});

describe('setter forms and values (C.3)', () => {
  it('writes tag, name and digest forms and records each change with its object', () => {
    const text = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: web, namespace: apps}',
      'spec:',
      '  name: x # {"$imagepolicy": "ns:p:name"}',
      '  tag: "0" # {"$imagepolicy": "ns:p:tag"}',
      '  digest: none # {"$imagepolicy": "ns:d:digest"}',
      '  full: x # {"$imagepolicy": "ns:d"}',
      '',
    ].join('\n');
    const result = apply(text);
    expect(result.text).toBe(
      text
        .replace('name: x', 'name: ghcr.io/acme/app')
        .replace('tag: "0"', 'tag: "1.1.0"')
        .replace('digest: none', 'digest: sha256:abc')
        .replace('full: x', 'full: ghcr.io/acme/app:1.1.0@sha256:abc'),
    );
    expect(
      result.changes.map(c => [c.line, c.setter, c.oldValue, c.newValue]),
    ).toEqual([
      [5, 'ns:p:name', 'x', 'ghcr.io/acme/app'],
      [6, 'ns:p:tag', '0', '1.1.0'],
      [7, 'ns:d:digest', 'none', 'sha256:abc'],
      [8, 'ns:d', 'x', 'ghcr.io/acme/app:1.1.0@sha256:abc'],
    ]);
    expect(result.changes[0].object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      namespace: 'apps',
    });
  });

  it('quotes values YAML would not read as strings, including dates (Flux leaves those plain)', () => {
    expect(apply('tag: v1 # {"$imagepolicy": "ns:numeric:tag"}\n').text).toBe(
      'tag: "1.10" # {"$imagepolicy": "ns:numeric:tag"}\n',
    );
    expect(apply('tag: v1 # {"$imagepolicy": "ns:date:tag"}\n').text).toBe(
      'tag: "2024-06-27" # {"$imagepolicy": "ns:date:tag"}\n',
    );
    expect(
      apply('tag: \'v1\' # {"$imagepolicy": "ns:numeric:tag"}\n').text,
    ).toBe('tag: \'1.10\' # {"$imagepolicy": "ns:numeric:tag"}\n');
  });
});

describe('reporting instead of skipping silently', () => {
  it('warns, with file and line, about markers that cannot be applied', () => {
    const text = [
      'a: x # {"$imagepolicy": "other:p"}',
      'b: x # {"$imagepolicy": "ns:missing"}',
      'c: x # {"$imagepolicy": "ns:pending"}',
      'd: x # {"$imagepolicy": "ns:p:digest"}',
      'e: x # {"$imagepolicy": "ns:p:size"}',
      '',
    ].join('\n');
    const result = apply(text);
    expect(result.text).toBeUndefined();
    expect(result.warnings.map(w => [w.file, w.line])).toEqual([
      ['f.yaml', 1],
      ['f.yaml', 2],
      ['f.yaml', 3],
      ['f.yaml', 4],
      ['f.yaml', 5],
    ]);
    expect(result.warnings[0].message).toContain("namespace 'other'");
    expect(result.warnings[1].message).toContain("'missing'");
    expect(result.warnings[2].message).toContain(
      'has not selected an image yet',
    );
    expect(result.warnings[3].message).toContain('has no digest');
  });

  it('reports a marked file that does not parse', () => {
    const result = apply(`a: [b\nimage: app:1 # ${M}\n`);
    expect(result.text).toBeUndefined();
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0].message).toMatch(
      /^not updated: the file does not parse as YAML/,
    );
  });
});

describe('in-place editing', () => {
  it('changes only the marked value of a file with Helm template text, comments, block scalars and flow style', () => {
    const before = [
      '# A chart-like file',
      'apiVersion: apps/v1   # odd spacing kept',
      'kind: Deployment',
      'metadata:',
      '    name: {{ .Values.name }}',
      '    labels: {app: web,   tier: "front"}',
      'spec:',
      '    template:',
      '        spec:',
      '            containers:',
      '              -   name: web',
      '                  image: ghcr.io/acme/app:1.0.0     # {"$imagepolicy": "ns:p"}',
      '                  args: [--port, "8080"]',
      '                  command:',
      '                    - sh',
      '                    - -c',
      '                    - |',
      '                      echo trailing spaces   ',
      '                      exit 0',
      '',
      '',
      '---',
      '# second document untouched',
      'x: 1',
      '',
    ].join('\r\n');
    const result = apply(before);
    const expected = before.replace(
      'ghcr.io/acme/app:1.0.0     #',
      'ghcr.io/acme/app:1.1.0     #',
    );
    expect(result.text).toBe(expected);
    expect(result.changes).toHaveLength(1);
  });
});
