import {
  Page,
  PromotionPin,
  PromotionState,
  PromotionVersion,
  PromotionView,
} from '@imageops/backstage-plugin-image-automation-common';
import { PromotionRecord } from '../store/PromotionStore';

/**
 * The states in which each decision on a promotion may be taken: approve a pending one; reject one
 * that is pending, approved (not yet applied) or failed; promote now one that is pending or failed.
 * DefaultPromotionService refuses a decision in any other state (ConflictError); the views offer it
 * only in these.
 * @internal
 */
export const PROMOTION_DECISION_STATES: Record<
  'approve' | 'reject' | 'promoteNow',
  PromotionState[]
> = {
  approve: ['pending'],
  reject: ['pending', 'approved', 'failed'],
  promoteNow: ['pending', 'failed'],
};

/**
 * The promotion operations without a caller's permission checks (DefaultPromotionService implements
 * them over the stores): what AuthorizedPromotionService decorates. The actor of each decision is
 * given by the caller.
 * @internal
 */
export interface PromotionOperations {
  /** NotFoundError without such a promotion. */
  find(id: string): Promise<PromotionRecord>;
  /** The entity a promotion belongs to now: its automation object's, else the one recorded. */
  ownerOf(
    record: Pick<PromotionRecord, 'target' | 'entityRef'>,
  ): Promise<string | undefined>;
  /** The automation object of a target id, for permission checks; NotFoundError without one. */
  targetObject(targetId: string): Promise<{ entityRef?: string }>;
  /** The view of a promotion, before the caller's actions are known. */
  view(record: PromotionRecord): Promise<PromotionView>;
  list(filter: {
    entityRef: string;
    states?: PromotionState[];
    limit?: number;
    cursor?: string;
  }): Promise<Page<PromotionRecord>>;
  approve(
    id: string,
    actor: string,
    comment?: string,
  ): Promise<PromotionRecord>;
  reject(id: string, actor: string, reason: string): Promise<PromotionRecord>;
  promoteNow(
    id: string,
    actor: string,
    justification: string,
  ): Promise<PromotionRecord>;
  pin(input: {
    targetId: string;
    subject: string;
    version: PromotionVersion;
    reason: string;
    actor: string;
    expiresAt?: string;
  }): Promise<PromotionPin>;
  rollback(id: string, actor: string, reason: string): Promise<PromotionPin>;
  unpin(targetId: string, subject: string, actor: string): Promise<void>;
}
