import { useId, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import { Button, Flex, Text } from '@backstage/ui';
import {
  AutomationObjectView,
  ClusterInventoryView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../../api/ImageAutomationApi';
import { useLivePolledValue } from '../../../hooks/useLiveUpdates';
import { formatTime } from '../../format';
import { SectionError } from '../../SectionError';
import {
  CellText,
  Column,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
} from '../../table/Table';
import { DetailList } from '../DetailList';
import { objectTitle } from '../objectState';

/** Objects a cluster's inventory lists at first, and how many more each "Show N more" reveals. @internal */
export const INVENTORY_ROWS_STEP = 25;

/** Reads a Flux inventory id, `<namespace>_<name>_<group>_<Kind>`. @internal */
export function parseInventoryId(id: string): {
  kind: string;
  namespace: string;
  name: string;
  group: string;
} {
  const [namespace = '', name = '', group = '', kind = ''] = id.split('_');
  return { kind, namespace, name, group };
}

type InputsFrom = Array<{
  kind?: string;
  name?: string;
  selector?: { matchLabels?: Record<string, string> };
}>;

/** `ResourceSetInputProvider apps`, or by selector `team=a`. */
function providerText(provider: InputsFrom[number]): string {
  const kind = provider.kind ?? 'ResourceSetInputProvider';
  if (provider.name) return `${kind} ${provider.name}`;
  const labels = Object.entries(provider.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${kind}s with ${labels || 'any labels'}`;
}

const STATE_TEXT: Record<
  ClusterInventoryView['state'],
  { text: string; color?: 'danger' | 'secondary' }
> = {
  applied: { text: 'applied', color: 'secondary' },
  applying: { text: 'applying now', color: 'secondary' },
  failed: {
    text: 'last apply failed: the objects of the last two applies are listed',
    color: 'danger',
  },
};

function objectCount(count: number): string {
  return `${count.toLocaleString('en-US')} ${
    count === 1 ? 'object' : 'objects'
  }`;
}

/** One cluster of a ResourceSet's inventory: its name, how many objects, then a row per object. */
function ClusterInventory(props: {
  title: string;
  inventory: ClusterInventoryView;
}) {
  const { title, inventory } = props;
  const headingId = useId();
  const [shownCount, setShownCount] = useState(INVENTORY_ROWS_STEP);
  const shown = inventory.entries.slice(0, shownCount).map(entry => ({
    ...entry,
    id: `${entry.apiVersion}/${entry.kind}/${entry.namespace ?? ''}/${
      entry.name
    }`,
  }));
  const hidden = inventory.entries.length - shown.length;
  const state = STATE_TEXT[inventory.state];
  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="2">
        <Text as="h4" variant="body-medium" weight="bold" id={headingId}>
          {`Cluster ${inventory.cluster}`}
        </Text>
        <Text as="p" variant="body-small" color={state.color}>
          {`${objectCount(inventory.entries.length)} · ${state.text}${
            inventory.lastAppliedRevision
              ? ` · revision ${inventory.lastAppliedRevision}`
              : ''
          } · updated ${formatTime(inventory.updatedAt)}`}
        </Text>
        <TableRoot aria-label={`Inventory of ${title} in ${inventory.cluster}`}>
          <TableHeader>
            <Column>Kind</Column>
            <Column>Namespace</Column>
            <Column>Name</Column>
            <Column>API version</Column>
          </TableHeader>
          <TableBody items={shown} renderEmptyState={() => 'No objects.'}>
            {item => (
              <Row id={item.id}>
                <CellText title={item.kind} />
                <CellText title={item.namespace ?? '—'} />
                <CellText title={item.name} />
                <CellText title={item.apiVersion} />
              </Row>
            )}
          </TableBody>
        </TableRoot>
        {hidden > 0 && (
          <div>
            <Button
              variant="secondary"
              size="small"
              aria-label={`Show ${Math.min(
                hidden,
                INVENTORY_ROWS_STEP,
              )} more in ${inventory.cluster}`}
              onPress={() => setShownCount(shownCount + INVENTORY_ROWS_STEP)}
            >
              {`Show ${Math.min(hidden, INVENTORY_ROWS_STEP)} more`}
            </Button>
          </div>
        )}
      </Flex>
    </section>
  );
}

/**
 * What a ResourceSet applied, a group per cluster (from the backend's per-cluster inventories;
 * the object's status only holds their union).
 */
function ResourceSetInventory(props: { object: AutomationObjectView }) {
  const { object } = props;
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const title = objectTitle(object);
  const inventory = useLivePolledValue(
    `resourceset-inventory:${object.id}`,
    () =>
      api.getResourceSetInventory({
        namespace: object.namespace,
        name: object.name,
      }),
  );
  const clusters = inventory.value?.clusters;
  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="3">
        <Text as="h3" variant="title-x-small" id={headingId}>
          Inventory by cluster
        </Text>
        <SectionError
          what="the inventory of this resource set"
          data={inventory}
        />
        {inventory.loading && <Text color="secondary">Loading inventory…</Text>}
        {clusters && clusters.length === 0 && (
          <Text color="secondary">Nothing applied yet.</Text>
        )}
        {clusters?.map(cluster => (
          <ClusterInventory
            key={cluster.cluster}
            title={title}
            inventory={cluster}
          />
        ))}
      </Flex>
    </section>
  );
}

/**
 * A ResourceSet: where its inputs come from and how they combine, the clusters and objects of
 * its last apply (per cluster), and its last reconcile outcomes.
 * @internal
 */
export function ResourceSetPanel(props: { object: AutomationObjectView }) {
  const { object } = props;
  const { spec, status } = object;
  const title = objectTitle(object);
  const inline = Array.isArray(spec.inputs) ? spec.inputs.length : 0;
  const providers = (
    Array.isArray(spec.inputsFrom) ? spec.inputsFrom : []
  ) as InputsFrom;
  const strategy =
    (spec.inputStrategy as { name?: string } | undefined)?.name ?? 'Flatten';
  const clusters = status.appliedClusters ?? [];
  const history = (status.history ?? []).map(h => ({
    ...h,
    id: h.digest + h.lastReconciled,
  }));
  return (
    <Flex direction="column" gap="4">
      <DetailList
        aria-label={`Resource set details of ${title}`}
        items={[
          ['Input strategy', strategy],
          ['Inline inputs', String(inline)],
          [
            'Input providers',
            providers.length ? providers.map(providerText).join('; ') : 'none',
          ],
          [
            'Applied to clusters',
            clusters.length ? clusters.join(', ') : 'none yet',
          ],
          ['Last applied revision', status.lastAppliedRevision ?? '—'],
        ]}
      />
      <ResourceSetInventory object={object} />
      <Text as="h3" variant="title-x-small">
        Last reconciles
      </Text>
      <TableRoot aria-label={`Reconcile history of ${title}`}>
        <TableHeader>
          <Column>Last reconciled</Column>
          <Column>Outcome</Column>
          <Column>Times</Column>
          <Column>Duration</Column>
          <Column>Digest</Column>
          <Column>First reconciled</Column>
        </TableHeader>
        <TableBody
          items={history}
          renderEmptyState={() => 'No reconciles yet.'}
        >
          {h => (
            <Row id={h.id}>
              <CellText title={formatTime(h.lastReconciled)} />
              <CellText
                title={h.lastReconciledStatus}
                description={
                  h.metadata
                    ? Object.entries(h.metadata)
                        .map(([k, v]) => `${k}: ${v}`)
                        .join(', ')
                    : undefined
                }
              />
              <CellText title={`×${h.totalReconciliations}`} />
              <CellText title={h.lastReconciledDuration} />
              <CellText title={h.digest} />
              <CellText title={formatTime(h.firstReconciled)} />
            </Row>
          )}
        </TableBody>
      </TableRoot>
    </Flex>
  );
}
