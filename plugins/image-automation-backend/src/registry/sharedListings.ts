import crypto from 'node:crypto';
import { ListingStore } from '../store/DatabaseListingStore';
import { ImageReference } from './parseImageReference';
import { RegistryCallOptions, RegistryClient } from './RegistryClient';
import { RegistryError } from './RegistryError';

/**
 * Who may share a listing: objects that name the same credential and client certificate (by
 * name, each already checked against the object's entity) and reach the registry by the same
 * scheme. An anonymous listing is never given to an object that names a credential, nor the other
 * way round, so a private repository's tags only reach objects allowed to list them. A listing
 * made with the backend's cloud identity (`provider` aws, gcp or azure, each already admitted for
 * the object's entity and registry; `secretRef` is ignored then, as in Flux) is shared only with
 * objects that authenticate with the same provider.
 * @internal
 */
export function listingScope(
  refs: {
    secretRef?: { name: string };
    certSecretRef?: { name: string };
    provider?: string;
  },
  ref: ImageReference,
): string {
  if (refs.provider && refs.provider !== 'generic') {
    return JSON.stringify([
      `provider:${refs.provider}`,
      null,
      refs.certSecretRef?.name ?? null,
      ref.scheme,
    ]);
  }
  return JSON.stringify([
    refs.secretRef?.name ?? null,
    refs.certSecretRef?.name ?? null,
    ref.scheme,
  ]);
}

function listingKey(ref: ImageReference, scope: string): string {
  return crypto
    .createHash('sha256')
    .update(`${ref.canonical}\n${scope}`)
    .digest('hex');
}

/** A tag listing, and whether it was read from the registry by this call. @internal */
export interface Listing {
  tags: string[];
  /** When the listing started: the time the tags were observed. */
  listedAt: Date;
  /** Registry requests this call made (0 when it reused a listing). */
  requests: number;
  shared: boolean;
}

/**
 * Fleet-wide scan sharing (issue #16): one registry listing per repository and credential scope
 * per interval, shared by every ImageRepository and OCIArtifactTag provider that names it, on every
 * replica (the listing is kept in the database). A caller reuses a listing younger than `maxAgeMs`
 * (its own interval; 0 for a requested reconcile, which always lists) and schedules its next scan
 * from the listing's time, so objects sharing a repository converge on one listing per interval.
 * Listings of one repository and scope in flight in this process are awaited rather than repeated.
 * @internal
 */
export class SharedListings {
  private readonly inFlight = new Map<string, Promise<Listing>>();
  private readonly digestsInFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly deps: {
      store: ListingStore;
      registry: Pick<RegistryClient, 'listTags' | 'getDigest'>;
      /** Told of each call: whether it reused a listing (for metrics). */
      onListing?: (shared: boolean) => void;
    },
  ) {}

  /**
   * `share.now` is the caller's clock (the reconcile's time; default the current time): a listing
   * starts then, and its age is measured from then.
   */
  /**
   * The digest of `tag` under the listing made at `listedAt` (the one `listTags` returned): fetched
   * once per listing, fleet-wide, by whichever object asks first; a new listing fetches it again.
   */
  async digest(
    ref: ImageReference,
    tag: string,
    options: RegistryCallOptions,
    share: { scope: string; listedAt: Date },
  ): Promise<string> {
    const key = listingKey(ref, share.scope);
    const flight = `${key}\n${tag}\n${share.listedAt.toISOString()}`;
    const running = this.digestsInFlight.get(flight);
    if (running) {
      const digest = await running.catch(() => undefined);
      if (digest) return digest;
    }
    const call = (async () => {
      const stored = await this.deps.store.digest(key, tag, share.listedAt);
      if (stored) return stored;
      const { digest } = await this.deps.registry.getDigest(ref, tag, options);
      await this.deps.store.putDigest(key, tag, share.listedAt, digest);
      return digest;
    })();
    this.digestsInFlight.set(flight, call);
    try {
      return await call;
    } finally {
      if (this.digestsInFlight.get(flight) === call)
        this.digestsInFlight.delete(flight);
    }
  }

  async listTags(
    ref: ImageReference,
    options: RegistryCallOptions,
    share: { scope: string; maxAgeMs: number; now?: Date },
  ): Promise<Listing> {
    const now = share.now ?? new Date();
    const key = listingKey(ref, share.scope);
    // A call for the same repository and scope already running here (reading the stored listing or
    // the registry): its answer, when it fits this call's age limit.
    const running = this.inFlight.get(key);
    if (running) {
      const listing = await running.catch(() => undefined);
      if (
        listing &&
        (!listing.shared ||
          now.getTime() - listing.listedAt.getTime() < share.maxAgeMs)
      ) {
        this.deps.onListing?.(true);
        return { ...listing, requests: 0, shared: true };
      }
    }
    const call = this.readOrList(key, ref, options, share.maxAgeMs, now);
    this.inFlight.set(key, call);
    try {
      const listing = await call;
      this.deps.onListing?.(listing.shared);
      return listing;
    } finally {
      if (this.inFlight.get(key) === call) this.inFlight.delete(key);
    }
  }

  private async readOrList(
    key: string,
    ref: ImageReference,
    options: RegistryCallOptions,
    maxAgeMs: number,
    now: Date,
  ): Promise<Listing> {
    if (maxAgeMs > 0) {
      const stored = await this.deps.store.get(key);
      if (stored && now.getTime() - stored.listedAt.getTime() < maxAgeMs) {
        return {
          tags: stored.tags,
          listedAt: stored.listedAt,
          requests: 0,
          shared: true,
        };
      }
    }
    // A registry that asked to be left alone (a 429's Retry-After, seen by any replica) is not
    // called again before that time.
    const until = await this.deps.store.backoffUntil(ref.registry);
    if (until && until > now) {
      throw Object.assign(
        new RegistryError(
          'rateLimited',
          `GET ${ref.scheme}://${ref.registry}/v2/${
            ref.repository
          }/tags/list: rate limited (429): the registry asked callers to wait until ${until.toISOString()} (Retry-After); not called before then`,
          { status: 429, retryAfterMs: until.getTime() - now.getTime() },
        ),
        { requests: 0 },
      );
    }
    const listedAt = now;
    let listed: { tags: string[]; requests: number };
    try {
      listed = await this.deps.registry.listTags(ref, options);
    } catch (error) {
      if (error instanceof RegistryError && error.retryAfterMs) {
        await this.deps.store
          .setBackoff(ref.registry, new Date(Date.now() + error.retryAfterMs))
          .catch(() => {});
      }
      throw error;
    }
    const { tags, requests } = listed;
    await this.deps.store.put(key, {
      canonicalImageName: ref.canonical,
      tags,
      listedAt,
    });
    return { tags, listedAt, requests, shared: false };
  }
}
