import { ObjectEvent, Page } from '@imageops/backstage-plugin-image-automation-common';

/** Events of automation objects. @internal */
export interface EventStore {
  record(event: Omit<ObjectEvent, 'id'>): Promise<void>;
  list(objectId: string, options?: { limit?: number; cursor?: string }): Promise<Page<ObjectEvent>>;
  /** Deletes events older than `olderThan`. */
  prune(options: { olderThan: Date }): Promise<number>;
}
