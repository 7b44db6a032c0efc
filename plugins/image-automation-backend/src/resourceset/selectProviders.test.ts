import { selectProviders } from './selectProviders';
import { InputProvider } from './types';

const rsip = (name: string, labels: Record<string, string>): InputProvider => ({
  apiVersion: 'fluxcd.controlplane.io/v1',
  kind: 'ResourceSetInputProvider',
  name,
  namespace: 'apps',
  labels,
  inputs: [],
});

describe('selectProviders', () => {
  const candidates = [
    rsip('a', { team: 'x' }),
    rsip('b', { team: 'y' }),
    rsip('c', {}),
  ];

  it('selects by name and by label selector, each provider once, in reference order', () => {
    const selected = selectProviders(
      'apps',
      [
        { name: 'b' },
        {
          selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
        },
        {
          selector: {
            matchExpressions: [
              { key: 'team', operator: 'NotIn', values: ['x'] },
            ],
          },
        },
      ],
      candidates,
    );
    expect(selected.map(p => p.name)).toEqual(['b', 'a', 'c']);
  });

  it('rejects an invalid selector as metav1.LabelSelectorAsSelector does, also with no candidates', () => {
    expect(() =>
      selectProviders(
        'apps',
        [
          {
            selector: { matchExpressions: [{ key: 'team', operator: 'Has' }] },
          },
        ],
        [],
      ),
    ).toThrow(
      'failed to parse selector: "Has" is not a valid label selector operator',
    );
    expect(() =>
      selectProviders(
        'apps',
        [
          {
            selector: {
              matchExpressions: [{ key: 'team', operator: 'In', values: [] }],
            },
          },
        ],
        candidates,
      ),
    ).toThrow(
      "failed to parse selector: values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    );
  });
});
