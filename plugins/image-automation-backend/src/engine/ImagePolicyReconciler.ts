import {
  IMAGE_API_VERSION,
  ImagePolicySpec,
  ImageRepositorySpec,
  objectId,
  REASONS,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import {
  composeImagePolicyReadyMessage,
  digestFetchFailureMessage,
  imagePolicyRequeueAfter,
  planDigestReflection,
  selectLatestTag,
  sortTagsAsStored,
  updateImageRefs,
} from '../policy';
import { parseImageReference, RegistryClient } from '../registry';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';
import { parseGoDuration } from '../golib/time';
import { dependentsOf } from './dependents';
import { Outcomes } from './outcome';
import {
  cloudRegistryCallOptions,
  NO_CLOUD_IDENTITY,
  registryCallOptions,
} from './registryCallOptions';
import { CloudRegistryAuth } from '../cloud/CloudRegistryAuth';
import { isCloudProvider } from '../cloud/hostPatterns';
import {
  beginReconcile,
  failures,
  fluxProgressMessage,
  RECHECK_MS,
  retryAfter,
} from './preamble';
import { ReconcileResult, Reconciler } from './Reconciler';
import { referenceDenied } from '../objects/tenancy';

/** Flux's `--requeue-dependency` default. */
const DEPENDENCY_RETRY_MS = 30_000;
/** How long Flux's policy keeps reading an empty tag list before it reports DependencyNotReady (1 + 1.5 + 2.25 s). */
const FIRST_SCAN_WAIT_MS = 5_000;
/**
 * Without `Always`, Flux never requeues a policy: it runs when its repository's revision
 * changes. We look again this often as a safety net; the result is the same unless tags changed.
 */
const IDLE_RECHECK_MS = RECHECK_MS;

/**
 * Selects the latest tag for an ImagePolicy from its ImageRepository's stored tags, as Flux's
 * image-reflector-controller does, including digest reflection.
 * @internal
 */
export class ImagePolicyReconciler implements Reconciler {
  readonly apiVersion = IMAGE_API_VERSION;
  readonly kind = 'ImagePolicy';

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      scans: ScanStore;
      registry: RegistryClient;
      credentials: NamedCredentials;
      /** The backend's cloud identity, for digests of repositories with `provider` aws, gcp or azure. */
      cloud?: CloudRegistryAuth;
    },
  ) {}

  async reconcile(object: StoredObject, now: Date): Promise<ReconcileResult> {
    const begun = beginReconcile<ImagePolicySpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec } = begun.start;
    let status = begun.start.status;
    const reflection = spec.digestReflectionPolicy ?? 'Never';
    const intervalMs =
      imagePolicyRequeueAfter(
        reflection,
        spec.interval ? parseGoDuration(spec.interval) : undefined,
      ) ?? IDLE_RECHECK_MS;
    const progress = fluxProgressMessage(begun.start);
    const { ready, failed, stalled, waiting } = failures(
      begun.start,
      now,
      retryAfter(intervalMs),
      () => progress,
    );

    const found = await this.repositoryOf(object, spec, { failed, stalled });
    if ('done' in found) return found.done;
    const { repository, repoSpec } = found;

    const selection = await this.selectTag(spec, repository, repoSpec, {
      failed,
      stalled,
      waiting,
    });
    if ('done' in selection) return selection.done;

    const plan = planDigestReflection({
      policy: reflection,
      image: repoSpec.image,
      tag: selection.tag,
      latestRef: status.latestRef,
    });
    if (plan.fetchDigest) {
      try {
        plan.ref.digest = await this.fetchDigest(
          repository,
          repoSpec,
          selection.tag,
        );
      } catch (error) {
        return failed(
          REASONS.Failure,
          digestFetchFailureMessage(plan.ref, (error as Error).message),
        );
      }
    }
    const refs = updateImageRefs({
      ref: plan.ref,
      latestRef: status.latestRef,
      observedPreviousRef: status.observedPreviousRef,
    });
    status = {
      ...status,
      latestRef: refs.latestRef,
      observedPreviousRef: refs.observedPreviousRef,
    };
    if (!status.observedPreviousRef) delete status.observedPreviousRef;
    const before = begun.start.status.latestRef;
    const selectionChanged =
      !before ||
      before.name !== refs.latestRef.name ||
      before.tag !== refs.latestRef.tag ||
      (before.digest ?? '') !== (refs.latestRef.digest ?? '');
    // A new selection makes its dependents due now (see dependents.ts).
    const dueNow = selectionChanged
      ? await dependentsOf(object, this.deps.objects)
      : undefined;
    return ready(
      REASONS.Succeeded,
      composeImagePolicyReadyMessage(refs.latestRef, refs.observedPreviousRef),
      intervalMs,
      { status, ...(dueNow?.length ? { dueNow } : {}) },
    );
  }

  /**
   * The policy's ImageRepository: granted (or admitted by its `accessFrom`), existing, with an image
   * reference that parses; else the outcome that ends the reconcile.
   */
  private async repositoryOf(
    object: StoredObject,
    spec: ImagePolicySpec,
    { failed, stalled }: Pick<Outcomes, 'failed' | 'stalled'>,
  ): Promise<
    | { done: ReconcileResult }
    | { repository: StoredObject; repoSpec: ImageRepositorySpec }
  > {
    const repoNamespace = spec.imageRepositoryRef.namespace ?? object.namespace;
    const repoName = spec.imageRepositoryRef.name;
    const repository = await this.deps.objects.get(
      objectId('ImageRepository', repoNamespace, repoName),
    );
    // An entity's policy reaches another namespace only when it is granted to the entity or the
    // repository's accessFrom admits the policy's namespace (said the same whether or not it exists).
    const denied = referenceDenied(
      object,
      'spec.imageRepositoryRef',
      { kind: 'ImageRepository', namespace: repoNamespace, name: repoName },
      (repository?.manifest.spec as ImageRepositorySpec | undefined)
        ?.accessFrom,
      true,
    );
    if (denied) {
      return { done: stalled(REASONS.AccessDenied, denied) };
    }
    if (!repository) {
      return {
        done: failed(
          REASONS.DependencyNotReady,
          `failed to get the referred ImageRepository: referenced ImageRepository does not exist: ImageRepository.image.toolkit.fluxcd.io "${repoName}" not found`,
          DEPENDENCY_RETRY_MS,
        ),
      };
    }
    const repoSpec = repository.manifest.spec as unknown as ImageRepositorySpec;
    if (
      object.source.type !== 'catalog' &&
      repoNamespace !== object.namespace &&
      !this.accessAllowed(repoSpec)
    ) {
      return {
        done: failed(
          REASONS.AccessDenied,
          `failed to get the referred ImageRepository: access denied: '${repoNamespace}/${repoName}' can't be accessed due to missing ACL labels on 'accessFrom'`,
        ),
      };
    }
    try {
      parseImageReference(repoSpec.image, { insecure: repoSpec.insecure });
    } catch (error) {
      return {
        done: stalled(REASONS.ImageURLInvalid, (error as Error).message),
      };
    }

    return { repository, repoSpec };
  }

  /**
   * The latest tag of the repository's stored tags by the policy; while the repository has not
   * scanned yet, a short wait without a status change; else the outcome that ends the reconcile.
   */
  private async selectTag(
    spec: ImagePolicySpec,
    repository: StoredObject,
    repoSpec: ImageRepositorySpec,
    {
      failed,
      stalled,
      waiting,
    }: Pick<Outcomes, 'failed' | 'stalled' | 'waiting'>,
  ): Promise<{ done: ReconcileResult } | { tag: string }> {
    const tags = sortTagsAsStored(
      await this.deps.scans.currentTags(repository.id),
    );
    // The selection checks the policy, then the tags, then the pattern, in Flux's order.
    const selection = selectLatestTag({
      policy: spec.policy,
      filterTags: spec.filterTags,
      tags,
    });
    if (!selection.ok && selection.reason === REASONS.DependencyNotReady) {
      // Flux reads the tags again for a few seconds before giving up (listTagsWithBackoff), so a
      // policy declared with its repository waits for the first scan instead of failing. Here:
      // while the repository has not been reconciled yet (no condition, not suspended), look again
      // shortly without a status change; its first scan makes this policy due at once.
      const repositoryPending =
        !repository.status.conditions?.length &&
        !repository.suspended &&
        !(repoSpec as { suspend?: boolean }).suspend;
      if (repositoryPending) {
        return { done: waiting(FIRST_SCAN_WAIT_MS) };
      }
      return {
        done: failed(
          REASONS.DependencyNotReady,
          `retrying in 30s error: ${selection.message}`,
          DEPENDENCY_RETRY_MS,
        ),
      };
    }
    if (!selection.ok) {
      return {
        done: selection.stalled
          ? stalled(selection.reason, selection.message)
          : failed(selection.reason, selection.message),
      };
    }
    return { tag: selection.tag };
  }

  /** `accessFrom` with an empty `matchLabels` admits every namespace; namespaces have no labels here. */
  private accessAllowed(spec: ImageRepositorySpec): boolean {
    return (spec.accessFrom?.namespaceSelectors ?? []).some(
      selector => Object.keys(selector.matchLabels ?? {}).length === 0,
    );
  }

  private async fetchDigest(
    repository: StoredObject,
    spec: ImageRepositorySpec,
    tag: string,
  ): Promise<string> {
    const ref = parseImageReference(spec.image, { insecure: spec.insecure });
    const options = isCloudProvider(spec.provider)
      ? await cloudRegistryCallOptions(
          spec.provider,
          spec,
          ref,
          repository.entityRef,
          this.deps.credentials,
          this.deps.cloud ?? NO_CLOUD_IDENTITY,
          {
            timeoutMs: Math.max(
              1000,
              parseGoDuration(spec.timeout ?? spec.interval),
            ),
          },
        )
      : registryCallOptions(
          spec,
          ref,
          repository.entityRef,
          this.deps.credentials,
        );
    const { digest } = await this.deps.registry.getDigest(ref, tag, options);
    // The tag history keeps the digest too, for the tag explorer and promotions.
    await this.deps.scans.setDigest(repository.id, tag, digest);
    return digest;
  }
}
