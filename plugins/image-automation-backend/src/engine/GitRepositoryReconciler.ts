import {
  GitRepositorySpec,
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
import { markFailed, markReady, markStalled } from './conditions';
import { beginReconcile, RECHECK_MS, retryAfter } from './preamble';
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
    const { spec, generation, status } = begun.start;
    const intervalMs = parseGoDuration(spec.interval);
    const access = this.deps.gitAccess ?? STRICT_GIT_ACCESS;
    try {
      checkGitUrl(spec.url, access, spec.secretRef !== undefined);
    } catch (error) {
      return {
        status: markStalled(
          status,
          'URLInvalid',
          (error as Error).message,
          now,
          generation,
        ),
        requeueAfterMs: RECHECK_MS,
      };
    }
    try {
      validateGitReference(spec.ref, 'spec.ref');
    } catch (error) {
      return {
        status: markStalled(
          status,
          'InvalidGitArgument',
          (error as Error).message,
          now,
          generation,
        ),
        requeueAfterMs: RECHECK_MS,
      };
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
          return {
            status: markStalled(
              status,
              'IntegrationReadNotAllowed',
              error.message,
              now,
              generation,
            ),
            requeueAfterMs: RECHECK_MS,
          };
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
      return {
        status: markFailed(
          status,
          'GitOperationFailed',
          (error as Error).message,
          now,
          generation,
        ),
        requeueAfterMs: retryAfter(intervalMs),
      };
    }
    const changed = status.artifact?.revision !== revision;
    const next = {
      ...status,
      artifact: changed
        ? { revision, lastUpdateTime: now.toISOString() }
        : status.artifact!,
    };
    const dueNow =
      changed && status.artifact
        ? (await this.deps.objects.list({ kind: 'ImageUpdateAutomation' }))
            .filter(a => {
              const ref = (
                a.manifest.spec as {
                  sourceRef?: { name?: string; namespace?: string };
                }
              ).sourceRef;
              return (
                ref?.name === object.name &&
                (ref.namespace ?? a.namespace) === object.namespace
              );
            })
            .map(a => a.id)
        : undefined;
    return {
      status: markReady(
        next,
        'Succeeded',
        `stored artifact for revision '${revision}'`,
        now,
        generation,
      ),
      requeueAfterMs: intervalMs,
      dueNow,
      // As source-controller's artifact events carry it (without a digest: no artifact is built here).
      readyEventMetadata: { revision },
    };
  }
}
