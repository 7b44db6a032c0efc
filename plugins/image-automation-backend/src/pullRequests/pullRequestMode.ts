import { Config } from '@backstage/config';
import { parseEntityRef } from '@backstage/catalog-model';
import { GitAuth } from '../git/runGit';
import { checkBranchName } from '../git/refFormat';
import { GiteaPullRequestHost } from './gitea';
import { GitHubPullRequestHost } from './github';
import { GitLabPullRequestHost } from './gitlab';
import {
  azureDevOpsRepository,
  AzureDevOpsPullRequestHost,
} from './azureDevOps';
import { PullRequestHost } from './PullRequestHost';
import { isHostAllowed } from '../registry/allowedHosts';

/** The annotations of an ImageUpdateAutomation that opt it into pull-request mode. @internal */
export const PULL_REQUEST_ANNOTATIONS = {
  enabled: 'image-automation.io/pull-request',
  labels: 'image-automation.io/pull-request-labels',
  reviewers: 'image-automation.io/pull-request-reviewers',
  autoMerge: 'image-automation.io/pull-request-auto-merge',
} as const;

/** Host types with an adapter. @internal */
export type PullRequestHostType =
  | 'gitea'
  | 'github'
  | 'gitlab'
  | 'azure-devops';

const HOST_TYPES: readonly PullRequestHostType[] = [
  'gitea',
  'github',
  'gitlab',
  'azure-devops',
];

/** `imageAutomation.git.pullRequests`: the hosts pull requests may be opened on. @internal */
export interface PullRequestSettings {
  hosts: Array<{
    host: string;
    type: PullRequestHostType;
    apiBaseUrl?: string;
    reviewsApprove?: boolean;
    /** Auto-merge for automations that do not say (their annotation decides when it is set). */
    autoMerge?: boolean;
  }>;
  /** `app.baseUrl`, for links to the entity's Image updates tab. */
  appBaseUrl?: string;
  /**
   * `imageAutomation.git.insecureHosts`: an API reached over plain HTTP gets a credential only on
   * these hosts (absent: none, as for Git itself).
   */
  insecureHosts?: string[];
  /** Tests and the benchmark: the adapter's fetch. */
  fetch?: typeof fetch;
}

/** @internal */
export function readPullRequestSettings(config: Config): PullRequestSettings {
  const hosts = (
    config.getOptionalConfigArray('imageAutomation.git.pullRequests') ?? []
  ).map(c => {
    const type = c.getString('type');
    if (!HOST_TYPES.includes(type as PullRequestHostType)) {
      throw new Error(
        `imageAutomation.git.pullRequests: type '${type}' is not supported (supported: ${HOST_TYPES.join(
          ', ',
        )})`,
      );
    }
    const host = c.getString('host').toLocaleLowerCase('en-US');
    const apiBaseUrl = c.getOptionalString('apiBaseUrl');
    if (apiBaseUrl !== undefined) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(apiBaseUrl);
      } catch {
        parsed = undefined;
      }
      if (
        !parsed ||
        (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') ||
        parsed.search ||
        parsed.hash ||
        parsed.username ||
        parsed.password
      ) {
        throw new Error(
          `imageAutomation.git.pullRequests: apiBaseUrl '${apiBaseUrl}' of '${host}' is not an http(s) URL without query or credentials`,
        );
      }
    }
    const autoMerge = c.getOptionalBoolean('autoMerge');
    return {
      host,
      type: type as PullRequestHostType,
      ...(apiBaseUrl ? { apiBaseUrl: apiBaseUrl.replace(/\/+$/, '') } : {}),
      reviewsApprove: c.getOptionalBoolean('reviewsApprove') ?? false,
      ...(autoMerge !== undefined ? { autoMerge } : {}),
    };
  });
  return {
    hosts,
    appBaseUrl: config.getOptionalString('app.baseUrl'),
    insecureHosts:
      config.getOptionalStringArray('imageAutomation.git.insecureHosts') ?? [],
  };
}

/** What an automation asked for, from its annotations. @internal */
export interface PullRequestOptions {
  /** The per-target branch the update is pushed to. */
  branch: string;
  /** The branch the pull request merges into (the checkout branch). */
  base: string;
  labels: string[];
  reviewers: string[];
  /** The annotation's answer; unset: the host's `autoMerge` decides. */
  autoMerge?: boolean;
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);

/**
 * Pull-request mode of an automation, undefined when it is not opted in. The branch is
 * `spec.git.push.branch` when that differs from the checkout branch, else
 * `image-automation/<namespace>/<name>` (one per target). Throws on an invalid branch or a
 * checkout that is not a branch (a pull request needs a base branch).
 * @internal
 */
export function pullRequestOptions(
  annotations: Record<string, string> | undefined,
  target: { namespace: string; name: string },
  checkoutBranch: string | undefined,
  pushBranch: string | undefined,
): PullRequestOptions | undefined {
  const enabled = annotations?.[PULL_REQUEST_ANNOTATIONS.enabled];
  if (enabled === undefined || enabled === 'false') return undefined;
  if (enabled !== 'true') {
    throw new Error(
      `${PULL_REQUEST_ANNOTATIONS.enabled}: '${enabled}' is neither 'true' nor 'false'`,
    );
  }
  if (!checkoutBranch) {
    throw new Error(
      `${PULL_REQUEST_ANNOTATIONS.enabled}: pull requests need a checkout branch to merge into (spec.git.checkout.ref.branch)`,
    );
  }
  const branch =
    pushBranch && pushBranch !== checkoutBranch
      ? pushBranch
      : `image-automation/${target.namespace}/${target.name}`;
  checkBranchName(branch, 'pull request branch');
  const autoMerge = annotations?.[PULL_REQUEST_ANNOTATIONS.autoMerge];
  if (
    autoMerge !== undefined &&
    autoMerge !== 'true' &&
    autoMerge !== 'false'
  ) {
    throw new Error(
      `${PULL_REQUEST_ANNOTATIONS.autoMerge}: '${autoMerge}' is neither 'true' nor 'false'`,
    );
  }
  const reviewers = list(annotations?.[PULL_REQUEST_ANNOTATIONS.reviewers]);
  for (const reviewer of reviewers) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(reviewer)) {
      throw new Error(
        `${PULL_REQUEST_ANNOTATIONS.reviewers}: '${reviewer}' is not a user name`,
      );
    }
  }
  return {
    branch,
    base: checkoutBranch,
    labels: list(annotations?.[PULL_REQUEST_ANNOTATIONS.labels]).slice(0, 20),
    reviewers: reviewers.slice(0, 20),
    ...(autoMerge !== undefined ? { autoMerge: autoMerge === 'true' } : {}),
  };
}

/** A pull-request mode that may not run: the reason is the condition's. @internal */
export class PullRequestHostNotAllowedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullRequestHostNotAllowedError';
  }
}

/**
 * The adapter for a repository URL, with the credential Git uses for it (already bound to the
 * URL's host). Fails closed: a host not in `imageAutomation.git.pullRequests`, a URL that is
 * not HTTP(S) or not `owner/repo`, or a credential that is not an HTTPS one throws, and no
 * request is made.
 * @internal
 */
export function pullRequestHostFor(
  settings: PullRequestSettings | undefined,
  repositoryUrl: string,
  auth: GitAuth | undefined,
  signal?: AbortSignal,
): { host: PullRequestHost; reviewsApprove: boolean; autoMerge?: boolean } {
  let url: URL;
  try {
    url = new URL(repositoryUrl);
  } catch {
    throw new PullRequestHostNotAllowedError(
      `pull requests need an HTTP(S) repository URL`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PullRequestHostNotAllowedError(
      `pull requests need an HTTP(S) repository URL, not ${url.protocol}`,
    );
  }
  const host = url.host.toLocaleLowerCase('en-US');
  const entry = settings?.hosts.find(h => h.host === host);
  if (!entry) {
    throw new PullRequestHostNotAllowedError(
      `host '${host}' is not in imageAutomation.git.pullRequests: no pull request is opened and no API call is made`,
    );
  }
  if (auth && auth.type !== 'basic' && auth.type !== 'bearer') {
    throw new PullRequestHostNotAllowedError(
      `pull requests on '${host}' need an HTTPS credential (a token or basic credential), not an SSH key`,
    );
  }
  // A host under a sub-path (`https://host/gitlab/api/v4`): the repository's path starts with it.
  const api = entry.apiBaseUrl ? new URL(entry.apiBaseUrl) : undefined;
  // A credential goes over plain HTTP only to a host the platform listed in git.insecureHosts.
  const apiUrl =
    api ??
    (entry.type === 'github' && host === 'github.com'
      ? new URL('https://api.github.com')
      : url);
  if (
    auth &&
    apiUrl.protocol === 'http:' &&
    !isHostAllowed(
      apiUrl.host.toLocaleLowerCase('en-US'),
      settings?.insecureHosts ?? [],
    )
  ) {
    throw new PullRequestHostNotAllowedError(
      `the API of '${host}' (${apiUrl.host}) is plain HTTP and not in imageAutomation.git.insecureHosts: no credential is sent over it`,
    );
  }
  const prefix =
    api && api.origin === url.origin
      ? api.pathname.replace(/\/api\/v\d+\/?$/, '').replace(/\/+$/, '')
      : '';
  const segments = repositorySegments(url, prefix);
  if (entry.type === 'azure-devops') {
    // The API is the repository's own collection and project: `…/{project}/_git/{repo}`.
    const repository = azureDevOpsRepository(url);
    if (!repository)
      throw new PullRequestHostNotAllowedError(
        `'${url.pathname}' is not an Azure DevOps '…/{project}/_git/{repository}' path on '${host}'`,
      );
    return {
      host: new AzureDevOpsPullRequestHost({
        ...repository,
        auth,
        fetch: settings?.fetch,
        signal,
      }),
      reviewsApprove: entry.reviewsApprove === true,
      ...(entry.autoMerge !== undefined ? { autoMerge: entry.autoMerge } : {}),
    };
  }
  if (entry.type === 'gitlab') {
    // Groups nest: the project is every segment, sent URL-encoded as the project id.
    if (!segments || segments.length < 2) {
      throw new PullRequestHostNotAllowedError(
        `'${url.pathname}' is not a group/project path on '${host}'${
          prefix ? ` under '${prefix}'` : ''
        }`,
      );
    }
    return {
      host: new GitLabPullRequestHost({
        apiBaseUrl: entry.apiBaseUrl ?? `${url.origin}/api/v4`,
        project: segments.join('/'),
        auth,
        fetch: settings?.fetch,
        signal,
      }),
      reviewsApprove: entry.reviewsApprove === true,
      ...(entry.autoMerge !== undefined ? { autoMerge: entry.autoMerge } : {}),
    };
  }
  if (!segments || segments.length !== 2) {
    throw new PullRequestHostNotAllowedError(
      `'${url.pathname}' is not an owner/repository path on '${host}'${
        prefix ? ` under '${prefix}'` : ''
      }`,
    );
  }
  const [owner, repo] = segments;
  if (entry.type === 'github') {
    const apiBaseUrl =
      entry.apiBaseUrl ??
      (host === 'github.com'
        ? 'https://api.github.com'
        : `${url.origin}/api/v3`);
    return {
      host: new GitHubPullRequestHost({
        apiBaseUrl,
        owner,
        repo,
        auth,
        fetch: settings?.fetch,
        signal,
      }),
      reviewsApprove: entry.reviewsApprove === true,
      ...(entry.autoMerge !== undefined ? { autoMerge: entry.autoMerge } : {}),
    };
  }
  return {
    host: new GiteaPullRequestHost({
      baseUrl: url.origin,
      apiBaseUrl: entry.apiBaseUrl,
      owner,
      repo,
      auth,
      fetch: settings?.fetch,
      signal,
    }),
    reviewsApprove: entry.reviewsApprove === true,
    ...(entry.autoMerge !== undefined ? { autoMerge: entry.autoMerge } : {}),
  };
}

/** The repository's path segments after `prefix` (`.git` dropped); undefined when it is not under it. */
function repositorySegments(url: URL, prefix: string): string[] | undefined {
  let path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (prefix) {
    if (!path.startsWith(`${prefix}/`)) return undefined;
    path = path.slice(prefix.length);
  }
  try {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    // `.`/`..` (also percent-encoded) would move the API call to another path of the host.
    // Control characters are what this check refuses.
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f]/;
    return segments.some(s => s === '.' || s === '..' || control.test(s))
      ? undefined
      : segments;
  } catch {
    return undefined;
  }
}

/** The entity's Image updates tab, when `app.baseUrl` is known. @internal */
export function imageUpdatesTab(
  appBaseUrl: string | undefined,
  entityRef: string | undefined,
): string | undefined {
  if (!appBaseUrl || !entityRef) return undefined;
  try {
    const { kind, namespace, name } = parseEntityRef(entityRef);
    return `${appBaseUrl.replace(/\/$/, '')}/catalog/${encodeURIComponent(
      namespace,
    )}/${encodeURIComponent(
      kind.toLocaleLowerCase('en-US'),
    )}/${encodeURIComponent(name)}/image-updates`;
  } catch {
    return undefined;
  }
}
