import { FormEvent, ReactNode, useId, useMemo, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Flex,
  Radio,
  RadioGroup,
  Text,
  TextField,
} from '@backstage/ui';
import {
  AutomationObjectView,
  PolicyExplanation,
  REASONS,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { errorMessage } from '../errorMessage';
import { formOf, PolicyForm, PolicyOrdering, specOf } from './policyForm';
import { TagVerdictTable, VerdictFilterBar } from './TagVerdictTable';
import {
  countOf,
  diffVerdicts,
  filterVerdicts,
  summarizeExplanation,
  VerdictFilter,
} from './verdicts';

/** What the last Preview computed: both selections over the same stored tags. */
interface PreviewResult {
  spec: Record<string, unknown>;
  current: PolicyExplanation;
  proposed: PolicyExplanation;
}

/**
 * The ImagePolicy "what if": edit the ordering (semver range, alphabetical or numerical order)
 * and filterTags, press Preview, and see the current selection, the proposed one and the
 * difference, with every tag's verdict under the proposed policy. Nothing is saved: the
 * backend evaluates the edited spec against the stored tags.
 * @internal
 */
export function PolicyPreview(props: { policy: AutomationObjectView }) {
  const { policy } = props;
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const [form, setForm] = useState<PolicyForm>(() => formOf(policy.spec));
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<PreviewResult>();
  const edit = (change: Partial<PolicyForm>) =>
    setForm(f => ({ ...f, ...change }));
  const spec = useMemo(() => specOf(policy.spec, form), [policy.spec, form]);

  const preview = async (event: FormEvent) => {
    event.preventDefault();
    setRunning(true);
    setError(undefined);
    try {
      const ref = {
        kind: policy.kind,
        namespace: policy.namespace,
        name: policy.name,
      };
      const [current, proposed] = await Promise.all([
        api.explainPolicy(ref),
        api.previewPolicy({ namespace: policy.namespace, spec }),
      ]);
      setResult({ spec, current, proposed });
    } catch (e) {
      setResult(undefined);
      setError(errorMessage(e instanceof Error ? e : new Error(String(e))));
    } finally {
      setRunning(false);
    }
  };

  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="3">
        <Text as="h3" variant="title-x-small" id={headingId}>
          Policy preview
        </Text>
        <Text as="p" color="secondary">
          Preview only — nothing is saved. Edit the policy, then see which tag
          it would select from the stored tags.
        </Text>
        <form aria-label="Proposed policy" onSubmit={preview}>
          <Flex direction="column" gap="3">
            <RadioGroup
              label="Ordering"
              orientation="horizontal"
              value={form.ordering}
              onChange={value => edit({ ordering: value as PolicyOrdering })}
            >
              <Radio value="semver">Semver range</Radio>
              <Radio value="alphabetical">Alphabetical</Radio>
              <Radio value="numerical">Numerical</Radio>
            </RadioGroup>
            {form.ordering === 'semver' ? (
              <TextField
                label="Semver range"
                description="e.g. >=1.4.0 <2.0.0"
                value={form.range}
                onChange={range => edit({ range })}
              />
            ) : (
              <RadioGroup
                label="Order"
                orientation="horizontal"
                value={form.order}
                onChange={value =>
                  edit({ order: value === 'desc' ? 'desc' : 'asc' })
                }
              >
                <Radio value="asc">Ascending</Radio>
                <Radio value="desc">Descending</Radio>
              </RadioGroup>
            )}
            <Flex gap="3" style={{ flexWrap: 'wrap' }}>
              <TextField
                label="filterTags pattern"
                description="A regular expression tags must match; empty: every tag."
                value={form.pattern}
                onChange={pattern => edit({ pattern })}
              />
              <TextField
                label="filterTags extract"
                description="What to compare instead of the tag, e.g. $version."
                value={form.extract}
                onChange={extract => edit({ extract })}
              />
            </Flex>
            <div>
              <Button type="submit" variant="primary" isPending={running}>
                Preview
              </Button>
            </div>
          </Flex>
        </form>
        {error && (
          <Alert
            status="danger"
            role="alert"
            title="The preview failed"
            description={error}
          />
        )}
        {result && (
          <PreviewResultView
            result={result}
            outdated={JSON.stringify(result.spec) !== JSON.stringify(spec)}
          />
        )}
      </Flex>
    </section>
  );
}

function PreviewResultView(props: {
  result: PreviewResult;
  outdated: boolean;
}) {
  const { result, outdated } = props;
  const { current, proposed } = result;
  const [filter, setFilter] = useState<VerdictFilter>('all');
  const [search, setSearch] = useState('');
  const diff = useMemo(
    () => diffVerdicts(current, proposed),
    [current, proposed],
  );
  const shown = useMemo(
    () => filterVerdicts(proposed.verdicts, filter, search),
    [proposed, filter, search],
  );
  const invalid =
    !proposed.selection.ok &&
    proposed.selection.reason === REASONS.InvalidPolicy;

  return (
    <Flex direction="column" gap="3">
      {outdated && (
        <Text as="p" color="warning">
          The form has changed since this preview: press Preview again to see
          the edited policy.
        </Text>
      )}
      {invalid && !proposed.selection.ok && (
        <Alert
          status="danger"
          role="alert"
          title={proposed.selection.message}
        />
      )}
      <div
        style={{
          display: 'grid',
          gridTemplateColumns: 'repeat(auto-fit, minmax(12rem, 1fr))',
          gap: 'var(--bui-space-3)',
        }}
      >
        <SelectionBox label="Current selection">
          <SelectedTag explanation={current} nothing="Nothing selected" />
        </SelectionBox>
        <SelectionBox label="Diff">
          <Text weight="bold" color={diffColor(current, proposed)}>
            {diffHeadline(current, proposed)}
          </Text>
          <Text variant="body-small">
            {countOf(diff.previous.size, 'tag')} with a new verdict ·{' '}
            {diff.newlyEligible.toLocaleString('en-US')} newly eligible ·{' '}
            {diff.noLongerEligible.toLocaleString('en-US')} no longer eligible
          </Text>
        </SelectionBox>
        <SelectionBox label="Proposed selection">
          {invalid ? (
            <Text color="danger">Invalid policy</Text>
          ) : (
            <SelectedTag
              explanation={proposed}
              nothing="Nothing would be selected"
            />
          )}
        </SelectionBox>
      </div>
      <Text as="h4" variant="body-medium" weight="bold">
        Verdicts under the proposed policy
      </Text>
      <Text as="p">{summarizeExplanation(proposed)}</Text>
      <VerdictFilterBar
        what="proposed tags"
        filter={filter}
        search={search}
        onFilterChange={setFilter}
        onSearchChange={setSearch}
      />
      <TagVerdictTable
        pageKey={`${filter}\n${search}`}
        aria-label="Tags under the proposed policy"
        verdicts={shown}
        spec={result.spec}
        previous={diff.previous}
        empty={
          proposed.verdicts.length === 0
            ? 'The repository has no stored tags yet.'
            : 'No tag matches the filter.'
        }
      />
    </Flex>
  );
}

function SelectionBox(props: { label: string; children: ReactNode }) {
  const id = useId();
  return (
    <div
      role="group"
      aria-labelledby={id}
      style={{
        border: '1px solid var(--bui-border)',
        borderRadius: 'var(--bui-radius-2)',
        padding: 'var(--bui-space-3)',
      }}
    >
      <Flex direction="column" gap="1">
        <Text id={id} variant="body-small" color="secondary">
          {props.label}
        </Text>
        {props.children}
      </Flex>
    </div>
  );
}

function SelectedTag(props: {
  explanation: PolicyExplanation;
  nothing: string;
}) {
  const { selection } = props.explanation;
  if (selection.ok) {
    return (
      <Text weight="bold" style={{ overflowWrap: 'anywhere' }}>
        {selection.tag}
      </Text>
    );
  }
  return (
    <>
      <Text weight="bold" color="danger">
        {props.nothing}
      </Text>
      <Text variant="body-small">{selection.message}</Text>
    </>
  );
}

/** "Same selection", "6.2.0 → 7.0.0", "Nothing would be selected", "Invalid policy". */
function diffHeadline(
  current: PolicyExplanation,
  proposed: PolicyExplanation,
): string {
  if (!proposed.selection.ok) {
    return proposed.selection.reason === REASONS.InvalidPolicy
      ? 'Invalid policy'
      : 'Nothing would be selected';
  }
  if (current.selection.ok && current.selection.tag === proposed.selection.tag)
    return 'Same selection';
  const from = current.selection.ok ? current.selection.tag : 'nothing';
  return `${from} → ${proposed.selection.tag}`;
}

function diffColor(
  current: PolicyExplanation,
  proposed: PolicyExplanation,
): 'danger' | 'secondary' | 'info' {
  if (!proposed.selection.ok) return 'danger';
  return current.selection.ok &&
    current.selection.tag === proposed.selection.tag
    ? 'secondary'
    : 'info';
}
