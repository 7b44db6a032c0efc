import {
  CellText,
  Column,
  Flex,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
  Text,
} from '@backstage/ui';
import { AutomationObjectView } from '@imageops/backstage-plugin-image-automation-common';
import { formatTime } from '../../format';
import { DetailList } from '../DetailList';
import { objectTitle } from '../objectState';

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

/**
 * A ResourceSet: where its inputs come from and how they combine, the clusters and objects of
 * its last apply, and its last reconcile outcomes.
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
  const inventory = (status.inventory?.entries ?? []).map(entry => ({
    ...parseInventoryId(entry.id),
    id: entry.id,
    version: entry.v,
  }));
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
      <Text as="h3" variant="title-x-small">
        Inventory{clusters.length > 0 && ` in ${clusters.join(', ')}`}
      </Text>
      <TableRoot aria-label={`Inventory of ${title}`}>
        <TableHeader>
          <Column isRowHeader>Object</Column>
          <Column>Group</Column>
          <Column>Version</Column>
        </TableHeader>
        <TableBody
          items={inventory}
          renderEmptyState={() => 'Nothing applied yet.'}
        >
          {item => (
            <Row id={item.id}>
              <CellText
                title={`${item.kind} ${
                  item.namespace ? `${item.namespace}/` : ''
                }${item.name}`}
              />
              <CellText title={item.group || 'core'} />
              <CellText title={item.version} />
            </Row>
          )}
        </TableBody>
      </TableRoot>
      <Text as="h3" variant="title-x-small">
        Last reconciles
      </Text>
      <TableRoot aria-label={`Reconcile history of ${title}`}>
        <TableHeader>
          <Column isRowHeader>Last reconciled</Column>
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
