import { Knex } from 'knex';
import { applyMigrations } from './migrations';

const TABLE = 'image_automation_listings';
const BACKOFF = 'image_automation_registry_backoff';
const DIGESTS = 'image_automation_listing_digests';
const BUDGET = 'image_automation_registry_budget';

/** The last tag listing of one repository in one credential scope. @internal */
export interface StoredListing {
  canonicalImageName: string;
  tags: string[];
  listedAt: Date;
}

/**
 * Tag listings shared by every replica (see registry/sharedListings.ts), and the registries' request
 * budgets (it is the registry's `BudgetStore`, matched by shape: the store does not depend on the
 * registry module).
 * @internal
 */
export interface ListingStore {
  /**
   * Claims up to `want` of the `limit` requests of `host` in the window that starts at
   * `windowStart`, and returns how many were granted (0 when the window is spent, or when another
   * replica's clock already moved the host on to a later window).
   */
  claimBudget(
    host: string,
    windowStart: Date,
    want: number,
    limit: number,
  ): Promise<number>;
  get(key: string): Promise<StoredListing | undefined>;
  /** Replaces the listing under `key`, unless the stored one started later. */
  put(key: string, listing: StoredListing): Promise<void>;
  /** Until when a registry host asked callers to wait (its 429's `Retry-After`), if it did. */
  backoffUntil(host: string): Promise<Date | undefined>;
  /** Records that wait, unless a later one is recorded. */
  setBackoff(host: string, until: Date): Promise<void>;
  /** The digest of `tag` fetched under the listing `key` made at `listedAt`, if any. */
  digest(key: string, tag: string, listedAt: Date): Promise<string | undefined>;
  /** Records it, unless one fetched under a later listing is recorded. */
  putDigest(
    key: string,
    tag: string,
    listedAt: Date,
    digest: string,
  ): Promise<void>;
}

/** Knex implementation of {@link ListingStore} (SQLite and PostgreSQL). @internal */
export class DatabaseListingStore implements ListingStore {
  private constructor(private readonly db: Knex) {}

  static async create(options: {
    knex: Knex;
    skipMigrations?: boolean;
  }): Promise<DatabaseListingStore> {
    if (!options.skipMigrations) await applyMigrations(options.knex);
    return new DatabaseListingStore(options.knex);
  }

  async get(key: string): Promise<StoredListing | undefined> {
    const row = await this.db(TABLE).where({ key }).first();
    return row
      ? {
          canonicalImageName: row.canonical_image_name,
          tags: JSON.parse(row.tags),
          listedAt: new Date(row.listed_at),
        }
      : undefined;
  }

  async put(key: string, listing: StoredListing): Promise<void> {
    const row = {
      key,
      canonical_image_name: listing.canonicalImageName,
      tags: JSON.stringify(listing.tags),
      listed_at: listing.listedAt.toISOString(),
    };
    // ISO times of one format compare as text: an older listing never replaces a newer one.
    await this.db(TABLE)
      .insert(row)
      .onConflict('key')
      .merge()
      .where(`${TABLE}.listed_at`, '<', row.listed_at);
  }

  async backoffUntil(host: string): Promise<Date | undefined> {
    const row = await this.db(BACKOFF).where({ host }).first();
    return row ? new Date(row.until) : undefined;
  }

  async digest(
    key: string,
    tag: string,
    listedAt: Date,
  ): Promise<string | undefined> {
    const row = await this.db(DIGESTS)
      .where({ key, tag, listed_at: listedAt.toISOString() })
      .first();
    return row?.digest;
  }

  async putDigest(
    key: string,
    tag: string,
    listedAt: Date,
    digest: string,
  ): Promise<void> {
    const row = { key, tag, listed_at: listedAt.toISOString(), digest };
    await this.db(DIGESTS)
      .insert(row)
      .onConflict(['key', 'tag'])
      .merge()
      .where(`${DIGESTS}.listed_at`, '<=', row.listed_at);
  }

  async setBackoff(host: string, until: Date): Promise<void> {
    const row = { host, until: until.toISOString() };
    await this.db(BACKOFF)
      .insert(row)
      .onConflict('host')
      .merge()
      .where(`${BACKOFF}.until`, '<', row.until);
  }

  async claimBudget(
    host: string,
    windowStart: Date,
    want: number,
    limit: number,
  ): Promise<number> {
    const window = windowStart.toISOString();
    await this.db(BUDGET)
      .insert({ host, window_start: window, used: 0 })
      .onConflict('host')
      .ignore();
    // A new window starts from nothing (ISO times of one format compare as text).
    await this.db(BUDGET)
      .where({ host })
      .andWhere('window_start', '<', window)
      .update({ window_start: window, used: 0 });
    // Conditional updates, no locks: a claim only lands if the count is still what it was read as,
    // so replicas claiming at once never hand out more than `limit` between them. A claim that
    // does not land lost to one that did, so the count only grows and this loop ends.
    for (;;) {
      const row = await this.db(BUDGET)
        .where({ host, window_start: window })
        .first();
      if (!row) return 0; // another replica's clock is in a later window already
      const grant = Math.min(want, limit - Number(row.used));
      if (grant <= 0) return 0;
      const updated = await this.db(BUDGET)
        .where({ host, window_start: window, used: row.used })
        .update({ used: Number(row.used) + grant });
      if (updated === 1) return grant;
    }
  }
}
