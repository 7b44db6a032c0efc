import { AutomationObjectView } from './api';
import { PromotionView } from './promotions';

/**
 * What one timeline event records:
 * - `tag-seen`: a tag first appeared in a repository's scan history (registry time);
 * - `requested` … `superseded`: a promotion's steps (deployment time), `applied` being the moment
 *   a target started to carry the version;
 * - `pinned` / `unpinned`: a hold placed or lifted;
 * - `suspended` / `resumed`: an automation object's schedule stopped or started again.
 * @public
 */
export type TimelineEventKind =
  | 'tag-seen'
  | 'requested'
  | 'approved'
  | 'rejected'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'superseded'
  | 'pinned'
  | 'unpinned'
  | 'suspended'
  | 'resumed';

/** One event on an entity's timeline. @public */
export interface TimelineEvent {
  /** Stable and unique within the entity, e.g. `scan:42:1.5.0` or `promotion:<id>:3`. */
  id: string;
  time: string;
  kind: TimelineEventKind;
  /** The lane: a promotion target id (`git:…`, `cluster:…`); absent for registry events. */
  targetId?: string;
  /** The image (without tag) the event is about, when there is one. */
  image?: string;
  /** The object the event came from: `ImageRepository/<ns>/<name>`, a subject, or an automation. */
  objectId?: string;
  tag?: string;
  /** Promotions: the tag the target moved from. */
  fromTag?: string;
  digest?: string;
  /** Who caused it: a user or service ref, or `image-automation` for the engine. */
  actor?: string;
  promotionId?: string;
  /** The event in one sentence, e.g. `1.5.0 applied to cluster:podinfo@staging`. */
  message: string;
}

/** A lane of the timeline. @public */
export interface TimelineLane {
  /** The promotion target id, or `registry` for the lane of tags seen. */
  id: string;
  /** What the lane is called on screen: `registry`, `git: clusters/prod (podinfo)`, `cluster staging`. */
  label: string;
}

/**
 * `GET /entities/:kind/:namespace/:name/timeline?since=&until=&limit=&cursor=`: the entity's
 * events, newest first, one page at a time.
 * @public
 */
export interface EntityTimelineView {
  entityRef: string;
  lanes: TimelineLane[];
  items: TimelineEvent[];
  nextCursor?: string;
  /**
   * With `since`: the last `applied` event of each lane and subject before it, i.e. what each
   * target carried when the range starts (so a bar can start at the range's edge).
   */
  appliedBefore?: TimelineEvent[];
  /** The newest scan of the entity's repositories; absent when none has been scanned yet. */
  lastScanAt?: string;
  /** When the entity's repositories scan next (the soonest); absent when it has none. */
  nextScanAt?: string;
}

/** A promotion on the fleet page, with the entity's owner for filtering. @public */
export interface FleetPromotion extends PromotionView {
  /** The owning entity's `spec.owner` as an entity ref (`group:default/team-a`). */
  owner?: string;
}

/**
 * Why an automation object is on the fleet page, most urgent first: `Stalled` (needs a manifest
 * change), `Suspended` (stopped by a person or `spec.suspend`), `Failing` (Ready=False, retried),
 * `Reconciling` (for longer than a reconcile should take) and `Unknown` (reconciled, no verdict).
 * @public
 */
export const FLEET_OBJECT_HEALTHS = [
  'Stalled',
  'Suspended',
  'Failing',
  'Reconciling',
  'Unknown',
] as const;

/** One of {@link FLEET_OBJECT_HEALTHS}. @public */
export type FleetObjectHealth = (typeof FLEET_OBJECT_HEALTHS)[number];

/** An automation object that is not Ready, on the fleet page. @public */
export interface FleetObject extends AutomationObjectView {
  owner?: string;
  health: FleetObjectHealth;
  /** Reason and message of the condition that decided `health`. */
  reason?: string;
  message?: string;
  /** Since when the object has been in this state, when known. */
  since?: string;
}

/**
 * The filters of `GET /fleet`. `kind` matches an object's kind, and a promotion's subject or
 * target kind; `state` matches an object's health or a promotion's state.
 * @public
 */
export interface FleetFilter {
  /** An owner entity ref; `team-a` means `group:default/team-a`. */
  owner?: string;
  kind?: string;
  state?: string;
}

/**
 * `GET /fleet?owner=&kind=&state=`: across the catalog, every open promotion the caller may act
 * on and every automation object that is not Ready, on entities the caller may read.
 * @public
 */
export interface FleetView {
  promotions: FleetPromotion[];
  failing: FleetObject[];
  /** The owners, kinds and states present before the filters apply, for the filters' choices. */
  facets: { owners: string[]; kinds: string[]; states: string[] };
}

/**
 * The signal channel of an entity: the backend publishes a {@link ImageAutomationSignal} on it
 * whenever the entity's objects, scans or promotions change.
 * @public
 */
export function entitySignalChannel(entityRef: string): string {
  return `image-automation:${entityRef.toLocaleLowerCase('en-US')}`;
}

/** The channel of the fleet page: every change, on any entity. @public */
export const FLEET_SIGNAL_CHANNEL = 'image-automation:fleet';

/** The message of an image-automation signal: what changed, never any value. @public */
export interface ImageAutomationSignal {
  /** `objects`: status or schedule; `scans`: a scan finished; `promotions`: a promotion or pin changed. */
  change: 'objects' | 'scans' | 'promotions';
  entityRef?: string;
  [key: string]: string | undefined;
}
