import {
  GitRepositorySpec,
  IMAGE_API_VERSION,
  ImageRef,
  ImageUpdateAutomationSpec,
  ObjectEvent,
  objectId,
  ObjectStatus,
  PromotionVersion,
  REASONS,
  SOURCE_API_VERSION,
} from '@imageops/backstage-plugin-image-automation-common';
import { LoggerService } from '@backstage/backend-plugin-api';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { applyPoliciesToTree } from '../git/applyPoliciesToTree';
import {
  automationCommitMessage,
  RemovedTemplateFieldError,
} from '../git/commitMessage';
import { CommitSigner } from '../git/commitSigner';
import {
  checkGitUrl,
  GitAccessSettings,
  STRICT_GIT_ACCESS,
} from '../git/gitAccess';
import {
  formatRevision,
  GitReference,
  validateGitReference,
} from '../git/gitRef';
import {
  IntegrationGitAuth,
  IntegrationPushRefusedError,
  resolveGitAuth,
} from '../git/gitSourceAuth';
import {
  checkBranchName,
  checkPushOption,
  checkPushRefspec,
} from '../git/refFormat';
import {
  cloneForUpdate,
  commitAll,
  gitRemote,
  GitRemote,
  pushBranch,
  PushRejectedError,
  readRemoteState,
  RemoteState,
  Checkout,
} from '../git/GitWorkspace';
import { credentialScope, WarmClones } from '../git/warmClones';
import { compileLabelSelector } from '../golib/labels';
import { pushSummary } from '../git/pushSummary';
import { secureJoin } from '../git/secureJoin';
import { SigningKeys } from '../git/SigningKeys';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';
import { PromotionRecord } from '../store/PromotionStore';
import {
  PromotionPlanner,
  sameVersion,
  TargetDecision,
  TargetSelection,
} from '../promotions/PromotionPlanner';
import {
  carriedVersion,
  firstSeenOf,
  gitTarget,
  policySubject,
  refOfVersion,
  versionOfRef,
} from '../promotions/gitTargets';
import { setterDiff } from '../git/setterDiff';
import { policyOfSetter } from '../git/applySetters';
import { parseGoDuration } from '../golib/time';
import { unsupportedFields } from '../objects/fluxCompatibility';
import { markReady, readyCondition } from './conditions';
import { outcomes } from './outcome';
import { beginReconcile, retryAfter } from './preamble';
import { ReconcileContext, ReconcileResult, Reconciler } from './Reconciler';
import { referenceDenied } from '../objects/tenancy';
import {
  imageUpdatesTab,
  PullRequestHostNotAllowedError,
  pullRequestHostFor,
  PullRequestOptions,
  pullRequestOptions,
  PullRequestSettings,
} from '../pullRequests/pullRequestMode';
import { PullRequestHost } from '../pullRequests/PullRequestHost';
import { runPullRequest } from '../pullRequests/runPullRequest';

/** Flux's default GitRepository `timeout`. */
const DEFAULT_GIT_TIMEOUT_MS = 60_000;
/** How many times a push rejected because the branch moved is retried from a fresh clone. */
const PUSH_ATTEMPTS = 5;
const UP_TO_DATE = 'repository up-to-date';

type Event = Pick<ObjectEvent, 'type' | 'reason' | 'message' | 'metadata'>;

interface RunContext {
  object: StoredObject;
  spec: ImageUpdateAutomationSpec;
  now: Date;
  generation: number;
  status: ObjectStatus;
  events: Event[];
  remote: GitRemote;
  /** Which warm clones this run may use: see {@link credentialScope}. */
  credentialScope: string;
  checkoutRef: GitReference;
  branch: string;
  switched: boolean;
  refspec?: string;
  syncNeeded: boolean;
  policies: Map<string, ImageRef | undefined>;
  observedPolicies: Record<string, ImageRef>;
  signer?: CommitSigner;
  /** Pull-request mode (src/pullRequests): the branch, the host and whether a reconcile was requested. */
  pullRequest?: {
    options: PullRequestOptions;
    host: PullRequestHost;
    reviewsApprove: boolean;
    requested: boolean;
  };
  failed(reason: string, message: string): ReconcileResult;
  stalled(reason: string, message: string): ReconcileResult;
  intervalMs: number;
}

/** What a run carries from one push attempt to the next: the status so far and the promotions' plan. */
interface RunState {
  status: ObjectStatus;
  plan?: PromotionPlan;
}

/** An attempt's push lost a race with another writer: the run starts again from a fresh checkout. */
const PUSH_RACED = Symbol('push raced');

type TreeUpdate = Awaited<ReturnType<typeof applyPoliciesToTree>>;

/** The policies whose markers a dry run would change. */
function changedPolicies(probe: TreeUpdate, namespace: string): Set<string> {
  const changed = new Set<string>();
  for (const changes of probe.fileChanges.values()) {
    for (const change of changes) {
      const policy = policyOfSetter(change.setter, namespace);
      if (policy) changed.add(policy);
    }
  }
  return changed;
}

/** Markers kept in status for the versions view, at most. */
const MAX_STATUS_MARKERS = 500;

/** What the promotions decided for one run: the policies to write, those held, and what to record. */
interface PromotionPlan {
  policies: Map<string, ImageRef | undefined>;
  held: Set<string>;
  markers: NonNullable<ObjectStatus['markers']>;
  writes: Array<{
    promotion: PromotionRecord;
    diff: string;
    selection: TargetSelection;
  }>;
  /** When a waiting promotion's gates pass by themselves, the earliest. */
  nextEta?: number;
  /** The policies whose selection waits for its gates, with the tag that waits. */
  waiting: Map<string, string>;
  /**
   * Pull-request mode, the host not read yet: decisions on promotions the open pull request carries,
   * written once the host answered the update (see PromotionPlanner.preview).
   */
  deferred: DeferredDecision[];
}

/**
 * Keeps a policy's markers as they are; `waits` is the promotion waiting for its gates, if one does
 * (its ETA may bring the next run forward).
 */
function holdInPlan(
  plan: PromotionPlan,
  name: string,
  waits: { to: PromotionVersion; eta?: string } | undefined,
): void {
  plan.held.add(name);
  if (!waits) return;
  plan.waiting.set(name, waits.to.tag);
  const eta = waits.eta ? Date.parse(waits.eta) : undefined;
  if (eta !== undefined && (plan.nextEta === undefined || eta < plan.nextEta))
    plan.nextEta = eta;
}

/** A decision left for after the host's answer: `version` is what the plan wrote, if anything. */
interface DeferredDecision {
  name: string;
  selection: TargetSelection;
  desired: PromotionVersion;
  version?: PromotionVersion;
  diff: string;
}

/** A promotion waiting only for an approval, which a review of the pull request can give. */
function reviewApprovable(gates: PromotionRecord['gates']): boolean {
  return (
    gates.some(g => g.gate === 'approval' && g.state === 'waiting') &&
    gates.every(g => g.gate === 'approval' || g.state === 'passed')
  );
}

function samePolicies(
  a: Record<string, ImageRef> | undefined,
  b: Record<string, ImageRef>,
): boolean {
  const left = a ?? {};
  const keys = Object.keys(b);
  if (Object.keys(left).length !== keys.length) return false;
  return keys.every(
    k =>
      left[k] &&
      left[k].name === b[k].name &&
      left[k].tag === b[k].tag &&
      (left[k].digest ?? '') === (b[k].digest ?? ''),
  );
}

/**
 * Writes the images selected by ImagePolicies into Git, as Flux's image-automation-controller
 * does: clone the GitRepository's checkout ref, apply the setters under `update.path`, commit
 * with the templated message (signed if asked), push to the push branch (and refspec), and
 * record what was observed. A push rejected because another writer moved the branch is
 * retried from a fresh clone, so no update is lost.
 * @internal
 */
export class ImageUpdateAutomationReconciler implements Reconciler {
  readonly apiVersion = IMAGE_API_VERSION;
  readonly kind = 'ImageUpdateAutomation';

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      credentials: NamedCredentials;
      signingKeys?: SigningKeys;
      integrations?: IntegrationGitAuth;
      /** `imageAutomation.git`: plain-HTTP hosts and integration push opt-ins. Default: neither. */
      gitAccess?: GitAccessSettings;
      logger?: LoggerService;
      /** Promotions: without them every selection is written on the next pass (Flux's behaviour). */
      promotions?: { planner: PromotionPlanner; scans: ScanStore };
      /** `imageAutomation.git.pullRequests`: hosts where pull-request mode may open pull requests. Default none. */
      pullRequests?: PullRequestSettings;
      /** Warm clones reused between runs (fetch + reset); without them every run clones afresh. */
      clones?: WarmClones;
    },
  ) {}

  async reconcile(
    object: StoredObject,
    now: Date,
    context?: ReconcileContext,
  ): Promise<ReconcileResult> {
    return this.prepare(object, now, true, ctx =>
      ctx.pullRequest
        ? this.runPullRequest(ctx, context?.signal)
        : this.run(ctx, context?.signal),
    );
  }

  /**
   * What writing `ref` for one policy would change at the tip of the push branch, everything else
   * held: the setter-line diff and the commit message, computed on a fresh clone; nothing is pushed.
   */
  async preview(
    object: StoredObject,
    policy: string,
    ref: ImageRef,
    now: Date,
  ): Promise<{ diff: string; commitMessage?: string }> {
    let preview: { diff: string; commitMessage?: string } | undefined;
    const result = await this.prepare(object, now, false, async ctx => {
      const state = await readRemoteState(ctx.remote, ctx.checkoutRef);
      // Pull-request mode previews against the base branch, where the pull request is merged.
      const checkout = await cloneForUpdate(
        ctx.remote,
        state,
        ctx.pullRequest?.options.base ?? ctx.branch,
      );
      try {
        const updatePath = await secureJoin(
          checkout.dir,
          ctx.spec.update?.path ?? '',
        );
        const tree = await applyPoliciesToTree({
          repoRoot: checkout.dir,
          updatePath,
          namespace: object.namespace,
          policies: new Map([[policy, ref]]),
          held: new Set(
            [...ctx.policies.keys()].filter(name => name !== policy),
          ),
          dryRun: true,
        });
        preview = { diff: setterDiff(tree.texts) };
        if (tree.fileChanges.size > 0) {
          preview.commitMessage = automationCommitMessage(
            object,
            ctx.spec.git?.commit,
            tree.fileChanges,
          );
        }
      } finally {
        await checkout.remove();
      }
      return { status: ctx.status, requeueAfterMs: ctx.intervalMs };
    });
    if (!preview) {
      const ready = result.status.conditions?.find(c => c.type === 'Ready');
      throw new Error(
        `cannot preview ${object.id}: ${
          ready?.message ?? 'it is suspended or not configured'
        }`,
      );
    }
    return preview;
  }

  /** Validation, policies and the source manager; then `next` with everything a run needs. */
  private async prepare(
    object: StoredObject,
    now: Date,
    sign: boolean,
    next: (ctx: RunContext) => Promise<ReconcileResult>,
  ): Promise<ReconcileResult> {
    const begun = beginReconcile<ImageUpdateAutomationSpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec, generation } = begun.start;
    const status: ObjectStatus = {
      ...begun.start.status,
      lastAutomationRunTime: now.toISOString(),
    };
    const intervalMs = parseGoDuration(spec.interval);
    const events: Event[] = [];
    // Every outcome carries the run time and the events of the run.
    const outcome = outcomes(begun.start, now, {
      defaultRetryMs: retryAfter(intervalMs),
      base: () => status,
      events,
    });
    const { failed, stalled } = outcome;
    const selected = await this.selectPolicies(object, spec, stalled);
    if ('done' in selected) return selected.done;
    const { policies, observedPolicies } = selected;
    let syncNeeded = !samePolicies(status.observedPolicies, observedPolicies);

    // The source manager: GitRepository, credentials, refs, push branch.
    const source = await this.sourceManager(object, spec, outcome);
    if ('done' in source) return source.done;
    const { remote, sourceSpec } = source;
    const target = this.pushTarget(
      object,
      spec,
      sourceSpec,
      remote,
      begun.start.pendingRequest !== undefined,
      outcome,
    );
    if ('done' in target) return target.done;
    const { checkoutRef, branch, switched, pullRequest } = target;
    const refspec = spec.git?.push?.refspec;
    // An open promotion may have been approved, pinned or let through by a gate since the last run.
    const promotionsWaiting =
      !!this.deps.promotions &&
      (await this.deps.promotions.planner.needsRun(
        gitTarget(object.id).id,
        now,
      ));
    if (switched || refspec || promotionsWaiting) syncNeeded = true;

    const signing = await this.commitSigner(object, spec, sign, outcome);
    if ('done' in signing) return signing.done;
    const { signer } = signing;
    try {
      // The GitRepository's credential name (granted to both entities above) and its secret decide
      // which warm clone the run may use; see credentialScope.
      const scope = credentialScope(sourceSpec.secretRef?.name, remote.auth);
      return await next({
        object,
        spec,
        now,
        generation,
        status,
        events,
        remote,
        credentialScope: scope,
        checkoutRef,
        branch,
        switched,
        refspec,
        syncNeeded,
        policies,
        observedPolicies,
        signer,
        pullRequest,
        failed,
        stalled,
        intervalMs,
      });
    } finally {
      await signer?.remove();
    }
  }

  /**
   * The update strategy and the policy selector, then the selected policies of the automation's own
   * namespace (Flux's rule) with their latest refs.
   */
  private async selectPolicies(
    object: StoredObject,
    spec: ImageUpdateAutomationSpec,
    stalled: RunContext['stalled'],
  ): Promise<
    | { done: ReconcileResult }
    | {
        policies: Map<string, ImageRef | undefined>;
        observedPolicies: Record<string, ImageRef>;
      }
  > {
    if (
      spec.update &&
      spec.update.strategy !== undefined &&
      spec.update.strategy !== 'Setters'
    ) {
      return {
        done: stalled(REASONS.InvalidUpdateStrategy, 'no update strategy'),
      };
    }
    let selects;
    try {
      selects = compileLabelSelector(spec.policySelector);
    } catch (error) {
      return {
        done: stalled(
          REASONS.InvalidPolicySelector,
          `failed to parse policy selector: ${(error as Error).message}`,
        ),
      };
    }
    const policies = new Map<string, ImageRef | undefined>();
    const observedPolicies: Record<string, ImageRef> = {};
    for (const policy of await this.deps.objects.list({
      kind: 'ImagePolicy',
      namespace: object.namespace,
    })) {
      if (
        policy.apiVersion !== IMAGE_API_VERSION ||
        !selects(policy.manifest.metadata.labels ?? {})
      )
        continue;
      const ref = policy.status.latestRef;
      policies.set(policy.name, ref);
      if (ref) observedPolicies[policy.name] = { ...ref };
    }
    return { policies, observedPolicies };
  }

  /**
   * The GitRepository (granted, present, with a configuration this plugin honours), every ref,
   * branch, refspec and push option checked before anything reaches git, and the remote with the
   * credentials to push.
   */
  private async sourceManager(
    object: StoredObject,
    spec: ImageUpdateAutomationSpec,
    { failed, stalled }: Pick<RunContext, 'failed' | 'stalled'>,
  ): Promise<
    | { done: ReconcileResult }
    | { sourceSpec: GitRepositorySpec; remote: GitRemote }
  > {
    const sourceNamespace = spec.sourceRef.namespace ?? object.namespace;
    const sourceId = objectId(
      'GitRepository',
      sourceNamespace,
      spec.sourceRef.name,
    );
    // Before the source is read: another tenant's GitRepository (and its credentials) is out of
    // reach unless its namespace is granted to this entity (GitRepository has no accessFrom).
    const denied = referenceDenied(object, 'spec.sourceRef', {
      kind: 'GitRepository',
      namespace: sourceNamespace,
      name: spec.sourceRef.name,
    });
    if (denied) {
      return { done: stalled(REASONS.AccessDenied, denied) };
    }
    const source = await this.deps.objects.get(
      objectId('GitRepository', sourceNamespace, spec.sourceRef.name),
    );
    if (!source || source.apiVersion !== SOURCE_API_VERSION) {
      return {
        done: failed(
          REASONS.SourceManagerFailed,
          `failed configuring source manager: unable to get source '${sourceId}': gitrepositories.source.toolkit.fluxcd.io "${spec.sourceRef.name}" not found`,
        ),
      };
    }
    const sourceSpec = source.manifest.spec as unknown as GitRepositorySpec;
    // The source's provider, proxy and service account decide how Flux's automation reaches Git:
    // one this plugin cannot honour stops the automation rather than being skipped (issue #14).
    const sourceBlocking = unsupportedFields(source.manifest, {
      asAutomationSource: true,
    }).blocking;
    if (sourceBlocking) {
      return {
        done: stalled(
          REASONS.InvalidSourceConfiguration,
          `failed configuring source manager: ${sourceId}: ${sourceBlocking.message}: invalid source configuration`,
        ),
      };
    }
    const access = this.deps.gitAccess ?? STRICT_GIT_ACCESS;
    const invalid = invalidSourceArguments(spec, sourceSpec, sourceId, access);
    if (invalid) return { done: stalled(invalid.reason, invalid.message) };
    const remote = await this.pushRemote(object, source, sourceSpec, access, {
      failed,
      stalled,
    });
    if ('done' in remote) return remote;
    return { sourceSpec, remote: remote.remote };
  }

  /** The remote with the credentials to push: the source's, granted to both entities. */
  private async pushRemote(
    object: StoredObject,
    source: StoredObject,
    sourceSpec: GitRepositorySpec,
    access: GitAccessSettings,
    { failed, stalled }: Pick<RunContext, 'failed' | 'stalled'>,
  ): Promise<{ done: ReconcileResult } | { remote: GitRemote }> {
    try {
      const remote = gitRemote(
        sourceSpec.url,
        await resolveGitAuth({
          spec: sourceSpec,
          entityRef: source.entityRef,
          usedBy: { entityRef: object.entityRef },
          credentials: this.deps.credentials,
          integrations: this.deps.integrations,
          access,
          push: true,
        }),
        sourceSpec.timeout
          ? parseGoDuration(sourceSpec.timeout)
          : DEFAULT_GIT_TIMEOUT_MS,
      );
      return { remote };
    } catch (error) {
      if (error instanceof IntegrationPushRefusedError) {
        return {
          done: stalled(
            REASONS.IntegrationPushNotAllowed,
            `failed configuring source manager: ${error.message}`,
          ),
        };
      }
      return {
        done: failed(
          REASONS.SourceManagerFailed,
          `failed configuring source manager: ${(error as Error).message}`,
        ),
      };
    }
  }

  /**
   * Where the update goes: the checkout ref, the push branch (Flux infers it from the checkout
   * ref's branch, `master` when no ref is given) and, in pull-request mode, the target's own branch
   * and a pull request into the checkout branch, on an allowed host.
   */
  private pushTarget(
    object: StoredObject,
    spec: ImageUpdateAutomationSpec,
    sourceSpec: GitRepositorySpec,
    remote: GitRemote,
    requested: boolean,
    { failed, stalled }: Pick<RunContext, 'failed' | 'stalled'>,
  ):
    | { done: ReconcileResult }
    | Pick<RunContext, 'checkoutRef' | 'branch' | 'switched' | 'pullRequest'> {
    const checkoutRef: GitReference = spec.git?.checkout?.ref ??
      sourceSpec.ref ?? { branch: 'master' };
    // Flux infers the push branch from the checkout ref's branch (`master` when no ref is given).
    const checkoutBranch =
      checkoutRef.branch ||
      (Object.values(checkoutRef).some(Boolean) ? undefined : 'master');
    // Pull-request mode: the update goes to the target's own branch and a pull request into the
    // checkout branch. Its host must be allowed, with the credential Git already uses for it.
    let pullRequest: RunContext['pullRequest'];
    try {
      const options = pullRequestOptions(
        object.manifest.metadata.annotations,
        object,
        checkoutBranch,
        spec.git?.push?.branch,
      );
      if (options) {
        if (spec.git?.push?.refspec)
          throw new Error(
            'pull-request mode pushes only the pull request branch: remove spec.git.push.refspec',
          );
        const found = pullRequestHostFor(
          this.deps.pullRequests,
          remote.url,
          remote.auth,
        );
        pullRequest = {
          // Auto-merge: the automation's annotation when set, else the host's `autoMerge`.
          options: {
            ...options,
            autoMerge: options.autoMerge ?? found.autoMerge ?? false,
          },
          host: found.host,
          reviewsApprove: found.reviewsApprove,
          requested,
        };
      }
    } catch (error) {
      if (error instanceof PullRequestHostNotAllowedError) {
        return {
          done: stalled(
            REASONS.PullRequestHostNotAllowed,
            `pull-request mode: ${error.message}`,
          ),
        };
      }
      return {
        done: stalled(
          REASONS.InvalidPullRequestConfiguration,
          `pull-request mode: ${(error as Error).message}`,
        ),
      };
    }
    const branch =
      pullRequest?.options.branch ?? (spec.git?.push?.branch || checkoutBranch);
    if (!branch) {
      return {
        done: failed(
          REASONS.SourceManagerFailed,
          'failed configuring source manager: push spec not provided, and cannot be inferred from .spec.git.checkout.ref or GitRepository .spec.ref',
        ),
      };
    }
    return {
      checkoutRef,
      branch,
      switched: branch !== checkoutBranch,
      pullRequest,
    };
  }

  /** The commit author is required; a signing key must be configured and granted to the entity. */
  private async commitSigner(
    object: StoredObject,
    spec: ImageUpdateAutomationSpec,
    sign: boolean,
    { failed, stalled }: Pick<RunContext, 'failed' | 'stalled'>,
  ): Promise<{ done: ReconcileResult } | { signer?: CommitSigner }> {
    if (!spec.git?.commit.author) {
      return {
        done: stalled(
          REASONS.InvalidSourceConfiguration,
          'failed configuring source manager: no git commit author configured: invalid source configuration',
        ),
      };
    }

    let signer: CommitSigner | undefined;
    const signingKey = spec.git?.commit.signingKey;
    if (sign && signingKey?.secretRef) {
      if (!this.deps.signingKeys) {
        return {
          done: stalled(
            REASONS.InvalidSourceConfiguration,
            'failed configuring source manager: no signing keys are configured (imageAutomation.signingKeys): invalid source configuration',
          ),
        };
      }
      try {
        signer = await this.deps.signingKeys.signer(
          signingKey.secretRef.name,
          signingKey.type ?? 'gpg',
          object.entityRef,
        );
      } catch (error) {
        return {
          done: failed(
            REASONS.SourceManagerFailed,
            `failed configuring source manager: ${(error as Error).message}`,
          ),
        };
      }
    }
    return { signer };
  }

  /**
   * Clone, update, commit and push, retried from a fresh clone when the push is rejected. Nothing
   * is pushed or recorded (promotions) once `signal` aborts: the run throws instead.
   */
  /**
   * One run: read the remote, stop early when nothing moved, else check out, apply the policies,
   * commit and push; a push that lost a race starts again from a fresh checkout (at most
   * PUSH_ATTEMPTS times). The promotions are planned once, in the first attempt.
   */
  private async run(
    ctx: RunContext,
    signal?: AbortSignal,
  ): Promise<ReconcileResult> {
    const state: RunState = { status: ctx.status };
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(ctx, state, attempt, signal);
      if (result !== PUSH_RACED) return result;
    }
  }

  private async attempt(
    ctx: RunContext,
    run: RunState,
    attempt: number,
    signal?: AbortSignal,
  ): Promise<ReconcileResult | typeof PUSH_RACED> {
    let remoteState: RemoteState;
    try {
      remoteState = await readRemoteState(ctx.remote, ctx.checkoutRef);
    } catch (error) {
      return await this.gitFailed(
        ctx,
        run,
        'failed to checkout source',
        error,
        signal,
      );
    }
    if (
      !ctx.syncNeeded &&
      run.status.observedSourceRevision &&
      remoteState.head &&
      formatRevision(remoteState.resolved, remoteState.head) ===
        run.status.observedSourceRevision
    ) {
      run.status = { ...run.status, observedPolicies: ctx.observedPolicies };
      return this.upToDate(ctx, run.status, ctx.intervalMs);
    }
    let checkout: Checkout;
    try {
      checkout = this.deps.clones
        ? await this.deps.clones.checkout(
            ctx.remote,
            remoteState,
            ctx.branch,
            ctx.credentialScope,
          )
        : await cloneForUpdate(ctx.remote, remoteState, ctx.branch);
    } catch (error) {
      return await this.gitFailed(
        ctx,
        run,
        'failed to checkout source',
        error,
        signal,
      );
    }
    try {
      const applied = await this.applyUpdate(
        ctx,
        run,
        checkout,
        attempt,
        signal,
      );
      if ('failure' in applied) return applied.failure;
      const result = applied.tree;
      if (attempt === 1) {
        for (const w of result.warnings) {
          ctx.events.push({
            type: 'Warning',
            reason: REASONS.SetterNotApplied,
            message: `${w.file}:${w.line}: ${w.message}`,
          });
        }
      }
      if (result.fileChanges.size === 0) {
        return await this.nothingToPush(ctx, run, checkout, signal);
      }
      return await this.commitAndPush(
        ctx,
        run,
        remoteState,
        checkout,
        result,
        attempt,
        signal,
      );
    } finally {
      await checkout.remove();
    }
  }

  /** Plans the promotions (first attempt only) and applies the policies to the checked-out tree. */
  private async applyUpdate(
    ctx: RunContext,
    run: RunState,
    checkout: Checkout,
    attempt: number,
    signal?: AbortSignal,
  ): Promise<{ tree: TreeUpdate } | { failure: ReconcileResult }> {
    try {
      const updatePath = await secureJoin(
        checkout.dir,
        ctx.spec.update?.path ?? '',
      );
      const tree = {
        repoRoot: checkout.dir,
        updatePath,
        namespace: ctx.object.namespace,
      };
      if (attempt === 1 && this.deps.promotions) {
        signal?.throwIfAborted();
        run.plan = await this.planPromotions(
          ctx.object,
          ctx.now,
          ctx.events,
          tree,
          ctx.policies,
        );
        run.status = { ...run.status, markers: run.plan.markers };
      }
      return {
        tree: await applyPoliciesToTree({
          ...tree,
          policies: run.plan?.policies ?? ctx.policies,
          held: run.plan?.held,
        }),
      };
    } catch (error) {
      signal?.throwIfAborted();
      const message = `failed to apply policies: ${(error as Error).message}`;
      await this.promotionsFailed(run.plan, message, ctx.now, ctx.events);
      return { failure: ctx.failed('UpdateFailed', message) };
    }
  }

  /** The markers already hold what the policies select: nothing to commit. */
  private async nothingToPush(
    ctx: RunContext,
    run: RunState,
    checkout: Checkout,
    signal?: AbortSignal,
  ): Promise<ReconcileResult> {
    run.status = {
      ...run.status,
      observedSourceRevision: checkout.checkoutRevision,
      observedPolicies: ctx.observedPolicies,
    };
    signal?.throwIfAborted();
    const dueNow = await this.promotionsApplied(
      run.plan,
      undefined,
      ctx.now,
      ctx.events,
    );
    return this.upToDate(
      ctx,
      run.status,
      this.requeue(run.plan, ctx.intervalMs, ctx.now),
      { dueNow },
    );
  }

  /** Renders the commit message, commits what was written and pushes it. */
  private async commitAndPush(
    ctx: RunContext,
    run: RunState,
    remoteState: RemoteState,
    checkout: Checkout,
    result: TreeUpdate,
    attempt: number,
    signal?: AbortSignal,
  ): Promise<ReconcileResult | typeof PUSH_RACED> {
    const { object, spec, now, events } = ctx;
    let message: string;
    try {
      message = automationCommitMessage(
        object,
        spec.git?.commit,
        result.fileChanges,
      );
    } catch (error) {
      if (error instanceof RemovedTemplateFieldError) {
        signal?.throwIfAborted();
        await this.promotionsFailed(run.plan, error.message, now, events);
        return ctx.stalled(REASONS.RemovedTemplateField, error.message);
      }
      return await this.gitFailed(
        ctx,
        run,
        'failed to update source',
        error,
        signal,
      );
    }
    const author = spec.git!.commit.author;
    let commit: string;
    try {
      commit = await commitAll(checkout, {
        author: { name: author.name ?? '', email: author.email },
        message,
        signer: ctx.signer,
        now,
        // Paths as git sees them: relative to the checkout, which the tree's root is.
        paths: result.written,
      });
      // The last moment to stop: past it, the branch moves.
      signal?.throwIfAborted();
      await pushBranch(ctx.remote, checkout, {
        switched: ctx.switched,
        refspec: ctx.refspec,
        pushOptions: spec.git?.push?.options,
      });
    } catch (error) {
      if (error instanceof PushRejectedError && attempt < PUSH_ATTEMPTS) {
        this.deps.logger?.info(
          `${object.id}: ${error.message}; retrying from a fresh clone`,
        );
        return PUSH_RACED;
      }
      return await this.gitFailed(
        ctx,
        run,
        'failed to update source',
        error,
        signal,
      );
    }
    return await this.pushed(ctx, run, {
      remoteState,
      checkout,
      result,
      commit,
      message,
      signal,
    });
  }

  /** Records a push: the status, the push event, and the promotions it applied. */
  private async pushed(
    ctx: RunContext,
    run: RunState,
    push: {
      remoteState: RemoteState;
      checkout: Checkout;
      result: TreeUpdate;
      commit: string;
      message: string;
      signal?: AbortSignal;
    },
  ): Promise<ReconcileResult> {
    const { remoteState, checkout, result, commit, message, signal } = push;
    const { now, events, branch, refspec } = ctx;
    run.status = {
      ...run.status,
      // The markers now hold what this run wrote, so the versions view shows it at once.
      ...(run.status.markers
        ? { markers: markersAfter(run.status.markers, result.fileChanges) }
        : {}),
      lastPushCommit: commit,
      lastPushTime: now.toISOString(),
      observedSourceRevision: ctx.switched
        ? checkout.checkoutRevision
        : formatRevision(remoteState.resolved, commit),
      observedPolicies: ctx.observedPolicies,
    };
    events.push({
      type: 'Normal',
      reason: REASONS.Succeeded,
      message: pushSummary({
        commit,
        branch,
        refspecs: refspec ? [refspec] : [],
        message,
      }),
      // The commit pushed, for commit-status Providers (gitlab). Flux's controller attaches none.
      metadata: { revision: `${branch}@sha1:${commit}` },
    });
    signal?.throwIfAborted();
    const dueNow = await this.promotionsApplied(run.plan, commit, now, events);
    return this.upToDate(
      ctx,
      run.status,
      this.requeue(run.plan, ctx.intervalMs, now),
      { dueNow },
    );
  }

  /** A Git failure: the promotions of this run fail with it, and the run is retried. */
  private async gitFailed(
    ctx: RunContext,
    run: RunState,
    prefix: string,
    error: unknown,
    signal?: AbortSignal,
  ): Promise<ReconcileResult> {
    signal?.throwIfAborted();
    const message = `${prefix}: ${(error as Error).message}`;
    await this.promotionsFailed(run.plan, message, ctx.now, ctx.events);
    return ctx.failed('GitOperationFailed', message);
  }

  /** Ready, `repository up-to-date`: what every successful run ends with. */
  private upToDate(
    ctx: RunContext,
    status: ObjectStatus,
    requeueAfterMs: number,
    extra: Pick<ReconcileResult, 'dueNow'> = {},
  ): ReconcileResult {
    return {
      status: markReady(
        status,
        REASONS.Succeeded,
        UP_TO_DATE,
        ctx.now,
        ctx.generation,
      ),
      requeueAfterMs,
      events: ctx.events,
      ...extra,
    };
  }

  /**
   * Decides, policy by policy, what this run writes: a dry run finds the markers and what they hold,
   * the planner decides (create, gate, approve or hold a promotion), and held policies keep their
   * markers' values. Each written policy's setter diff is computed alone, to be recorded with it.
   */
  private async planPromotions(
    object: StoredObject,
    now: Date,
    events: Event[],
    tree: { repoRoot: string; updatePath: string; namespace: string },
    selected: Map<string, ImageRef | undefined>,
    /**
     * Pull-request mode: the promotions the open pull request carries (they stay `applying` while it
     * is open), and whether its reviews count as approvals (a promotion waiting only for approval is
     * then proposed in the pull request, still pending).
     */
    pullRequest?: {
      carried: ReadonlySet<string>;
      reviewsApprove: boolean;
      /** The host has not said yet whether the pull request is still open: see PromotionPlan.deferred. */
      defer?: boolean;
    },
  ): Promise<PromotionPlan> {
    const target = gitTarget(object.id);
    const desired = await this.pinnedSelection(
      object,
      target.id,
      selected,
      now,
    );
    const probe = await applyPoliciesToTree({
      ...tree,
      policies: desired,
      dryRun: true,
    });
    const changed = changedPolicies(probe, object.namespace);
    const plan: PromotionPlan = {
      policies: new Map(selected),
      held: new Set(),
      markers: probe.markers
        .slice(0, MAX_STATUS_MARKERS)
        .map(({ file, line, setter, value }) => ({
          file,
          line,
          setter,
          value,
        })),
      writes: [],
      deferred: [],
      waiting: new Map(),
    };
    for (const [name, ref] of selected) {
      const markers = probe.markers.filter(m => m.policy === name);
      if (!ref || markers.length === 0) continue;
      const selection: TargetSelection = {
        entityRef: object.entityRef,
        target,
        subject: policySubject(object.namespace, name),
        carried: changed.has(name)
          ? carriedVersion(markers)
          : versionOfRef(desired.get(name)!),
        selected: versionOfRef(ref),
        firstSeenAt: await firstSeenOf(
          this.deps.objects,
          this.deps.promotions!.scans,
          object.namespace,
          name,
          ref.tag,
        ),
        annotations: object.manifest.metadata.annotations,
      };
      if (
        pullRequest?.defer &&
        (await this.deferred(plan, tree, selection, name, ref, desired, {
          carried: pullRequest.carried,
          reviewsApprove: pullRequest.reviewsApprove,
          now,
        }))
      )
        continue;
      const decision = await this.decide(
        selection,
        versionOfRef(desired.get(name)!),
        now,
        events,
        pullRequest,
      );
      await this.addToPlan(
        plan,
        tree,
        selected,
        name,
        ref,
        selection,
        decision,
      );
    }
    return plan;
  }

  /** The selection with each policy's pinned version (a promotion pinned by hand) in its place. */
  private async pinnedSelection(
    object: StoredObject,
    targetId: string,
    selected: Map<string, ImageRef | undefined>,
    now: Date,
  ): Promise<Map<string, ImageRef | undefined>> {
    const desired = new Map(selected);
    for (const [name, ref] of selected) {
      const pin = await this.deps.promotions!.planner.pin(
        targetId,
        policySubject(object.namespace, name),
        now,
      );
      if (pin && ref) desired.set(name, refOfVersion(pin.version, ref.name));
    }
    return desired;
  }

  /**
   * The planner's decision for one policy. In pull-request mode, what the open pull request no longer
   * carries is released first, and a held promotion is written anyway when the pull request carries
   * it or a review of it can give the approval it waits for.
   */
  private async decide(
    selection: TargetSelection,
    desired: PromotionVersion,
    now: Date,
    events: Event[],
    pullRequest?: { carried: ReadonlySet<string>; reviewsApprove: boolean },
  ): Promise<TargetDecision> {
    const { planner } = this.deps.promotions!;
    if (pullRequest) {
      await planner.releaseFromPullRequest(
        selection.target.id,
        selection.subject,
        desired,
        pullRequest.carried,
        now,
        events,
      );
    }
    const decision = await planner.decide(selection, now, events);
    const held = decision.action === 'hold' ? decision.promotion : undefined;
    if (
      pullRequest &&
      held &&
      // Carried by the open pull request: written again on its branch, as it was.
      ((held.state === 'applying' && pullRequest.carried.has(held.id)) ||
        // Waiting only for an approval that a review of the pull request can give.
        (pullRequest.reviewsApprove &&
          held.state === 'pending' &&
          reviewApprovable(held.gates)))
    ) {
      return { action: 'write', version: held.to, promotion: held };
    }
    return decision;
  }

  /**
   * A written policy gets its version and its own setter diff (computed alone, to be recorded with
   * its promotion); a held one keeps its markers, and its promotion's ETA may bring the next run forward.
   */
  private async addToPlan(
    plan: PromotionPlan,
    tree: { repoRoot: string; updatePath: string; namespace: string },
    selected: Map<string, ImageRef | undefined>,
    name: string,
    ref: ImageRef,
    selection: TargetSelection,
    decision: TargetDecision,
  ): Promise<void> {
    if (decision.action === 'write') {
      const only = new Map([[name, refOfVersion(decision.version, ref.name)]]);
      plan.policies.set(name, only.get(name));
      const alone = await applyPoliciesToTree({
        ...tree,
        policies: only,
        held: new Set([...selected.keys()].filter(k => k !== name)),
        dryRun: true,
      });
      plan.writes.push({
        promotion: decision.promotion,
        diff: setterDiff(alone.texts),
        selection,
      });
      return;
    }
    // Held, or already carrying what it should (a pinned version, say): its markers stay.
    holdInPlan(
      plan,
      name,
      decision.action === 'hold' ? decision.promotion : undefined,
    );
  }

  /**
   * Pull-request mode, before the host answered: when the open promotion of `name` is one the pull
   * request carries and this pass's decision would close it (a newer selection supersedes it, or
   * the base carries it), the decision is previewed and deferred (nothing written) and true is
   * returned; the plan writes what the preview expects. Otherwise false: decided as usual.
   */
  private async deferred(
    plan: PromotionPlan,
    tree: { repoRoot: string; updatePath: string; namespace: string },
    selection: TargetSelection,
    name: string,
    ref: ImageRef,
    desired: Map<string, ImageRef | undefined>,
    pr: { carried: ReadonlySet<string>; reviewsApprove: boolean; now: Date },
  ): Promise<boolean> {
    const { planner } = this.deps.promotions!;
    const wanted = versionOfRef(desired.get(name)!);
    const open = await planner.openPromotion(
      selection.target.id,
      selection.subject,
    );
    if (
      !open ||
      !pr.carried.has(open.id) ||
      (sameVersion(open.to, wanted) && !sameVersion(selection.carried, wanted))
    )
      return false;
    const preview = await planner.preview(selection, pr.now);
    const writes =
      preview.action === 'write' ||
      (preview.action === 'hold' &&
        pr.reviewsApprove &&
        reviewApprovable(preview.gates));
    if (preview.action === 'none' || !writes || !preview.version) {
      holdInPlan(
        plan,
        name,
        preview.action === 'hold'
          ? { to: wanted, eta: preview.eta }
          : undefined,
      );
      plan.deferred.push({ name, selection, desired: wanted, diff: '' });
      return true;
    }
    const only = new Map([[name, refOfVersion(preview.version, ref.name)]]);
    plan.policies.set(name, only.get(name));
    const alone = await applyPoliciesToTree({
      ...tree,
      policies: only,
      held: new Set([...desired.keys()].filter(k => k !== name)),
      dryRun: true,
    });
    plan.deferred.push({
      name,
      selection,
      desired: wanted,
      version: preview.version,
      diff: setterDiff(alone.texts),
    });
    return true;
  }

  /**
   * Pull-request mode, the host having answered that the pull request is still open: writes the
   * deferred decisions (the carried promotion superseded in the pull request or applied, then the
   * decision on the selection). Returns the promotions the pull request carries out for them; a
   * decision that no longer matches what was pushed (a concurrent change) is recorded as failed
   * and decided again on the next pass.
   */
  private async settleDeferred(
    deferred: DeferredDecision[],
    carried: ReadonlySet<string>,
    reviewsApprove: boolean,
    now: Date,
    events: Event[],
  ): Promise<Array<{ promotion: PromotionRecord; diff: string }>> {
    const { planner } = this.deps.promotions!;
    const writes: Array<{ promotion: PromotionRecord; diff: string }> = [];
    for (const d of deferred) {
      const { target, subject } = d.selection;
      await planner.releaseFromPullRequest(
        target.id,
        subject,
        d.desired,
        carried,
        now,
        events,
      );
      const decision = await planner.decide(d.selection, now, events);
      let promotion: PromotionRecord | undefined;
      if (decision.action === 'write') promotion = decision.promotion;
      else if (
        decision.action === 'hold' &&
        reviewsApprove &&
        decision.promotion?.state === 'pending' &&
        reviewApprovable(decision.promotion.gates)
      )
        promotion = decision.promotion;
      if (!promotion || !d.version) continue;
      if (sameVersion(promotion.to, d.version)) {
        writes.push({ promotion, diff: d.diff });
      } else {
        await planner.failed(
          promotion,
          `decided ${promotion.to.tag} after the pull request was updated with ${d.version.tag}: written on the next pass`,
          now,
          events,
        );
      }
    }
    return writes;
  }

  /**
   * A run in pull-request mode: see {@link runPullRequest}. A run that succeeds comes back sooner
   * than the interval when a held promotion's gates pass by themselves before it, as in direct mode.
   */
  private async runPullRequest(
    ctx: RunContext,
    signal?: AbortSignal,
  ): Promise<ReconcileResult> {
    const { object, now, events } = ctx;
    const promotions = this.deps.promotions;
    /** What the last plan deferred, until the host answers (see PromotionPlan.deferred). */
    let deferred: DeferredDecision[] = [];
    let lastPlan: PromotionPlan | undefined;
    const result = await runPullRequest(
      {
        ...ctx,
        options: ctx.pullRequest!.options,
        host: ctx.pullRequest!.host,
        clones: this.deps.clones,
        requested: ctx.pullRequest!.requested,
        reviewsApprove: ctx.pullRequest!.reviewsApprove,
        tabUrl: imageUpdatesTab(
          this.deps.pullRequests?.appBaseUrl,
          object.entityRef,
        ),
        promotions: promotions && {
          planner: promotions.planner,
          plan: async (tree, carried, defer) => {
            const plan = await this.planPromotions(
              object,
              now,
              events,
              tree,
              ctx.policies,
              {
                carried,
                reviewsApprove: ctx.pullRequest!.reviewsApprove,
                defer,
              },
            );
            deferred = plan.deferred;
            lastPlan = plan;
            return { ...plan, deferred: plan.deferred.map(d => d.name) };
          },
          settle: async carried => {
            const settled = await this.settleDeferred(
              deferred,
              carried,
              ctx.pullRequest!.reviewsApprove,
              now,
              events,
            );
            deferred = [];
            return settled;
          },
          applied: async (writes, commit) => {
            const dueNow: string[] = [];
            for (const { promotion, diff } of writes) {
              dueNow.push(
                ...(await promotions.planner.applied(
                  promotion,
                  { commit, diff },
                  now,
                  events,
                )),
              );
            }
            return dueNow;
          },
          failed: async (writes, error) => {
            for (const { promotion } of writes)
              await promotions.planner.failed(promotion, error, now, events);
          },
        },
      },
      signal,
    );
    if (readyCondition(result.status)?.status !== 'True') return result;
    return {
      ...result,
      requeueAfterMs: Math.min(
        result.requeueAfterMs,
        this.requeue(lastPlan, ctx.intervalMs, now),
      ),
    };
  }

  /** Records the written promotions; returns the objects waiting for them upstream. */
  private async promotionsApplied(
    plan: PromotionPlan | undefined,
    commit: string | undefined,
    now: Date,
    events: Event[],
  ) {
    const dueNow: string[] = [];
    for (const { promotion, diff, selection } of plan?.writes ?? []) {
      dueNow.push(
        ...(await this.deps.promotions!.planner.applied(
          promotion,
          { commit, diff },
          now,
          events,
          selection,
        )),
      );
    }
    return dueNow;
  }

  private async promotionsFailed(
    plan: PromotionPlan | undefined,
    error: string,
    now: Date,
    events: Event[],
  ) {
    for (const { promotion } of plan?.writes ?? []) {
      await this.deps.promotions!.planner.failed(promotion, error, now, events);
    }
  }

  /** The interval, or sooner when a held promotion's gates pass by themselves before it. */
  private requeue(
    plan: PromotionPlan | undefined,
    intervalMs: number,
    now: Date,
  ): number {
    if (plan?.nextEta === undefined) return intervalMs;
    return Math.max(
      1000,
      Math.min(intervalMs, plan.nextEta - now.getTime() + 1000),
    );
  }
}

/**
 * Why the source's URL or a ref, branch, refspec or push option cannot be used (Stalled), checked
 * before anything reaches git; undefined when all are fine.
 */
function invalidSourceArguments(
  spec: ImageUpdateAutomationSpec,
  sourceSpec: GitRepositorySpec,
  sourceId: string,
  access: GitAccessSettings,
): { reason: string; message: string } | undefined {
  try {
    checkGitUrl(sourceSpec.url, access, sourceSpec.secretRef !== undefined);
  } catch (error) {
    return {
      reason: REASONS.InvalidSourceConfiguration,
      message: `failed configuring source manager: ${
        (error as Error).message
      }: invalid source configuration`,
    };
  }
  // Every ref, branch, refspec and push option is checked before anything reaches git.
  try {
    validateGitReference(sourceSpec.ref, `${sourceId} spec.ref`);
    validateGitReference(spec.git?.checkout?.ref, 'spec.git.checkout.ref');
    if (spec.git?.push?.branch)
      checkBranchName(spec.git.push.branch, 'spec.git.push.branch');
    if (spec.git?.push?.refspec) checkPushRefspec(spec.git.push.refspec);
    for (const [key, value] of Object.entries(spec.git?.push?.options ?? {}))
      checkPushOption(key, String(value));
  } catch (error) {
    return {
      reason: REASONS.InvalidGitArgument,
      message: `failed configuring source manager: ${(error as Error).message}`,
    };
  }
  return undefined;
}

/** Markers as they read after a write: a changed line carries its new value. @internal */
export function markersAfter(
  markers: NonNullable<ObjectStatus['markers']>,
  fileChanges: Map<string, Array<{ line: number; newValue: string }>>,
): NonNullable<ObjectStatus['markers']> {
  return markers.map(marker => {
    const change = fileChanges
      .get(marker.file)
      ?.find(c => c.line === marker.line);
    return change ? { ...marker, value: change.newValue } : marker;
  });
}
