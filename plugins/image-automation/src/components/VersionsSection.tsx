import {
  createContext,
  FormEvent,
  memo,
  useCallback,
  useContext,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
} from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Dialog,
  DialogBody,
  DialogFooter,
  DialogHeader,
  Flex,
  Text,
  TextField,
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
import { PromotionPreviewDialog } from './PromotionPreview';
import { TagTargetGrid } from './TagTargetGrid';
import {
  DecisionKind,
  PromotionDecisions,
  promotionLabel,
} from './PendingPromotionsSection';

/** How many images' tables the section shows before "Show N more images". @internal */
export const IMAGES_SHOWN_FIRST = 3;

/** Props of {@link VersionsSection}. @internal */
export interface VersionsSectionProps {
  /** The entity's versions, loaded (and kept fresh) by the tab, which shares them with the summary. */
  versions: PolledValue<EntityVersionsView>;
  /** The entity's open promotions, for each row's next step; rows say "promotion pending" without them. */
  promotions?: PolledValue<Page<PromotionView>>;
}

/**
 * The key of the row whose Unpin runs, if any: every Pin / Unpin control waits meanwhile. A
 * context, so that only those controls re-render when it changes, not the rows and tables.
 */
const UnpinningContext = createContext<string | undefined>(undefined);

interface ImageVersionsTableProps {
  entityRef?: string;
  image: string;
  rows: TargetVersionView[];
  promotions: Map<string, PromotionView>;
  onPromotionChanged: () => Promise<void>;
  onPin: (row: TargetVersionView) => void;
  onUnpin: (row: TargetVersionView) => void;
  /** Moves the focus to the image's heading when shown, for a table revealed by "Show more". */
  focusOnMount: boolean;
}

/** A row of a versions table with its open promotion, if loaded. */
interface VersionItem {
  id: string;
  row: TargetVersionView;
  promotion?: PromotionView;
}

/** A versions row offers the promotion's Promote now only; approving is the section below's. */
const PROMOTE_ONLY: DecisionKind[] = ['promote'];

/**
 * {@link ImageVersionsTableBody}, memoised: with the section's stable callbacks a table re-renders
 * only when its rows or the promotions change, not when a dialog opens or another table changes.
 */
const ImageVersionsTable = memo(ImageVersionsTableBody);

/**
 * The "Versions" section of the entity tab: per image, one row per target (a Git automation's
 * markers or a ResourceSet in a cluster) with what it deploys, what the policy selects, the
 * newest tag, how far behind it is and what happens next, and the Pin / Unpin controls. The
 * first {@link IMAGES_SHOWN_FIRST} images are shown, the others on demand.
 * @internal
 */
export function VersionsSection(props: VersionsSectionProps) {
  const { versions } = props;
  const refreshVersions = versions.refresh;
  const refreshPromotions = props.promotions?.refresh;
  const promotionItems = props.promotions?.value?.items;
  const promotionsById = useMemo(
    () => new Map((promotionItems ?? []).map(p => [p.id, p])),
    [promotionItems],
  );
  const api = useApi(imageAutomationApiRef);
  const headingId = useId();
  const [pinning, setPinning] = useState<TargetVersionView>();
  const [unpinning, setUnpinning] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [allImages, setAllImages] = useState(false);
  /** The first image "Show more" revealed, which takes the focus from the button that goes away. */
  const [focusImage, setFocusImage] = useState<string>();

  // Stable callbacks: the per-image tables are memoised and re-render only when their data changes.
  const unpin = useCallback(
    async (row: TargetVersionView) => {
      setUnpinning(rowKey(row));
      setActionError(undefined);
      try {
        await api.unpin(row.target.id, row.subject);
        await refreshVersions();
      } catch (e) {
        setActionError(`Unpin failed: ${errorMessage(asError(e))}`);
      } finally {
        setUnpinning(undefined);
      }
    },
    [api, refreshVersions],
  );
  const pin = useCallback((row: TargetVersionView) => {
    setActionError(undefined);
    setPinning(row);
  }, []);
  const promotionChanged = useCallback(async () => {
    await Promise.all([refreshVersions(), refreshPromotions?.()]);
  }, [refreshVersions, refreshPromotions]);
  const closePinDialog = useCallback(() => setPinning(undefined), []);
  const pinned = useCallback(async () => {
    setPinning(undefined);
    await refreshVersions();
  }, [refreshVersions]);

  const items = versions.value?.items;
  const groups = useMemo(() => groupByImage(items ?? []), [items]);
  const shown = allImages ? groups : groups.slice(0, IMAGES_SHOWN_FIRST);
  const hidden = groups.length - shown.length;
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
        {versions.value && groups.length === 0 && (
          <Text>
            No versions are known for this entity yet: no Git manifest carries
            an image policy marker of its automations, and no ResourceSet
            deploys its images to a cluster.
          </Text>
        )}
        <UnpinningContext.Provider value={unpinning}>
          {shown.map(([image, rows]) => (
            <ImageVersionsTable
              key={image}
              entityRef={versions.value?.entityRef}
              image={image}
              rows={rows}
              promotions={promotionsById}
              onPromotionChanged={promotionChanged}
              onPin={pin}
              onUnpin={unpin}
              focusOnMount={image === focusImage}
            />
          ))}
        </UnpinningContext.Provider>
        {hidden > 0 && (
          <Flex align="center" gap="3">
            <Text color="secondary">
              {`${shown.length} of ${groups.length} images shown.`}
            </Text>
            <Button
              variant="secondary"
              size="small"
              onPress={() => {
                setFocusImage(groups[IMAGES_SHOWN_FIRST][0]);
                setAllImages(true);
              }}
            >
              {`Show ${hidden} more ${hidden === 1 ? 'image' : 'images'}`}
            </Button>
          </Flex>
        )}
      </Flex>
      {pinning && (
        <PinDialog
          key={rowKey(pinning)}
          row={pinning}
          onClose={closePinDialog}
          onPinned={pinned}
        />
      )}
    </section>
  );
}

/** The targets of one image. */
function ImageVersionsTableBody(props: ImageVersionsTableProps) {
  const {
    image,
    rows,
    promotions,
    onPromotionChanged,
    onPin,
    onUnpin,
    focusOnMount,
  } = props;
  const headingRef = useRef<HTMLHeadingElement>(null);
  // An item per row that keeps its identity while its row and promotion do: the table re-renders
  // only the rows whose data changed (e.g. the few with a promotion, when the promotions load).
  const itemCache = useRef(new WeakMap<TargetVersionView, VersionItem>());
  const items = useMemo(
    () =>
      rows.map(row => {
        const promotion = row.promotionId
          ? promotions.get(row.promotionId)
          : undefined;
        const cached = itemCache.current.get(row);
        if (cached && cached.promotion === promotion) return cached;
        const item = { id: rowKey(row), row, promotion };
        itemCache.current.set(row, item);
        return item;
      }),
    [rows, promotions],
  );
  const targets = useMemo(() => uniqueTargets(rows), [rows]);
  useEffect(() => {
    if (focusOnMount) headingRef.current?.focus();
    // Only when the table appears.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <Flex direction="column" gap="2">
      <Text
        as="h4"
        variant="title-x-small"
        ref={headingRef}
        tabIndex={-1}
        style={{ overflowWrap: 'anywhere' }}
      >
        {image}
      </Text>
      <TableRoot aria-label={`Versions of ${image}`}>
        <TableHeader>
          <Column>Target</Column>
          <Column>Deployed</Column>
          <Column>Selected</Column>
          <Column>Newest</Column>
          <Column>Behind</Column>
          <Column>Next step</Column>
          <Column>Actions</Column>
        </TableHeader>
        <TableBody
          items={items}
          dependencies={[onPromotionChanged, onPin, onUnpin]}
        >
          {({ id, row, promotion }) => (
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
                <NextStep row={row} promotion={promotion} />
              </Cell>
              <Cell>
                <Flex gap="2" style={{ flexWrap: 'wrap' }}>
                  {promotion && (
                    <>
                      <PromotionDecisions
                        promotion={promotion}
                        label={promotionLabel(promotion)}
                        onChanged={onPromotionChanged}
                        only={PROMOTE_ONLY}
                      />
                      <PromotionPreviewDialog
                        promotion={promotion}
                        label={promotionLabel(promotion)}
                      />
                    </>
                  )}
                  <PinControl
                    row={row}
                    id={id}
                    onPin={onPin}
                    onUnpin={onUnpin}
                  />
                </Flex>
              </Cell>
            </Row>
          )}
        </TableBody>
      </TableRoot>
      {props.entityRef && (
        <TagTargetGrid
          entityRef={props.entityRef}
          image={image}
          targets={targets}
        />
      )}
    </Flex>
  );
}

/** Pin, or Unpin for a pinned row; both wait while an Unpin runs. */
function PinControl(props: {
  row: TargetVersionView;
  id: string;
  onPin: (row: TargetVersionView) => void;
  onUnpin: (row: TargetVersionView) => void;
}) {
  const { row, id, onPin, onUnpin } = props;
  const busyRow = useContext(UnpinningContext);
  return row.pin ? (
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
  );
}

function uniqueTargets(
  rows: TargetVersionView[],
): TargetVersionView['target'][] {
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
  const { newest, tagsUnavailable } = props.row;
  if (!newest && tagsUnavailable) {
    return (
      <Text color="warning" style={{ overflowWrap: 'anywhere' }}>
        {tagsUnavailable}
      </Text>
    );
  }
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
  const pr = promotion.pullRequest;
  if (pr?.state === 'open' && promotion.state !== 'failed') {
    const waiting =
      promotion.state === 'pending'
        ? promotion.gates.filter(g => g.state !== 'passed').map(g => g.summary)
        : [];
    return waiting.length > 0
      ? `${delta} in pull request #${pr.number} waiting: ${waiting.join(' · ')}`
      : `${delta} in pull request #${pr.number}, waiting for merge on ${pr.host}`;
  }
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
    const group = groups.get(item.image);
    if (group) group.push(item);
    else groups.set(item.image, [item]);
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
