import {
  ObjectEvent,
  Page,
} from '@imageops/backstage-plugin-image-automation-common';

/** Events of automation objects. @internal */
export interface EventStore {
  record(event: Omit<ObjectEvent, 'id'>): Promise<void>;
  list(
    objectId: string,
    options?: { limit?: number; cursor?: string },
  ): Promise<Page<ObjectEvent>>;
  /**
   * Every event of some objects with one of some reasons, optionally from `since` and until
   * `until` (both inclusive), newest first; in one query.
   */
  listByReason(filter: {
    objectIds: string[];
    reasons: string[];
    since?: Date;
    until?: Date;
  }): Promise<ObjectEvent[]>;
  /** Deletes events older than `olderThan`, and beyond the newest `keepPerObject` of each object. */
  prune(options: { olderThan: Date; keepPerObject?: number }): Promise<number>;
}
