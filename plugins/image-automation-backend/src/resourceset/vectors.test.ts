import fs from 'node:fs';
import { VECTORS_FILE } from '../golib/__testUtils__/vectors';
import { parseJson } from '../golib/json';
import { GoValue } from '../golib/reflect';
import {
  combineInputs,
  jsonToYamlTemplateText,
  normalizeKeyForTemplate,
} from './index';

const vectors = parseJson(
  fs.readFileSync(VECTORS_FILE, 'utf8'),
  'preserve',
) as Record<string, any>;

describe('normalizeKeyForTemplate vectors', () => {
  const cases: [string, string][] = vectors.normalizeKeyForTemplate.map(
    (v: any) => [v.input, v.expected],
  );
  it.each(cases)('%j → %j', (input, expected) => {
    expect(normalizeKeyForTemplate(input)).toBe(expected);
  });

  it('drops symbols and non-ASCII letters but turns punctuation into separators', () => {
    expect(normalizeKeyForTemplate('a+b$c<d=e>f^g|h~i')).toBe('abcdefghi');
    expect(normalizeKeyForTemplate('Ünï-cödé')).toBe('n_cd');
  });
});

describe('jsonToYamlTemplateText vectors', () => {
  const cases: [string, GoValue, string][] = vectors.jsonToYamlTemplateText.map(
    (v: any) => [JSON.stringify(v.json), v.json, v.expectedYaml],
  );
  it.each(cases)('%s', (_name, json, expected) => {
    expect(jsonToYamlTemplateText(json)).toBe(expected);
  });
});

describe('combineInputs (vectors from the Flux Operator builder tests)', () => {
  const rset = {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSet',
    name: 'rset',
    namespace: 'default',
    inputs: [{ id: '42074437' }, { id: '39649590' }],
  };
  const rsip = {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSetInputProvider',
    name: 'rsip',
    namespace: 'default',
    inputs: [{ id: '40173886' }],
  };

  it('Flatten keeps provider order and injects the provider key', () => {
    const out = combineInputs({ resourceSet: rset, providers: [rsip] });
    expect(out.map(i => (i.provider as any).kind)).toEqual([
      'ResourceSet',
      'ResourceSet',
      'ResourceSetInputProvider',
    ]);
    expect(out.map(i => i.id)).toEqual(['42074437', '39649590', '40173886']);
  });

  it('Permute gives adler32 ids of "rset=i/rsip=j" with the first provider outermost', () => {
    const out = combineInputs({
      resourceSet: rset,
      providers: [rsip],
      strategy: 'Permute',
    });
    expect(out.map(i => i.id)).toEqual(['563152006', '563676295']);
    expect((out[1].rset as any).id).toBe('39649590');
    expect((out[1].rsip as any).provider.name).toBe('rsip');
    expect(out[0].provider).toBeUndefined();
  });

  it('skips empty providers unless includeEmptyProviders, which empties the product', () => {
    const empty = { ...rsip, name: 'empty', inputs: [] };
    expect(
      combineInputs({
        resourceSet: rset,
        providers: [empty],
        strategy: 'Permute',
      }),
    ).toHaveLength(2);
    expect(
      combineInputs({
        resourceSet: rset,
        providers: [empty],
        strategy: 'Permute',
        includeEmptyProviders: true,
      }),
    ).toEqual([]);
  });

  it('sorts providers by GVK, namespace and name', () => {
    const b = { ...rsip, name: 'b', inputs: [{ v: 'b' }] };
    const a = { ...rsip, name: 'a', inputs: [{ v: 'a' }] };
    const z = { ...rsip, name: 'z', namespace: 'aaa', inputs: [{ v: 'z' }] };
    expect(
      combineInputs({
        resourceSet: { ...rset, inputs: [] },
        providers: [b, a, z],
      }).map(i => i.v),
    ).toEqual(['z', 'a', 'b']);
  });

  it('caps the product at 10000 permutations with the Flux Operator message', () => {
    const many = (name: string, n: number) => ({
      ...rsip,
      name,
      inputs: Array.from({ length: n }, (_, i) => ({ i: BigInt(i) })),
    });
    expect(() =>
      combineInputs({
        resourceSet: { ...rset, inputs: [] },
        providers: [many('p1', 100), many('p2', 101)],
        strategy: 'Permute',
      }),
    ).toThrow(
      "failed to get inputs from ResourceSetInputProvider/p2: adding provider 'p2' with 101 inputs would exceed the maximum allowed permutations. max: 10000, got: 10100",
    );
  });

  it('rejects a provider whose name normalises to nothing', () => {
    expect(() =>
      combineInputs({
        resourceSet: { ...rset, name: '__' },
        providers: [],
        strategy: 'Permute',
      }),
    ).toThrow(
      "failed to get inputs from ResourceSet/__: normalized provider name is empty: '__'",
    );
  });

  it('rejects unknown strategies', () => {
    expect(() =>
      combineInputs({ resourceSet: rset, providers: [], strategy: 'Zip' }),
    ).toThrow("unknown input strategy: 'Zip'");
  });
});
