import { LabelSelectorRequirement } from '@imageops/backstage-plugin-image-automation-common';

/** A Kubernetes label selector (`matchLabels` + `matchExpressions`). @internal */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * Compiles a label selector into a predicate, rejecting what `metav1.LabelSelectorAsSelector`
 * rejects (unknown operators, `In`/`NotIn` without values, `Exists` with values). An absent
 * selector matches everything.
 * @internal
 */
export function compileLabelSelector(selector: LabelSelector | undefined): (labels: Record<string, string>) => boolean {
  if (!selector) return () => true;
  const tests: Array<(labels: Record<string, string>) => boolean> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    tests.push(labels => labels[key] === value);
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          throw new Error(`values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty`);
        }
        tests.push(labels =>
          operator === 'In' ? key in labels && values.includes(labels[key]) : !(key in labels) || !values.includes(labels[key]),
        );
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          throw new Error(`values: Invalid value: ${JSON.stringify(values)}: values set must be empty for exists and does not exist`);
        }
        tests.push(labels => (operator === 'Exists') === key in labels);
        break;
      default:
        throw new Error(`"${operator}" is not a valid label selector operator`);
    }
  }
  return labels => tests.every(test => test(labels));
}
