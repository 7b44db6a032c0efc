import { useCallback, useId, useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useApi } from '@backstage/core-plugin-api';
import { Flex, Text } from '@backstage/ui';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { useLivePolledValue } from '../../hooks/useLiveUpdates';
import { SectionError } from '../SectionError';
import { TagVerdictTable, VerdictFilterBar } from './TagVerdictTable';
import {
  filterVerdicts,
  parseVerdictFilter,
  summarizeExplanation,
  VerdictFilter,
} from './verdicts';

/** The query parameter of the tag explorer's filter (`eligible`, `rejected`; absent: all). @internal */
export const TAG_FILTER_PARAM = 'tagFilter';
/** The query parameter of the tag explorer's search. @internal */
export const TAG_SEARCH_PARAM = 'tagSearch';

/**
 * Every stored tag of an ImagePolicy's repository with its verdict under the policy and why:
 * selected, older than the selected tag, outside the range, filtered out by the pattern, … with
 * its digest and first-seen time. The filter and search live in the URL (`tagFilter`,
 * `tagSearch`), so a filtered view can be linked; a page of rows is rendered at a time.
 * @internal
 */
export function TagExplorer(props: { policy: AutomationObjectView }) {
  const { policy } = props;
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const ref = {
    kind: policy.kind,
    namespace: policy.namespace,
    name: policy.name,
  };
  const explanation = useLivePolledValue(`tag-explorer:${policy.id}`, () =>
    api.explainPolicy(ref),
  );

  const [params, setParams] = useSearchParams();
  const filter = parseVerdictFilter(params.get(TAG_FILTER_PARAM));
  const search = params.get(TAG_SEARCH_PARAM) ?? '';
  const setParam = useCallback(
    (name: string, value: string | undefined) =>
      setParams(
        previous => {
          const next = new URLSearchParams(previous);
          if (value) next.set(name, value);
          else next.delete(name);
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );

  const all = explanation.value?.verdicts;
  const shown = useMemo(
    () => filterVerdicts(all ?? [], filter, search),
    [all, filter, search],
  );
  const title = `ImagePolicy ${policy.namespace}/${policy.name}`;

  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="3">
        <Text as="h3" variant="title-x-small" id={headingId}>
          Tags
        </Text>
        <SectionError what="the tags of this policy" data={explanation} />
        {explanation.loading && <Text color="secondary">Loading tags…</Text>}
        {explanation.value && (
          <>
            <Text as="p" weight="bold">
              {summarizeExplanation(explanation.value)}
            </Text>
            {!explanation.value.selection.ok && (
              <Text as="p" color="danger">
                Nothing is selected: {explanation.value.selection.message}
              </Text>
            )}
            {explanation.value.exclusionList.length > 0 && (
              <Text as="p" color="secondary">
                Tags matching the repository's exclusion list (
                {explanation.value.exclusionList.join(', ')}) are dropped when
                it is scanned, so they are not listed.
              </Text>
            )}
            <VerdictFilterBar
              what="tags"
              filter={filter}
              search={search}
              onFilterChange={(value: VerdictFilter) =>
                setParam(TAG_FILTER_PARAM, value === 'all' ? undefined : value)
              }
              onSearchChange={value => setParam(TAG_SEARCH_PARAM, value)}
            />
            {(filter !== 'all' || search) && (
              <Text as="p" role="status">
                {shown.length.toLocaleString('en-US')} of{' '}
                {explanation.value.verdicts.length.toLocaleString('en-US')} tags
                match
              </Text>
            )}
            <TagVerdictTable
              pageKey={`${filter}\n${search}`}
              aria-label={`Tags of ${title}`}
              verdicts={shown}
              spec={policy.spec}
              empty={
                explanation.value.verdicts.length === 0
                  ? 'The repository has no stored tags yet: they appear after its first successful scan.'
                  : 'No tag matches the filter.'
              }
            />
          </>
        )}
      </Flex>
    </section>
  );
}
