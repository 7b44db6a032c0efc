import {
  ActionPermission,
  AutomationObjectView,
  EntityVersionsView,
  Page,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { PolledValue } from '../../hooks/usePolledValue';
import { errorMessage } from '../errorMessage';
import { formatRelative } from '../format';
import { objectHealth, Readiness } from '../objectHealth';
import { promotionGroup } from '../PendingPromotionsSection';

/**
 * Where a source of the strip stands: not loaded yet, failed with nothing to show, loaded, or
 * loaded earlier but the last refresh failed (the value shown is stale).
 * @internal
 */
export type SourceState = 'loading' | 'unavailable' | 'ok' | 'stale';

/** The state of a polled source. @internal */
export function sourceState(source: PolledValue<unknown>): SourceState {
  if (source.value === undefined) {
    return source.error ? 'unavailable' : 'loading';
  }
  return source.error ? 'stale' : 'ok';
}

/** The counters read from the versions view. @internal */
export interface VersionCounts {
  images: number;
  targets: number;
  /** Targets where at least one image is behind. */
  targetsBehind: number;
  /**
   * The clusters whose pods could not be read (a row's `running.error`), by name, sorted: what
   * they run is unknown until they answer, whatever the other counters say.
   */
  unreadableClusters: string[];
}

/**
 * Distinct images and targets of the versions view, and the targets with at least one image
 * behind: a target that carries two images counts once, so "behind" compares with "targets".
 * @internal
 */
export function versionCounts(view: EntityVersionsView): VersionCounts {
  const items = view.items;
  return {
    images: new Set(items.map(i => i.image)).size,
    targets: new Set(items.map(i => i.target.id)).size,
    targetsBehind: new Set(
      items.filter(i => (i.behind?.tags ?? 0) > 0).map(i => i.target.id),
    ).size,
    unreadableClusters: [
      ...new Set(
        items
          .filter(i => i.running?.error)
          .map(i => i.target.cluster ?? i.target.id),
      ),
    ].sort(),
  };
}

/** `1 cluster could not be read: prod`, `2 clusters could not be read: prod, staging`. @internal */
export function unreadableClustersText(clusters: string[]): string {
  const noun = clusters.length === 1 ? 'cluster' : 'clusters';
  return `${clusters.length} ${noun} could not be read: ${clusters.join(', ')}`;
}

/** The counters read from the open promotions. @internal */
export interface PromotionCounts {
  open: number;
  /** True when the page is not the last, i.e. there are more open promotions than counted. */
  more: boolean;
  /** Those waiting for an approval the caller may give. */
  needYourApproval: number;
}

/** Counts the open promotions and those that wait for the caller's approval. @internal */
export function promotionCounts(page: Page<PromotionView>): PromotionCounts {
  return {
    open: page.items.length,
    more: page.nextCursor !== undefined,
    needYourApproval: page.items.filter(
      p => p.actions.approve.allowed && promotionGroup(p) === 'approval',
    ).length,
  };
}

/** The objects that are not Ready, by readiness. @internal */
export interface ReadinessCounts {
  total: number;
  notReady: number;
  /** How many objects have each readiness other than Ready, in a stable order. */
  byReadiness: Array<{ readiness: Exclude<Readiness, 'Ready'>; count: number }>;
}

const NOT_READY_ORDER: Array<Exclude<Readiness, 'Ready'>> = [
  'Stalled',
  'Not ready',
  'Reconciling',
  'Unknown',
];

/** Counts the objects whose conditions do not say Ready. @internal */
export function readinessCounts(
  objects: AutomationObjectView[],
): ReadinessCounts {
  const readiness = objects.map(o => objectHealth(o.status).readiness);
  const byReadiness = NOT_READY_ORDER.map(r => ({
    readiness: r,
    count: readiness.filter(x => x === r).length,
  })).filter(r => r.count > 0);
  return {
    total: objects.length,
    notReady: readiness.filter(r => r !== 'Ready').length,
    byReadiness,
  };
}

/**
 * "Last scan 2m ago · next in 3m" over the entity's registry scans (ImageRepositories and tag
 * input providers, see {@link scansRegistry}): the newest last run, and
 * the soonest next run among those not suspended (a suspended repository is not scanned).
 * @internal
 */
export function scanFreshness(
  objects: AutomationObjectView[],
  now: Date,
): string {
  const repositories = objects.filter(scansRegistry);
  if (repositories.length === 0) return 'No registry to scan';
  const last = latest(repositories.map(r => r.lastRunAt));
  const active = repositories.filter(r => !r.suspended);
  const next = earliest(active.map(r => r.nextRunAt));
  const lastText = last
    ? `Last scan ${formatRelative(last, now)}`
    : 'Not scanned yet';
  let nextText = 'next scan not scheduled';
  if (active.length === 0) nextText = 'scans suspended';
  else if (next && Date.parse(next) <= now.getTime()) nextText = 'next due now';
  else if (next) nextText = `next ${formatRelative(next, now)}`;
  return `${lastText} · ${nextText}`;
}

function valid(times: Array<string | undefined>): number[] {
  return times
    .map(t => (t ? Date.parse(t) : NaN))
    .filter(t => !Number.isNaN(t));
}

function latest(times: Array<string | undefined>): string | undefined {
  const parsed = valid(times);
  return parsed.length
    ? new Date(Math.max(...parsed)).toISOString()
    : undefined;
}

function earliest(times: Array<string | undefined>): string | undefined {
  const parsed = valid(times);
  return parsed.length
    ? new Date(Math.min(...parsed)).toISOString()
    : undefined;
}

/** A global action of the strip. @internal */
export interface BulkAction {
  label: string;
  /** The button's text while the action runs. */
  progress: string;
  /** The objects it reconciles. */
  select: (object: AutomationObjectView) => boolean;
  /** The objects it reconciles, in words: `ImageRepository`/`ImageRepositories`. */
  noun: [singular: string, plural: string];
}

/**
 * Whether the object scans a registry's tags: an ImageRepository, or an input provider of an
 * `…ArtifactTag` type (the Gitless workflow's scanners). @internal
 */
export function scansRegistry(
  object: Pick<AutomationObjectView, 'kind' | 'spec'>,
): boolean {
  if (object.kind === 'ImageRepository') return true;
  const type = object.spec?.type;
  return (
    object.kind === 'ResourceSetInputProvider' &&
    typeof type === 'string' &&
    type.endsWith('ArtifactTag')
  );
}

/** "Scan now" reconciles every object that scans a registry; "Reconcile all" every object. @internal */
export const BULK_ACTIONS = {
  scan: {
    label: 'Scan now',
    progress: 'Scanning…',
    select: scansRegistry,
    noun: ['registry scan', 'registry scans'],
  },
  all: {
    label: 'Reconcile all',
    progress: 'Reconciling…',
    select: () => true,
    noun: ['automation object', 'automation objects'],
  },
} satisfies Record<string, BulkAction>;

/** `1 ImageRepository`, `2 ImageRepositories`. @internal */
export function countOf(count: number, noun: BulkAction['noun']): string {
  return `${count} ${count === 1 ? noun[0] : noun[1]}`;
}

/**
 * Whether a global action may run, and on which objects: those the action selects and the server
 * allows the caller to reconcile. When none, the permission says why, in the server's words.
 * @internal
 */
export function bulkPermission(
  objects: PolledValue<AutomationObjectView[]>,
  action: BulkAction,
): { permission: ActionPermission; targets: AutomationObjectView[] } {
  if (objects.value === undefined) {
    const reason = objects.error
      ? `The automation objects could not be loaded: ${errorMessage(
          objects.error,
        )}`
      : 'The automation objects are still loading.';
    return { permission: { allowed: false, reason }, targets: [] };
  }
  const candidates = objects.value.filter(action.select);
  if (candidates.length === 0) {
    return {
      permission: {
        allowed: false,
        reason: `No ${action.noun[0]} belongs to this entity.`,
      },
      targets: [],
    };
  }
  const targets = candidates.filter(o => o.actions.reconcile.allowed);
  if (targets.length === 0) {
    const reasons = [
      ...new Set(
        candidates.map(
          o => o.actions.reconcile.reason ?? 'You may not reconcile it.',
        ),
      ),
    ];
    return {
      permission: { allowed: false, reason: reasons.join('; ') },
      targets: [],
    };
  }
  return { permission: { allowed: true }, targets };
}
