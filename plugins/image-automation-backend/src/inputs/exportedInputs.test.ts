import { parseYaml } from '../golib/yaml';
import { loadVectors } from '../golib/__testUtils__/vectors';
import {
  artifactTagInputs,
  inputId,
  staticInput,
  withDefaultValues,
} from './exportedInputs';
import { exportedRevision } from './exportedRevision';
import { applySkipRules } from './skipInputs';

const revisionVectors = loadVectors().revisions.filter(
  (v: any) =>
    v.what.startsWith('ResourceSetInputProvider') ||
    v.what === 'same (GitLabTag)',
);

describe('exported inputs', () => {
  it('has the revision vectors for providers', () => {
    expect(revisionVectors).toHaveLength(2);
  });

  it.each(revisionVectors.map((v: any) => [v.expected, v.yaml]))(
    'gives lastExportedRevision %s for the vector inputs',
    (expected: string, yaml: string) => {
      const inputs = parseYaml(yaml) as Array<Record<string, unknown>>;
      expect(exportedRevision(inputs)).toBe(expected);
    },
  );

  it('exports an OCI tag as the upstream test does (id, tag, digest) with its revision', () => {
    const inputs = artifactTagInputs([
      {
        tag: '6.0.4',
        digest:
          'sha256:d4ec9861522d4961b2acac5a070ef4f92d732480dff2062c2f3a1dcf9a5d1e91',
      },
    ]);
    expect(inputs).toEqual([
      {
        id: '48955639',
        tag: '6.0.4',
        digest:
          'sha256:d4ec9861522d4961b2acac5a070ef4f92d732480dff2062c2f3a1dcf9a5d1e91',
      },
    ]);
    expect(exportedRevision(inputs)).toBe(
      'sha256:b7d3334b3411cccf4c9c08b328ec7ae141fcda58e45e1e3d098f59791c033ced',
    );
  });

  it('ids are the decimal Adler-32 of the text', () => {
    expect(inputId('foo')).toBe('42074437');
    expect(inputId('main')).toBe('68878758');
    expect(staticInput('apps', 'team1-apps')).toEqual({
      id: inputId('apps/team1-apps'),
    });
  });

  it('merges default values only into keys an input lacks', () => {
    const merged = withDefaultValues(
      [
        { id: '1', tag: '6.0.4' },
        { id: '2', tag: '6.0.3', env: 'prod' },
      ],
      { env: 'staging', tag: 'ignored', replicas: 2, nested: { a: [1, 'x'] } },
    );
    expect(merged).toEqual([
      {
        env: 'staging',
        id: '1',
        nested: { a: [1, 'x'] },
        replicas: 2,
        tag: '6.0.4',
      },
      {
        env: 'prod',
        id: '2',
        nested: { a: [1, 'x'] },
        replicas: 2,
        tag: '6.0.3',
      },
    ]);
    // YAML 1.1 quoting and sorted keys make the revision independent of key order.
    expect(exportedRevision([{ b: 'yes', a: '1' }])).toBe(
      exportedRevision([{ a: '1', b: 'yes' }]),
    );
    expect(exportedRevision([{ a: 'yes' }])).not.toBe(
      exportedRevision([{ a: true }]),
    );
  });
});

describe('skip rules', () => {
  const previous = [{ id: '1', sha: 'old', labels: ['hold'] }];

  it('freezes an exported input that matches a rule and leaves out a new one', () => {
    const inputs = [
      { id: '1', sha: 'new', labels: ['hold'] },
      { id: '2', sha: 'b', labels: ['hold'] },
      { id: '3', sha: 'c', labels: ['deploy'] },
    ];
    expect(applySkipRules(['hold'], inputs, previous)).toEqual([
      previous[0],
      inputs[2],
    ]);
  });

  it('`!label` skips inputs without the label (an input without labels included)', () => {
    const inputs = [
      { id: '1', sha: 'new' },
      { id: '4', sha: 'd', labels: ['deploy'] },
    ];
    expect(applySkipRules(['!deploy'], inputs, previous)).toEqual([
      previous[0],
      inputs[1],
    ]);
  });

  it('keeps everything without rules', () => {
    const inputs = [{ id: '1', sha: 'new', labels: ['hold'] }];
    expect(applySkipRules(undefined, inputs, previous)).toEqual(inputs);
    expect(applySkipRules([], inputs, previous)).toEqual(inputs);
  });
});
