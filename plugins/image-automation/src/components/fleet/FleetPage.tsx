import { PAGE_CLASS } from '../pageClass';
import { ReactNode, useEffect, useId, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { parseEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { humanizeEntityRef } from '@backstage/plugin-catalog-react';
import {
  Button,
  Container,
  Flex,
  PluginHeader,
  Select,
  Text,
} from '@backstage/ui';
import {
  FLEET_OBJECT_HEALTHS,
  FLEET_SIGNAL_CHANNEL,
  FleetFilter,
  FleetView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import {
  DEFAULT_POLL_INTERVAL_MS,
  LiveUpdatesContext,
  useLivePolledValue,
  useLiveUpdates,
} from '../../hooks/useLiveUpdates';
import { SectionError } from '../SectionError';
import { FailingObjectsTable } from './FailingObjectsTable';
import { FleetPromotionsTable } from './FleetPromotionsTable';
import { ImageAutomationIcon } from './ImageAutomationIcon';

/** The query-string keys of the filters, so a filtered view can be linked. */
const FILTER_KEYS = ['owner', 'kind', 'state'] as const;
/** The "no filter" choice of each Select. */
const ANY = '*';

/** The filters in a URL's query string; empty values are no filter. */
function filterFrom(params: URLSearchParams): FleetFilter {
  const filter: FleetFilter = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) filter[key] = value;
  }
  return filter;
}

/** Props of {@link ImageAutomationPage}. @public */
export interface FleetPageProps {
  /** How often to reload while signals are not installed; defaults to {@link DEFAULT_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
  /** Leaves the header out, for apps whose page layout draws it (the new frontend system). */
  noHeader?: boolean;
}

/**
 * The fleet page, "Image automation": across the catalog, the open promotions the user may act on
 * and the automation objects that are not Ready, filtered by owner, kind and state (kept in the
 * URL). It reloads on every change the backend signals, and polls where signals are not installed.
 * @internal
 */
export function FleetPage(props: FleetPageProps) {
  const live = useLiveUpdates(
    FLEET_SIGNAL_CHANNEL,
    props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
  );
  return (
    <>
      {!props.noHeader && (
        <PluginHeader title="Image automation" icon={<ImageAutomationIcon />} />
      )}
      <Container my="4">
        <LiveUpdatesContext.Provider value={live}>
          <FleetContent />
        </LiveUpdatesContext.Provider>
      </Container>
    </>
  );
}

function FleetContent() {
  const api = useApi(imageAutomationApiRef);
  const [params, setParams] = useSearchParams();
  const filter = filterFrom(params);
  const fleet = useLivePolledValue(`fleet:${JSON.stringify(filter)}`, () =>
    api.getFleet(filter),
  );
  // The choices stay while another filter loads.
  const [facets, setFacets] = useState<FleetView['facets']>();
  useEffect(() => {
    if (fleet.value) setFacets(fleet.value.facets);
  }, [fleet.value]);

  const setFilter = (key: keyof FleetFilter, value: string | undefined) =>
    setParams(
      previous => {
        const next = new URLSearchParams(previous);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  const filtered = Object.keys(filter).length > 0;
  const view = fleet.value;
  const nothing =
    view && view.promotions.length === 0 && view.failing.length === 0;

  return (
    <Flex direction="column" gap="5" className={PAGE_CLASS}>
      <FleetFilters filter={filter} facets={facets} onChange={setFilter} />
      <SectionError what="the fleet" data={fleet} />
      {fleet.loading && <Text color="secondary">Loading the fleet…</Text>}
      {nothing && !filtered && (
        <Text>
          Nothing needs you: no pending promotions you may act on and no failing
          automations.
        </Text>
      )}
      {nothing && filtered && (
        <Flex direction="column" gap="2" align="start">
          <Text>Nothing matches these filters.</Text>
          <Button
            variant="secondary"
            size="small"
            onPress={() => setParams(new URLSearchParams(), { replace: true })}
          >
            Clear filters
          </Button>
        </Flex>
      )}
      {view && !nothing && (
        <>
          <FleetSection
            title={`Pending promotions (${view.promotions.length})`}
          >
            {view.promotions.length > 0 ? (
              <FleetPromotionsTable
                promotions={view.promotions}
                onChanged={fleet.refresh}
              />
            ) : (
              <Text color="secondary">
                No pending promotions you may act on.
              </Text>
            )}
          </FleetSection>
          <FleetSection title={`Failing automations (${view.failing.length})`}>
            {view.failing.length > 0 ? (
              <FailingObjectsTable objects={view.failing} now={new Date()} />
            ) : (
              <Text color="secondary">No failing automations.</Text>
            )}
          </FleetSection>
        </>
      )}
    </Flex>
  );
}

function FleetSection(props: { title: string; children: ReactNode }) {
  const headingId = useId();
  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="3">
        <Text as="h2" variant="title-small" id={headingId}>
          {props.title}
        </Text>
        {props.children}
      </Flex>
    </section>
  );
}

/** An owner as people read it: `team-a` for `group:default/team-a`. */
function ownerLabel(owner: string): string {
  try {
    return humanizeEntityRef(parseEntityRef(owner), { defaultKind: 'group' });
  } catch {
    return owner;
  }
}

/** The choices of a filter: "any", those present, and the current one even when absent (a shared link). */
function withCurrent(ids: string[], current: string | undefined): string[] {
  return current && !ids.includes(current) ? [...ids, current] : ids;
}

function FleetFilters(props: {
  filter: FleetFilter;
  facets?: FleetView['facets'];
  onChange: (key: keyof FleetFilter, value: string | undefined) => void;
}) {
  const { filter, facets, onChange } = props;
  const change = (key: keyof FleetFilter) => (value: unknown) =>
    onChange(key, value === ANY || value === null ? undefined : String(value));
  const states = withCurrent(facets?.states ?? [], filter.state);
  const objectStates = states.filter(s =>
    (FLEET_OBJECT_HEALTHS as readonly string[]).includes(s),
  );
  const promotionStates = states.filter(s => !objectStates.includes(s));
  const sections = [
    { title: 'Promotions', options: promotionStates },
    { title: 'Automation objects', options: objectStates },
  ].filter(section => section.options.length > 0);

  return (
    <Flex gap="3" align="end" style={{ flexWrap: 'wrap' }}>
      <Select
        label="Owner"
        options={[
          { id: ANY, label: 'Any owner' },
          ...withCurrent(facets?.owners ?? [], filter.owner).map(owner => ({
            id: owner,
            label: ownerLabel(owner),
          })),
        ]}
        value={filter.owner ?? ANY}
        onChange={change('owner')}
        style={{ minWidth: 200 }}
      />
      <Select
        label="Kind"
        options={[
          { id: ANY, label: 'Any kind' },
          ...withCurrent(facets?.kinds ?? [], filter.kind).map(kind => ({
            id: kind,
            label: kind,
          })),
        ]}
        value={filter.kind ?? ANY}
        onChange={change('kind')}
        style={{ minWidth: 200 }}
      />
      <Select
        label="State"
        options={[
          { id: ANY, label: 'Any state' },
          ...sections.map(section => ({
            title: section.title,
            options: section.options.map(state => ({
              id: state,
              label: state,
            })),
          })),
        ]}
        value={filter.state ?? ANY}
        onChange={change('state')}
        style={{ minWidth: 200 }}
      />
    </Flex>
  );
}
