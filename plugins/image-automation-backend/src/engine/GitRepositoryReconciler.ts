import {
  GitRepositorySpec,
  REASONS,
  SOURCE_API_VERSION,
} from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../credentials/NamedCredentials';
import {
  checkGitUrl,
  GitAccessSettings,
  STRICT_GIT_ACCESS,
} from '../git/gitAccess';
import { formatRevision, validateGitReference } from '../git/gitRef';
import {
  IntegrationGitAuth,
  IntegrationReadRefusedError,
  resolveGitAuth,
} from '../git/gitSourceAuth';
import { gitRemote, readRemoteState } from '../git/GitWorkspace';
import { GitAuth } from '../git/runGit';
import { ObjectStore, StoredObject } from '../store/ObjectStore';
import { parseGoDuration } from '../golib/time';
import { dependentsOf } from './dependents';
import { beginReconcile, failures, retryAfter } from './preamble';
import { ReconcileResult, Reconciler } from './Reconciler';

const DEFAULT_GIT_TIMEOUT_MS = 60_000;

/**
 * A GitRepository is only the source of ImageUpdateAutomations here (nothing is stored as an
 * artifact): each run checks that the remote is reachable with its credentials and resolves
 * its ref to a revision, reported as Flux reports it. When the revision moves, the
 * automations using this source are made due (Flux only reacts to a new generation).
 * @internal
 */
export class GitRepositoryReconciler implements Reconciler {
  readonly apiVersion = SOURCE_API_VERSION;
  readonly kind = 'GitRepository';

  constructor(
    private readonly deps: {
      objects: ObjectStore;
      credentials: NamedCredentials;
      integrations?: IntegrationGitAuth;
      /** `imageAutomation.git` (plain-HTTP hosts, integration read opt-ins). Default: HTTPS only, no integration reads. */
      gitAccess?: GitAccessSettings;
    },
  ) {}

  /** Flux's `timeout` (default 60s) for the remote's refs. */
  timeoutMs(object: StoredObject): number | undefined {
    try {
      return parseGoDuration(
        (object.manifest.spec as Partial<GitRepositorySpec> | undefined)
          ?.timeout ?? '60s',
      );
    } catch {
      return undefined;
    }
  }

  async reconcile(object: StoredObject, now: Date): Promise<ReconcileResult> {
    const begun = beginReconcile<GitRepositorySpec>(object, now);
    if ('done' in begun) return begun.done;
    const { spec, status } = begun.start;
    const intervalMs = parseGoDuration(spec.interval);
    const { ready, failed, stalled } = failures(
      begun.start,
      now,
      retryAfter(intervalMs),
    );
    const access = this.deps.gitAccess ?? STRICT_GIT_ACCESS;
    try {
      checkGitUrl(spec.url, access, spec.secretRef !== undefined);
    } catch (error) {
      return stalled(REASONS.URLInvalid, (error as Error).message);
    }
    try {
      validateGitReference(spec.ref, 'spec.ref');
    } catch (error) {
      return stalled(REASONS.InvalidGitArgument, (error as Error).message);
    }
    let revision: string;
    try {
      let auth: GitAuth | undefined;
      try {
        auth = await resolveGitAuth({
          spec,
          entityRef: object.entityRef,
          credentials: this.deps.credentials,
          integrations: this.deps.integrations,
          access,
        });
      } catch (error) {
        // Not a passing failure: only a config change lets the integration token read here (#13).
        if (error instanceof IntegrationReadRefusedError) {
          return stalled(REASONS.IntegrationReadNotAllowed, error.message);
        }
        throw error;
      }
      const timeoutMs = spec.timeout
        ? parseGoDuration(spec.timeout)
        : DEFAULT_GIT_TIMEOUT_MS;
      const state = await readRemoteState(
        gitRemote(spec.url, auth, timeoutMs),
        spec.ref,
      );
      revision = formatRevision(
        state.resolved,
        state.head ??
          (state.resolved.kind === 'commit' ? state.resolved.commit : ''),
      );
    } catch (error) {
      return failed(REASONS.GitOperationFailed, (error as Error).message);
    }
    const changed = status.artifact?.revision !== revision;
    // A moved revision (not the first one) makes the automations using this source due.
    const dueNow =
      changed && status.artifact
        ? await dependentsOf(object, this.deps.objects)
        : undefined;
    return ready(
      REASONS.Succeeded,
      `stored artifact for revision '${revision}'`,
      intervalMs,
      {
        status: {
          ...status,
          artifact: changed
            ? { revision, lastUpdateTime: now.toISOString() }
            : status.artifact!,
        },
        dueNow,
        // As source-controller's artifact events carry it (without a digest: no artifact is built here).
        readyEventMetadata: { revision },
      },
    );
  }
}
