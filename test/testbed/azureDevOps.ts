import http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A stand-in for the Azure DevOps Services Git REST API (Azure DevOps cannot run here), on
 * 127.0.0.1, implementing the documented contract of the two calls the input providers make:
 *
 * - `GET /{org}/{project}/_apis/git/repositories/{repo}/refs?filter=heads/|tags/&peelTags=true&$top=N
 *   &continuationToken=T&api-version=7.1`: `{count, value: [{name, objectId, peeledObjectId?}]}`,
 *   at most `$top` (≤ 1000; 100 when only a continuation token is given) refs a page, the next
 *   page's token in the `x-ms-continuationtoken` header; annotated tags have the tag object as
 *   `objectId` and, with `peelTags=true`, the commit as `peeledObjectId`;
 * - `GET /{org}/{project}/_apis/git/repositories/{repo}/pullrequests?searchCriteria.status=active
 *   &$top=N&$skip=M&api-version=7.1`: `{count, value: [GitPullRequest]}` (`pullRequestId`, `title`,
 *   `status`, `sourceRefName`, `targetRefName`, `lastMergeSourceCommit.commitId`,
 *   `createdBy.{displayName,uniqueName}`, `labels[].{id,name,active}`).
 *
 * Without `api-version` it answers 400 as Azure DevOps does. With `pat` set, a request needs
 * `Authorization: Basic base64(<any user>:<pat>)`: a wrong one is 401, none is 203 with the HTML
 * sign-in page. `failNext` queues answers (e.g. 429 with `Retry-After`) for the next requests.
 * Every request is recorded.
 */

export interface AzureDevOpsPullRequest {
  id: number;
  title: string;
  /** Head branch name, without `refs/heads/`. */
  branch: string;
  sha: string;
  /** The creator's display name. */
  author: string;
  labels?: Array<string | { name: string; active: boolean }>;
  status?: 'active' | 'completed' | 'abandoned';
}

export interface AzureDevOpsRepository {
  organization: string;
  project: string;
  name: string;
  branches: Array<{ name: string; sha: string }>;
  /** `tagObject`: an annotated tag's own object id (the ref's `objectId`); `sha` is the commit. */
  tags: Array<{ name: string; sha: string; tagObject?: string }>;
  pullRequests: AzureDevOpsPullRequest[];
}

export interface AzureDevOpsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  accept?: string;
}

export interface AzureDevOpsStandIn {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** The web URL of a repository: `<baseUrl>/{org}/{project}/_git/{repo}`. */
  repositoryUrl(repository: AzureDevOpsRepository): string;
  repositories: AzureDevOpsRepository[];
  requests: AzureDevOpsRequest[];
  /** Answers for the next requests, in order, instead of the API's (`'pass'`: the API's answer). */
  failNext(
    ...answers: Array<
      | { status: number; headers?: Record<string, string>; body?: string }
      | 'pass'
    >
  ): void;
  stop(): Promise<void>;
}

function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/** Starts the stand-in, serving `repositories`; `pat`: the personal access token it accepts (none: anonymous). */
export async function startAzureDevOpsStandIn(options: {
  repositories: AzureDevOpsRepository[];
  pat?: string;
}): Promise<AzureDevOpsStandIn> {
  const requests: AzureDevOpsRequest[] = [];
  const queued: Array<
    { status: number; headers?: Record<string, string>; body?: string } | 'pass'
  > = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push({
      method: req.method ?? '',
      path: decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      accept: req.headers.accept,
    });
    const next = queued.shift();
    if (next && next !== 'pass') {
      res.writeHead(next.status, {
        'content-type': 'application/json',
        ...(next.headers ?? {}),
      });
      res.end(
        next.body ??
          JSON.stringify({ message: `stand-in answer ${next.status}` }),
      );
      return;
    }
    if (options.pat !== undefined) {
      const auth = req.headers.authorization;
      if (!auth) {
        res.writeHead(203, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>',
        );
        return;
      }
      const match = /^Basic (.+)$/.exec(auth);
      const decoded = match
        ? Buffer.from(match[1], 'base64').toString('utf8')
        : '';
      if (
        decoded.slice(decoded.indexOf(':') + 1) !== options.pat ||
        !decoded.includes(':')
      ) {
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="https://dev.azure.com/"',
          'content-type': 'text/plain',
        });
        res.end('Access Denied: The Personal Access Token used has expired.');
        return;
      }
    }
    if (req.method !== 'GET')
      return json(res, 405, { message: 'method not allowed' });
    if (!url.searchParams.get('api-version')) {
      return json(res, 400, {
        $id: '1',
        message:
          'No api-version was supplied for the "GET" request. The version must be supplied either as part of the Accept header or as a query parameter.',
        typeName:
          'Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException',
      });
    }
    const match =
      /^\/([^/]+)\/([^/]+)\/_apis\/git\/repositories\/([^/]+)\/(refs|pullrequests)$/.exec(
        url.pathname,
      );
    const repository = match
      ? options.repositories.find(
          r =>
            r.organization === decodeURIComponent(match[1]) &&
            r.project === decodeURIComponent(match[2]) &&
            r.name === decodeURIComponent(match[3]),
        )
      : undefined;
    if (!match || !repository) {
      return json(res, 404, {
        message: `TF401019: The Git repository with name or identifier ${
          match?.[3] ?? '?'
        } does not exist`,
      });
    }
    const top = url.searchParams.get('$top');
    if (match[4] === 'refs') {
      const filter = url.searchParams.get('filter') ?? '';
      const peel = url.searchParams.get('peelTags') === 'true';
      const all = [
        ...repository.branches.map(b => ({
          name: `refs/heads/${b.name}`,
          objectId: b.sha,
        })),
        ...repository.tags.map(t =>
          t.tagObject
            ? {
                name: `refs/tags/${t.name}`,
                objectId: t.tagObject,
                ...(peel ? { peeledObjectId: t.sha } : {}),
              }
            : { name: `refs/tags/${t.name}`, objectId: t.sha },
        ),
      ].filter(r => r.name.startsWith(`refs/${filter}`));
      const token = url.searchParams.get('continuationToken');
      const start = token
        ? Number(
            Buffer.from(token, 'base64')
              .toString('utf8')
              .replace(/^offset:/, ''),
          )
        : 0;
      const size = top ? Math.min(Number(top), 1000) : token ? 100 : all.length;
      const page = all.slice(start, start + size);
      const more = start + size < all.length;
      return json(
        res,
        200,
        { count: page.length, value: page },
        more
          ? {
              'x-ms-continuationtoken': Buffer.from(
                `offset:${start + size}`,
              ).toString('base64'),
            }
          : {},
      );
    }
    const status = url.searchParams.get('searchCriteria.status') ?? 'active';
    const skip = Number(url.searchParams.get('$skip') ?? '0');
    const prs = repository.pullRequests.filter(
      pr => status === 'all' || (pr.status ?? 'active') === status,
    );
    const page = prs.slice(skip, skip + (top ? Number(top) : 101));
    return json(res, 200, {
      count: page.length,
      value: page.map(pr => ({
        repository: {
          id: `${repository.name}-id`,
          name: repository.name,
          project: { name: repository.project },
        },
        pullRequestId: pr.id,
        codeReviewId: pr.id,
        status: pr.status ?? 'active',
        createdBy: {
          displayName: pr.author,
          uniqueName: `${pr.author
            .toLowerCase()
            .replace(/\s+/g, '.')}@example.com`,
          id: `user-${pr.author.length}`,
        },
        creationDate: '2026-01-01T00:00:00Z',
        title: pr.title,
        description: '',
        sourceRefName: `refs/heads/${pr.branch}`,
        targetRefName: 'refs/heads/main',
        mergeStatus: 'succeeded',
        isDraft: false,
        lastMergeSourceCommit: {
          commitId: pr.sha,
          url: `http://stand-in/commits/${pr.sha}`,
        },
        lastMergeTargetCommit: { commitId: '0'.repeat(40) },
        reviewers: [],
        ...(pr.labels
          ? {
              labels: pr.labels.map((l, i) =>
                typeof l === 'string'
                  ? { id: `label-${i}`, name: l, active: true }
                  : { id: `label-${i}`, ...l },
              ),
            }
          : {}),
        url: `http://stand-in/pullRequests/${pr.id}`,
        supportsIterations: true,
      })),
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    host: `127.0.0.1:${port}`,
    repositoryUrl: r =>
      `${baseUrl}/${encodeURIComponent(r.organization)}/${encodeURIComponent(
        r.project,
      )}/_git/${encodeURIComponent(r.name)}`,
    repositories: options.repositories,
    requests,
    failNext: (...answers) => queued.push(...answers),
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
