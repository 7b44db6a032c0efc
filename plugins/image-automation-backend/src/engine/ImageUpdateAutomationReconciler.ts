import {
  GitRepositorySpec,
  IMAGE_API_VERSION,
  ImageRef,
  ImageUpdateAutomationSpec,
  ObjectEvent,
  ObjectStatus,
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
} from '../git/GitWorkspace';
import { credentialScope, WarmClones } from '../git/warmClones';
import { compileLabelSelector } from '../golib/labels';
import { pushSummary } from '../git/pushSummary';
import { secureJoin } from '../git/secureJoin';
import { SigningKeys } from '../git/SigningKeys';
import { objectId } from '../store/DatabaseObjectStore';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';
import { PromotionRecord } from '../store/PromotionStore';
import {
  PromotionPlanner,
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
import { markFailed, markReady, markStalled } from './conditions';
import { beginReconcile, RECHECK_MS, retryAfter } from './preamble';
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
    const failed = (reason: string, message: string): ReconcileResult => ({
      status: markFailed(status, reason, message, now, generation),
      requeueAfterMs: retryAfter(intervalMs),
      events,
    });
    const stalled = (reason: string, message: string): ReconcileResult => ({
      status: markStalled(status, reason, message, now, generation),
      requeueAfterMs: RECHECK_MS,
      events,
    });

    if (
      spec.update &&
      spec.update.strategy !== undefined &&
      spec.update.strategy !== 'Setters'
    ) {
      return stalled('InvalidUpdateStrategy', 'no update strategy');
    }
    let selects;
    try {
      selects = compileLabelSelector(spec.policySelector);
    } catch (error) {
      return stalled(
        'InvalidPolicySelector',
        `failed to parse policy selector: ${(error as Error).message}`,
      );
    }
    // Only policies in the automation's own namespace are considered (Flux's rule).
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
    let syncNeeded = !samePolicies(status.observedPolicies, observedPolicies);

    // The source manager: GitRepository, credentials, refs, push branch.
    const sourceNamespace = spec.sourceRef.namespace ?? object.namespace;
    const sourceId = `GitRepository/${sourceNamespace}/${spec.sourceRef.name}`;
    // Before the source is read: another tenant's GitRepository (and its credentials) is out of
    // reach unless its namespace is granted to this entity (GitRepository has no accessFrom).
    const denied = referenceDenied(object, 'spec.sourceRef', {
      kind: 'GitRepository',
      namespace: sourceNamespace,
      name: spec.sourceRef.name,
    });
    if (denied) {
      return stalled('AccessDenied', denied);
    }
    const source = await this.deps.objects.get(
      objectId('GitRepository', sourceNamespace, spec.sourceRef.name),
    );
    if (!source || source.apiVersion !== SOURCE_API_VERSION) {
      return failed(
        'SourceManagerFailed',
        `failed configuring source manager: unable to get source '${sourceId}': gitrepositories.source.toolkit.fluxcd.io "${spec.sourceRef.name}" not found`,
      );
    }
    const sourceSpec = source.manifest.spec as unknown as GitRepositorySpec;
    // The source's provider, proxy and service account decide how Flux's automation reaches Git:
    // one this plugin cannot honour stops the automation rather than being skipped (issue #14).
    const sourceBlocking = unsupportedFields(source.manifest, {
      asAutomationSource: true,
    }).blocking;
    if (sourceBlocking) {
      return stalled(
        'InvalidSourceConfiguration',
        `failed configuring source manager: ${sourceId}: ${sourceBlocking.message}: invalid source configuration`,
      );
    }
    const access = this.deps.gitAccess ?? STRICT_GIT_ACCESS;
    try {
      checkGitUrl(sourceSpec.url, access, sourceSpec.secretRef !== undefined);
    } catch (error) {
      return stalled(
        'InvalidSourceConfiguration',
        `failed configuring source manager: ${
          (error as Error).message
        }: invalid source configuration`,
      );
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
      return stalled(
        'InvalidGitArgument',
        `failed configuring source manager: ${(error as Error).message}`,
      );
    }
    let remote: GitRemote;
    let signer: CommitSigner | undefined;
    try {
      remote = gitRemote(
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
    } catch (error) {
      if (error instanceof IntegrationPushRefusedError) {
        return stalled(
          'IntegrationPushNotAllowed',
          `failed configuring source manager: ${error.message}`,
        );
      }
      return failed(
        'SourceManagerFailed',
        `failed configuring source manager: ${(error as Error).message}`,
      );
    }
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
          requested: begun.start.pendingRequest !== undefined,
        };
      }
    } catch (error) {
      if (error instanceof PullRequestHostNotAllowedError) {
        return stalled(
          'PullRequestHostNotAllowed',
          `pull-request mode: ${error.message}`,
        );
      }
      return stalled(
        'InvalidPullRequestConfiguration',
        `pull-request mode: ${(error as Error).message}`,
      );
    }
    const branch =
      pullRequest?.options.branch ?? (spec.git?.push?.branch || checkoutBranch);
    if (!branch) {
      return failed(
        'SourceManagerFailed',
        'failed configuring source manager: push spec not provided, and cannot be inferred from .spec.git.checkout.ref or GitRepository .spec.ref',
      );
    }
    const switched = branch !== checkoutBranch;
    const refspec = spec.git?.push?.refspec;
    if (switched || refspec) syncNeeded = true;
    // An open promotion may have been approved, pinned or let through by a gate since the last run.
    if (
      this.deps.promotions &&
      (await this.deps.promotions.planner.needsRun(
        gitTarget(object.id).id,
        now,
      ))
    )
      syncNeeded = true;

    if (!spec.git?.commit.author) {
      return stalled(
        'InvalidSourceConfiguration',
        'failed configuring source manager: no git commit author configured: invalid source configuration',
      );
    }

    const signingKey = spec.git?.commit.signingKey;
    if (sign && signingKey?.secretRef) {
      if (!this.deps.signingKeys) {
        return stalled(
          'InvalidSourceConfiguration',
          'failed configuring source manager: no signing keys are configured (imageAutomation.signingKeys): invalid source configuration',
        );
      }
      try {
        signer = await this.deps.signingKeys.signer(
          signingKey.secretRef.name,
          signingKey.type ?? 'gpg',
          object.entityRef,
        );
      } catch (error) {
        return failed(
          'SourceManagerFailed',
          `failed configuring source manager: ${(error as Error).message}`,
        );
      }
    }
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
   * Clone, update, commit and push, retried from a fresh clone when the push is rejected. Nothing
   * is pushed or recorded (promotions) once `signal` aborts: the run throws instead.
   */
  private async run(
    ctx: RunContext,
    signal?: AbortSignal,
  ): Promise<ReconcileResult> {
    const {
      object,
      spec,
      now,
      generation,
      events,
      remote,
      checkoutRef,
      branch,
      switched,
      refspec,
      syncNeeded,
      policies,
      observedPolicies,
      signer,
      failed,
      stalled,
      intervalMs,
    } = ctx;
    let status = ctx.status;
    const author = spec.git!.commit.author;
    let plan: PromotionPlan | undefined;
    const gitFailed = async (prefix: string, error: unknown) => {
      signal?.throwIfAborted();
      await this.promotionsFailed(
        plan,
        `${prefix}: ${(error as Error).message}`,
        now,
        events,
      );
      return failed(
        'GitOperationFailed',
        `${prefix}: ${(error as Error).message}`,
      );
    };
    let attempt = 0;
    for (;;) {
      attempt++;
      let state;
      try {
        state = await readRemoteState(remote, checkoutRef);
      } catch (error) {
        return await gitFailed('failed to checkout source', error);
      }
      if (!syncNeeded && status.observedSourceRevision && state.head) {
        if (
          formatRevision(state.resolved, state.head) ===
          status.observedSourceRevision
        ) {
          status = { ...status, observedPolicies };
          return {
            status: markReady(status, 'Succeeded', UP_TO_DATE, now, generation),
            requeueAfterMs: intervalMs,
            events,
          };
        }
      }
      let checkout;
      try {
        checkout = this.deps.clones
          ? await this.deps.clones.checkout(
              remote,
              state,
              branch,
              ctx.credentialScope,
            )
          : await cloneForUpdate(remote, state, branch);
      } catch (error) {
        return await gitFailed('failed to checkout source', error);
      }
      try {
        let result;
        try {
          const updatePath = await secureJoin(
            checkout.dir,
            spec.update?.path ?? '',
          );
          const tree = {
            repoRoot: checkout.dir,
            updatePath,
            namespace: object.namespace,
          };
          if (attempt === 1 && this.deps.promotions) {
            signal?.throwIfAborted();
            plan = await this.planPromotions(
              object,
              now,
              events,
              tree,
              policies,
            );
            status = { ...status, markers: plan.markers };
          }
          result = await applyPoliciesToTree({
            ...tree,
            policies: plan?.policies ?? policies,
            held: plan?.held,
          });
        } catch (error) {
          signal?.throwIfAborted();
          await this.promotionsFailed(
            plan,
            `failed to apply policies: ${(error as Error).message}`,
            now,
            events,
          );
          return failed(
            'UpdateFailed',
            `failed to apply policies: ${(error as Error).message}`,
          );
        }
        if (attempt === 1) {
          for (const w of result.warnings) {
            events.push({
              type: 'Warning',
              reason: 'SetterNotApplied',
              message: `${w.file}:${w.line}: ${w.message}`,
            });
          }
        }
        if (result.fileChanges.size === 0) {
          status = {
            ...status,
            observedSourceRevision: checkout.checkoutRevision,
            observedPolicies,
          };
          signal?.throwIfAborted();
          const dueNow = await this.promotionsApplied(
            plan,
            undefined,
            now,
            events,
          );
          return {
            status: markReady(status, 'Succeeded', UP_TO_DATE, now, generation),
            requeueAfterMs: this.requeue(plan, intervalMs, now),
            events,
            dueNow,
          };
        }
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
            await this.promotionsFailed(plan, error.message, now, events);
            return stalled('RemovedTemplateField', error.message);
          }
          return await gitFailed('failed to update source', error);
        }
        let commit: string;
        try {
          commit = await commitAll(checkout, {
            author: { name: author.name ?? '', email: author.email },
            message,
            signer,
            now,
            // Paths as git sees them: relative to the checkout, which the tree's root is.
            paths: result.written,
          });
          // The last moment to stop: past it, the branch moves.
          signal?.throwIfAborted();
          await pushBranch(remote, checkout, {
            switched,
            refspec,
            pushOptions: spec.git?.push?.options,
          });
        } catch (error) {
          if (error instanceof PushRejectedError && attempt < PUSH_ATTEMPTS) {
            this.deps.logger?.info(
              `${object.id}: ${error.message}; retrying from a fresh clone`,
            );
            continue;
          }
          return await gitFailed('failed to update source', error);
        }
        status = {
          ...status,
          // The markers now hold what this run wrote, so the versions view shows it at once.
          ...(status.markers
            ? { markers: markersAfter(status.markers, result.fileChanges) }
            : {}),
          lastPushCommit: commit,
          lastPushTime: now.toISOString(),
          observedSourceRevision: switched
            ? checkout.checkoutRevision
            : formatRevision(state.resolved, commit),
          observedPolicies,
        };
        events.push({
          type: 'Normal',
          reason: 'Succeeded',
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
        const dueNow = await this.promotionsApplied(plan, commit, now, events);
        return {
          status: markReady(status, 'Succeeded', UP_TO_DATE, now, generation),
          requeueAfterMs: this.requeue(plan, intervalMs, now),
          events,
          dueNow,
        };
      } finally {
        await checkout.remove();
      }
    }
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
    pullRequest?: { carried: ReadonlySet<string>; reviewsApprove: boolean },
  ): Promise<PromotionPlan> {
    const { planner, scans } = this.deps.promotions!;
    const target = gitTarget(object.id);
    const desired = new Map(selected);
    for (const [name, ref] of selected) {
      const pin = await planner.pin(
        target.id,
        policySubject(object.namespace, name),
        now,
      );
      if (pin && ref) desired.set(name, refOfVersion(pin.version, ref.name));
    }
    const probe = await applyPoliciesToTree({
      ...tree,
      policies: desired,
      dryRun: true,
    });
    const changed = new Set<string>();
    for (const changes of probe.fileChanges.values()) {
      for (const change of changes) {
        const policy = policyOfSetter(change.setter, object.namespace);
        if (policy) changed.add(policy);
      }
    }
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
    };
    for (const [name, ref] of selected) {
      const markers = probe.markers.filter(m => m.policy === name);
      if (!ref || markers.length === 0) continue;
      const subject = policySubject(object.namespace, name);
      const carried = changed.has(name)
        ? carriedVersion(markers)
        : versionOfRef(desired.get(name)!);
      const selection: TargetSelection = {
        entityRef: object.entityRef,
        target,
        subject,
        carried,
        selected: versionOfRef(ref),
        firstSeenAt: await firstSeenOf(
          this.deps.objects,
          scans,
          object.namespace,
          name,
          ref.tag,
        ),
        annotations: object.manifest.metadata.annotations,
      };
      if (pullRequest) {
        await planner.releaseFromPullRequest(
          target.id,
          subject,
          versionOfRef(desired.get(name)!),
          pullRequest.carried,
          now,
          events,
        );
      }
      let decision = await planner.decide(selection, now, events);
      const heldPromotion =
        decision.action === 'hold' ? decision.promotion : undefined;
      if (
        pullRequest &&
        heldPromotion &&
        // Carried by the open pull request: written again on its branch, as it was.
        ((heldPromotion.state === 'applying' &&
          pullRequest.carried.has(heldPromotion.id)) ||
          // Waiting only for an approval that a review of the pull request can give.
          (pullRequest.reviewsApprove &&
            heldPromotion.state === 'pending' &&
            heldPromotion.gates.some(
              g => g.gate === 'approval' && g.state === 'waiting',
            ) &&
            heldPromotion.gates.every(
              g => g.gate === 'approval' || g.state === 'passed',
            )))
      ) {
        decision = {
          action: 'write',
          version: heldPromotion.to,
          promotion: heldPromotion,
        };
      }
      if (decision.action === 'write') {
        const only = new Map([
          [name, refOfVersion(decision.version, ref.name)],
        ]);
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
      } else {
        // Held, or already carrying what it should (a pinned version, say): its markers stay.
        plan.held.add(name);
        const eta =
          decision.action === 'hold' && decision.promotion?.eta
            ? Date.parse(decision.promotion.eta)
            : undefined;
        if (
          eta !== undefined &&
          (plan.nextEta === undefined || eta < plan.nextEta)
        )
          plan.nextEta = eta;
      }
    }
    return plan;
  }

  /** A run in pull-request mode: see {@link runPullRequest}. */
  private runPullRequest(
    ctx: RunContext,
    signal?: AbortSignal,
  ): Promise<ReconcileResult> {
    const { object, now, events } = ctx;
    const promotions = this.deps.promotions;
    return runPullRequest(
      {
        ...ctx,
        options: ctx.pullRequest!.options,
        host: ctx.pullRequest!.host,
        requested: ctx.pullRequest!.requested,
        reviewsApprove: ctx.pullRequest!.reviewsApprove,
        tabUrl: imageUpdatesTab(
          this.deps.pullRequests?.appBaseUrl,
          object.entityRef,
        ),
        promotions: promotions && {
          planner: promotions.planner,
          plan: (tree, carried) =>
            this.planPromotions(object, now, events, tree, ctx.policies, {
              carried,
              reviewsApprove: ctx.pullRequest!.reviewsApprove,
            }),
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
