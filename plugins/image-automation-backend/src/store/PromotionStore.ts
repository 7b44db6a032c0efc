import {
  Page,
  PromotionPin,
  PromotionState,
  PromotionStep,
  PromotionTarget,
  PromotionVersion,
  PromotionView,
  PromotionVote,
} from '@imageops/backstage-plugin-image-automation-common';

/**
 * A stored promotion: what the API shows (without the votes, kept apart, and the caller's
 * actions), the preview last computed, and the revision every update must name.
 * @internal
 */
export interface PromotionRecord
  extends Omit<PromotionView, 'votes' | 'actions'> {
  /** The preview last computed (JSON), stored with the promotion when it runs. */
  preview?: string;
  /** Optimistic-concurrency counter: every update must name the revision it read. */
  revision: number;
}

/** What creates a promotion (see {@link PromotionStore.create}). @internal */
export interface NewPromotion {
  entityRef?: string;
  target: PromotionTarget;
  subject: string;
  from?: PromotionVersion;
  to: PromotionVersion;
  by: string;
  note?: string;
  now: Date;
  /** The open promotion the caller read (null: none); a different one by then is a ConflictError. */
  expectedOpen?: string | null;
}

/** The fields an update may change; `history` steps are appended, never replaced. @internal */
export type PromotionPatch = Partial<
  Pick<
    PromotionRecord,
    | 'to'
    | 'state'
    | 'gates'
    | 'eta'
    | 'bypassedGates'
    | 'justification'
    | 'commit'
    | 'appliedRevision'
    | 'pullRequest'
    | 'diff'
    | 'preview'
    | 'error'
    | 'closedAt'
  >
> & {
  /** Appended to the history. */
  step?: PromotionStep;
};

/**
 * Promotions, their votes and the pins of targets. Every state change is a compare-and-set on
 * the record's revision, so two backend instances (or two people) acting at once never both
 * win: the loser gets `undefined` and re-reads.
 * @internal
 */
export interface PromotionStore {
  /**
   * Creates a promotion in state `pending` (history: one step by `by`). At most one promotion per
   * (target, subject) is open: creating one supersedes the open one (its state becomes
   * `superseded`, closedAt set, a step by `by` naming the new promotion), in one transaction.
   * With `expectedOpen` (the id of the open promotion the caller read, or null for none) it is
   * a compare-and-set: a ConflictError when the open promotion is another one by then, e.g. one
   * a concurrent caller created (and may already be carrying out).
   */
  create(input: NewPromotion): Promise<PromotionRecord>;
  get(id: string): Promise<PromotionRecord | undefined>;
  /** The open promotion (pending, approved, applying or failed) of a target's subject. */
  findOpen(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined>;
  /** The most recently created promotion of a target's subject, in any state. */
  latest(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined>;
  /** The most recently applied promotion of a target's subject. */
  lastApplied(
    targetId: string,
    subject: string,
  ): Promise<PromotionRecord | undefined>;
  /**
   * Applied promotions of any of an entity's targets whose `to.digest` (or `to.tag` when the
   * digest is absent) equals `version`, newest first: the evidence of the upstream gate.
   */
  findApplied(filter: {
    entityRef: string;
    digest?: string;
    tag?: string;
  }): Promise<PromotionRecord[]>;
  /** Newest first (by creation), filtered; `cursor` from the previous page. */
  list(filter: {
    entityRef?: string;
    targetId?: string;
    states?: PromotionState[];
    limit?: number;
    cursor?: string;
  }): Promise<Page<PromotionRecord>>;
  /**
   * Applies `patch` if the record is still at `expectedRevision` (and, when given, in one of
   * `expectedStates`); returns the updated record, or undefined when someone else changed it first.
   */
  update(
    id: string,
    expectedRevision: number,
    patch: PromotionPatch,
    now: Date,
    expectedStates?: PromotionState[],
  ): Promise<PromotionRecord | undefined>;
  /**
   * Records a vote; one per actor and digest (a second vote by the same actor for the same digest
   * replaces the first). Returns every vote of the promotion.
   */
  vote(promotionId: string, vote: PromotionVote): Promise<PromotionVote[]>;
  /** How many promotions are in each state (states without any are absent); for metrics. */
  countByState(): Promise<Partial<Record<PromotionState, number>>>;
  votes(promotionId: string): Promise<PromotionVote[]>;
  /** Creates or replaces the pin of a target's subject. */
  pin(pin: PromotionPin): Promise<void>;
  /** Removes a pin; false when there was none. */
  unpin(targetId: string, subject: string): Promise<boolean>;
  /** The pin of a target's subject (expired pins are not returned). */
  getPin(
    targetId: string,
    subject: string,
    now: Date,
  ): Promise<PromotionPin | undefined>;
  /** The pins of the given targets (expired ones are not returned). */
  listPins(targetIds: string[], now: Date): Promise<PromotionPin[]>;
}
