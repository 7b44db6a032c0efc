/**
 * Kubernetes label selectors as the controllers compile them with
 * `metav1.LabelSelectorAsSelector` (k8s.io/apimachinery) and match them with
 * `Selector.Matches`: `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`,
 * `DoesNotExist`), all of them AND-ed, with Go's errors for an unknown operator, `In`/`NotIn`
 * without values and `Exists`/`DoesNotExist` with values.
 *
 * Not reproduced: the syntax checks of label keys and values (`validateLabelKey`,
 * `validateLabelValue`), which the API server has already applied to stored objects.
 */

import { goQuote } from '../strconv';

/** A Kubernetes `metav1.LabelSelector`. @internal */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: string;
    values?: string[];
  }>;
}

/** Whether a set of labels is selected. @internal */
export type LabelMatcher = (labels: Record<string, string>) => boolean;

/**
 * Compiles a label selector into a predicate, rejecting what `metav1.LabelSelectorAsSelector`
 * rejects, with its error text. An empty selector matches everything; so does an absent one,
 * as the Flux controllers read an absent `policySelector` or `selector` (Go's
 * `LabelSelectorAsSelector(nil)` itself would match nothing, and no caller asks for that).
 * @internal
 */
export function compileLabelSelector(
  selector: LabelSelector | undefined,
): LabelMatcher {
  if (!selector) return () => true;
  const has = (labels: Record<string, string>, key: string) =>
    Object.prototype.hasOwnProperty.call(labels, key);
  const tests: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    tests.push(labels => has(labels, key) && labels[key] === value);
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ??
    []) {
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          throw new Error(
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
          );
        }
        tests.push(labels =>
          operator === 'In'
            ? has(labels, key) && values.includes(labels[key])
            : !has(labels, key) || !values.includes(labels[key]),
        );
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          throw new Error(
            `values: Invalid value: ${JSON.stringify(
              values,
            )}: values set must be empty for exists and does not exist`,
          );
        }
        tests.push(labels => (operator === 'Exists') === has(labels, key));
        break;
      default:
        throw new Error(
          `${goQuote(operator)} is not a valid label selector operator`,
        );
    }
  }
  return labels => tests.every(test => test(labels));
}
