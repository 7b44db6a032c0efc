import { useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import {
  Accordion,
  AccordionPanel,
  AccordionTrigger,
  Text,
} from '@backstage/ui';
import {
  Cell,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from './table/Table';
import {
  EntityTimelineView,
  TargetVersionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { usePolledValue } from '../hooks/usePolledValue';
import { SectionError } from './SectionError';
import { formatTime } from './format';

/** How many timeline events the grid reads: enough for months of an entity's history. */
const EVENTS_READ = 1000;

/** One row of the grid: a tag, when the registry first had it, and when it started to run on each target. */
export interface TagRow {
  tag: string;
  seenAt?: string;
  /** Target id → when the tag was first applied there. */
  ranAt: Map<string, string>;
}

/**
 * The tags of one image that were seen or ran somewhere, newest first, each with the first time it
 * appeared in the registry and the first time it was applied to each target.
 * @internal
 */
export function tagRows(
  timeline: EntityTimelineView,
  image: string,
  targetIds: string[],
): TagRow[] {
  const rows = new Map<string, TagRow>();
  const row = (tag: string) =>
    rows.get(tag) ?? rows.set(tag, { tag, ranAt: new Map() }).get(tag)!;
  const earlier = (a: string | undefined, b: string) =>
    a === undefined || b < a ? b : a;
  for (const event of timeline.items) {
    if (!event.tag || (event.image && event.image !== image)) continue;
    if (event.kind === 'tag-seen') {
      const r = row(event.tag);
      r.seenAt = earlier(r.seenAt, event.time);
    } else if (
      event.kind === 'applied' &&
      event.targetId &&
      targetIds.includes(event.targetId)
    ) {
      const r = row(event.tag);
      r.ranAt.set(
        event.targetId,
        earlier(r.ranAt.get(event.targetId), event.time),
      );
    }
  }
  const latest = (r: TagRow) =>
    [r.seenAt ?? '', ...r.ranAt.values()].sort().pop() ?? '';
  return [...rows.values()]
    .filter(r => r.ranAt.size > 0)
    .sort((a, b) => latest(b).localeCompare(latest(a)));
}

function Grid(props: {
  entityRef: string;
  image: string;
  targets: TargetVersionView['target'][];
}) {
  const { entityRef, image, targets } = props;
  const api = useApi(imageAutomationApiRef);
  const entity = parseEntityRef(entityRef);
  const timeline = usePolledValue(
    `${entityRef}|${image}`,
    () =>
      api.getTimeline(
        { kind: entity.kind, namespace: entity.namespace, name: entity.name },
        { limit: EVENTS_READ },
      ),
    60_000,
  );
  const targetIds = targets.map(t => t.id);
  const rows = timeline.value ? tagRows(timeline.value, image, targetIds) : [];
  return (
    <>
      <SectionError what="the tag history" data={timeline} />
      {timeline.loading && (
        <Text color="secondary">Loading the tag history…</Text>
      )}
      {timeline.value && rows.length === 0 && (
        <Text color="secondary">
          No tag of {image} has run on these targets in the recorded history
          yet.
        </Text>
      )}
      {rows.length > 0 && (
        <TableRoot aria-label={`When each tag of ${image} ran where`}>
          <TableHeader>
            <Column>Tag</Column>
            <Column>First seen in the registry</Column>
            {targets.map(target => (
              <Column key={target.id}>
                {target.type === 'cluster'
                  ? `Cluster ${target.cluster}`
                  : `Git ${target.objectId}`}
              </Column>
            ))}
          </TableHeader>
          <TableBody
            items={rows.map(r => ({ id: r.tag, r }))}
            dependencies={[targets]}
          >
            {({ r }) => (
              <Row id={r.tag}>
                <Cell>
                  <Text weight="bold">{r.tag}</Text>
                </Cell>
                <Cell>
                  <Text>
                    {r.seenAt
                      ? formatTime(r.seenAt)
                      : 'not in the recorded scans'}
                  </Text>
                </Cell>
                {targets.map(target => {
                  const ran = r.ranAt.get(target.id);
                  return (
                    <Cell key={target.id}>
                      <Text color={ran ? 'primary' : 'secondary'}>
                        {ran ? `from ${formatTime(ran)}` : 'never'}
                      </Text>
                    </Cell>
                  );
                })}
              </Row>
            )}
          </TableBody>
        </TableRoot>
      )}
    </>
  );
}

/**
 * Below an image's versions table: a disclosure that, when opened, shows a tag × target grid of
 * when each tag ran where (from the entity's timeline), loaded only once it is opened.
 * @internal
 */
export function TagTargetGrid(props: {
  entityRef: string;
  image: string;
  targets: TargetVersionView['target'][];
}) {
  const [open, setOpen] = useState(false);
  return (
    <Accordion isExpanded={open} onExpandedChange={setOpen}>
      <AccordionTrigger title={`When each tag of ${props.image} ran where`} />
      <AccordionPanel>{open && <Grid {...props} />}</AccordionPanel>
    </Accordion>
  );
}
