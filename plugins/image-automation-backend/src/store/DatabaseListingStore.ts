import { Knex } from 'knex';
import { applyMigrations } from './migrations';

const TABLE = 'image_automation_listings';

/** The last tag listing of one repository in one credential scope. @internal */
export interface StoredListing {
  canonicalImageName: string;
  tags: string[];
  listedAt: Date;
}

/** Tag listings shared by every replica (see registry/sharedListings.ts). @internal */
export interface ListingStore {
  get(key: string): Promise<StoredListing | undefined>;
  /** Replaces the listing under `key`, unless the stored one started later. */
  put(key: string, listing: StoredListing): Promise<void>;
}

/** Knex implementation of {@link ListingStore} (SQLite and PostgreSQL). @internal */
export class DatabaseListingStore implements ListingStore {
  private constructor(private readonly db: Knex) {}

  static async create(options: { knex: Knex; skipMigrations?: boolean }): Promise<DatabaseListingStore> {
    if (!options.skipMigrations) await applyMigrations(options.knex);
    return new DatabaseListingStore(options.knex);
  }

  async get(key: string): Promise<StoredListing | undefined> {
    const row = await this.db(TABLE).where({ key }).first();
    return row
      ? { canonicalImageName: row.canonical_image_name, tags: JSON.parse(row.tags), listedAt: new Date(row.listed_at) }
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
}
