import { ExportedInput } from './exportedInputs';

/**
 * Whether an input matches one of `spec.skip.labels`: `label` when the input has that label,
 * `!label` when it does not.
 */
function matchesSkipRule(
  rules: readonly string[],
  labels: readonly string[],
): boolean {
  return rules.some(rule =>
    rule.startsWith('!')
      ? !labels.includes(rule.slice(1))
      : labels.includes(rule),
  );
}

/**
 * `spec.skip.labels` for pull/merge request providers: an input that matches a skip rule keeps
 * the values it was last exported with (frozen), or is left out if it was not exported before.
 * Inputs are matched with the previous ones by `id`; their `labels` key holds the labels.
 * @internal
 */
export function applySkipRules(
  rules: readonly string[] | undefined,
  inputs: ReadonlyArray<ExportedInput>,
  previous: ReadonlyArray<ExportedInput> | undefined,
): ExportedInput[] {
  if (!rules || rules.length === 0) return [...inputs];
  const before = new Map(
    (previous ?? []).map(input => [String(input.id), input]),
  );
  const out: ExportedInput[] = [];
  for (const input of inputs) {
    const labels = Array.isArray(input.labels) ? input.labels.map(String) : [];
    if (!matchesSkipRule(rules, labels)) {
      out.push(input);
      continue;
    }
    const frozen = before.get(String(input.id));
    if (frozen) out.push(frozen);
  }
  return out;
}
