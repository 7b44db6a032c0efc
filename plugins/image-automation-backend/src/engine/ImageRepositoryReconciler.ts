import { LoggerService } from '@backstage/backend-plugin-api';
import {
  DEFAULT_EXCLUSION_LIST,
  IMAGE_API_VERSION,
  ImageRepositorySpec,
  ObjectStatus,
  REASONS,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { compileGoRegexp } from '../golib/regexp';
import { sortTagsAsStored } from '../policy';
import {
  ImageReference,
  parseImageReference,
  RegistryCallOptions,
  RegistryClient,
  RegistryError,
} from '../registry';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';
import { adler32 } from '../golib/adler32';
import { formatGoDuration, parseGoDuration } from '../golib/time';
import { dependentsOf } from './dependents';
import { Outcomes } from './outcome';
import { NO_CLOUD_IDENTITY, registryCallOptions } from './registryCallOptions';
import {
  CloudIdentityRefusedError,
  CloudRegistryAuth,
} from '../cloud/CloudRegistryAuth';
import { CloudRegistry, isCloudProvider } from '../cloud/hostPatterns';
import {
  beginReconcile,
  failures,
  fluxProgressMessage,
  retryAfter,
} from './preamble';
import { ReconcileContext, ReconcileResult, Reconciler } from './Reconciler';
import { listingScope, SharedListings } from '../registry/sharedListings';

/** How many tags `status.lastScanResult.latestTags` lists (Flux's `latestTagsCount`). */
const LATEST_TAGS_COUNT = 10;

/** The effective exclusion list: an absent or empty list means Flux's default. @internal */
export function effectiveExclusionList(spec: ImageRepositorySpec): string[] {
  return spec.exclusionList && spec.exclusionList.length > 0
    ? spec.exclusionList
    : DEFAULT_EXCLUSION_LIST;
}

function sameList(a: string[] | undefined, b: string[]): boolean {
  return !!a && a.length === b.length && b.every(item => a.includes(item));
}

/**
 * Flux's `shouldScan`, in its order: the reason for scanning now, or undefined with the time
 * left until the next scan. One addition: after a failed scan (Ready=False), the retry scans again
 * even though the last successful scan is younger than the interval, as docs/differences.md says
 * (a failure is retried within a minute, or when the registry said to).
 * @internal
 */
export function shouldScan(args: {
  status: ObjectStatus;
  canonicalName: string;
  exclusionList: string[];
  storedTagCount: number;
  pendingRequest?: string;
  intervalMs: number;
  now: Date;
}): { reason?: string; waitMs: number } {
  const { status } = args;
  if (!status.lastScanResult) return { reason: 'first scan', waitMs: 0 };
  if (args.pendingRequest) return { reason: 'reconcile requested', waitMs: 0 };
  if (
    status.conditions?.some(c => c.type === 'Ready' && c.status === 'False')
  ) {
    return { reason: 'retry after a failed scan', waitMs: 0 };
  }
  if (args.canonicalName !== status.canonicalImageName)
    return { reason: 'new image name', waitMs: 0 };
  if (!sameList(status.observedExclusionList, args.exclusionList)) {
    return { reason: 'updated exclusion list', waitMs: 0 };
  }
  if (args.storedTagCount === 0)
    return { reason: 'no tags in database', waitMs: 0 };
  const elapsed =
    args.now.getTime() - new Date(status.lastScanResult.scanTime).getTime();
  const waitMs = args.intervalMs - elapsed;
  if (waitMs < 1000) return { reason: 'triggered by interval', waitMs: 0 };
  return { waitMs };
}

/**
 * Scans an ImageRepository's tags as Flux's image-reflector-controller does, and records the
 * scan and the tags in the scan history.
 * @internal
 */
export class ImageRepositoryReconciler implements Reconciler {
  readonly apiVersion = IMAGE_API_VERSION;
  readonly kind = 'ImageRepository';

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      scans: ScanStore;
      registry: RegistryClient;
      credentials: NamedCredentials;
      logger: LoggerService;
      /** Fleet-wide scan sharing; without it every scan lists the registry. */
      listings?: SharedListings;
      /** The backend's cloud identity for `provider` aws, gcp and azure; without it they are refused. */
      cloud?: CloudRegistryAuth;
    },
  ) {}

  /** Flux's scan timeout: `timeout`, else the interval. */
  timeoutMs(object: StoredObject): number | undefined {
    const spec = object.manifest.spec as
      | Partial<ImageRepositorySpec>
      | undefined;
    try {
      return parseGoDuration(spec?.timeout ?? spec?.interval ?? '');
    } catch {
      return undefined;
    }
  }

  async reconcile(
    object: StoredObject,
    now: Date,
    context?: ReconcileContext,
  ): Promise<ReconcileResult> {
    const signal = context?.signal;
    const begun = beginReconcile<ImageRepositorySpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec, pendingRequest } = begun.start;
    const intervalMs = parseGoDuration(spec.interval);
    // Flux's Reconciling message, which a retried failure leaves in place: the reconcile's start,
    // then `scanning: <reason>` once a scan begins.
    const run: ScanRun = {
      object,
      spec,
      now,
      signal,
      intervalMs,
      pendingRequest,
      status: begun.start.status,
      progress: fluxProgressMessage(begun.start),
      outcomes: failures(
        begun.start,
        now,
        retryAfter(intervalMs),
        () => run.progress,
      ),
    };

    const access = this.registryAccess(run);
    if ('done' in access) return access.done;
    const exclusionList = effectiveExclusionList(spec);
    const decision = shouldScan({
      status: run.status,
      canonicalName: access.ref.canonical,
      exclusionList,
      storedTagCount: (await this.deps.scans.currentTags(object.id)).length,
      pendingRequest,
      intervalMs,
      now,
    });
    if (!decision.reason) return run.outcomes.waiting(decision.waitMs);

    const callOptions = await this.withCloudCredentials(run, access);
    if ('done' in callOptions) return callOptions.done;
    // As in Flux, the exclusion list is compiled when a scan begins (an invalid entry fails the scan).
    run.progress = `scanning: ${decision.reason}`;
    const exclusions = compileExclusions(run, exclusionList);
    if ('done' in exclusions) return exclusions.done;
    const listed = await this.listTags(run, access.ref, callOptions.options);
    if ('done' in listed) return listed.done;
    return this.scanned(run, {
      ref: access.ref,
      reason: decision.reason,
      exclusionList,
      tags: sortTagsAsStored(
        listed.tags.filter(tag => !exclusions.list.some(re => re.test(tag))),
      ),
      listed,
    });
  }

  /**
   * Whether and how the registry may be called: a valid image, the cloud
   * identity admitted for the entity (then `secretRef` is ignored, as in Flux) and the call options.
   */
  private registryAccess(run: ScanRun):
    | { done: ReconcileResult }
    | {
        ref: ImageReference;
        cloudRegistry?: CloudRegistry;
        callOptions: RegistryCallOptions;
      } {
    const { spec, object } = run;
    const { failed, stalled } = run.outcomes;
    // spec.provider is generic or a cloud provider: the manifest's validation refuses any other.
    const cloudProvider = isCloudProvider(spec.provider)
      ? spec.provider
      : undefined;
    let ref: ImageReference;
    try {
      ref = parseImageReference(spec.image, { insecure: spec.insecure });
    } catch (error) {
      return {
        done: stalled(REASONS.ImageURLInvalid, (error as Error).message),
      };
    }
    // With a cloud provider the backend's cloud identity is used, when app-config grants it to the
    // entity for this registry (else Stalled before any request).
    let cloudRegistry: CloudRegistry | undefined;
    if (cloudProvider) {
      try {
        cloudRegistry = (this.deps.cloud ?? NO_CLOUD_IDENTITY).admit(
          cloudProvider,
          ref,
          object.entityRef,
        );
      } catch (error) {
        if (error instanceof CloudIdentityRefusedError)
          return { done: stalled(error.reason, error.message) };
        throw error;
      }
    }
    try {
      const refs = cloudProvider ? { ...spec, secretRef: undefined } : spec;
      const callOptions = {
        ...registryCallOptions(
          refs,
          ref,
          object.entityRef,
          this.deps.credentials,
        ),
        signal: run.signal,
      };
      return { ref, cloudRegistry, callOptions };
    } catch (error) {
      return {
        done: failed(
          REASONS.AuthenticationFailed,
          `failed to configure authentication options: ${
            (error as Error).message
          }`,
        ),
      };
    }
  }

  /** The call options with the cloud identity's credentials, once a scan is due. */
  private async withCloudCredentials(
    run: ScanRun,
    access: { cloudRegistry?: CloudRegistry; callOptions: RegistryCallOptions },
  ): Promise<{ done: ReconcileResult } | { options: RegistryCallOptions }> {
    const { cloudRegistry, callOptions } = access;
    if (!cloudRegistry) return { options: callOptions };
    try {
      return {
        options: {
          ...callOptions,
          credentials: await this.deps.cloud!.credentials(cloudRegistry, {
            timeoutMs: callOptions.timeoutMs,
            signal: run.signal,
          }),
          credentialHosts: [],
          plainHttpCredentials: false,
        },
      };
    } catch (error) {
      run.signal?.throwIfAborted();
      return {
        done: run.outcomes.failed(
          REASONS.AuthenticationFailed,
          `failed to configure authentication options: ${
            (error as Error).message
          }`,
        ),
      };
    }
  }

  /**
   * The registry's tags (or a shared listing of the same repository with the same credentials
   * younger than the interval; a requested reconcile always lists). A failed listing is recorded
   * in the scan history and ends the reconcile.
   */
  private async listTags(
    run: ScanRun,
    ref: ImageReference,
    callOptions: RegistryCallOptions,
  ): Promise<
    | { done: ReconcileResult }
    | { tags: string[]; requests: number; listedAt?: Date; started: number }
  > {
    const { object, spec, now, signal } = run;
    const started = Date.now();
    try {
      const listed = this.deps.listings
        ? await this.deps.listings.listTags(ref, callOptions, {
            scope: listingScope(spec, ref),
            maxAgeMs: run.pendingRequest ? 0 : run.intervalMs,
            now,
          })
        : await this.deps.registry.listTags(ref, callOptions);
      return { ...listed, started };
    } catch (error) {
      const message = `scan failed: ${(error as Error).message}`;
      // The class and HTTP status only, never anything from the request (no credential).
      const registryError = error instanceof RegistryError ? error : undefined;
      signal?.throwIfAborted();
      await this.deps.scans.recordScan({
        objectId: object.id,
        canonicalImageName: ref.canonical,
        startedAt: now,
        durationMs: Date.now() - started,
        requests: (error as { requests?: number }).requests ?? 0,
        error: message,
        errorKind: registryError?.kind,
        errorStatus: registryError?.status,
      });
      const { failed, stalled } = run.outcomes;
      const kind = (error as { kind?: string }).kind;
      if (kind === 'hostNotAllowed') {
        return {
          done: stalled(REASONS.RegistryNotAllowed, (error as Error).message),
        };
      }
      if (kind === 'tagLimit') {
        return { done: failed(REASONS.TagLimitExceeded, message) };
      }
      // A registry that named how long to wait is asked again then, not before or much later.
      const waitMs = registryError?.retryAfterMs;
      return {
        done: failed(
          REASONS.ReadOperationFailed,
          message,
          waitMs ? Math.max(1000, waitMs + 1000) : undefined,
        ),
      };
    }
  }

  /** Records a successful scan and reports it; a new revision makes the dependents due. */
  private async scanned(
    run: ScanRun,
    scan: {
      ref: ImageReference;
      reason: string;
      exclusionList: string[];
      tags: string[];
      listed: { requests: number; listedAt?: Date; started: number };
    },
  ): Promise<ReconcileResult> {
    const { object, now, intervalMs } = run;
    const { ref, tags, listed } = scan;
    const revision = String(adler32(JSON.stringify(tags)));
    // When the tags were observed: this reconcile's time, or that of the shared listing.
    const scanTime = listed.listedAt ?? now;
    run.signal?.throwIfAborted();
    await this.deps.scans.recordScan({
      objectId: object.id,
      canonicalImageName: ref.canonical,
      startedAt: scanTime,
      durationMs: Date.now() - listed.started,
      requests: listed.requests,
      tags,
      revision,
    });
    const previousRevision = run.status.lastScanResult?.revision;
    // From the listing's time: objects sharing a repository converge on one listing per interval.
    const requeueAfterMs = Math.max(
      1000,
      scanTime.getTime() + intervalMs - now.getTime(),
    );
    this.deps.logger.debug(
      `${object.id}: scanning: ${
        scan.reason
      }; successful scan, next scan in ${formatGoDuration(requeueAfterMs)}`,
    );
    return run.outcomes.ready(
      REASONS.Succeeded,
      `successful scan: found ${tags.length} tags with checksum ${revision}`,
      requeueAfterMs,
      {
        status: {
          ...run.status,
          canonicalImageName: ref.canonical,
          lastScanResult: {
            tagCount: tags.length,
            scanTime: scanTime.toISOString(),
            revision,
            ...(tags.length > 0
              ? { latestTags: tags.slice(0, LATEST_TAGS_COUNT) }
              : {}),
          },
          observedExclusionList: scan.exclusionList,
        },
        dueNow:
          previousRevision !== revision
            ? await dependentsOf(object, this.deps.objects)
            : [],
      },
    );
  }
}

/** One scan's state, shared by the steps of {@link ImageRepositoryReconciler.reconcile}. */
interface ScanRun {
  object: StoredObject;
  spec: ImageRepositorySpec;
  now: Date;
  signal?: AbortSignal;
  intervalMs: number;
  pendingRequest?: string;
  status: ObjectStatus;
  /** What a retried failure leaves on Reconciling. */
  progress: string;
  outcomes: Outcomes;
}

/** The exclusion list compiled (Go syntax); an invalid entry fails the scan. */
function compileExclusions(
  run: ScanRun,
  exclusionList: string[],
): { done: ReconcileResult } | { list: RegExp[] } {
  const list: RegExp[] = [];
  for (const pattern of exclusionList) {
    const compiled = compileGoRegexp(pattern);
    if (!compiled.ok) {
      return {
        done: run.outcomes.failed(
          REASONS.ReadOperationFailed,
          `scan failed: failed to compile regex ${pattern}: ${compiled.message}`,
        ),
      };
    }
    list.push(compiled.regexp.regexp);
  }
  return { list };
}
