import { ExportedInput } from '../exportedInputs';
import {
  branchInputs,
  enoughBranches,
  enoughPullRequests,
  filterProblem,
  FORGE_MAX_PAGES,
  FORGE_PAGE_SIZE,
  GitRefItem,
  pullRequestInputs,
  PullRequestItem,
  tagInputs,
} from './forge';
import { forgeFailure, forgeToken, ForgeSpecError } from './forgeCall';
import {
  checkSourceUrl,
  createSourceHttp,
  GIT_PROVIDER_MAX_BODY_BYTES,
  SourceHttp,
  SourceHttpError,
  SourceResponse,
} from './http';
import { InputSource, InputSourceContext, InputSourceResult } from './types';

/**
 * The Azure DevOps ResourceSetInputProvider types: `AzureDevOpsBranch`, `AzureDevOpsTag` and
 * `AzureDevOpsPullRequest`, read through the Azure DevOps Services (or Server) REST API:
 * `GET …/_apis/git/repositories/{repo}/refs` (branches and tags, paged by continuation token) and
 * `GET …/_apis/git/repositories/{repo}/pullrequests` (active pull requests, paged by `$top`/`$skip`).
 *
 * `spec.url` is the repository's web URL: `https://dev.azure.com/{org}/{project}/_git/{repo}`,
 * the legacy `https://{org}.visualstudio.com/[DefaultCollection/]{project}/_git/{repo}`, or an
 * Azure DevOps Server's `https://host/{collection}/{project}/_git/{repo}`. Requests go to that
 * host only, which must be in `imageAutomation.inputProviders.allowedHosts`. Authentication, as a
 * personal access token (HTTP Basic with an empty user name): the named credential `spec.secretRef`
 * names (`token`, or `basic` whose password is the token), granted to the entity and bound to the
 * repository; else the Backstage `integrations.azure` token for the host, only for repositories
 * under `imageAutomation.git.integrationRead` (or `integrationPush`); else anonymous.
 * `spec.serviceAccountName` (workload identity) is refused before this runs (fluxCompatibility).
 */

/** The `api-version` every request names. @internal */
export const AZURE_DEVOPS_API_VERSION = '7.1';

/** Where an Azure DevOps repository's API is, from its web URL. @internal */
export interface AzureDevOpsRepositoryLocation {
  /** `https://host/…/{project}/_git/{repo}`: what credentials are bound to and integrations matched against. */
  repositoryUrl: string;
  /** `https://host/…/{project}/_apis/git/repositories/{repo}` */
  apiUrl: string;
  project: string;
  repository: string;
}

/**
 * The API location of the Azure DevOps repository `url` names: the path segments before `_git`
 * are the organization or collection and the project (`dev.azure.com`: organization and project;
 * `*.visualstudio.com`: the project, optionally after the collection; a server: the collection
 * path and the project), the one after it the repository. Throws {@link ForgeSpecError}.
 * @internal
 */
export function azureDevOpsRepository(
  url: string,
): AzureDevOpsRepositoryLocation {
  const shape =
    'https://dev.azure.com/<organization>/<project>/_git/<repository>';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ForgeSpecError(
      `invalid spec.url '${url}': an Azure DevOps repository URL is ${shape}`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ForgeSpecError(
      `invalid spec.url '${url}': an Azure DevOps repository URL is ${shape}`,
    );
  }
  // Azure DevOps' clone URLs carry the organization as a user name (https://org@dev.azure.com/…):
  // not a secret, and never sent. A password is refused.
  if (parsed.password) {
    throw new ForgeSpecError(
      'invalid spec.url: credentials in the URL are not allowed; use spec.secretRef',
    );
  }
  if (parsed.search || parsed.hash) {
    throw new ForgeSpecError(
      `invalid spec.url '${parsed.origin}${parsed.pathname}': a query or fragment is not allowed`,
    );
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  const git = segments.indexOf('_git');
  const host = parsed.hostname.toLocaleLowerCase('en-US');
  const before = git < 0 ? [] : segments.slice(0, git);
  const after = git < 0 ? [] : segments.slice(git + 1);
  if (
    git < 0 ||
    after.length !== 1 ||
    // {org}.visualstudio.com/[collection/]{project}; dev.azure.com/{org}/{project}; a server's {collection…}/{project}.
    (host.endsWith('.visualstudio.com')
      ? before.length < 1 || before.length > 2
      : before.length < 2) ||
    (host === 'dev.azure.com' && before.length !== 2) ||
    segments.some(
      s =>
        s === '.' ||
        s === '..' ||
        (s.startsWith('_') && s !== '_git') ||
        /%2e|%2f|%5c|\\/i.test(s),
    )
  ) {
    throw new ForgeSpecError(
      `invalid spec.url '${parsed.origin}${parsed.pathname}': an Azure DevOps repository URL is ${shape}`,
    );
  }
  const repository = after[0].replace(/\.git$/, '');
  const base = `${parsed.protocol}//${parsed.host}/${before.join('/')}`;
  return {
    repositoryUrl: `${base}/_git/${repository}`,
    apiUrl: `${base}/_apis/git/repositories/${repository}`,
    project: before[before.length - 1],
    repository,
  };
}

/** The `Authorization` header for a personal access token: Basic, empty user name. @internal */
export function azureDevOpsAuthorization(
  token: string | undefined,
): Record<string, string> {
  return token
    ? { authorization: `Basic ${Buffer.from(`:${token}`).toString('base64')}` }
    : {};
}

interface AzureRef {
  name?: string;
  objectId?: string;
  /** Annotated tags with `peelTags=true`: the commit the tag object points at. */
  peeledObjectId?: string;
}

interface AzurePullRequest {
  pullRequestId?: number;
  title?: string;
  sourceRefName?: string;
  lastMergeSourceCommit?: { commitId?: string };
  createdBy?: { displayName?: string };
  labels?: Array<{ name?: string; active?: boolean }> | null;
}

/** The `value` list of an Azure DevOps collection answer (`{count, value: [...]}`). */
function values<T>(response: SourceResponse<unknown>): T[] {
  const body = response.body as { value?: unknown } | null;
  if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
    // A 203 is Azure DevOps' sign-in page for a request it did not authenticate.
    throw new SourceHttpError(
      response.status === 203
        ? 'Azure DevOps answered with a sign-in page (HTTP 203): the credential was not accepted'
        : "Azure DevOps answered without a 'value' list",
      response.status,
    );
  }
  return body.value as T[];
}

/** GET with the answer's status checked for Azure DevOps' 203 sign-in page, which is not JSON. */
async function getAzure(
  client: SourceHttp,
  url: string,
  headers: Record<string, string>,
): Promise<SourceResponse<unknown>> {
  try {
    return await client.getJson(url, { headers });
  } catch (error) {
    if (error instanceof SourceHttpError && error.status === 203) {
      throw new SourceHttpError(
        'Azure DevOps answered with a sign-in page (HTTP 203): the credential was not accepted',
        203,
      );
    }
    throw error;
  }
}

/**
 * The refs under `refs/<kind>/` (`heads` or `tags`), 100 a page, following the
 * `x-ms-continuationtoken` header; `done` may end the listing early.
 */
async function listRefs(
  client: SourceHttp,
  location: AzureDevOpsRepositoryLocation,
  kind: 'heads' | 'tags',
  headers: Record<string, string>,
  done?: (items: readonly GitRefItem[]) => boolean,
): Promise<GitRefItem[]> {
  const all: GitRefItem[] = [];
  const prefix = `refs/${kind}/`;
  let continuation: string | undefined;
  for (let page = 1; page <= FORGE_MAX_PAGES; page++) {
    const query = new URLSearchParams({ filter: `${kind}/` });
    if (kind === 'tags') query.set('peelTags', 'true');
    query.set('$top', String(FORGE_PAGE_SIZE));
    if (continuation) query.set('continuationToken', continuation);
    query.set('api-version', AZURE_DEVOPS_API_VERSION);
    const response = await getAzure(
      client,
      `${location.apiUrl}/refs?${query}`,
      headers,
    );
    for (const ref of values<AzureRef>(response)) {
      if (typeof ref?.name !== 'string' || !ref.name.startsWith(prefix))
        continue;
      all.push({
        name: ref.name.slice(prefix.length),
        sha: ref.peeledObjectId || ref.objectId || '',
      });
    }
    const next = response.headers['x-ms-continuationtoken'];
    continuation = typeof next === 'string' && next !== '' ? next : undefined;
    if (!continuation || done?.(all)) break;
  }
  return all;
}

/** The active pull requests, 100 a page (`$top`/`$skip`) until a page is short; `done` may end early. */
async function listPullRequests(
  client: SourceHttp,
  location: AzureDevOpsRepositoryLocation,
  headers: Record<string, string>,
  done: (items: readonly PullRequestItem[]) => boolean,
): Promise<PullRequestItem[]> {
  const all: PullRequestItem[] = [];
  for (let page = 0; page < FORGE_MAX_PAGES; page++) {
    const query = new URLSearchParams({
      'searchCriteria.status': 'active',
      $top: String(FORGE_PAGE_SIZE),
      $skip: String(page * FORGE_PAGE_SIZE),
      'api-version': AZURE_DEVOPS_API_VERSION,
    });
    const items = values<AzurePullRequest>(
      await getAzure(
        client,
        `${location.apiUrl}/pullrequests?${query}`,
        headers,
      ),
    );
    for (const pr of items) {
      if (typeof pr?.pullRequestId !== 'number') continue;
      all.push({
        number: pr.pullRequestId,
        sha: pr.lastMergeSourceCommit?.commitId ?? '',
        branch: (pr.sourceRefName ?? '').replace(/^refs\/heads\//, ''),
        author: pr.createdBy?.displayName ?? '',
        title: pr.title ?? '',
        labels: (pr.labels ?? [])
          .filter(l => l?.active !== false)
          .map(l => l?.name ?? '')
          .filter(Boolean),
      });
    }
    if (items.length < FORGE_PAGE_SIZE || done(all)) break;
  }
  return all;
}

type AzureKind = 'branch' | 'tag' | 'pull';

async function azureDevOpsInputs(
  context: InputSourceContext,
  kind: AzureKind,
): Promise<InputSourceResult> {
  const { spec } = context;
  const terminal = (reason: string, message: string): InputSourceResult => ({
    ok: false,
    terminal: true,
    reason,
    message,
  });
  if (!spec.url)
    return terminal(
      'InvalidSpec',
      `spec.url is required for type '${spec.type}'`,
    );
  let location: AzureDevOpsRepositoryLocation;
  let headers: Record<string, string>;
  try {
    location = azureDevOpsRepository(spec.url);
    const problem = filterProblem(spec.filter);
    if (problem) return terminal('InvalidSpec', problem);
    // Refusals decided before any request: the host, then the credential.
    checkSourceUrl(context, location.apiUrl);
    headers = azureDevOpsAuthorization(
      await forgeToken(context, location.repositoryUrl),
    );
  } catch (error) {
    return forgeFailure(context, error);
  }

  const client = createSourceHttp(context, {
    what: 'Azure DevOps',
    maxBodyBytes: GIT_PROVIDER_MAX_BODY_BYTES,
  });
  try {
    let inputs: ExportedInput[];
    if (kind === 'branch') {
      const branches = await listRefs(
        client,
        location,
        'heads',
        headers,
        items => enoughBranches(spec.filter, items),
      );
      inputs = branchInputs(spec.filter, branches);
    } else if (kind === 'tag') {
      inputs = tagInputs(
        spec.filter,
        await listRefs(client, location, 'tags', headers),
      );
    } else {
      const pulls = await listPullRequests(client, location, headers, items =>
        enoughPullRequests(spec.filter, items),
      );
      inputs = pullRequestInputs(context, pulls);
    }
    return { ok: true, inputs };
  } catch (error) {
    if (context.signal?.aborted) throw error;
    return forgeFailure(context, error);
  }
}

/** `AzureDevOpsBranch`: the repository's branches (`id`, `sha`, `branch`). @internal */
export const azureDevOpsBranchSource: InputSource = context =>
  azureDevOpsInputs(context, 'branch');
/** `AzureDevOpsTag`: the repository's tags (`id`, `sha` (the commit, annotated tags peeled), `tag`). @internal */
export const azureDevOpsTagSource: InputSource = context =>
  azureDevOpsInputs(context, 'tag');
/**
 * `AzureDevOpsPullRequest`: the repository's active pull requests (`id`, `sha`, `branch`,
 * `author` (the creator's display name), `title`, `labels`). @internal
 */
export const azureDevOpsPullRequestSource: InputSource = context =>
  azureDevOpsInputs(context, 'pull');
