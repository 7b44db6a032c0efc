import { compileLabelSelector } from './selector';

describe('compileLabelSelector', () => {
  const labels = { app: 'web', tier: 'front' };

  it('AND-s matchLabels and matchExpressions like Selector.Matches', () => {
    const cases: Array<[Parameters<typeof compileLabelSelector>[0], boolean]> =
      [
        [undefined, true],
        [{}, true],
        [{ matchLabels: { app: 'web' } }, true],
        [{ matchLabels: { app: 'web', tier: 'back' } }, false],
        [
          {
            matchExpressions: [
              { key: 'app', operator: 'In', values: ['api', 'web'] },
            ],
          },
          true,
        ],
        [
          {
            matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }],
          },
          false,
        ],
        [
          {
            matchExpressions: [
              { key: 'app', operator: 'NotIn', values: ['web'] },
            ],
          },
          false,
        ],
        [
          {
            matchExpressions: [
              { key: 'zone', operator: 'NotIn', values: ['a'] },
            ],
          },
          true,
        ],
        [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
        [
          { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
          false,
        ],
        [
          {
            matchLabels: { app: 'web' },
            matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }],
          },
          true,
        ],
      ];
    for (const [selector, selected] of cases) {
      expect([selector, compileLabelSelector(selector)(labels)]).toEqual([
        selector,
        selected,
      ]);
    }
  });

  it('looks keys up as a Go map does, never on the prototype', () => {
    expect(
      compileLabelSelector({
        matchExpressions: [{ key: 'toString', operator: 'Exists' }],
      })({}),
    ).toBe(false);
    expect(
      compileLabelSelector({
        matchExpressions: [
          { key: 'constructor', operator: 'NotIn', values: ['x'] },
        ],
      })({}),
    ).toBe(true);
    expect(compileLabelSelector({ matchLabels: { toString: 'x' } })({})).toBe(
      false,
    );
  });

  // Texts of k8s.io/apimachinery v0.36 metav1.LabelSelectorAsSelector, checked with Go.
  it.each([
    [
      { key: 'a', operator: 'In' },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { key: 'a', operator: 'NotIn', values: [] },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { key: 'a', operator: 'Exists', values: ['x'] },
      'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
    ],
    [
      { key: 'a', operator: 'DoesNotExist', values: ['x', 'y'] },
      'values: Invalid value: ["x","y"]: values set must be empty for exists and does not exist',
    ],
    [
      { key: 'a', operator: 'Gt', values: ['1'] },
      '"Gt" is not a valid label selector operator',
    ],
    [
      { key: 'a', operator: 'in\n', values: ['1'] },
      '"in\\n" is not a valid label selector operator',
    ],
  ])('rejects %j with Go’s error', (requirement, message) => {
    expect(() =>
      compileLabelSelector({ matchExpressions: [requirement] }),
    ).toThrow(message);
  });
});
