import { FormEvent, useId, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Cell,
  Column,
  Dialog,
  DialogBody,
  DialogFooter,
  DialogHeader,
  Flex,
  Row,
  TableBody,
  TableHeader,
  TableRoot,
  Text,
  TextField,
} from '@backstage/ui';
import {
  EntityVersionsView,
  Page,
  PromotionVersion,
  PromotionView,
  TargetVersionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../api/ImageAutomationApi';
import { PolledValue } from '../hooks/usePolledValue';
import { ActionButton } from './ActionButton';
import { errorMessage } from './errorMessage';
import { SectionError } from './SectionError';
import { formatRelative, formatTime } from './format';
import { PAGE_CLASS } from './pageClass';
import { TagTargetGrid } from './TagTargetGrid';
import { PromotionDecisions, promotionLabel } from './PendingPromotionsSection';

/** Props of {@link VersionsSection}. @internal */
export interface VersionsSectionProps {
  /** The entity's versions, loaded (and kept fresh) by the tab, which shares them with the summary. */
  versions: PolledValue<EntityVersionsView>;
  /** The entity's open promotions, for each row's next step; rows say "promotion pending" without them. */
  promotions?: PolledValue<Page<PromotionView>>;
}

/**
 * The "Versions" section of the entity tab: per image, one row per target (a Git automation's
 * markers or a ResourceSet in a cluster) with what it deploys, what the policy selects, the
 * newest tag, how far behind it is and what happens next, and the Pin / Unpin controls.
 * @internal
 */
export function VersionsSection(props: VersionsSectionProps) {
  const { versions } = props;
  const promotionsById = new Map(
    (props.promotions?.value?.items ?? []).map(p => [p.id, p]),
  );
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const [pinning, setPinning] = useState<TargetVersionView>();
  const [unpinning, setUnpinning] = useState<string>();
  const [actionError, setActionError] = useState<string>();

  const unpin = async (row: TargetVersionView) => {
    setUnpinning(rowKey(row));
    setActionError(undefined);
    try {
      await api.unpin(row.target.id, row.subject);
      await versions.refresh();
    } catch (e) {
      setActionError(`Unpin failed: ${errorMessage(asError(e))}`);
    } finally {
      setUnpinning(undefined);
    }
  };

  const items = versions.value?.items ?? [];
  return (
    <section aria-labelledby={headingId}>
      <Flex direction="column" gap="4">
        <Text as="h2" variant="title-small" id={headingId}>
          Versions
        </Text>
        <SectionError what="the versions" data={versions} />
        {actionError && (
          <Alert status="danger" role="alert" title={actionError} />
        )}
        {versions.loading && <Text color="secondary">Loading versions…</Text>}
        {versions.value && items.length === 0 && (
          <Text>
            No versions are known for this entity yet: no Git manifest carries
            an image policy marker of its automations, and no ResourceSet
            deploys its images to a cluster.
          </Text>
        )}
        {groupByImage(items).map(([image, rows]) => (
          <ImageVersionsTable
            key={image}
            entityRef={versions.value?.entityRef}
            image={image}
            rows={rows}
            promotions={promotionsById}
            onPromotionChanged={async () => {
              await Promise.all([
                versions.refresh(),
                props.promotions?.refresh(),
              ]);
            }}
            busyRow={unpinning}
            onPin={row => {
              setActionError(undefined);
              setPinning(row);
            }}
            onUnpin={unpin}
          />
        ))}
      </Flex>
      {pinning && (
        <PinDialog
          key={rowKey(pinning)}
          row={pinning}
          onClose={() => setPinning(undefined)}
          onPinned={async () => {
            setPinning(undefined);
            await versions.refresh();
          }}
        />
      )}
    </section>
  );
}

interface ImageVersionsTableProps {
  entityRef?: string;
  image: string;
  rows: TargetVersionView[];
  promotions: Map<string, PromotionView>;
  onPromotionChanged: () => Promise<void>;
  /** The row whose action runs, if any. */
  busyRow?: string;
  onPin: (row: TargetVersionView) => void;
  onUnpin: (row: TargetVersionView) => void;
}

/** The targets of one image. */
function ImageVersionsTable(props: ImageVersionsTableProps) {
  const {
    image,
    rows,
    promotions,
    onPromotionChanged,
    busyRow,
    onPin,
    onUnpin,
  } = props;
  return (
    <Flex direction="column" gap="2">
      <Text
        as="h4"
        variant="title-x-small"
        style={{ overflowWrap: 'anywhere' }}
      >
        {image}
      </Text>
      <TableRoot aria-label={`Versions of ${image}`}>
        <TableHeader>
          <Column isRowHeader>Target</Column>
          <Column>Deployed</Column>
          <Column>Selected</Column>
          <Column>Newest</Column>
          <Column>Behind</Column>
          <Column>Next step</Column>
          <Column>Actions</Column>
        </TableHeader>
        <TableBody
          items={rows.map(row => ({ id: rowKey(row), row }))}
          dependencies={[
            busyRow,
            onPin,
            onUnpin,
            promotions,
            onPromotionChanged,
          ]}
        >
          {({ id, row }) => (
            <Row id={id}>
              <Cell>
                <TargetLabel row={row} />
              </Cell>
              <Cell>
                <Deployed row={row} />
              </Cell>
              <Cell>
                <Text style={{ overflowWrap: 'anywhere' }}>
                  {formatVersion(row.selected)}
                </Text>
              </Cell>
              <Cell>
                <Newest row={row} />
              </Cell>
              <Cell>
                <Behind row={row} />
              </Cell>
              <Cell>
                <NextStep
                  row={row}
                  promotion={
                    row.promotionId
                      ? promotions.get(row.promotionId)
                      : undefined
                  }
                />
              </Cell>
              <Cell>
                <Flex gap="2" style={{ flexWrap: 'wrap' }}>
                  {row.promotionId && promotions.get(row.promotionId) && (
                    <PromotionDecisions
                      promotion={promotions.get(row.promotionId)!}
                      label={promotionLabel(promotions.get(row.promotionId)!)}
                      onChanged={onPromotionChanged}
                      only={['promote']}
                    />
                  )}
                  {row.pin ? (
                    <ActionButton
                      label="Unpin"
                      accessibleName={`Unpin ${row.subject} on ${row.target.id}`}
                      permission={{ allowed: true }}
                      isPending={busyRow === id}
                      isBusy={busyRow !== undefined && busyRow !== id}
                      onPress={() => onUnpin(row)}
                    />
                  ) : (
                    <ActionButton
                      label="Pin"
                      accessibleName={`Pin ${row.subject} on ${row.target.id}`}
                      permission={
                        row.deployed
                          ? { allowed: true }
                          : {
                              allowed: false,
                              reason:
                                'Nothing is deployed on this target yet, so there is no version to pin.',
                            }
                      }
                      isPending={false}
                      isBusy={busyRow !== undefined}
                      onPress={() => onPin(row)}
                    />
                  )}
                </Flex>
              </Cell>
            </Row>
          )}
        </TableBody>
      </TableRoot>
      {props.entityRef && (
        <TagTargetGrid entityRef={props.entityRef} image={image} targets={uniqueTargets(rows)} />
      )}
    </Flex>
  );
}

function uniqueTargets(rows: TargetVersionView[]): TargetVersionView['target'][] {
  return [...new Map(rows.map(row => [row.target.id, row.target])).values()];
}

/** Git: the automation and the `file:line` of its markers; cluster: the cluster and ResourceSet. */
function TargetLabel(props: { row: TargetVersionView }) {
  const { target, markers, subject } = props.row;
  return (
    <Flex direction="column" gap="1">
      {target.type === 'git' ? (
        <>
          <Text style={{ overflowWrap: 'anywhere' }}>
            Git {target.objectId}
          </Text>
          <Text
            variant="body-small"
            color="secondary"
            style={{ overflowWrap: 'anywhere' }}
          >
            {formatMarkers(markers)}
          </Text>
        </>
      ) : (
        <>
          <Text style={{ overflowWrap: 'anywhere' }}>
            Cluster {target.cluster ?? 'unknown'}
          </Text>
          <Text
            variant="body-small"
            color="secondary"
            style={{ overflowWrap: 'anywhere' }}
          >
            {target.objectId}
          </Text>
        </>
      )}
      <Text
        variant="body-small"
        color="secondary"
        style={{ overflowWrap: 'anywhere' }}
      >
        via {subject}
      </Text>
    </Flex>
  );
}

/** The deployed version and, for clusters, what the pods run (or that the cluster could not be read). */
function Deployed(props: { row: TargetVersionView }) {
  const { deployed, running } = props.row;
  return (
    <Flex direction="column" gap="1">
      <Text style={{ overflowWrap: 'anywhere' }} title={deployed?.digest}>
        {formatVersion(deployed)}
      </Text>
      {running?.error ? (
        <Text
          variant="body-small"
          color="warning"
          style={{ overflowWrap: 'anywhere' }}
        >
          Running pods unknown: {running.error}
        </Text>
      ) : (
        running && (
          <Text variant="body-small" color="secondary">
            {running.summary}
          </Text>
        )
      )}
    </Flex>
  );
}

function Newest(props: { row: TargetVersionView }) {
  const { newest } = props.row;
  if (!newest) return <Text color="secondary">—</Text>;
  return (
    <Flex direction="column" gap="1">
      <Text style={{ overflowWrap: 'anywhere' }}>{newest.tag}</Text>
      {newest.firstSeenAt && (
        <Text
          variant="body-small"
          color="secondary"
          title={formatTime(newest.firstSeenAt)}
        >
          first seen {formatAge(newest.firstSeenAt, new Date())}
        </Text>
      )}
    </Flex>
  );
}

/** How far behind, in words, coloured: success when up to date, warning otherwise. */
function Behind(props: { row: TargetVersionView }) {
  const { behind } = props.row;
  if (!behind) return <Text color="secondary">—</Text>;
  return (
    <Text
      weight="bold"
      color={
        behind.tags === 0 && behind.summary === 'up to date'
          ? 'success'
          : 'warning'
      }
    >
      {behind.summary}
    </Text>
  );
}

/**
 * The open promotion's next step in a line: what it waits for, gate by gate
 * ("waiting: approval 1/2 · soak 3h left"), or that it is ready, running or failed.
 * @internal
 */
export function nextStepSummary(promotion: PromotionView): string {
  const delta = `${promotion.from?.tag ?? '—'} → ${promotion.to.tag}`;
  switch (promotion.state) {
    case 'applying':
      return `${delta}: being applied`;
    case 'failed':
      return `${delta}: failed${
        promotion.error ? ` — ${promotion.error}` : ''
      }`;
    case 'approved':
      return `${delta}: approved, applied on the next run`;
    default: {
      const waiting = promotion.gates
        .filter(g => g.state !== 'passed')
        .map(g => g.summary);
      return waiting.length > 0
        ? `${delta} waiting: ${waiting.join(' · ')}`
        : `${delta}: ready, applied on the next run`;
    }
  }
}

/** What holds the target or moves it next: a pin, an open promotion, or nothing. */
function NextStep(props: {
  row: TargetVersionView;
  promotion?: PromotionView;
}) {
  const { pin, promotionId } = props.row;
  if (!pin && !promotionId) return <Text color="secondary">—</Text>;
  return (
    <Flex direction="column" gap="1">
      {pin && (
        <Text style={{ overflowWrap: 'anywhere' }}>
          Pinned at {formatVersion(pin.version)} by {pin.by}: {pin.reason}
          {pin.expiresAt && ` (until ${formatTime(pin.expiresAt)})`}
        </Text>
      )}
      {promotionId && (
        <Text style={{ overflowWrap: 'anywhere' }}>
          {props.promotion
            ? nextStepSummary(props.promotion)
            : 'Promotion pending'}
        </Text>
      )}
    </Flex>
  );
}

interface PinDialogProps {
  row: TargetVersionView;
  onClose: () => void;
  /** Called after the pin was stored; refreshes the section. */
  onPinned: () => Promise<void>;
}

/** Asks why, then holds the row's subject at the version deployed on its target. */
function PinDialog(props: PinDialogProps) {
  const { row, onClose, onPinned } = props;
  const api = useApi(imageAutomationApiRef);
  const formId = useId();
  const [reason, setReason] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const version = row.deployed;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!version || reason.trim() === '') return;
    setPending(true);
    setError(undefined);
    try {
      await api.pin({
        targetId: row.target.id,
        subject: row.subject,
        version,
        reason: reason.trim(),
      });
    } catch (e) {
      setError(`Pin failed: ${errorMessage(asError(e))}`);
      setPending(false);
      return;
    }
    await onPinned();
  };

  return (
    <Dialog
      className={PAGE_CLASS}
      isOpen
      onOpenChange={open => {
        if (!open && !pending) onClose();
      }}
      width={520}
    >
      <DialogHeader>{`Pin ${row.subject} on ${row.target.id}`}</DialogHeader>
      <DialogBody>
        <form id={formId} onSubmit={submit}>
          <Flex direction="column" gap="3">
            <Text>
              Holds {row.subject} on {targetLabel(row)} at{' '}
              {formatVersion(version)}: no promotion moves it until the pin is
              lifted.
            </Text>
            <TextField
              label="Reason"
              name="reason"
              isRequired
              value={reason}
              onChange={setReason}
              validate={value =>
                value.trim() === ''
                  ? 'Say why the version is held, for whoever finds it pinned.'
                  : null
              }
            />
            {error && <Alert status="danger" role="alert" title={error} />}
          </Flex>
        </form>
      </DialogBody>
      <DialogFooter>
        <Button variant="secondary" onPress={onClose} isDisabled={pending}>
          Cancel
        </Button>
        <Button
          type="submit"
          form={formId}
          variant="primary"
          isPending={pending}
        >
          Pin
        </Button>
      </DialogFooter>
    </Dialog>
  );
}

/** Rows grouped by image, in the order the images first appear. */
function groupByImage(
  items: TargetVersionView[],
): Array<[string, TargetVersionView[]]> {
  const groups = new Map<string, TargetVersionView[]>();
  for (const item of items) {
    groups.set(item.image, [...(groups.get(item.image) ?? []), item]);
  }
  return [...groups];
}

function rowKey(row: TargetVersionView): string {
  return `${row.target.id}\n${row.subject}`;
}

function targetLabel(row: TargetVersionView): string {
  return row.target.type === 'git'
    ? row.target.objectId
    : `${row.target.objectId} in cluster ${row.target.cluster ?? 'unknown'}`;
}

/** `file:line` of every marker, each once, comma-separated. */
function formatMarkers(markers: TargetVersionView['markers']): string {
  if (!markers || markers.length === 0) return 'no markers';
  return [...new Set(markers.map(m => `${m.file}:${m.line}`))].join(', ');
}

/** A tag with a short digest: `1.4.1@sha256:abcd1234`. @internal */
export function formatVersion(version: PromotionVersion | undefined): string {
  if (!version) return '—';
  return version.digest
    ? `${version.tag}@${shortDigest(version.digest)}`
    : version.tag;
}

/** The algorithm and the first 8 hex digits: `sha256:abcd1234`. */
function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0
    ? digest.slice(0, 8)
    : `${digest.slice(0, colon)}:${digest.slice(colon + 1, colon + 9)}`;
}

/** How long ago a time was, coarsely: `just now`, `5m ago`, `3h ago`, `3d ago`. @internal */
export function formatAge(iso: string, now: Date): string {
  return formatRelative(iso, now);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
