import crypto from 'node:crypto';
import {
  Condition,
  FLUX_OPERATOR_API_VERSION,
  OBJECT_ANNOTATIONS,
  ObjectEvent,
  ObjectStatus,
  PromotionVersion,
  REASONS,
  ResourceSetSpec,
  tryParseObjectId,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  ChangeSetEntry,
  classifyApplyFailure,
  ClusterDetails,
  clusterForObject,
  entityRefusal,
  InventoryApplier,
  KubernetesObject,
} from '../kubernetes';
import {
  RECONCILE_ANNOTATION,
  RECONCILE_EVERY_ANNOTATION,
  RECONCILE_TIMEOUT_ANNOTATION,
} from '../inputs';
import {
  buildResourceSet,
  InputProvider,
  InputProviderReference,
  InputSet,
  resourceSetFromManifest,
  selectProviders,
} from '../resourceset';
import { InventoryStore } from '../store/InventoryStore';
import { PromotionRecord } from '../store/PromotionStore';
import {
  PromotionPlanner,
  TargetSelection,
} from '../promotions/PromotionPlanner';
import { clusterTarget, providerVersion } from '../promotions/clusterTargets';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { marshalJson, parseJson } from '../golib/json';
import { formatGoDuration, parseGoDuration } from '../golib/time';
import { readyCondition } from './conditions';
import { Outcomes } from './outcome';
import {
  beginReconcile,
  failures,
  FLUX_OPERATOR_IN_PROGRESS,
  RECHECK_MS,
  ReconcileStart,
  retryAfter,
} from './preamble';
import { ReconcileContext, ReconcileResult, Reconciler } from './Reconciler';
import { recordHistory } from './reconcileHistory';
import {
  CompiledDependency,
  compileDependencies,
  dependencyNotReady,
} from './resourceSetDependencies';
import { namespaceGranted, referenceDenied } from '../objects/tenancy';

/** Comma-separated names of the clusters a ResourceSet applies to (on the ResourceSet or its entity). @internal */
export const CLUSTERS_ANNOTATION = OBJECT_ANNOTATIONS.clusters;
/**
 * `enabled` lets a ResourceSet whose `inputsFrom` providers export nothing apply the empty set, which
 * prunes everything it applied before (Flux's behaviour). Without it the last apply is held.
 * @internal
 */
export const ALLOW_EMPTY_INPUTS_ANNOTATION =
  OBJECT_ANNOTATIONS.allowEmptyInputs;
/** `fluxcd.controlplane.io/force: enabled` re-creates objects whose immutable fields changed. */
const FORCE_ANNOTATION = OBJECT_ANNOTATIONS.force;
const OWNER_GROUP = 'resourceset.fluxcd.controlplane.io';
/** The Flux Operator's `--requeue-dependency`. */
const DEPENDENCY_RETRY_MS = 5_000;
/** A cluster that did not answer is retried this soon, whatever `reconcileEvery` says. */
const UNREACHABLE_RETRY_MS = 10_000;
const DEFAULT_INTERVAL_MS = 60 * 60_000;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message'>;

/** A provider `spec.inputsFrom` selected, with its stored object. */
interface SelectedProvider {
  provider: InputProvider;
  stored: StoredObject;
}

/** What one cluster gets in this pass: the providers' inputs its promotions allow. */
interface ClusterPlan {
  cluster: ClusterDetails;
  providers: InputProvider[];
  /** Identifies the inputs, so clusters that get the same ones share one build. */
  key: string;
  /** Promotions carried out by applying to this cluster. */
  writes: Array<{ promotion: PromotionRecord; selection: TargetSelection }>;
  /** When held promotions' gates pass by themselves. */
  etas: number[];
}

/** The owner labels Flux sets on everything a ResourceSet applies, and requires on what it prunes. */
function ownerLabels(namespace: string, name: string): Record<string, string> {
  return {
    [`${OWNER_GROUP}/name`]: name,
    [`${OWNER_GROUP}/namespace`]: namespace,
  };
}

/** The namespace and name of a ResourceSet's object id; undefined for any other id. */
function ownerOf(id: string): { namespace: string; name: string } | undefined {
  const ref = tryParseObjectId(id);
  return ref?.kind === 'ResourceSet'
    ? { namespace: ref.namespace, name: ref.name }
    : undefined;
}

/** A Go duration annotation, or the ResourceSet default when absent or unparsable (as Flux). */
function durationAnnotation(
  text: string | undefined,
  fallback: number,
): number {
  if (text === undefined) return fallback;
  try {
    return parseGoDuration(text);
  } catch {
    return fallback;
  }
}

/** Stored JSON as the Flux Operator decodes it: integers that fit stay integers (`bigint`). */
function goValueOf(json: unknown) {
  return parseJson(JSON.stringify(json ?? null), 'preserve');
}

/** `Reconciliation finished in <d>`: milliseconds below a second, whole seconds above. */
function finishedIn(ms: number): string {
  const rounded = ms < 1000 ? Math.round(ms) : Math.round(ms / 1000) * 1000;
  return `Reconciliation finished in ${formatGoDuration(rounded)}`;
}

/**
 * The status while step `index` of `total` is applied, as the Flux Operator shows it: Ready=Unknown
 * `Reconciliation in progress`, Reconciling=True with `Applying step <i>/<n> "<name>"`.
 */
function applyingStep(
  status: ObjectStatus,
  step: { index: number; total: number; name?: string },
  generation: number,
  now: Date,
): ObjectStatus {
  const condition = (
    type: string,
    value: Condition['status'],
    message: string,
  ): Condition => {
    const previous = status.conditions?.find(c => c.type === type);
    return {
      type,
      status: value,
      reason: REASONS.Progressing,
      message,
      observedGeneration: generation,
      lastTransitionTime:
        previous?.status === value
          ? previous.lastTransitionTime
          : now.toISOString(),
    };
  };
  return {
    ...status,
    conditions: [
      condition('Ready', 'Unknown', FLUX_OPERATOR_IN_PROGRESS),
      condition(
        'Reconciling',
        'True',
        `Applying step ${step.index}/${step.total} "${step.name}"`,
      ),
    ],
  };
}

function splitNames(text: string | undefined): string[] {
  return [
    ...new Set(
      (text ?? '')
        .split(',')
        .map(s => s.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * Flux's change-set lines: `<Kind>/<ns>/<name> <action>`, one per changed object, and one per
 * object pruning kept (`prune: disabled`, or no longer ours): `<Kind>/<ns>/<name> skipped`. An
 * object the cluster's policy kept is reported apart ({@link pruneRefusals}).
 */
function changeLines(changes: ChangeSetEntry[]): string[] {
  return changes
    .filter(
      c => c.action !== 'unchanged' && !(c.action === 'skipped' && c.reason),
    )
    .map(c => `${c.subject} ${c.action}`);
}

/** Objects pruning left in place because the cluster's policy does not cover them. */
function pruneRefusals(changes: ChangeSetEntry[]): string[] {
  return changes
    .filter(c => c.action === 'skipped' && c.reason)
    .map(c => `${c.subject} ${c.reason}`);
}

/** The builder's steps as the applier takes them. */
function applySteps(
  built: Extract<ReturnType<typeof buildResourceSet>, { ok: true }>,
  timeoutMs: number,
) {
  return built.steps.map(step => ({
    name: step.name || undefined,
    // A step's own timeout bounds the wait for it; unparsable or absent: the ResourceSet's.
    timeoutMs: durationAnnotation(step.timeout, timeoutMs),
    objects: step.objects.map(
      o =>
        JSON.parse(marshalJson(o, { escapeHtml: false })) as KubernetesObject,
    ),
  }));
}

/** One reconcile's state, shared by the steps of {@link ResourceSetReconciler.reconcile}. */
interface ResourceSetRun {
  object: StoredObject;
  spec: ResourceSetSpec;
  start: ReconcileStart<ResourceSetSpec>;
  now: Date;
  /** `Date.now()` when the reconcile began, for durations. */
  started: number;
  signal?: AbortSignal;
  annotations: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
  outcomes: Outcomes;
  /** Events of the promotions and the applies, attached to the outcome. */
  events: Event[];
}

/** What the applies to every cluster produced. */
interface Applied {
  /** Every change line, of every step and of pruning. */
  changes: string[];
  /**
   * The closing event's lines: the last step's changes and what was pruned (the steps before the
   * last have their own events, in `stepEvents`), as the Flux Operator reports them.
   */
  finalChanges: string[];
  /** Objects pruning left in place: the cluster's policy no longer covers them. */
  leftInPlace: string[];
  stepEvents: Event[];
  entries: Map<string, { id: string; v: string }>;
  revision?: string;
  counts: { inputs: number; resources: number };
  /** Objects whose promotions wait for this entity upstream: due now once it carries more. */
  downstream: string[];
}

/** The ResourceSet's `serviceAccountName`, the identity every cluster call impersonates. */
function serviceAccountOf(
  run: ResourceSetRun,
): { namespace: string; name: string } | undefined {
  return run.spec.serviceAccountName
    ? { namespace: run.object.namespace, name: run.spec.serviceAccountName }
    : undefined;
}

/**
 * A dependency in another namespace (a stored ResourceSet or provider, or a cluster object) needs
 * that namespace granted to the entity; ResourceSets have no accessFrom. Checked before anything is
 * read: Stalled AccessDenied.
 */
function dependencyAccessDenied(
  run: ResourceSetRun,
): ReconcileResult | undefined {
  const { object } = run;
  for (const dep of run.spec.dependsOn ?? []) {
    const namespace =
      dep.namespace ??
      (dep.kind === 'Namespace' ? undefined : object.namespace);
    if (!namespace) continue;
    const denied = referenceDenied(object, 'spec.dependsOn', {
      kind: dep.kind,
      namespace,
      name: dep.name,
    });
    if (denied) return run.outcomes.stalled(REASONS.AccessDenied, denied);
  }
  return undefined;
}

/**
 * The outcome with the reconcile recorded in `status.history`: failed builds and applies with the
 * digest of the spec, as the Flux Operator does (the objects' digest is only known once an apply
 * finished), a finished apply with the revision.
 */
function recorded(
  run: ResourceSetRun,
  result: ReconcileResult,
  digest = specDigest(run.object),
  metadata: Record<string, string> = {},
): ReconcileResult {
  return {
    ...result,
    status: {
      ...result.status,
      history: recordHistory(run.start.status.history, {
        digest,
        status: readyCondition(result.status)?.reason ?? 'Unknown',
        now: run.now,
        durationMs: Date.now() - run.started,
        metadata,
      }),
    },
  };
}

function specDigest(object: StoredObject): string {
  return `sha256:${crypto
    .createHash('sha256')
    .update(JSON.stringify(object.manifest.spec ?? {}))
    .digest('hex')}`;
}

/**
 * Applies ResourceSets (`fluxcd.controlplane.io/v1`) into Kubernetes clusters as the Flux Operator's
 * ResourceSet controller does: inputs from `spec.inputs` and the `status.exportedInputs` of
 * the providers `spec.inputsFrom` selects, the builder's objects (Flatten/Permute, steps), server-side
 * apply through {@link InventoryApplier} into every cluster named by `image-automation.io/clusters`
 * (on the ResourceSet, else on its entity), garbage collection of what is no longer rendered, and
 * Flux's status (`inventory`, `lastAppliedRevision`, Ready/Stalled with Flux's reasons).
 *
 * Differences, on purpose: an empty input set from `inputsFrom` is held (Ready=False `EmptyInputs`)
 * instead of pruning everything, unless the ResourceSet opts in with
 * `image-automation.io/allow-empty-inputs: enabled`; a ResourceSet removed from its source is
 * uninstalled by {@link ResourceSetReconciler.uninstallDeleted}, which the plugin calls after each
 * manifest sync (the store keeps no finalizers), also when its reconciliation was disabled (Flux
 * orphans the objects then).
 * @internal
 */
export class ResourceSetReconciler implements Reconciler {
  readonly apiVersion = FLUX_OPERATOR_API_VERSION;
  readonly kind = 'ResourceSet';

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      inventories: InventoryStore;
      applier: Pick<InventoryApplier, 'apply' | 'uninstall'>;
      /** A usable cluster by name; throws with the reason when there is none. */
      cluster: (name: string) => Promise<ClusterDetails>;
      /**
       * Publishes the status of a reconcile still running (the step being applied) before the
       * engine stores the outcome; without it progress is not shown.
       */
      progress?: (id: string, status: ObjectStatus) => Promise<void>;
      /** The annotations of a catalog entity (undefined when it does not exist). */
      entityAnnotations?: (
        entityRef: string,
      ) => Promise<Record<string, string> | undefined>;
      /**
       * The owner of a catalog entity as a full ref (`group:default/team-a`), for clusters'
       * `allowedOwners`; without it only `allowedEntities` can let a ResourceSet target a cluster.
       */
      entityOwner?: (entityRef: string) => Promise<string | undefined>;
      /** Promotions: without them every new input is applied on the next pass (Flux's behaviour). */
      promotions?: PromotionPlanner;
    },
  ) {}

  /**
   * The longest a reconcile may wait on clusters: per target cluster, the timeout of each step
   * (`spec.steps[].timeout`, else the ResourceSet's `reconcileTimeout`), or that timeout once.
   */
  async timeoutMs(object: StoredObject): Promise<number> {
    const timeout = durationAnnotation(
      object.manifest.metadata.annotations?.[RECONCILE_TIMEOUT_ANNOTATION],
      DEFAULT_TIMEOUT_MS,
    );
    const steps = ((object.manifest.spec as ResourceSetSpec | undefined)
      ?.steps ?? []) as Array<{ timeout?: string }>;
    const perCluster = steps.length
      ? steps.reduce(
          (sum, step) => sum + durationAnnotation(step?.timeout, timeout),
          0,
        )
      : timeout;
    const clusters = await this.targetClusters(object).catch(() => []);
    return perCluster * Math.max(1, clusters.length);
  }

  /**
   * One reconcile, in the Flux Operator's order: settings → targets → dependencies → inputs →
   * build and apply per cluster → prune retired clusters → status.
   */
  async reconcile(
    object: StoredObject,
    now: Date,
    context?: ReconcileContext,
  ): Promise<ReconcileResult> {
    const started = Date.now();
    const begun = beginReconcile<ResourceSetSpec>(object, now);
    if ('done' in begun) return begun.done;
    const annotations = object.manifest.metadata.annotations ?? {};
    const intervalMs = durationAnnotation(
      annotations[RECONCILE_EVERY_ANNOTATION],
      DEFAULT_INTERVAL_MS,
    );
    const run: ResourceSetRun = {
      object,
      spec: begun.start.spec ?? {},
      start: begun.start,
      now,
      started,
      signal: context?.signal,
      annotations,
      intervalMs,
      timeoutMs: durationAnnotation(
        annotations[RECONCILE_TIMEOUT_ANNOTATION],
        DEFAULT_TIMEOUT_MS,
      ),
      outcomes: failures(
        begun.start,
        now,
        retryAfter(intervalMs),
        () => FLUX_OPERATOR_IN_PROGRESS,
      ),
      events: [],
    };
    if (
      (annotations[RECONCILE_ANNOTATION] ?? '').toLowerCase() === 'disabled'
    ) {
      return run.outcomes.waiting(RECHECK_MS, {
        events: [
          {
            type: 'Warning',
            reason: REASONS.ReconciliationDisabled,
            message: 'Reconciliation is disabled',
          },
        ],
      });
    }
    const denied = dependencyAccessDenied(run);
    if (denied) return denied;
    const targets = await this.targets(run);
    if ('done' in targets) return targets.done;
    const notReady = await this.dependenciesNotReady(run, targets.clusters);
    if (notReady) return notReady;
    const inputs = await this.inputs(run, targets.clusters);
    if ('done' in inputs) return inputs.done;
    const applied = await this.applyPlans(run, inputs.plans, targets.clusters);
    if ('done' in applied) return applied.done;
    const retired = await this.uninstallRetiredClusters(
      object,
      targets.names,
      ownerLabels(object.namespace, object.name),
      serviceAccountOf(run),
      run.signal,
    );
    if ('error' in retired)
      return run.outcomes.failed(REASONS.ReconciliationFailed, retired.error);
    applied.changes.push(...retired.lines);
    applied.finalChanges.push(...retired.lines);
    applied.leftInPlace.push(...retired.leftInPlace);
    return this.finished(run, applied, inputs.plans, targets.names);
  }

  /**
   * Targets first: without a cluster there is nothing to check dependencies in or apply to. Each
   * must be usable and admit the ResourceSet's entity (its `allowedEntities` / `allowedOwners`).
   */
  private async targets(
    run: ResourceSetRun,
  ): Promise<
    { done: ReconcileResult } | { names: string[]; clusters: ClusterDetails[] }
  > {
    const { object } = run;
    const { failed, stalled } = run.outcomes;
    const names = await this.targetClusters(object);
    if (names.length === 0) {
      return {
        done: stalled(
          REASONS.NoTargetCluster,
          `no target cluster: set the annotation ${CLUSTERS_ANNOTATION} on the ResourceSet or its entity`,
        ),
      };
    }
    const clusters: ClusterDetails[] = [];
    for (const name of names) {
      let cluster: ClusterDetails;
      try {
        cluster = await this.deps.cluster(name);
      } catch (error) {
        return {
          done: failed(REASONS.ReconciliationFailed, (error as Error).message),
        };
      }
      // Only entities (or owners) the cluster's configuration names may target it.
      const refusal = await this.targetRefusal(object, cluster);
      if (refusal) return { done: stalled(REASONS.ClusterNotAllowed, refusal) };
      // What the set applies, dry-runs, copies from, reads for dependsOn and prunes there also needs
      // the namespace granted to its entity: two entities on one cluster stay out of each other's.
      clusters.push(clusterForObject(cluster, object));
    }
    return { names, clusters };
  }

  /** `spec.dependsOn`, checked in the target clusters and the store: the outcome when one is not ready. */
  private async dependenciesNotReady(
    run: ResourceSetRun,
    clusters: ClusterDetails[],
  ): Promise<ReconcileResult | undefined> {
    const { object, spec } = run;
    const { failed, stalled } = run.outcomes;
    if (!spec.dependsOn?.length) return undefined;
    let dependencies: CompiledDependency[];
    try {
      dependencies = compileDependencies(spec.dependsOn, object.namespace);
    } catch (error) {
      return stalled(
        REASONS.InvalidCELExpression,
        `Reconciliation failed terminally due to configuration error: ${
          (error as Error).message
        }`,
      );
    }
    const notReady = await dependencyNotReady({
      dependencies,
      namespace: object.namespace,
      clusters,
      stored: id => this.deps.objects.get(id),
      serviceAccount: serviceAccountOf(run),
    });
    if (notReady?.refused) {
      return stalled(REASONS.DependencyRefused, notReady.message);
    }
    if (notReady) {
      // Normal, as the Flux Operator records it: waiting for a dependency is not a failure.
      return failed(
        REASONS.DependencyNotReady,
        `Retrying dependency check: ${notReady.message}`,
        DEPENDENCY_RETRY_MS,
        { readyEventType: 'Normal' },
      );
    }
    return undefined;
  }

  /** The inputs: the providers `spec.inputsFrom` selects, and what each cluster gets of them. */
  private async inputs(
    run: ResourceSetRun,
    clusters: ClusterDetails[],
  ): Promise<{ done: ReconcileResult } | { plans: ClusterPlan[] }> {
    const { failed, stalled } = run.outcomes;
    const providers = await this.providers(run.object, run.spec);
    if ('error' in providers) {
      return {
        done: recorded(
          run,
          stalled(
            REASONS.BuildFailed,
            `failed to compute inputs: ${providers.error}`,
          ),
        ),
      };
    }
    try {
      run.signal?.throwIfAborted();
      return {
        plans: await this.planClusters(
          run.object,
          clusters,
          providers.list,
          run.now,
          run.events,
        ),
      };
    } catch (error) {
      return {
        done: recorded(run, {
          ...failed(
            REASONS.ReconciliationFailed,
            `failed to plan promotions: ${(error as Error).message}`,
          ),
          events: run.events,
        }),
      };
    }
  }

  /**
   * Builds and applies each cluster's plan (clusters with the same inputs share one build); the
   * first failure ends the reconcile, and the promotions of the clusters not reached fail with it.
   */
  private async applyPlans(
    run: ResourceSetRun,
    plans: ClusterPlan[],
    clusters: ClusterDetails[],
  ): Promise<{ done: ReconcileResult } | Applied> {
    const renders = new Map<string, ReturnType<typeof buildResourceSet>>();
    const applied: Applied = {
      changes: [],
      finalChanges: [],
      leftInPlace: [],
      stepEvents: [],
      entries: new Map(),
      counts: { inputs: 0, resources: 0 },
      downstream: [],
    };
    for (const [index, plan] of plans.entries()) {
      const notAttempted = async (message: string) => {
        run.signal?.throwIfAborted();
        for (const later of plans.slice(index)) {
          for (const { promotion } of later.writes)
            await this.deps.promotions!.failed(
              promotion,
              message,
              run.now,
              run.events,
            );
        }
      };
      let built = renders.get(plan.key);
      if (!built) {
        built = buildResourceSet({
          resourceSet: resourceSetFromManifest(
            goValueOf(run.object.manifest),
            run.object.namespace,
          ),
          providers: plan.providers,
        });
        renders.set(plan.key, built);
      }
      const refused = await this.buildRefused(run, built, notAttempted);
      if (refused) return { done: refused };
      const ok = built as Extract<typeof built, { ok: true }>;
      applied.counts = {
        inputs: ok.inputs.length,
        resources: ok.objects.length,
      };
      const failure = await this.applyToCluster(
        run,
        plan,
        ok,
        clusters.length > 1,
        applied,
        notAttempted,
      );
      if (failure) return { done: failure };
    }
    return applied;
  }

  /**
   * A failed build (Stalled BuildFailed), or an empty input set from `inputsFrom` without the
   * opt-in (held: Ready=False EmptyInputs, retried at the interval); undefined when it may be applied.
   */
  private async buildRefused(
    run: ResourceSetRun,
    built: ReturnType<typeof buildResourceSet>,
    notAttempted: (message: string) => Promise<void>,
  ): Promise<ReconcileResult | undefined> {
    const { failed, stalled } = run.outcomes;
    if (!built.ok) {
      await notAttempted(`build failed: ${built.error}`);
      return recorded(run, {
        ...stalled(REASONS.BuildFailed, `build failed: ${built.error}`),
        events: run.events,
      });
    }
    if (
      (run.spec.inputsFrom?.length ?? 0) > 0 &&
      built.inputs.length === 0 &&
      run.annotations[ALLOW_EMPTY_INPUTS_ANNOTATION] !== 'enabled'
    ) {
      const held = run.start.status.inventory?.entries.length ?? 0;
      await notAttempted('the input providers exported no inputs');
      return {
        ...failed(
          REASONS.EmptyInputs,
          `the input providers exported no inputs; the ${held} applied objects are kept. Set the annotation ${ALLOW_EMPTY_INPUTS_ANNOTATION}: enabled to apply the empty set and prune them`,
          run.intervalMs,
        ),
        events: run.events,
      };
    }
    return undefined;
  }

  /**
   * Applies one cluster's build (server-side, steps in order, pruning what is no longer rendered)
   * and records its promotions; adds what changed to `applied`. The outcome when it failed.
   */
  private async applyToCluster(
    run: ResourceSetRun,
    plan: ClusterPlan,
    built: Extract<ReturnType<typeof buildResourceSet>, { ok: true }>,
    severalClusters: boolean,
    applied: Applied,
    notAttempted: (message: string) => Promise<void>,
  ): Promise<ReconcileResult | undefined> {
    const { object, now, signal, events } = run;
    const { cluster } = plan;
    try {
      const result = await this.deps.applier.apply({
        owner: object.id,
        cluster,
        steps: applySteps(built, run.timeoutMs),
        ownerLabels: ownerLabels(object.namespace, object.name),
        serviceAccount: serviceAccountOf(run),
        wait: run.spec.wait,
        timeoutMs: run.timeoutMs,
        recreateImmutable: run.annotations[FORCE_ANNOTATION] === 'enabled',
        signal,
        onStep: step =>
          step.name && this.deps.progress
            ? this.deps.progress(
                object.id,
                applyingStep(run.start.status, step, run.start.generation, now),
              )
            : undefined,
      });
      applied.revision = result.revision;
      for (const entry of result.inventory)
        applied.entries.set(entry.id, entry);
      const inCluster = (lines: string[]) =>
        severalClusters ? lines.map(l => `${cluster.name}: ${l}`) : lines;
      const clusterChanges = changeLines(result.changes);
      applied.changes.push(...inCluster(clusterChanges));
      applied.leftInPlace.push(...inCluster(pruneRefusals(result.changes)));
      // Flux announces each step of `spec.steps` before the last that changed something on its
      // own; the closing event has the last step's changes and what pruning did.
      for (const step of result.steps.slice(0, -1)) {
        const lines = inCluster(changeLines(step.changes));
        if (step.name && lines.length > 0) {
          applied.stepEvents.push({
            type: 'Normal',
            reason: REASONS.ApplySucceeded,
            message: `step "${step.name}": ${lines.join('\n')}`,
          });
        }
      }
      const ofSteps = new Set(result.steps.flatMap(step => step.changes));
      applied.finalChanges.push(
        ...inCluster(
          changeLines([
            ...(result.steps[result.steps.length - 1]?.changes ?? []),
            ...result.changes.filter(c => !ofSteps.has(c)),
          ]),
        ),
      );
      signal?.throwIfAborted();
      for (const { promotion, selection } of plan.writes) {
        applied.downstream.push(
          ...(await this.deps.promotions!.applied(
            promotion,
            {
              appliedRevision: result.revision,
              diff: clusterChanges.join('\n'),
            },
            now,
            events,
            selection,
          )),
        );
      }
      return undefined;
    } catch (error) {
      // The inventory of this cluster stays old ∪ new (InventoryApplier), so nothing is lost.
      const failure = classifyApplyFailure(error);
      const message = severalClusters
        ? `cluster '${cluster.name}': ${failure.message}`
        : failure.message;
      await notAttempted(message);
      return recorded(run, {
        ...run.outcomes.failed(
          failure.reason,
          message,
          failure.retrySoon ? UNREACHABLE_RETRY_MS : retryAfter(run.intervalMs),
        ),
        events,
      });
    }
  }

  /**
   * The status after every cluster was applied: the inventory, the clusters and revision applied,
   * Ready (or Ready=False PruneRefused when pruning left objects the cluster's policy does not
   * cover), the change events, and the objects the promotions carried out made due.
   */
  private finished(
    run: ResourceSetRun,
    applied: Applied,
    plans: ClusterPlan[],
    clusterNames: string[],
  ): ReconcileResult {
    const { now, intervalMs, events } = run;
    const { changes, leftInPlace, revision, counts, downstream } = applied;
    const previous = run.start.status;
    const previousReady = readyCondition(previous);
    // The engine records an event when the Ready message changes: an unchanged apply keeps the
    // message, so only a new revision or a change in the cluster is announced.
    const message =
      changes.length === 0 &&
      revision === previous.lastAppliedRevision &&
      previousReady?.status === 'True' &&
      previousReady.reason === REASONS.ReconciliationSucceeded
        ? previousReady.message
        : finishedIn(Date.now() - run.started);
    const status: ObjectStatus = {
      ...previous,
      inventory: { entries: [...applied.entries.values()] },
      appliedClusters: clusterNames,
      lastAppliedRevision: revision,
    };
    if (leftInPlace.length > 0) {
      events.push({
        type: 'Warning',
        reason: REASONS.PruneRefused,
        message: leftInPlace.join('\n'),
      });
    }
    events.push(...applied.stepEvents);
    if (applied.finalChanges.length > 0) {
      events.push({
        type: 'Normal',
        reason: REASONS.ApplySucceeded,
        message: applied.finalChanges.join('\n'),
      });
    }
    const heldUntil = plans.flatMap(p => p.etas);
    const requeueAfterMs = heldUntil.length
      ? Math.max(
          1000,
          Math.min(intervalMs, Math.min(...heldUntil) - now.getTime() + 1000),
        )
      : intervalMs;
    const extras = {
      status,
      events,
      ...(downstream.length ? { dueNow: downstream } : {}),
    };
    // Applied, but pruning left objects the policy does not cover: say so, they are not ours to
    // delete any more (they leave the inventory, as objects with `prune: disabled` do).
    const result =
      leftInPlace.length > 0
        ? run.outcomes.failed(
            REASONS.PruneRefused,
            `applied, but pruning was refused by the cluster's policy: ${leftInPlace.join(
              '; ',
            )}`,
            requeueAfterMs,
            extras,
          )
        : run.outcomes.ready(
            REASONS.ReconciliationSucceeded,
            message,
            requeueAfterMs,
            extras,
          );
    return recorded(run, result, revision, {
      inputs: String(counts.inputs),
      resources: String(counts.resources),
    });
  }

  /**
   * What carrying `version` of one provider into one cluster would change there, the other
   * providers at what the cluster carries: a server-side dry run of the rendered objects, with
   * each changed object's diff and the objects that would be pruned. Nothing is written.
   */
  async preview(
    object: StoredObject,
    clusterName: string,
    subject: string,
    version: PromotionVersion,
  ): Promise<ChangeSetEntry[]> {
    const spec = (object.manifest.spec ?? {}) as ResourceSetSpec;
    if (
      object.source.type === 'catalog' &&
      !namespaceGranted(object.grantedNamespaces, object.namespace)
    ) {
      // The engine does not reconcile it; a preview does not impersonate its service account either.
      throw new Error(
        `namespace '${object.namespace}' is not granted to ${
          object.entityRef ?? 'this object'
        }`,
      );
    }
    const providers = await this.providers(object, spec);
    if ('error' in providers)
      throw new Error(`failed to compute inputs: ${providers.error}`);
    const target = clusterTarget(object.id, clusterName);
    const chosen: InputProvider[] = [];
    for (const { provider, stored } of providers.list) {
      const carried =
        stored.id === subject
          ? version
          : (await this.deps.promotions?.carried(target.id, stored.id)) ??
            providerVersion(stored);
      chosen.push(
        carried?.inputs
          ? {
              ...provider,
              inputs: carried.inputs.map(
                (i: Record<string, unknown>) => goValueOf(i) as InputSet,
              ),
            }
          : provider,
      );
    }
    const built = buildResourceSet({
      resourceSet: resourceSetFromManifest(
        goValueOf(object.manifest),
        object.namespace,
      ),
      providers: chosen,
    });
    if (!built.ok) throw new Error(`build failed: ${built.error}`);
    const annotations = object.manifest.metadata.annotations ?? {};
    const cluster = clusterForObject(
      await this.deps.cluster(clusterName),
      object,
    );
    const refusal = await this.targetRefusal(object, cluster);
    if (refusal) throw new Error(refusal);
    const result = await this.deps.applier.apply({
      owner: object.id,
      cluster,
      steps: applySteps(built, DEFAULT_TIMEOUT_MS),
      ownerLabels: ownerLabels(object.namespace, object.name),
      serviceAccount: spec.serviceAccountName
        ? { namespace: object.namespace, name: spec.serviceAccountName }
        : undefined,
      recreateImmutable: annotations[FORCE_ANNOTATION] === 'enabled',
      dryRun: true,
    });
    return result.changes;
  }

  /**
   * What each cluster gets: without promotions, every provider's current inputs (Flux's behaviour);
   * with them, per cluster and provider, the inputs its promotion allows — the new ones when the
   * promotion is carried out in this pass, else the ones the cluster carries. The first apply to a
   * cluster has nothing to hold and goes through at once.
   */
  private async planClusters(
    object: StoredObject,
    clusters: ClusterDetails[],
    providers: SelectedProvider[],
    now: Date,
    events: Event[],
  ): Promise<ClusterPlan[]> {
    const planner = this.deps.promotions;
    if (!planner) {
      return clusters.map(cluster => ({
        cluster,
        providers: providers.map(p => p.provider),
        key: 'current',
        writes: [],
        etas: [],
      }));
    }
    const plans: ClusterPlan[] = [];
    for (const cluster of clusters) {
      const target = clusterTarget(object.id, cluster.name);
      const plan: ClusterPlan = {
        cluster,
        providers: [],
        key: '',
        writes: [],
        etas: [],
      };
      const keys: string[] = [];
      for (const { provider, stored } of providers) {
        const selected = providerVersion(stored);
        if (!selected) {
          plan.providers.push(provider);
          keys.push(`${stored.id}=none`);
          continue;
        }
        const selection = {
          entityRef: object.entityRef,
          target,
          subject: stored.id,
          selected,
          annotations: object.manifest.metadata.annotations,
        };
        const carried = await planner.carried(target.id, stored.id);
        const decision = carried
          ? await planner.decide({ ...selection, carried }, now, events)
          : await planner.firstApply(selection, now);
        const version =
          decision.action === 'write' ? decision.version : carried;
        if (decision.action === 'write')
          plan.writes.push({
            promotion: decision.promotion,
            selection: { ...selection, carried },
          });
        if (decision.action === 'hold' && decision.promotion?.eta) {
          plan.etas.push(Date.parse(decision.promotion.eta));
        }
        if (!version) {
          // Nothing carried and nothing to write (another instance is applying it): keep what is exported.
          plan.providers.push(provider);
          keys.push(`${stored.id}=current`);
          continue;
        }
        plan.providers.push({
          ...provider,
          inputs: (version.inputs ?? []).map(
            (i: Record<string, unknown>) => goValueOf(i) as InputSet,
          ),
        });
        keys.push(`${stored.id}=${version.revision}`);
      }
      plan.key = keys.join('|');
      plans.push(plan);
    }
    return plans;
  }

  /**
   * Garbage-collects what ResourceSets that no longer exist applied: every inventory whose owner is
   * not in the object store any more. Runs after each manifest sync; a cluster that is down keeps
   * its inventory, so the next sync tries again. Objects are deleted with the plugin's own identity
   * (the deleted ResourceSet's `serviceAccountName` is no longer known). With `graceMs`, an owner
   * is uninstalled only once it has been missing that long (since the first sync that found it
   * gone, recorded in the inventory); one that comes back meanwhile keeps everything.
   * Returns the change lines per owner, or when it is uninstalled (`waitingUntil`).
   */
  async uninstallDeleted(
    options: { now?: Date; graceMs?: number } = {},
  ): Promise<
    Array<{
      owner: string;
      changes: string[];
      error?: string;
      waitingUntil?: Date;
    }>
  > {
    const now = options.now ?? new Date();
    const graceMs = options.graceMs ?? 0;
    const results: Array<{
      owner: string;
      changes: string[];
      error?: string;
      waitingUntil?: Date;
    }> = [];
    for (const record of await this.deps.inventories.list()) {
      const owner = ownerOf(record.owner);
      if (!owner) continue;
      if (await this.deps.objects.get(record.owner)) {
        // Back before the grace period ran out: nothing is uninstalled.
        if (record.orphanedAt)
          await this.deps.inventories.setOrphaned(
            record.owner,
            record.cluster,
            undefined,
          );
        continue;
      }
      const since = record.orphanedAt ?? now;
      if (!record.orphanedAt && graceMs > 0)
        await this.deps.inventories.setOrphaned(
          record.owner,
          record.cluster,
          now,
        );
      if (now.getTime() - since.getTime() < graceMs) {
        results.push({
          owner: record.owner,
          changes: [],
          waitingUntil: new Date(since.getTime() + graceMs),
        });
        continue;
      }
      try {
        const cluster = await this.deps.cluster(record.cluster);
        const changes = await this.deps.applier.uninstall({
          owner: record.owner,
          cluster,
          ownerLabels: ownerLabels(owner.namespace, owner.name),
        });
        results.push({
          owner: record.owner,
          changes: [...changeLines(changes), ...pruneRefusals(changes)],
        });
      } catch (error) {
        results.push({
          owner: record.owner,
          changes: [],
          error: (error as Error).message,
        });
      }
    }
    return results;
  }

  /** Names from the ResourceSet's annotation, else from its entity's. */
  private async targetClusters(object: StoredObject): Promise<string[]> {
    const own = splitNames(
      object.manifest.metadata.annotations?.[CLUSTERS_ANNOTATION],
    );
    if (own.length > 0 || !object.entityRef || !this.deps.entityAnnotations)
      return own;
    return splitNames(
      (await this.deps.entityAnnotations(object.entityRef))?.[
        CLUSTERS_ANNOTATION
      ],
    );
  }

  /** The providers `spec.inputsFrom` selects, with their exported inputs; a named one must exist. */
  private async providers(
    object: StoredObject,
    spec: ResourceSetSpec,
  ): Promise<{ list: SelectedProvider[] } | { error: string }> {
    const inputsFrom = (spec.inputsFrom ?? []) as InputProviderReference[];
    if (inputsFrom.length === 0) return { list: [] };
    const stored = await this.deps.objects.list({
      kind: 'ResourceSetInputProvider',
      namespace: object.namespace,
    });
    for (const ref of inputsFrom) {
      if (ref.name && !stored.some(p => p.name === ref.name)) {
        return {
          error: `failed to get provider ${object.namespace}/${ref.name}: ResourceSetInputProvider.fluxcd.controlplane.io "${ref.name}" not found`,
        };
      }
    }
    const candidates: InputProvider[] = stored.map(p => ({
      apiVersion: p.apiVersion,
      kind: p.kind,
      name: p.name,
      namespace: p.namespace,
      labels: p.manifest.metadata.labels ?? {},
      inputs: (p.status.exportedInputs ?? []).map(
        i => goValueOf(i) as InputSet,
      ),
    }));
    try {
      return {
        list: selectProviders(object.namespace, inputsFrom, candidates).map(
          provider => ({
            provider,
            stored: stored.find(p => p.name === provider.name)!,
          }),
        ),
      };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  /** Clusters applied to before but no longer targeted: what was applied there is uninstalled. */
  private async uninstallRetiredClusters(
    object: StoredObject,
    targets: string[],
    labels: Record<string, string>,
    serviceAccount: { namespace: string; name: string } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ lines: string[]; leftInPlace: string[] } | { error: string }> {
    const lines: string[] = [];
    const leftInPlace: string[] = [];
    for (const record of await this.deps.inventories.list({
      owner: object.id,
    })) {
      if (targets.includes(record.cluster)) continue;
      try {
        const cluster = clusterForObject(
          await this.deps.cluster(record.cluster),
          object,
        );
        const changes = await this.deps.applier.uninstall({
          owner: object.id,
          cluster,
          ownerLabels: labels,
          serviceAccount,
          signal,
        });
        lines.push(...changeLines(changes).map(l => `${record.cluster}: ${l}`));
        leftInPlace.push(
          ...pruneRefusals(changes).map(l => `${record.cluster}: ${l}`),
        );
      } catch (error) {
        return {
          error: `cluster '${
            record.cluster
          }' is no longer a target, uninstalling failed: ${
            (error as Error).message
          }`,
        };
      }
    }
    return { lines, leftInPlace };
  }

  /** Why the ResourceSet's entity may not target `cluster` (its `allowedEntities` / `allowedOwners`). */
  private async targetRefusal(
    object: StoredObject,
    cluster: ClusterDetails,
  ): Promise<string | undefined> {
    const owner =
      object.entityRef && this.deps.entityOwner
        ? await this.deps.entityOwner(object.entityRef)
        : undefined;
    return entityRefusal(cluster.writePolicy, cluster.name, {
      entityRef: object.entityRef,
      owner,
    });
  }
}
