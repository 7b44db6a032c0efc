import { mapLimit } from '../util/mapLimit';
import { LoggerService } from '@backstage/backend-plugin-api';
import { Config, ConfigReader } from '@backstage/config';
import {
  Condition,
  FLUX_OPERATOR_API_VERSION,
  ObjectEvent,
  ObjectStatus,
  REASONS,
  ResourceSetInputProviderSpec,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import {
  artifactTagInputs,
  checkDowngrade,
  createInputScheduler,
  DOWNGRADE_GUARD_ANNOTATION,
  ExportedInput,
  exportedRevision,
  formatRfc3339,
  nextScheduleStatus,
  InputScheduler,
  reconcileSettings,
  ReconcileSettings,
  staticInput,
  withDefaultValues,
} from '../inputs';
import { filterProviderTags } from '../policy';
import {
  ImageReference,
  parseImageReference,
  RegistryCallOptions,
  RegistryClient,
} from '../registry';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { formatGoDuration } from '../golib/time';
import { markReady, readyCondition } from './conditions';
import { dependentsOf } from './dependents';
import { Outcomes } from './outcome';
import {
  beginReconcile,
  failures,
  FLUX_OPERATOR_IN_PROGRESS,
  RECHECK_MS,
  REQUESTED_AT_ANNOTATION,
  retryAfter,
} from './preamble';
import { ReconcileContext, ReconcileResult, Reconciler } from './Reconciler';
import { listingScope, SharedListings } from '../registry/sharedListings';
import {
  NO_CLOUD_IDENTITY,
  registryCredentialOptions,
} from './registryCallOptions';
import {
  CloudIdentityRefusedError,
  CloudRegistryAuth,
} from '../cloud/CloudRegistryAuth';
import { ARTIFACT_TAG_PROVIDERS, CloudRegistry } from '../cloud/hostPatterns';
import { INPUT_SOURCES } from '../inputs/sources';

/** The Flux Operator's prefix of every Stalled message. */
const TERMINAL =
  'Reconciliation failed terminally due to configuration error: ';
/** The condition the downgrade guard reports with. @internal */
export const DOWNGRADE_CONDITION = 'DowngradePrevented';
/** Digest requests in flight per provider. */
const DIGEST_CONCURRENCY = 4;

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message'>;

/**
 * `Reconciliation finished in <d>`: milliseconds below a second, whole seconds above (Flux Operator).
 * @internal
 */
export function finishedIn(ms: number): string {
  const rounded = ms < 1000 ? Math.round(ms) : Math.round(ms / 1000) * 1000;
  return `Reconciliation finished in ${formatGoDuration(rounded)}`;
}

/** The `host/repository` of an OCI provider's `spec.url` (validation requires `oci://host/repository`). */
function ociRepository(url: string): string {
  return url.slice('oci://'.length);
}

/** What a provider type produced: inputs, or an outcome that ends the reconcile. */
type Provided =
  | {
      inputs: ExportedInput[];
      /** The OCI types': the repository's tags and those the filter selected (the downgrade guard's). */
      tags?: { listed: string[]; selected: string[] };
    }
  | { done: ReconcileResult };

/**
 * Exports inputs for ResourceSets as the Flux Operator's ResourceSetInputProvider controller
 * does, for the `Static`, `OCIArtifactTag`, `ECRArtifactTag`, `GARArtifactTag` and `ACRArtifactTag`
 * types (the cloud ones with the backend's cloud identity, see `CloudRegistryAuth`) and the types of
 * `inputs/sources`; every other type is accepted and reported as Stalled `ProviderNotSupported`. Honours the reconcile annotations, reconcile and force
 * requests and `spec.schedule`; a new revision makes the ResourceSets that read this provider
 * due now.
 * @internal
 */
export class ResourceSetInputProviderReconciler implements Reconciler {
  readonly apiVersion = FLUX_OPERATOR_API_VERSION;
  readonly kind = 'ResourceSetInputProvider';

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      registry: RegistryClient;
      credentials: NamedCredentials;
      logger: LoggerService;
      /** Fleet-wide scan sharing; without it every OCIArtifactTag call lists the registry. */
      listings?: SharedListings;
      /** The backend's configuration, for the sources of `inputs/sources` (allow-lists, integrations). */
      config?: Config;
      /** The backend's cloud identity, for ECRArtifactTag, GARArtifactTag and ACRArtifactTag. */
      cloud?: CloudRegistryAuth;
    },
  ) {}

  /** The provider's `reconcileTimeout` annotation (default 5m), which also bounds its requests. */
  timeoutMs(object: StoredObject): number {
    return reconcileSettings(
      object.manifest.metadata.annotations,
      undefined,
      undefined,
    ).timeoutMs;
  }

  async reconcile(
    object: StoredObject,
    now: Date,
    context?: ReconcileContext,
  ): Promise<ReconcileResult> {
    const started = Date.now();
    const begun = beginReconcile<ResourceSetInputProviderSpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec, generation } = begun.start;
    const annotations = object.manifest.metadata.annotations;
    const requestedAt =
      object.reconcileRequestedAt ?? annotations?.[REQUESTED_AT_ANNOTATION];
    const settings = reconcileSettings(
      annotations,
      requestedAt,
      begun.start.status.lastHandledForceAt,
    );
    const outcomes = failures(
      begun.start,
      now,
      retryAfter(settings.intervalMs),
      () => FLUX_OPERATOR_IN_PROGRESS,
    );

    if (settings.disabled) {
      return outcomes.waiting(RECHECK_MS, {
        events: [
          {
            type: 'Warning',
            reason: REASONS.ReconciliationDisabled,
            message: 'Reconciliation is disabled',
          },
        ],
      });
    }

    let scheduler: InputScheduler | undefined;
    try {
      scheduler = createInputScheduler(spec.schedule, settings.timeoutMs);
    } catch (error) {
      return outcomes.stalled(
        REASONS.InvalidSchedule,
        `${TERMINAL}${(error as Error).message}`,
      );
    }
    const status: ObjectStatus = { ...begun.start.status };
    if (scheduler && !settings.forceAt && !scheduler.shouldReconcile(now)) {
      return this.skipped(status, scheduler, now, generation);
    }
    if (settings.forceAt) status.lastHandledForceAt = settings.forceAt;

    const run: ProvideRun = {
      object,
      spec,
      settings,
      status,
      outcomes,
      listingMaxAgeMs:
        begun.start.pendingRequest || settings.forceAt
          ? 0
          : settings.intervalMs,
      signal: context?.signal,
    };
    const provided = await this.provide(run);
    if ('done' in provided) {
      return {
        ...provided.done,
        status: {
          ...provided.done.status,
          lastHandledForceAt: status.lastHandledForceAt,
        },
      };
    }
    const exported = guardDowngrade(run, provided, now, generation);
    return this.exported(run, exported, {
      scheduler,
      now,
      started,
      previousReady: readyCondition(begun.start.status),
    });
  }

  /**
   * Ready with the exported inputs: the message keeps the previous one when the revision did not
   * change (the engine records an event when the Ready message changes; the duration alone must not
   * make one, as Flux notifies only on a new revision); due again at the interval or the schedule's
   * next slot; a new revision makes the ResourceSets reading this provider due.
   */
  private async exported(
    run: ProvideRun,
    exported: { inputs: ExportedInput[]; conditions: Condition[] },
    when: {
      scheduler?: InputScheduler;
      now: Date;
      started: number;
      previousReady?: Condition;
    },
  ): Promise<ReconcileResult> {
    const { object, settings } = run;
    const { scheduler, now, previousReady } = when;
    const { inputs } = exported;
    const previousRevision = run.status.lastExportedRevision;
    const revision = exportedRevision(inputs);
    const status: ObjectStatus = {
      ...run.status,
      conditions: exported.conditions,
      exportedInputs: inputs,
      lastExportedRevision: revision,
    };
    // Nothing exported: the field is omitted, as the Flux Operator omits it.
    if (inputs.length === 0) delete status.exportedInputs;
    const message =
      revision === previousRevision &&
      previousReady?.status === 'True' &&
      previousReady.reason === REASONS.ReconciliationSucceeded
        ? previousReady.message
        : finishedIn(Date.now() - when.started);

    let requeueAfterMs = settings.intervalMs;
    delete status.nextSchedule;
    let nextSchedule: ObjectStatus['nextSchedule'];
    if (scheduler) {
      const at = new Date(now.getTime() + settings.intervalMs);
      const next = scheduler.next(now);
      if (
        at.getTime() > next.when.getTime() ||
        !scheduler.shouldScheduleInterval(at)
      ) {
        nextSchedule = nextScheduleStatus(next);
        requeueAfterMs = Math.max(0, next.when.getTime() - now.getTime());
      }
    }
    const dueNow =
      revision !== previousRevision
        ? await dependentsOf(object, this.deps.objects)
        : [];
    if (revision !== previousRevision) {
      this.deps.logger.debug(
        `${object.id}: exported ${inputs.length} inputs, revision ${revision}`,
      );
    }
    const result = run.outcomes.ready(
      REASONS.ReconciliationSucceeded,
      message,
      requeueAfterMs,
      {
        status,
        ...(dueNow.length ? { dueNow } : {}),
        // The Flux Operator's success event names the revision; its condition does not.
        readyEventMessage: `${message}, revision ${revision}`,
      },
    );
    // Set after the conditions, where Flux's status shows it.
    if (nextSchedule) result.status.nextSchedule = nextSchedule;
    return result;
  }

  private skipped(
    status: ObjectStatus,
    scheduler: InputScheduler,
    now: Date,
    generation: number,
  ): ReconcileResult {
    const next = scheduler.next(now);
    const message = `Reconciliation skipped, next scheduled at ${formatRfc3339(
      next.when,
      next.timeZone,
    )}`;
    let skippedStatus: ObjectStatus = {
      ...status,
      nextSchedule: nextScheduleStatus(next),
    };
    const events: Event[] = [];
    if (!readyCondition(status)) {
      // On creation the object is Ready, waiting for its schedule; the engine records the event.
      skippedStatus = markReady(
        skippedStatus,
        REASONS.SkippedDueToSchedule,
        message,
        now,
        generation,
      );
    } else {
      events.push({
        type: 'Normal',
        reason: REASONS.SkippedDueToSchedule,
        message,
      });
    }
    return {
      status: skippedStatus,
      requeueAfterMs: Math.max(1000, next.when.getTime() - now.getTime()),
      events,
    };
  }

  /** The provider type's inputs, or the outcome that ends the reconcile. */
  private async provide(run: ProvideRun): Promise<Provided> {
    const { object, spec } = run;
    if (spec.type === 'Static') {
      return { inputs: [staticInput(object.namespace, object.name)] };
    }
    if (INPUT_SOURCES[spec.type]) return this.fromSource(run);
    // ECR/GAR/ACRArtifactTag: OCIArtifactTag with the backend's cloud identity (secretRef ignored).
    if (spec.type !== 'OCIArtifactTag' && !ARTIFACT_TAG_PROVIDERS[spec.type]) {
      return {
        done: terminal(
          run,
          REASONS.ProviderNotSupported,
          `spec.type '${spec.type}' is not supported yet`,
        ),
      };
    }
    return this.fromArtifactTags(run);
  }

  /** The inputs of a type of `inputs/sources` (forges, external services). */
  private async fromSource(run: ProvideRun): Promise<Provided> {
    const { object, spec, settings } = run;
    const { failed } = run.outcomes;
    const result = await INPUT_SOURCES[spec.type]({
      provider: {
        namespace: object.namespace,
        name: object.name,
        entityRef: object.entityRef,
      },
      spec,
      previous: run.status.exportedInputs,
      credentials: this.deps.credentials,
      config: this.deps.config ?? new ConfigReader({}),
      deadline: Date.now() + settings.timeoutMs,
      signal: run.signal,
      now: new Date(),
    });
    if (result.ok) return { inputs: result.inputs };
    if (result.terminal)
      return { done: terminal(run, result.reason, result.message) };
    // A rate-limited service is asked again when it said it would answer (at least 1s, at most an hour).
    const waitMs =
      result.retryAfterMs !== undefined
        ? Math.min(Math.max(1000, result.retryAfterMs), 3_600_000)
        : undefined;
    return {
      done:
        waitMs !== undefined
          ? failed(result.reason, result.message, waitMs)
          : failed(result.reason, result.message),
    };
  }

  /**
   * The repository, the cloud identity (admitted for the entity), the registry credentials and a
   * valid filter, before the registry is called.
   */
  private artifactTagAccess(run: ProvideRun):
    | { done: ReconcileResult }
    | {
        ref: ImageReference;
        cloudRegistry?: CloudRegistry;
        options: RegistryCallOptions;
      } {
    const { object, spec } = run;
    const cloudProvider = ARTIFACT_TAG_PROVIDERS[spec.type];
    const url = spec.url!;
    let ref: ImageReference;
    try {
      ref = parseImageReference(ociRepository(url), {
        insecure: spec.insecure,
      });
    } catch (error) {
      return {
        done: terminal(
          run,
          REASONS.InvalidSpec,
          `invalid spec.url '${url}': ${(error as Error).message}`,
        ),
      };
    }
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
          return { done: terminal(run, error.reason, error.message) };
        throw error;
      }
    }
    let options: RegistryCallOptions;
    try {
      // The cloud types have neither secretRef nor certSecretRef (validation refuses both).
      options = registryCredentialOptions(
        cloudProvider ? {} : spec,
        ref,
        object.entityRef,
        this.deps.credentials,
      );
    } catch (error) {
      const name = spec.secretRef?.name ?? spec.certSecretRef?.name;
      return {
        done: run.outcomes.failed(
          REASONS.ReconciliationFailed,
          `failed to read secret '${object.namespace}/${name}': ${
            (error as Error).message
          }`,
        ),
      };
    }
    // A bad regex or semver range is a configuration error: say so before calling the registry.
    const filterCheck = filterProviderTags(spec.filter, []);
    if (!filterCheck.ok) {
      return { done: terminal(run, REASONS.InvalidSpec, filterCheck.message) };
    }
    return { ref, cloudRegistry, options };
  }

  /** OCIArtifactTag and its cloud variants: the filtered tags of a repository, with their digests. */
  private async fromArtifactTags(run: ProvideRun): Promise<Provided> {
    const access = this.artifactTagAccess(run);
    if ('done' in access) return access;
    const { spec, signal } = run;
    const { failed } = run.outcomes;
    const { ref, cloudRegistry } = access;
    let options = access.options;
    // `reconcileTimeout` bounds the whole provider call: the token, the listing and every digest request.
    const deadline = Date.now() + run.settings.timeoutMs;
    if (cloudRegistry) {
      try {
        options = {
          ...options,
          credentials: await this.deps.cloud!.credentials(cloudRegistry, {
            timeoutMs: Math.max(1, deadline - Date.now()),
            signal,
          }),
          credentialHosts: [],
          plainHttpCredentials: false,
        };
      } catch (error) {
        return {
          done: failed(
            REASONS.ReconciliationFailed,
            `failed to call OCI provider: ${(error as Error).message}`,
          ),
        };
      }
    }
    const remaining = () => ({
      ...options,
      timeoutMs: Math.max(1, deadline - Date.now()),
    });
    const scope = listingScope(
      { ...spec, provider: ARTIFACT_TAG_PROVIDERS[spec.type] },
      ref,
    );
    const listing = await this.listArtifactTags(run, ref, remaining, scope);
    if ('done' in listing) return listing;
    const { listed, listedAt } = listing;
    const selection = filterProviderTags(spec.filter, listed);
    if (!selection.ok)
      return { done: terminal(run, REASONS.InvalidSpec, selection.message) };
    let digests: string[];
    try {
      digests = await mapLimit(
        selection.tags,
        DIGEST_CONCURRENCY,
        // Once per listing fleet-wide when listings are shared.
        async tag =>
          this.deps.listings && listedAt
            ? this.deps.listings.digest(ref, tag, remaining(), {
                scope,
                listedAt,
              })
            : (
                await this.deps.registry.getDigest(ref, tag, remaining())
              ).digest,
      );
    } catch (error) {
      return {
        done: failed(
          REASONS.ReconciliationFailed,
          `failed to call OCI provider: ${(error as Error).message}`,
        ),
      };
    }
    return {
      inputs: artifactTagInputs(
        selection.tags.map((tag, i) => ({ tag, digest: digests[i] })),
      ),
      tags: { listed, selected: selection.tags },
    };
  }
  /** The repository's tags (a shared listing when listings are shared); a failure ends the reconcile. */
  private async listArtifactTags(
    run: ProvideRun,
    ref: ImageReference,
    remaining: () => RegistryCallOptions,
    scope: string,
  ): Promise<
    { done: ReconcileResult } | { listed: string[]; listedAt?: Date }
  > {
    try {
      if (this.deps.listings) {
        const { tags, listedAt } = await this.deps.listings.listTags(
          ref,
          remaining(),
          { scope, maxAgeMs: run.listingMaxAgeMs },
        );
        return { listed: tags, listedAt };
      }
      return {
        listed: (await this.deps.registry.listTags(ref, remaining())).tags,
      };
    } catch (error) {
      const message = `failed to list OCI tags for '${ociRepository(
        run.spec.url!,
      )}': ${(error as Error).message}`;
      if ((error as { kind?: string }).kind === 'hostNotAllowed') {
        return { done: terminal(run, REASONS.RegistryNotAllowed, message) };
      }
      return {
        done: run.outcomes.failed(
          REASONS.ReconciliationFailed,
          `failed to call OCI provider: ${message}`,
        ),
      };
    }
  }
}

/** One reconcile's state, shared by the steps of {@link ResourceSetInputProviderReconciler}. */
interface ProvideRun {
  object: StoredObject;
  spec: ResourceSetInputProviderSpec;
  settings: ReconcileSettings;
  /** The starting status, with the force request handled. */
  status: ObjectStatus;
  outcomes: Outcomes;
  /** How old a shared listing of the repository may be (0: list now). */
  listingMaxAgeMs: number;
  signal?: AbortSignal;
}

/** Stalled with the Flux Operator's prefix of every terminal message. */
function terminal(
  run: ProvideRun,
  reason: string,
  message: string,
): ReconcileResult {
  return run.outcomes.stalled(reason, `${TERMINAL}${message}`);
}

/**
 * The downgrade guard (`image-automation.io/downgrade-guard: enabled`): when the newest exported tag
 * is no longer listed, the previous inputs are held and DowngradePrevented says so (since the tag
 * went missing); otherwise the condition is removed.
 */
function guardDowngrade(
  run: ProvideRun,
  provided: Exclude<Provided, { done: ReconcileResult }>,
  now: Date,
  generation: number,
): { inputs: ExportedInput[]; conditions: Condition[] } {
  const { status, spec } = run;
  const inputs = withDefaultValues(provided.inputs, spec.defaultValues);
  const conditions = (status.conditions ?? []).filter(
    c => c.type !== DOWNGRADE_CONDITION,
  );
  if (
    run.object.manifest.metadata.annotations?.[DOWNGRADE_GUARD_ANNOTATION] !==
      'enabled' ||
    !provided.tags
  )
    return { inputs, conditions };
  const check = checkDowngrade({
    filter: spec.filter,
    listedTags: provided.tags.listed,
    selectedTags: provided.tags.selected,
    previous: status.exportedInputs,
  });
  if (!check.hold) return { inputs, conditions };
  const fallback = check.fallbackTag ? `'${check.fallbackTag}'` : 'no tag';
  return {
    inputs: status.exportedInputs ?? inputs,
    conditions: [
      ...conditions,
      {
        type: DOWNGRADE_CONDITION,
        status: 'True',
        reason: REASONS.NewestTagMissing,
        message: `tag '${check.missingTag}' is no longer in the registry; the exported inputs are held instead of downgrading to ${fallback}`,
        // Held since the tag went missing, not since this run.
        lastTransitionTime:
          status.conditions?.find(c => c.type === DOWNGRADE_CONDITION)
            ?.lastTransitionTime ?? now.toISOString(),
        observedGeneration: generation,
      },
    ],
  };
}
