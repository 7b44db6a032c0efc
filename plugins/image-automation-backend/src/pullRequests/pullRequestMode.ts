import { Config } from '@backstage/config';
import { parseEntityRef } from '@backstage/catalog-model';
import { GitAuth } from '../git/runGit';
import { checkBranchName } from '../git/refFormat';
import { GiteaPullRequestHost, repositoryPath } from './gitea';
import { GitHubPullRequestHost } from './github';
import { PullRequestHost } from './PullRequestHost';

/** The annotations of an ImageUpdateAutomation that opt it into pull-request mode. @internal */
export const PULL_REQUEST_ANNOTATIONS = {
  enabled: 'image-automation.io/pull-request',
  labels: 'image-automation.io/pull-request-labels',
  reviewers: 'image-automation.io/pull-request-reviewers',
  autoMerge: 'image-automation.io/pull-request-auto-merge',
} as const;

/** Host types with an adapter. @internal */
export type PullRequestHostType = 'gitea' | 'github';

/** `imageAutomation.git.pullRequests`: the hosts pull requests may be opened on. @internal */
export interface PullRequestSettings {
  hosts: Array<{ host: string; type: PullRequestHostType; apiBaseUrl?: string; reviewsApprove?: boolean }>;
  /** `app.baseUrl`, for links to the entity's Image updates tab. */
  appBaseUrl?: string;
  /** Tests and the benchmark: the adapter's fetch. */
  fetch?: typeof fetch;
}

/** @internal */
export function readPullRequestSettings(config: Config): PullRequestSettings {
  const hosts = (config.getOptionalConfigArray('imageAutomation.git.pullRequests') ?? []).map(c => {
    const type = c.getString('type');
    if (type !== 'gitea' && type !== 'github') {
      throw new Error(`imageAutomation.git.pullRequests: type '${type}' is not supported (supported: gitea, github)`);
    }
    const apiBaseUrl = c.getOptionalString('apiBaseUrl');
    return {
      host: c.getString('host').toLocaleLowerCase('en-US'),
      type: type as PullRequestHostType,
      ...(apiBaseUrl ? { apiBaseUrl } : {}),
      reviewsApprove: c.getOptionalBoolean('reviewsApprove') ?? false,
    };
  });
  return { hosts, appBaseUrl: config.getOptionalString('app.baseUrl') };
}

/** What an automation asked for, from its annotations. @internal */
export interface PullRequestOptions {
  /** The per-target branch the update is pushed to. */
  branch: string;
  /** The branch the pull request merges into (the checkout branch). */
  base: string;
  labels: string[];
  reviewers: string[];
  autoMerge: boolean;
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
    throw new Error(`${PULL_REQUEST_ANNOTATIONS.enabled}: '${enabled}' is neither 'true' nor 'false'`);
  }
  if (!checkoutBranch) {
    throw new Error(`${PULL_REQUEST_ANNOTATIONS.enabled}: pull requests need a checkout branch to merge into (spec.git.checkout.ref.branch)`);
  }
  const branch =
    pushBranch && pushBranch !== checkoutBranch ? pushBranch : `image-automation/${target.namespace}/${target.name}`;
  checkBranchName(branch, 'pull request branch');
  const reviewers = list(annotations?.[PULL_REQUEST_ANNOTATIONS.reviewers]);
  for (const reviewer of reviewers) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(reviewer)) {
      throw new Error(`${PULL_REQUEST_ANNOTATIONS.reviewers}: '${reviewer}' is not a user name`);
    }
  }
  return {
    branch,
    base: checkoutBranch,
    labels: list(annotations?.[PULL_REQUEST_ANNOTATIONS.labels]).slice(0, 20),
    reviewers: reviewers.slice(0, 20),
    autoMerge: annotations?.[PULL_REQUEST_ANNOTATIONS.autoMerge] === 'true',
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
): { host: PullRequestHost; reviewsApprove: boolean } {
  let url: URL;
  try {
    url = new URL(repositoryUrl);
  } catch {
    throw new PullRequestHostNotAllowedError(`pull requests need an HTTP(S) repository URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PullRequestHostNotAllowedError(`pull requests need an HTTP(S) repository URL, not ${url.protocol}`);
  }
  const host = url.host.toLocaleLowerCase('en-US');
  const entry = settings?.hosts.find(h => h.host === host);
  if (!entry) {
    throw new PullRequestHostNotAllowedError(
      `host '${host}' is not in imageAutomation.git.pullRequests: no pull request is opened and no API call is made`,
    );
  }
  if (auth && auth.type !== 'basic' && auth.type !== 'bearer') {
    throw new PullRequestHostNotAllowedError(`pull requests on '${host}' need an HTTPS credential (a token or basic credential), not an SSH key`);
  }
  const path = repositoryPath(repositoryUrl);
  if (!path) throw new PullRequestHostNotAllowedError(`'${url.pathname}' is not an owner/repository path on '${host}'`);
  if (entry.type === 'github') {
    const apiBaseUrl = entry.apiBaseUrl ?? (host === 'github.com' ? 'https://api.github.com' : `${url.origin}/api/v3`);
    return {
      host: new GitHubPullRequestHost({ apiBaseUrl, owner: path.owner, repo: path.repo, auth, fetch: settings?.fetch }),
      reviewsApprove: entry.reviewsApprove === true,
    };
  }
  return {
    host: new GiteaPullRequestHost({ baseUrl: url.origin, owner: path.owner, repo: path.repo, auth, fetch: settings?.fetch, signal }),
    reviewsApprove: entry.reviewsApprove === true,
  };
}

/** The entity's Image updates tab, when `app.baseUrl` is known. @internal */
export function imageUpdatesTab(appBaseUrl: string | undefined, entityRef: string | undefined): string | undefined {
  if (!appBaseUrl || !entityRef) return undefined;
  try {
    const { kind, namespace, name } = parseEntityRef(entityRef);
    return `${appBaseUrl.replace(/\/$/, '')}/catalog/${encodeURIComponent(namespace)}/${encodeURIComponent(kind.toLocaleLowerCase('en-US'))}/${encodeURIComponent(name)}/image-updates`;
  } catch {
    return undefined;
  }
}
