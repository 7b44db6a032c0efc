import { LoggerService } from '@backstage/backend-plugin-api';
import {
  DEFAULT_EXCLUSION_LIST,
  IMAGE_API_VERSION,
  ImageRepositorySpec,
  ObjectStatus,
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
import { markReady } from './conditions';
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
    const { spec, generation, pendingRequest } = begun.start;
    let status = begun.start.status;
    const intervalMs = parseGoDuration(spec.interval);
    // Flux's Reconciling message, which a retried failure leaves in place: the reconcile's start,
    // then `scanning: <reason>` once a scan begins.
    let progress = fluxProgressMessage(begun.start);
    const { failed, stalled } = failures(
      begun.start,
      now,
      retryAfter(intervalMs),
      () => progress,
    );

    if (
      spec.provider &&
      spec.provider !== 'generic' &&
      !isCloudProvider(spec.provider)
    ) {
      return stalled(
        'ProviderNotSupported',
        `provider '${spec.provider}' is not supported: use one of generic, aws, gcp, azure`,
      );
    }
    const cloudProvider = isCloudProvider(spec.provider)
      ? spec.provider
      : undefined;
    let ref: ImageReference;
    try {
      ref = parseImageReference(spec.image, { insecure: spec.insecure });
    } catch (error) {
      return stalled('ImageURLInvalid', (error as Error).message);
    }

    // With a cloud provider the backend's cloud identity is used, when app-config grants it to the
    // entity for this registry (else Stalled before any request); `secretRef` is ignored, as in Flux.
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
          return stalled(error.reason, error.message);
        throw error;
      }
    }

    let callOptions: RegistryCallOptions;
    try {
      const refs = cloudProvider ? { ...spec, secretRef: undefined } : spec;
      callOptions = {
        ...registryCallOptions(
          refs,
          ref,
          object.entityRef,
          this.deps.credentials,
        ),
        signal,
      };
    } catch (error) {
      return failed(
        'AuthenticationFailed',
        `failed to configure authentication options: ${
          (error as Error).message
        }`,
      );
    }

    const exclusionList = effectiveExclusionList(spec);
    const storedTags = await this.deps.scans.currentTags(object.id);
    const decision = shouldScan({
      status,
      canonicalName: ref.canonical,
      exclusionList,
      storedTagCount: storedTags.length,
      pendingRequest,
      intervalMs,
      now,
    });
    if (!decision.reason) {
      return { status, requeueAfterMs: decision.waitMs };
    }

    if (cloudRegistry) {
      try {
        callOptions = {
          ...callOptions,
          credentials: await this.deps.cloud!.credentials(cloudRegistry, {
            timeoutMs: callOptions.timeoutMs,
            signal,
          }),
          credentialHosts: [],
          plainHttpCredentials: false,
        };
      } catch (error) {
        signal?.throwIfAborted();
        return failed(
          'AuthenticationFailed',
          `failed to configure authentication options: ${
            (error as Error).message
          }`,
        );
      }
    }

    // As in Flux, the exclusion list is compiled when a scan begins (an invalid entry fails the scan).
    progress = `scanning: ${decision.reason}`;
    const exclusions: RegExp[] = [];
    for (const pattern of exclusionList) {
      const compiled = compileGoRegexp(pattern);
      if (!compiled.ok) {
        return failed(
          'ReadOperationFailed',
          `scan failed: failed to compile regex ${pattern}: ${compiled.message}`,
        );
      }
      exclusions.push(compiled.regexp.regexp);
    }

    const started = Date.now();
    let listed: { tags: string[]; requests: number; listedAt?: Date };
    try {
      // A listing of the same repository with the same credentials younger than the interval is
      // reused; a requested reconcile always lists.
      listed = this.deps.listings
        ? await this.deps.listings.listTags(ref, callOptions, {
            scope: listingScope(spec, ref),
            maxAgeMs: pendingRequest ? 0 : intervalMs,
            now,
          })
        : await this.deps.registry.listTags(ref, callOptions);
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
      const kind = (error as { kind?: string }).kind;
      if (kind === 'hostNotAllowed') {
        return stalled('RegistryNotAllowed', (error as Error).message);
      }
      if (kind === 'tagLimit') {
        return failed('TagLimitExceeded', message);
      }
      // A registry that named how long to wait is asked again then, not before or much later.
      const waitMs = registryError?.retryAfterMs;
      return failed(
        'ReadOperationFailed',
        message,
        waitMs ? Math.max(1000, waitMs + 1000) : undefined,
      );
    }

    const tags = sortTagsAsStored(
      listed.tags.filter(tag => !exclusions.some(re => re.test(tag))),
    );
    const revision = String(adler32(JSON.stringify(tags)));
    // When the tags were observed: this reconcile's time, or that of the shared listing.
    const scanTime = listed.listedAt ?? now;
    signal?.throwIfAborted();
    await this.deps.scans.recordScan({
      objectId: object.id,
      canonicalImageName: ref.canonical,
      startedAt: scanTime,
      durationMs: Date.now() - started,
      requests: listed.requests,
      tags,
      revision,
    });
    const previousRevision = status.lastScanResult?.revision;
    status = {
      ...status,
      canonicalImageName: ref.canonical,
      lastScanResult: {
        tagCount: tags.length,
        scanTime: scanTime.toISOString(),
        revision,
        ...(tags.length > 0
          ? { latestTags: tags.slice(0, LATEST_TAGS_COUNT) }
          : {}),
      },
      observedExclusionList: exclusionList,
    };
    status = markReady(
      status,
      'Succeeded',
      `successful scan: found ${tags.length} tags with checksum ${revision}`,
      now,
      generation,
    );
    // From the listing's time: objects sharing a repository converge on one listing per interval.
    const requeueAfterMs = Math.max(
      1000,
      scanTime.getTime() + intervalMs - now.getTime(),
    );
    this.deps.logger.debug(
      `${object.id}: scanning: ${
        decision.reason
      }; successful scan, next scan in ${formatGoDuration(requeueAfterMs)}`,
    );
    return {
      status,
      requeueAfterMs,
      dueNow:
        previousRevision !== revision
          ? [
              ...(await this.dependentPolicies(object)),
              ...(await this.dependentInputProviders(ref)),
            ]
          : [],
    };
  }

  /** OCIArtifactTag (and ECR/GAR/ACR) providers whose `url` names the same repository (by canonical name). */
  private async dependentInputProviders(
    ref: ImageReference,
  ): Promise<string[]> {
    const providers = await this.deps.objects.list({
      kind: 'ResourceSetInputProvider',
    });
    return providers
      .filter(provider => {
        const spec = provider.manifest.spec as {
          type?: string;
          url?: string;
          insecure?: boolean;
        };
        if (
          !/^(OCI|ECR|GAR|ACR)ArtifactTag$/.test(spec.type ?? '') ||
          typeof spec.url !== 'string'
        )
          return false;
        try {
          return (
            parseImageReference(spec.url.replace(/^oci:\/\//, ''), {
              insecure: spec.insecure,
            }).canonical === ref.canonical
          );
        } catch {
          return false;
        }
      })
      .map(provider => provider.id);
  }

  private async dependentPolicies(repository: StoredObject): Promise<string[]> {
    const policies = await this.deps.objects.list({ kind: 'ImagePolicy' });
    return policies
      .filter(policy => {
        const ref = (
          policy.manifest.spec as {
            imageRepositoryRef?: { name?: string; namespace?: string };
          }
        ).imageRepositoryRef;
        return (
          ref?.name === repository.name &&
          (ref.namespace ?? policy.namespace) === repository.namespace
        );
      })
      .map(policy => policy.id);
  }
}
