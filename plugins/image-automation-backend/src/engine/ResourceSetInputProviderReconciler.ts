import { mapLimit } from '../util/mapLimit';
import { LoggerService } from '@backstage/backend-plugin-api';
import { Config, ConfigReader } from '@backstage/config';
import {
  FLUX_OPERATOR_API_VERSION,
  ObjectEvent,
  ObjectStatus,
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
import { InputProviderReference, selectProviders } from '../resourceset';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { formatGoDuration } from '../golib/time';
import { markReady, readyCondition } from './conditions';
import {
  beginReconcile,
  failures,
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

/** `Reconciliation finished in <d>`: milliseconds below a second, whole seconds above (Flux Operator). */
function finishedIn(ms: number): string {
  const rounded = ms < 1000 ? Math.round(ms) : Math.round(ms / 1000) * 1000;
  return `Reconciliation finished in ${formatGoDuration(rounded)}`;
}

/** The repository an `oci://host/repository` URL names. */
function ociReference(
  url: string,
  insecure: boolean | undefined,
): ImageReference {
  return parseImageReference(url.replace(/^oci:\/\//, ''), { insecure });
}

/** What a provider type produced: inputs, or an outcome that ends the reconcile. */
type Provided =
  | { inputs: ExportedInput[]; listedTags?: string[]; selectedTags?: string[] }
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
    const { failed, stalled } = failures(
      begun.start,
      now,
      retryAfter(settings.intervalMs),
    );
    const terminal = (reason: string, message: string) =>
      stalled(reason, `${TERMINAL}${message}`);

    if (settings.disabled) {
      return {
        status: begun.start.status,
        requeueAfterMs: RECHECK_MS,
        events: [
          {
            type: 'Warning',
            reason: 'ReconciliationDisabled',
            message: 'Reconciliation is disabled',
          },
        ],
      };
    }

    let scheduler: InputScheduler | undefined;
    try {
      scheduler = createInputScheduler(spec.schedule, settings.timeoutMs);
    } catch (error) {
      return terminal('InvalidSchedule', (error as Error).message);
    }
    let status: ObjectStatus = { ...begun.start.status };
    if (scheduler && !settings.forceAt && !scheduler.shouldReconcile(now)) {
      return this.skipped(status, scheduler, now, generation);
    }
    if (settings.forceAt) status.lastHandledForceAt = settings.forceAt;

    const provided = await this.provide(
      object,
      spec,
      settings,
      status,
      {
        failed,
        terminal,
      },
      begun.start.pendingRequest || settings.forceAt ? 0 : settings.intervalMs,
      context?.signal,
    );
    if ('done' in provided) return provided.done;

    let inputs = withDefaultValues(provided.inputs, spec.defaultValues);
    let conditions = (status.conditions ?? []).filter(
      c => c.type !== DOWNGRADE_CONDITION,
    );
    if (
      annotations?.[DOWNGRADE_GUARD_ANNOTATION] === 'enabled' &&
      provided.listedTags
    ) {
      const check = checkDowngrade({
        filter: spec.filter,
        listedTags: provided.listedTags,
        selectedTags: provided.selectedTags ?? [],
        previous: status.exportedInputs,
      });
      if (check.hold) {
        inputs = status.exportedInputs ?? inputs;
        const fallback = check.fallbackTag
          ? `'${check.fallbackTag}'`
          : 'no tag';
        conditions = [
          ...conditions,
          {
            type: DOWNGRADE_CONDITION,
            status: 'True',
            reason: 'NewestTagMissing',
            message: `tag '${check.missingTag}' is no longer in the registry; the exported inputs are held instead of downgrading to ${fallback}`,
            // Held since the tag went missing, not since this run.
            lastTransitionTime:
              status.conditions?.find(c => c.type === DOWNGRADE_CONDITION)
                ?.lastTransitionTime ?? now.toISOString(),
            observedGeneration: generation,
          },
        ];
      }
    }
    const previousRevision = status.lastExportedRevision;
    const revision = exportedRevision(inputs);
    status = {
      ...status,
      conditions,
      exportedInputs: inputs,
      lastExportedRevision: revision,
    };

    const previousReady = readyCondition(begun.start.status);
    // The engine records an event when the Ready message changes; the duration alone must not
    // make one, so an unchanged revision keeps the message (Flux notifies only on a new revision).
    const message =
      revision === previousRevision &&
      previousReady?.status === 'True' &&
      previousReady.reason === 'ReconciliationSucceeded'
        ? previousReady.message
        : finishedIn(Date.now() - started);
    status = markReady(
      status,
      'ReconciliationSucceeded',
      message,
      now,
      generation,
    );

    let requeueAfterMs = settings.intervalMs;
    delete status.nextSchedule;
    if (scheduler) {
      const at = new Date(now.getTime() + settings.intervalMs);
      const next = scheduler.next(now);
      if (
        at.getTime() > next.when.getTime() ||
        !scheduler.shouldScheduleInterval(at)
      ) {
        status.nextSchedule = { ...next, when: next.when.toISOString() };
        requeueAfterMs = Math.max(0, next.when.getTime() - now.getTime());
      }
    }
    const dueNow =
      revision !== previousRevision
        ? await this.dependentResourceSets(object)
        : [];
    if (revision !== previousRevision) {
      this.deps.logger.debug(
        `${object.id}: exported ${inputs.length} inputs, revision ${revision}`,
      );
    }
    return { status, requeueAfterMs, ...(dueNow.length ? { dueNow } : {}) };
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
      nextSchedule: { ...next, when: next.when.toISOString() },
    };
    const events: Event[] = [];
    if (!readyCondition(status)) {
      // On creation the object is Ready, waiting for its schedule; the engine records the event.
      skippedStatus = markReady(
        skippedStatus,
        'SkippedDueToSchedule',
        message,
        now,
        generation,
      );
    } else {
      events.push({ type: 'Normal', reason: 'SkippedDueToSchedule', message });
    }
    return {
      status: skippedStatus,
      requeueAfterMs: Math.max(1000, next.when.getTime() - now.getTime()),
      events,
    };
  }

  private async provide(
    object: StoredObject,
    spec: ResourceSetInputProviderSpec,
    settings: ReconcileSettings,
    status: ObjectStatus,
    outcomes: {
      failed: (
        reason: string,
        message: string,
        retryMs?: number,
      ) => ReconcileResult;
      terminal: (reason: string, message: string) => ReconcileResult;
    },
    /** How old a shared listing of the repository may be (0: list now). */
    listingMaxAgeMs: number,
    signal?: AbortSignal,
  ): Promise<Provided> {
    const { failed, terminal } = outcomes;
    const done = (result: ReconcileResult): Provided => ({
      done: {
        ...result,
        status: {
          ...result.status,
          lastHandledForceAt: status.lastHandledForceAt,
        },
      },
    });
    if (spec.type === 'Static') {
      return { inputs: [staticInput(object.namespace, object.name)] };
    }
    const source = INPUT_SOURCES[spec.type];
    if (source) {
      const result = await source({
        provider: {
          namespace: object.namespace,
          name: object.name,
          entityRef: object.entityRef,
        },
        spec,
        previous: status.exportedInputs,
        credentials: this.deps.credentials,
        config: this.deps.config ?? new ConfigReader({}),
        deadline: Date.now() + settings.timeoutMs,
        signal,
        now: new Date(),
      });
      if (result.ok) return { inputs: result.inputs };
      if (result.terminal) return done(terminal(result.reason, result.message));
      // A rate-limited service is asked again when it said it would answer (at least 1s, at most an hour).
      const waitMs =
        result.retryAfterMs !== undefined
          ? Math.min(Math.max(1000, result.retryAfterMs), 3_600_000)
          : undefined;
      return done(
        waitMs !== undefined
          ? failed(result.reason, result.message, waitMs)
          : failed(result.reason, result.message),
      );
    }
    // ECR/GAR/ACRArtifactTag: OCIArtifactTag with the backend's cloud identity (secretRef ignored).
    const cloudProvider = ARTIFACT_TAG_PROVIDERS[spec.type];
    if (spec.type !== 'OCIArtifactTag' && !cloudProvider) {
      return done(
        terminal(
          'ProviderNotSupported',
          `spec.type '${spec.type}' is not supported yet`,
        ),
      );
    }

    const url = spec.url ?? '';
    let ref: ImageReference;
    try {
      ref = ociReference(url, spec.insecure);
    } catch (error) {
      return done(
        terminal(
          'InvalidSpec',
          `invalid spec.url '${url}': ${(error as Error).message}`,
        ),
      );
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
          return done(terminal(error.reason, error.message));
        throw error;
      }
    }
    let options: RegistryCallOptions;
    try {
      options = registryCredentialOptions(
        cloudProvider ? { certSecretRef: spec.certSecretRef } : spec,
        ref,
        object.entityRef,
        this.deps.credentials,
      );
    } catch (error) {
      const name = spec.secretRef?.name ?? spec.certSecretRef?.name;
      return done(
        failed(
          'ReconciliationFailed',
          `failed to read secret '${object.namespace}/${name}': ${
            (error as Error).message
          }`,
        ),
      );
    }
    // A bad regex or semver range is a configuration error: say so before calling the registry.
    const filterCheck = filterProviderTags(spec.filter, []);
    if (!filterCheck.ok) {
      return done(terminal('InvalidSpec', filterCheck.message));
    }
    // `reconcileTimeout` bounds the whole provider call: the token, the listing and every digest request.
    const deadline = Date.now() + settings.timeoutMs;
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
        return done(
          failed(
            'ReconciliationFailed',
            `failed to call OCI provider: ${(error as Error).message}`,
          ),
        );
      }
    }
    const remaining = () => ({
      ...options,
      timeoutMs: Math.max(1, deadline - Date.now()),
    });

    const scope = listingScope({ ...spec, provider: cloudProvider }, ref);
    let listed: string[];
    let listedAt: Date | undefined;
    try {
      if (this.deps.listings) {
        ({ tags: listed, listedAt } = await this.deps.listings.listTags(
          ref,
          remaining(),
          { scope, maxAgeMs: listingMaxAgeMs },
        ));
      } else {
        listed = (await this.deps.registry.listTags(ref, remaining())).tags;
      }
    } catch (error) {
      const message = `failed to list OCI tags for '${url.replace(
        /^oci:\/\//,
        '',
      )}': ${(error as Error).message}`;
      if ((error as { kind?: string }).kind === 'hostNotAllowed') {
        return done(terminal('RegistryNotAllowed', message));
      }
      return done(
        failed(
          'ReconciliationFailed',
          `failed to call OCI provider: ${message}`,
        ),
      );
    }
    const selection = filterProviderTags(spec.filter, listed);
    if (!selection.ok) return done(terminal('InvalidSpec', selection.message));
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
      return done(
        failed(
          'ReconciliationFailed',
          `failed to call OCI provider: ${(error as Error).message}`,
        ),
      );
    }
    return {
      inputs: artifactTagInputs(
        selection.tags.map((tag, i) => ({ tag, digest: digests[i] })),
      ),
      listedTags: listed,
      selectedTags: selection.tags,
    };
  }

  /** ResourceSets in the provider's namespace whose `spec.inputsFrom` names or selects it. */
  private async dependentResourceSets(
    provider: StoredObject,
  ): Promise<string[]> {
    const resourceSets = await this.deps.objects.list({
      kind: 'ResourceSet',
      namespace: provider.namespace,
    });
    const candidate = {
      apiVersion: provider.apiVersion,
      kind: provider.kind,
      name: provider.name,
      namespace: provider.namespace,
      labels: provider.manifest.metadata.labels ?? {},
      inputs: [],
    };
    return resourceSets
      .filter(rset => {
        const inputsFrom = (rset.manifest.spec as { inputsFrom?: unknown })
          .inputsFrom;
        if (!Array.isArray(inputsFrom)) return false;
        try {
          return (
            selectProviders(
              rset.namespace,
              inputsFrom as InputProviderReference[],
              [candidate],
            ).length > 0
          );
        } catch {
          // An invalid reference is the ResourceSet's own error, reported by its reconciler.
          return false;
        }
      })
      .map(rset => rset.id);
  }
}
