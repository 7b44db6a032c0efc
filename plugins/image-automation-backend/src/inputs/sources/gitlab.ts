import { ExportedInput } from '../exportedInputs';
import {
  branchInputs,
  enoughBranches,
  enoughPullRequests,
  filterProblem,
  FORGE_MAX_PAGES,
  FORGE_PAGE_SIZE,
  gitlabSlug,
  GitRefItem,
  pullRequestInputs,
  PullRequestItem,
  selectBranches,
  tagInputs,
} from './forge';
import {
  ForgeSpecError,
  forgeFailure,
  forgeTls,
  forgeToken,
  repositoryUrl,
} from './forgeCall';
import {
  checkSourceUrl,
  createSourceHttp,
  SourceHttp,
  SourceHttpError,
} from './http';
import { InputSource, InputSourceContext } from './types';

/**
 * `GitLabBranch`, `GitLabTag`, `GitLabMergeRequest` and `GitLabEnvironment`: GitLab's REST API
 * (v4) of the project `spec.url` names, `https://<host>/api/v4/projects/<url-encoded path>`,
 * derived from `spec.url` and nothing else; only when the host is in
 * `imageAutomation.inputProviders.allowedHosts`. Every item exports GitLab's `slug`.
 */

/** The REST API URL of the GitLab project at `url` (`path`: group, subgroups, project). @internal */
export function gitlabProjectApi(url: URL, path: readonly string[]): string {
  return `${url.protocol}//${url.host}/api/v4/projects/${encodeURIComponent(
    path.join('/'),
  )}`;
}

/**
 * Reads a GitLab listing page by page (`page`, `per_page=100`), following `x-next-page` (or,
 * where a proxy dropped it, while pages are full), at most {@link FORGE_MAX_PAGES} pages, until
 * `done(itemsSoFar)` says stop.
 */
async function gitlabPages<T>(
  client: SourceHttp,
  base: string,
  query: Record<string, string>,
  headers: Record<string, string>,
  done?: (items: readonly T[]) => boolean,
  maxPages: number = FORGE_MAX_PAGES,
): Promise<T[]> {
  const all: T[] = [];
  let page = 1;
  for (let count = 1; count <= maxPages; count++) {
    const params = new URLSearchParams({
      ...query,
      per_page: String(FORGE_PAGE_SIZE),
      page: String(page),
    });
    const response = await client.getJson<T[]>(`${base}?${params}`, {
      headers,
    });
    if (!Array.isArray(response.body))
      throw new SourceHttpError(
        `GitLab: GET ${base}: the answer is not a list`,
      );
    all.push(...response.body);
    if (done?.(all)) break;
    const next = response.headers['x-next-page'];
    if (typeof next === 'string') {
      if (!/^\d+$/.test(next.trim()) || Number(next) <= page) break;
      page = Number(next);
    } else {
      if (response.body.length < FORGE_PAGE_SIZE) break;
      page += 1;
    }
  }
  return all;
}

interface GitLabRef {
  name?: string;
  commit?: { id?: string };
}

interface GitLabMergeRequest {
  iid?: number;
  title?: string;
  sha?: string;
  source_branch?: string;
  author?: { username?: string } | null;
  labels?: unknown[];
}

interface GitLabEnvironment {
  id?: number;
  name?: string;
  slug?: string;
  state?: string;
}

interface GitLabDeployment {
  sha?: string;
  ref?: string;
  status?: string;
  user?: { username?: string } | null;
}

function unwrap<T>(
  selection: { ok: true; items: T[] } | { ok: false; message: string },
): T[] {
  if (!selection.ok) throw new Error(selection.message);
  return selection.items;
}

function refs(items: readonly GitLabRef[]): GitRefItem[] {
  return items
    .map(item => ({
      name: String(item?.name ?? ''),
      sha: String(item?.commit?.id ?? ''),
    }))
    .filter(r => r.name)
    .map(r => ({ ...r, slug: gitlabSlug(r.name) }));
}

function mergeRequests(
  items: readonly GitLabMergeRequest[],
): PullRequestItem[] {
  return items
    .filter(mr => typeof mr?.iid === 'number')
    .map(mr => ({
      number: mr.iid!,
      sha: String(mr.sha ?? ''),
      branch: String(mr.source_branch ?? ''),
      author: String(mr.author?.username ?? ''),
      title: String(mr.title ?? ''),
      // GitLab lists label names (objects only with `with_labels_details`).
      labels: (mr.labels ?? [])
        .map(l =>
          typeof l === 'string'
            ? l
            : String((l as { name?: unknown })?.name ?? ''),
        )
        .filter(Boolean),
      slug: gitlabSlug(String(mr.source_branch ?? '')),
    }));
}

async function gitlabInputs(
  context: InputSourceContext,
): Promise<ExportedInput[]> {
  const { url, repository, path } = repositoryUrl(context.spec, 'GitLab', {
    min: 2,
    max: 20,
  });
  const project = gitlabProjectApi(url, path);
  checkSourceUrl(context, project);
  const problem = filterProblem(context.spec.filter);
  if (problem) throw new ForgeSpecError(problem);
  const tls = forgeTls(context, repository);
  const token = await forgeToken(context, repository);
  const client = createSourceHttp(context, { what: 'GitLab', tls });
  const headers: Record<string, string> = token
    ? { authorization: `Bearer ${token}` }
    : {};
  const filter = context.spec.filter;
  const limit = filter?.limit && filter.limit > 0 ? filter.limit : 100;

  switch (context.spec.type) {
    case 'GitLabBranch': {
      const listed = await gitlabPages<GitLabRef>(
        client,
        `${project}/repository/branches`,
        {},
        headers,
        items => enoughBranches(filter, refs(items)),
      );
      return branchInputs(filter, refs(listed));
    }
    case 'GitLabTag': {
      const listed = await gitlabPages<GitLabRef>(
        client,
        `${project}/repository/tags`,
        {},
        headers,
      );
      return tagInputs(filter, refs(listed));
    }
    case 'GitLabMergeRequest': {
      const labels = filter?.labels?.filter(Boolean) ?? [];
      const listed = await gitlabPages<GitLabMergeRequest>(
        client,
        `${project}/merge_requests`,
        {
          state: 'opened',
          ...(labels.length ? { labels: labels.join(',') } : {}),
        },
        headers,
        items => enoughPullRequests(filter, mergeRequests(items)),
      );
      return pullRequestInputs(context, mergeRequests(listed));
    }
    default: {
      const environments = await gitlabPages<GitLabEnvironment>(
        client,
        `${project}/environments`,
        {},
        headers,
      );
      // Filtered by name (the environment include/exclude); the limit counts exported environments.
      const named = unwrap(
        selectBranches(
          { ...filter, limit: Number.MAX_SAFE_INTEGER },
          environments
            .filter(e => typeof e?.id === 'number' && e.name)
            .map(e => ({ name: String(e.name), sha: String(e.id) })),
        ),
      );
      const byId = new Map(environments.map(e => [String(e?.id), e]));
      const inputs: ExportedInput[] = [];
      for (const item of named) {
        if (inputs.length >= limit) break;
        const environment = byId.get(item.sha)!;
        const available = environment.state === 'available';
        const usable = (d: GitLabDeployment) =>
          d?.status === 'running' || (d?.status === 'success' && available);
        // Newest first; the first usable deployment is the environment's.
        const deployments = await gitlabPages<GitLabDeployment>(
          client,
          `${project}/deployments`,
          {
            environment: String(environment.name),
            order_by: 'id',
            sort: 'desc',
          },
          headers,
          items => items.some(usable),
          10,
        );
        const deployment = deployments.find(usable);
        if (!deployment) continue;
        const input: ExportedInput = { id: String(environment.id) };
        if (deployment.sha) input.sha = String(deployment.sha);
        if (deployment.ref) input.branch = String(deployment.ref);
        if (deployment.user?.username)
          input.author = String(deployment.user.username);
        input.title = String(environment.name);
        input.slug = environment.slug
          ? String(environment.slug)
          : gitlabSlug(String(environment.name));
        inputs.push(input);
      }
      return inputs;
    }
  }
}

/** The source of the `GitLab*` types. @internal */
export const gitlabSource: InputSource = async context => {
  try {
    return { ok: true, inputs: await gitlabInputs(context) };
  } catch (error) {
    return forgeFailure(context, error);
  }
};
