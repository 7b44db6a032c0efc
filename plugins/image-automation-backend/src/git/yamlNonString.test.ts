import { loadVectors } from '../golib/__testUtils__/vectors';
import { isYaml11NonString, needsQuoting } from './yamlNonString';

describe('setter quoting', () => {
  const vectors = loadVectors().setterQuoting as Array<{
    value: string;
    yaml11NonString: boolean;
  }>;

  it.each(vectors.map(v => [v.value, v.yaml11NonString]))(
    'go-yaml v2 judges %j non-string: %s',
    (value, expected) => {
      expect(isYaml11NonString(value as string)).toBe(expected);
    },
  );

  // Checked with go-yaml v2 (sigs.k8s.io/yaml/goyaml.v2 Unmarshal into interface{}).
  it.each([
    ['1e400', false],
    ['.5e400', false],
    ['.5_0', true],
    ['.5', true],
    ['1_000', true],
    ['0b101', true],
    ['-0b2', false],
    ['99999999999999999999', true],
    ['2024-06-27', false],
    ['<<', false],
  ])('resolves %j as go-yaml v2 does (non-string: %s)', (value, expected) => {
    expect(isYaml11NonString(value as string)).toBe(expected);
  });

  it('quotes every value Flux quotes', () => {
    const nonStrings = vectors.filter(v => v.yaml11NonString).map(v => v.value);
    expect(nonStrings.filter(value => !needsQuoting(value))).toEqual([]);
  });

  it.each(['2024-06-27', '2024-06-27T10:00:00Z', '12:30', '1:20:30'])(
    'also quotes %j, which YAML 1.1/1.2 readers take for a date or a number',
    value => expect(needsQuoting(value)).toBe(true),
  );

  it.each([
    '1.2.3',
    'v1.0.0',
    'latest',
    'sha256:abc',
    'abc123',
    '123abc',
    'NaN',
    'Infinity',
    'ghcr.io/a/b:1.0.0',
  ])('leaves %j plain', value => expect(needsQuoting(value)).toBe(false));
});
