/**
 * Kubernetes label selectors (`k8s.io/apimachinery` `labels` with
 * `metav1.LabelSelectorAsSelector`).
 *
 * @packageDocumentation
 */

export { compileLabelSelector } from './selector';
export type { LabelMatcher, LabelSelector } from './selector';
