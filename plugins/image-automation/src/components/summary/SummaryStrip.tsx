import { ReactNode, useEffect, useId, useState } from 'react';
import { useApi } from '@backstage/core-plugin-api';
import {
  Alert,
  Button,
  Card,
  CardBody,
  Flex,
  Skeleton,
  Text,
  VisuallyHidden,
} from '@backstage/ui';
import {
  AutomationObjectView,
  EntityVersionsView,
  Page,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { imageAutomationApiRef } from '../../api/ImageAutomationApi';
import { LiveUpdates } from '../../hooks/useLiveUpdates';
import { PolledValue } from '../../hooks/usePolledValue';
import { ActionButton } from '../ActionButton';
import { errorMessage } from '../errorMessage';
import { reconcilePending } from '../reconcilePending';
import {
  BULK_ACTIONS,
  BulkAction,
  bulkPermission,
  countOf,
  promotionCounts,
  readinessCounts,
  scanFreshness,
  SourceState,
  sourceState,
  unreadableClustersText,
  versionCounts,
} from './summaryModel';

/** How often relative times ("2m ago") and in-flight actions are looked at again between loads. */
const TICK_MS = 15_000;

/** Props of {@link SummaryStrip}. @internal */
export interface SummaryStripProps {
  objects: PolledValue<AutomationObjectView[]>;
  versions: PolledValue<EntityVersionsView>;
  /** The entity's open promotions (pending, approved, applying, failed). */
  promotions: PolledValue<Page<PromotionView>>;
  live: LiveUpdates;
  /** Called after Scan now / Reconcile all, so the sections reload. */
  onChanged: () => void;
}

type BulkKind = keyof typeof BULK_ACTIONS;

/** A global action on its way: sending the requests, then waiting for the backend to handle them. */
interface BulkRun {
  kind: BulkKind;
  sending: boolean;
  /** The accepted requests: the object as the backend returned it, with its request time. */
  requests: Array<{ object: AutomationObjectView; requestedAt: string }>;
  /** Objects the action selected that the caller may not reconcile. */
  skipped: number;
}

/** The requests of a global action that failed, shown until dismissed. */
interface BulkFailure {
  kind: BulkKind;
  attempted: number;
  failures: Array<{ name: string; message: string }>;
}

/**
 * The strip at the top of the Image updates tab: counters (images, targets, targets behind, open
 * promotions and how many need the caller's approval, objects not Ready), how fresh the scans and
 * the page are, and the global Scan now / Reconcile all actions. Each counter says what it counts
 * in words; a source that is loading, failed or stale says so for its own counters only.
 * @internal
 */
export function SummaryStrip(props: SummaryStripProps) {
  const { objects, versions, promotions, live, onChanged } = props;
  const api = useApi(imageAutomationApiRef);
  useTick(TICK_MS);
  const now = new Date();
  const errorIds = {
    objects: useId(),
    versions: useId(),
    promotions: useId(),
  };
  const [run, setRun] = useState<BulkRun>();
  const [failure, setFailure] = useState<BulkFailure>();

  const states = {
    objects: sourceState(objects),
    versions: sourceState(versions),
    promotions: sourceState(promotions),
  };
  const versionCount = versions.value && versionCounts(versions.value);
  const promotionCount = promotions.value && promotionCounts(promotions.value);
  const readiness = objects.value && readinessCounts(objects.value);

  const running =
    run && inFlight(run, objects.value ?? [], now) ? run : undefined;

  const start = async (kind: BulkKind) => {
    const action = BULK_ACTIONS[kind];
    const { targets } = bulkPermission(objects, action);
    const skipped =
      (objects.value ?? []).filter(action.select).length - targets.length;
    setFailure(undefined);
    setRun({ kind, sending: true, requests: [], skipped });
    const results = await Promise.allSettled(
      targets.map(o =>
        api.runAction(
          { kind: o.kind, namespace: o.namespace, name: o.name },
          'reconcile',
        ),
      ),
    );
    const requests: BulkRun['requests'] = [];
    const failures: BulkFailure['failures'] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        requests.push({
          object: result.value,
          requestedAt:
            result.value.reconcileRequestedAt ?? new Date().toISOString(),
        });
      } else {
        const o = targets[i];
        failures.push({
          name: `${o.kind} ${o.namespace}/${o.name}`,
          message: errorMessage(
            result.reason instanceof Error
              ? result.reason
              : new Error(String(result.reason)),
          ),
        });
      }
    });
    setRun({ kind, sending: false, requests, skipped });
    if (failures.length > 0) {
      setFailure({ kind, attempted: targets.length, failures });
    }
    onChanged();
  };

  return (
    <Card role="region" aria-label="Summary">
      <CardBody>
        <Flex direction="column" gap="3">
          <Flex gap="5" style={{ flexWrap: 'wrap' }}>
            <Counter
              label="Images"
              state={states.versions}
              errorId={errorIds.versions}
              value={versionCount?.images}
            />
            <Counter
              label="Targets"
              state={states.versions}
              errorId={errorIds.versions}
              value={versionCount?.targets}
            />
            <Counter
              label="Targets behind"
              state={states.versions}
              errorId={errorIds.versions}
              value={versionCount?.targetsBehind}
              tone={versionCount?.targetsBehind ? 'warning' : 'success'}
              detail={
                versionCount &&
                behindDetail(versionCount.targetsBehind, versionCount.targets)
              }
            />
            {versionCount && versionCount.unreadableClusters.length > 0 && (
              <Counter
                label="Unreadable clusters"
                state={states.versions}
                errorId={errorIds.versions}
                value={versionCount.unreadableClusters.length}
                tone="warning"
                detail={unreadableClustersText(versionCount.unreadableClusters)}
              />
            )}
            <Counter
              label="Pending promotions"
              state={states.promotions}
              errorId={errorIds.promotions}
              value={
                promotionCount &&
                `${promotionCount.open}${promotionCount.more ? '+' : ''}`
              }
              detail={
                promotionCount && (
                  <Text
                    as="p"
                    variant="body-small"
                    color={
                      promotionCount.needYourApproval > 0
                        ? 'warning'
                        : 'secondary'
                    }
                  >
                    {approvalDetail(promotionCount.needYourApproval)}
                  </Text>
                )
              }
            />
            <Counter
              label="Objects not Ready"
              state={states.objects}
              errorId={errorIds.objects}
              value={readiness?.notReady}
              tone={readiness?.notReady ? 'danger' : 'success'}
              detail={readiness && readinessDetail(readiness)}
            />
          </Flex>

          <Flex
            gap="3"
            align="center"
            justify="between"
            style={{ flexWrap: 'wrap' }}
          >
            <Text
              aria-describedby={sourceErrorId(states.objects, errorIds.objects)}
            >
              {freshnessText(objects, states.objects, now)}
              {' · '}
              {live.live ? (
                <Text as="span" color="success" weight="bold">
                  Live
                </Text>
              ) : (
                `Polling every ${Math.round(live.pollIntervalMs / 1000)} s`
              )}
            </Text>
            <Flex gap="2">
              {(Object.keys(BULK_ACTIONS) as BulkKind[]).map(kind => (
                <BulkButton
                  key={kind}
                  action={BULK_ACTIONS[kind]}
                  objects={objects}
                  running={running?.kind === kind}
                  busy={running !== undefined && running.kind !== kind}
                  onPress={() => start(kind)}
                />
              ))}
            </Flex>
          </Flex>

          <Text as="p" role="status" variant="body-small" color="secondary">
            {running && !running.sending ? runStatus(running) : ''}
          </Text>

          {failure && (
            <Alert
              status="danger"
              role="alert"
              icon
              title={`${BULK_ACTIONS[failure.kind].label} failed for ${
                failure.failures.length
              } of ${countOf(
                failure.attempted,
                BULK_ACTIONS[failure.kind].noun,
              )}`}
              description={
                <ul style={{ margin: 0, paddingLeft: 'var(--bui-space-5)' }}>
                  {failure.failures.map(f => (
                    <li key={f.name}>
                      {f.name}: {f.message}
                    </li>
                  ))}
                </ul>
              }
              customActions={
                <Button
                  size="small"
                  variant="secondary"
                  onPress={() => setFailure(undefined)}
                >
                  Dismiss
                </Button>
              }
            />
          )}

          <SourceError
            id={errorIds.versions}
            what="Versions"
            source={versions}
          />
          <SourceError
            id={errorIds.promotions}
            what="Pending promotions"
            source={promotions}
          />
          <SourceError
            id={errorIds.objects}
            what="Automation objects"
            source={objects}
          />
        </Flex>
      </CardBody>
    </Card>
  );
}

/** Re-renders every `intervalMs`, so relative times and in-flight actions move on between loads. */
function useTick(intervalMs: number) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick(t => t + 1), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
}

/**
 * Whether a global action is still on its way: sending, or an accepted request the backend has
 * not handled yet. The object as last loaded decides; until the load after the action arrives it
 * predates the request, and so still counts as pending for it.
 */
function inFlight(run: BulkRun, objects: AutomationObjectView[], now: Date) {
  if (run.sending) return true;
  return run.requests.some(({ object, requestedAt }) => {
    const current = objects.find(o => o.id === object.id) ?? object;
    return reconcilePending(
      { ...current, reconcileRequestedAt: requestedAt },
      now,
    );
  });
}

function runStatus(run: BulkRun): string {
  const action = BULK_ACTIONS[run.kind];
  const requested = `Requested for ${countOf(
    run.requests.length,
    action.noun,
  )}`;
  const skipped =
    run.skipped > 0
      ? `; skipped ${countOf(run.skipped, action.noun)} you may not reconcile`
      : '';
  return `${requested}${skipped}; waiting for the backend to handle it.`;
}

function behindDetail(behind: number, targets: number): string {
  if (targets === 0) return 'no targets tracked';
  return behind === 0 ? 'all up to date' : `${behind} of ${targets} behind`;
}

function approvalDetail(count: number): string {
  if (count === 0) return 'none need your approval';
  return `${count} ${count === 1 ? 'needs' : 'need'} your approval`;
}

function readinessDetail(counts: ReturnType<typeof readinessCounts>): string {
  if (counts.total === 0) return 'no automation objects';
  if (counts.notReady === 0) return `all ${counts.total} Ready`;
  return counts.byReadiness
    .map(r => `${r.count} ${r.readiness.toLocaleLowerCase('en-US')}`)
    .join(' · ');
}

function freshnessText(
  objects: PolledValue<AutomationObjectView[]>,
  state: SourceState,
  now: Date,
): string {
  if (state === 'loading') return 'Last scan …';
  if (state === 'unavailable' || !objects.value) return 'Last scan unavailable';
  const text = scanFreshness(objects.value, now);
  return state === 'stale' ? `${text} (stale)` : text;
}

function sourceErrorId(state: SourceState, id: string): string | undefined {
  return state === 'unavailable' || state === 'stale' ? id : undefined;
}

/** One counter: its name, then its number in words and colour, or why there is none. */
function Counter(props: {
  label: string;
  state: SourceState;
  /** The id of the text that explains the source's error, when it has one. */
  errorId: string;
  value?: ReactNode;
  tone?: 'success' | 'warning' | 'danger';
  detail?: ReactNode;
}) {
  const { label, state, errorId, value, tone, detail } = props;
  const labelId = useId();
  let body: ReactNode;
  if (state === 'loading') {
    body = (
      <>
        <Skeleton width={40} height={28} aria-hidden />
        <VisuallyHidden>Loading</VisuallyHidden>
      </>
    );
  } else if (state === 'unavailable') {
    body = (
      <Text variant="body-large" weight="bold" color="danger">
        unavailable
      </Text>
    );
  } else {
    body = (
      <>
        <Text variant="title-small" weight="bold" color={tone}>
          {value}
        </Text>
        {state === 'stale' && (
          <Text variant="body-small" color="warning">
            {' '}
            stale
          </Text>
        )}
        {typeof detail === 'string' ? (
          <Text as="p" variant="body-small" color={tone ?? 'secondary'}>
            {detail}
          </Text>
        ) : (
          detail
        )}
      </>
    );
  }
  return (
    <div
      role="group"
      aria-labelledby={labelId}
      aria-describedby={sourceErrorId(state, errorId)}
      style={{ minWidth: '8rem' }}
    >
      <Text as="p" id={labelId} variant="body-small" color="secondary">
        {label}
      </Text>
      {body}
    </div>
  );
}

/** What a failed source says, once for all its counters: unavailable, or stale since when. */
function SourceError(props: {
  id: string;
  what: string;
  source: PolledValue<unknown>;
}) {
  const { id, what, source } = props;
  if (!source.error) return null;
  const stale = source.value !== undefined;
  return (
    <Text
      as="p"
      id={id}
      variant="body-small"
      color={stale ? 'warning' : 'danger'}
    >
      {stale
        ? `${what} are stale: the last refresh failed: `
        : `${what} unavailable: `}
      {errorMessage(source.error)}
    </Text>
  );
}

/** A global action's button: enabled per the server's permissions, showing progress while on its way. */
function BulkButton(props: {
  action: BulkAction;
  objects: PolledValue<AutomationObjectView[]>;
  running: boolean;
  busy: boolean;
  onPress: () => void;
}) {
  const { action, objects, running, busy, onPress } = props;
  const { permission } = bulkPermission(objects, action);
  const label = running ? action.progress : action.label;
  return (
    <ActionButton
      label={label}
      accessibleName={label}
      permission={permission}
      isPending={running}
      isBusy={busy}
      onPress={onPress}
    />
  );
}
