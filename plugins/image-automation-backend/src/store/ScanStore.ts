import {
  Page,
  RegistryErrorKind,
  RepositoryTagView,
  ScanRecord,
} from '@imageops/backstage-plugin-image-automation-common';

/** The outcome of one scan, to be recorded. @internal */
export interface ScanOutcome {
  objectId: string;
  canonicalImageName?: string;
  startedAt: Date;
  durationMs: number;
  requests: number;
  /** The tags found (after exclusion); absent when the scan failed. */
  tags?: string[];
  revision?: string;
  error?: string;
  /**
   * A failed scan: the class of the registry's failure (`RegistryError.kind`); absent when the
   * error was not a registry error. Never more than the class: no message, no credential.
   */
  errorKind?: RegistryErrorKind;
  /** A failed scan: the HTTP status of the registry's failing answer, when there was one. */
  errorStatus?: number;
}

/** A tag a repository has seen; the API returns it as is. @internal */
export type TagRecord = RepositoryTagView;

/** Scan history and the tags each repository has seen. @internal */
export interface ScanStore {
  /**
   * Records a scan; for a successful one, also updates the repository's tags (first seen,
   * last seen, gone since) in the same transaction, and returns what was added and removed.
   * A successful scan of one object with the start time of one already recorded is the same
   * listing observed again (a reconcile re-run after its outcome was lost, reusing the shared
   * listing): it is not recorded twice, and the first record is returned.
   */
  recordScan(outcome: ScanOutcome): Promise<ScanRecord>;
  listScans(
    objectId: string,
    options?: { limit?: number; cursor?: string },
  ): Promise<Page<ScanRecord>>;
  /** Records the digest a tag pointed at when it was last resolved. */
  setDigest(objectId: string, tag: string, digest: string): Promise<void>;
  /** The tags present in the last successful scan. */
  currentTags(objectId: string): Promise<string[]>;
  /** Every tag present in the last successful scan, with its history. */
  presentTags(objectId: string): Promise<TagRecord[]>;
  listTags(
    objectId: string,
    options?: {
      limit?: number;
      cursor?: string;
      search?: string;
      includeGone?: boolean;
    },
  ): Promise<Page<TagRecord>>;
  /** Deletes scans older than `olderThan` and beyond `keepPerObject` per repository. */
  prune(options: { olderThan: Date; keepPerObject: number }): Promise<number>;
  /**
   * Deletes the history of tags gone from their repository before `goneBefore`, and beyond the
   * `keepPerObject` most recently gone per repository. Present tags are never deleted.
   */
  pruneGoneTags(options: {
    goneBefore: Date;
    keepPerObject: number;
  }): Promise<number>;
}
