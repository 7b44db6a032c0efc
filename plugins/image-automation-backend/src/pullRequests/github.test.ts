import http from 'node:http';
import { AddressInfo } from 'node:net';
import { gitHubGraphqlUrl, GitHubPullRequestHost } from './github';
import { PullRequestApiError } from './PullRequestHost';

/**
 * GitHub cannot run here: a local **stand-in** serves the parts of the recorded REST v3 contract
 * the adapter uses (pulls, issue comments and labels, requested reviewers, reviews, check runs,
 * rate-limit answers), in memory, and records every request.
 */
async function gitHubStandIn() {
  interface Pr {
    number: number;
    state: 'open' | 'closed';
    title: string;
    body: string;
    head: string;
    base: string;
    merged: boolean;
    merge_commit_sha: string | null;
    labels: string[];
    reviewers: string[];
    comments: string[];
  }
  const pulls: Pr[] = [];
  const reviews = new Map<
    number,
    Array<{ state: string; user: { login: string } }>
  >();
  const checkRuns: Array<{ status: string; conclusion: string | null }> = [];
  const statuses: Array<{ state: string; context: string }> = [];
  const graphql: Array<{ query: string; variables: Record<string, unknown> }> =
    [];
  const repository = { allowAutoMerge: true };
  const requests: Array<{
    method: string;
    url: string;
    authorization?: string;
  }> = [];
  const limits: Array<{ status: number; headers: Record<string, string> }> = [];
  const view = (pr: Pr, origin: string) => ({
    number: pr.number,
    node_id: `PR_node_${pr.number}`,
    html_url: `${origin}/o/r/pull/${pr.number}`,
    state: pr.state,
    title: pr.title,
    body: pr.body,
    merged: pr.merged,
    merged_at: pr.merged ? '2026-01-01T00:00:00Z' : null,
    merge_commit_sha: pr.merge_commit_sha,
    head: { ref: pr.head, sha: `sha-${pr.head}` },
    base: { ref: pr.base },
  });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length
      ? JSON.parse(Buffer.concat(chunks).toString())
      : undefined;
    requests.push({
      method: req.method!,
      url: req.url!,
      authorization: req.headers.authorization,
    });
    const origin = `http://${req.headers.host}`;
    const send = (
      status: number,
      payload?: unknown,
      headers: Record<string, string> = {},
    ) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    const limit = limits.shift();
    if (limit)
      return send(
        limit.status,
        { message: 'You have exceeded a secondary rate limit' },
        limit.headers,
      );
    const url = new URL(req.url!, origin);
    if (url.pathname === '/api/graphql' && req.method === 'POST') {
      graphql.push(body);
      const pr = pulls.find(
        p => `PR_node_${p.number}` === body.variables?.pullRequestId,
      );
      if (
        !/enablePullRequestAutoMerge\(input: \{pullRequestId: \$pullRequestId\}\)/.test(
          body.query,
        ) ||
        !pr
      ) {
        return send(200, {
          data: null,
          errors: [
            { type: 'NOT_FOUND', message: 'Could not resolve to a node' },
          ],
        });
      }
      if (!repository.allowAutoMerge) {
        return send(200, {
          data: { enablePullRequestAutoMerge: null },
          errors: [
            {
              type: 'UNPROCESSABLE',
              message:
                'Pull request Auto merge is not allowed for this repository',
            },
          ],
        });
      }
      return send(200, {
        data: {
          enablePullRequestAutoMerge: {
            pullRequest: {
              number: pr.number,
              autoMergeRequest: { enabledAt: '2026-01-01T00:00:00Z' },
            },
          },
        },
      });
    }
    const m = url.pathname.match(/^\/api\/v3\/repos\/o\/r(\/.*)$/);
    if (!m) return send(404, { message: 'Not Found' });
    const path = m[1];
    let n: RegExpMatchArray | null;
    if (path === '/pulls' && req.method === 'GET') {
      const head = url.searchParams.get('head');
      return send(
        200,
        pulls
          .filter(
            p =>
              p.state === url.searchParams.get('state') &&
              `o:${p.head}` === head &&
              p.base === url.searchParams.get('base'),
          )
          .map(p => view(p, origin)),
      );
    }
    if (path === '/pulls' && req.method === 'POST') {
      if (pulls.some(p => p.state === 'open' && p.head === body.head))
        return send(422, {
          message: `A pull request already exists for o:${body.head}`,
        });
      const pr: Pr = {
        number: pulls.length + 1,
        state: 'open',
        title: body.title,
        body: body.body,
        head: body.head,
        base: body.base,
        merged: false,
        merge_commit_sha: null,
        labels: [],
        reviewers: [],
        comments: [],
      };
      pulls.push(pr);
      return send(201, view(pr, origin));
    }
    n = path.match(/^\/pulls\/(\d+)$/);
    if (n) {
      const pr = pulls.find(p => p.number === Number(n![1]));
      if (!pr) return send(404, { message: 'Not Found' });
      if (req.method === 'PATCH') Object.assign(pr, body);
      return send(200, view(pr, origin));
    }
    n = path.match(/^\/issues\/(\d+)\/comments$/);
    if (n) {
      pulls.find(p => p.number === Number(n![1]))!.comments.push(body.body);
      return send(201, { id: 1 });
    }
    n = path.match(/^\/issues\/(\d+)\/labels$/);
    if (n) {
      pulls.find(p => p.number === Number(n![1]))!.labels.push(...body.labels);
      return send(200, []);
    }
    n = path.match(/^\/pulls\/(\d+)\/requested_reviewers$/);
    if (n) {
      pulls
        .find(p => p.number === Number(n![1]))!
        .reviewers.push(...body.reviewers);
      return send(201, {});
    }
    n = path.match(/^\/pulls\/(\d+)\/reviews$/);
    if (n) return send(200, reviews.get(Number(n[1])) ?? []);
    if (path.match(/^\/commits\/[^/]+\/check-runs$/))
      return send(200, {
        total_count: checkRuns.length,
        check_runs: checkRuns,
      });
    if (path.match(/^\/commits\/[^/]+\/status$/)) {
      let state = 'success';
      if (statuses.some(x => x.state === 'failure' || x.state === 'error'))
        state = 'failure';
      else if (statuses.some(x => x.state === 'pending')) state = 'pending';
      return send(200, {
        state: statuses.length ? state : 'pending',
        total_count: statuses.length,
        statuses,
      });
    }
    return send(404, { message: 'Not Found' });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiBaseUrl: `http://127.0.0.1:${port}/api/v3`,
    pulls,
    reviews,
    checkRuns,
    statuses,
    graphql,
    repository,
    requests,
    limits,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

describe('GitHubPullRequestHost against a GitHub stand-in', () => {
  it('opens, finds, updates, reads reviews and checks, and closes with a comment, with the token as a bearer token', async () => {
    const gh = await gitHubStandIn();
    try {
      const host = new GitHubPullRequestHost({
        apiBaseUrl: gh.apiBaseUrl,
        owner: 'o',
        repo: 'r',
        auth: {
          type: 'basic',
          username: 'x-access-token',
          password: 'ghs_sekret',
        },
      });
      expect(
        await host.findOpen('image-automation/apps/web', 'main'),
      ).toBeUndefined();
      const opened = await host.open({
        head: 'image-automation/apps/web',
        base: 'main',
        title: 'Update web',
        body: 'b',
        labels: ['deps'],
        reviewers: ['ann'],
      });
      expect(opened).toEqual({
        number: 1,
        url: expect.stringMatching(/\/o\/r\/pull\/1$/),
      });
      expect(gh.pulls[0]).toMatchObject({
        labels: ['deps'],
        reviewers: ['ann'],
      });
      expect(await host.findOpen('image-automation/apps/web', 'main')).toEqual(
        opened,
      );
      await host.update(1, {
        title: 'Update web to 2',
        body: 'changed since: 1 → 2',
      });
      expect(gh.pulls[0]).toMatchObject({
        title: 'Update web to 2',
        body: 'changed since: 1 → 2',
      });

      gh.reviews.set(1, [
        { state: 'CHANGES_REQUESTED', user: { login: 'ann' } },
        { state: 'APPROVED', user: { login: 'ann' } },
        { state: 'APPROVED', user: { login: 'bob' } },
        { state: 'DISMISSED', user: { login: 'bob' } },
        { state: 'CHANGES_REQUESTED', user: { login: 'cy' } },
      ]);
      gh.checkRuns.push(
        { status: 'completed', conclusion: 'success' },
        { status: 'in_progress', conclusion: null },
      );
      const state = await host.get(1);
      expect(state).toMatchObject({
        state: 'open',
        headSha: 'sha-image-automation/apps/web',
      });
      expect(await host.reviews(1, state.headSha)).toEqual({
        approvedBy: ['ann'],
        changesRequestedBy: ['cy'],
        checks: 'pending',
      });
      gh.checkRuns.push({ status: 'completed', conclusion: 'failure' });
      expect((await host.reviews(1, state.headSha)).checks).toBe('failure');
      // Commit statuses count too: the worst of check runs and statuses.
      gh.checkRuns.length = 0;
      expect((await host.reviews(1, state.headSha)).checks).toBe('none');
      gh.statuses.push({ state: 'success', context: 'ci/jenkins' });
      expect((await host.reviews(1, state.headSha)).checks).toBe('success');
      gh.checkRuns.push({ status: 'queued', conclusion: null });
      expect((await host.reviews(1, state.headSha)).checks).toBe('pending');
      gh.statuses.push({ state: 'error', context: 'ci/other' });
      expect((await host.reviews(1, state.headSha)).checks).toBe('failure');

      await host.closeWithComment(1, 'main already carries 2');
      expect(gh.pulls[0]).toMatchObject({
        state: 'closed',
        comments: ['main already carries 2'],
      });
      expect(await host.get(1)).toMatchObject({ state: 'closed' });

      gh.pulls[0].merged = true;
      gh.pulls[0].merge_commit_sha = 'cafe';
      expect(await host.get(1)).toMatchObject({
        state: 'merged',
        mergeCommit: 'cafe',
      });

      expect(new Set(gh.requests.map(r => r.authorization))).toEqual(
        new Set(['Bearer ghs_sekret']),
      );
      // One pull request is read and updated by number; the only listing is filtered to the head branch.
      expect(
        gh.requests.filter(
          r => r.method === 'GET' && r.url.includes('/pulls?'),
        ),
      ).toHaveLength(2);
      expect(
        gh.requests.every(
          r =>
            !r.url.includes('/pulls?') ||
            r.url.includes('head=o%3Aimage-automation%2Fapps%2Fweb'),
        ),
      ).toBe(true);
    } finally {
      await gh.close();
    }
  });

  it("enables auto-merge with the GraphQL mutation on the pull request's node id, and opens without it where the repository does not allow it", async () => {
    const gh = await gitHubStandIn();
    try {
      const host = new GitHubPullRequestHost({
        apiBaseUrl: gh.apiBaseUrl,
        owner: 'o',
        repo: 'r',
        auth: { type: 'bearer', token: 'ghp_sekret' },
      });
      const opened = await host.open({
        head: 'a',
        base: 'main',
        title: 't',
        body: 'b',
        autoMerge: true,
      });
      expect(opened).toMatchObject({ number: 1, autoMerge: true });
      expect(gh.graphql).toEqual([
        {
          query: expect.stringContaining(
            'enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId})',
          ),
          variables: { pullRequestId: 'PR_node_1' },
        },
      ]);
      const call = gh.requests.find(r => r.url === '/api/graphql')!;
      expect(call).toMatchObject({
        method: 'POST',
        authorization: 'Bearer ghp_sekret',
      });

      gh.repository.allowAutoMerge = false;
      const refused = await host.open({
        head: 'b',
        base: 'main',
        title: 't',
        body: 'b',
        autoMerge: true,
      });
      expect(refused).toMatchObject({
        number: 2,
        autoMerge: false,
        autoMergeRefused: expect.stringMatching(
          /^127\.0\.0\.1:\d+: enabling auto-merge was refused: Pull request Auto merge is not allowed for this repository$/,
        ),
      });
      expect(gh.pulls[1].state).toBe('open');
      // Without auto-merge asked: no GraphQL call.
      await host.open({ head: 'c', base: 'main', title: 't', body: 'b' });
      expect(gh.graphql).toHaveLength(2);
    } finally {
      await gh.close();
    }
  });

  it('finds the GraphQL endpoint of github.com and of GitHub Enterprise Server', () => {
    expect(gitHubGraphqlUrl('https://api.github.com')).toBe(
      'https://api.github.com/graphql',
    );
    expect(gitHubGraphqlUrl('https://ghe.example.com/api/v3/')).toBe(
      'https://ghe.example.com/api/graphql',
    );
    expect(gitHubGraphqlUrl('https://ghe.example.com/code/api/v3')).toBe(
      'https://ghe.example.com/code/api/graphql',
    );
  });

  it('honours a secondary rate limit (Retry-After) once, and fails a long primary limit naming host, status and wait', async () => {
    const gh = await gitHubStandIn();
    try {
      const host = new GitHubPullRequestHost({
        apiBaseUrl: gh.apiBaseUrl,
        owner: 'o',
        repo: 'r',
        auth: { type: 'bearer', token: 'ghp_sekret' },
      });
      gh.limits.push({ status: 403, headers: { 'retry-after': '1' } });
      const started = Date.now();
      await host.open({ head: 'b', base: 'main', title: 't', body: 'b' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(gh.pulls).toHaveLength(1);

      const reset = Math.floor(Date.now() / 1000) + 3600;
      gh.limits.push({
        status: 403,
        headers: {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
        },
      });
      const error = await host.get(1).catch(e => e);
      expect(error).toBeInstanceOf(PullRequestApiError);
      expect(error.status).toBe(403);
      expect(error.message).toMatch(
        new RegExp(
          `^127\\.0\\.0\\.1:\\d+: reading pull request #1 failed with HTTP 403: rate limited, retry after 3[56]\\d\\ds: You have exceeded a secondary rate limit$`,
        ),
      );
      expect(error.message).not.toContain('sekret');

      // A plain 403 (no limit headers): no retry, the host's message.
      gh.limits.push({ status: 403, headers: {} });
      const forbidden = await host
        .update(1, { title: 't', body: 'b' })
        .catch(e => e);
      expect(forbidden.message).toMatch(
        /: updating pull request #1 failed with HTTP 403: You have exceeded/,
      );
      // A second open for the same head: GitHub's 422 names it.
      const duplicate = await host
        .open({ head: 'b', base: 'main', title: 't', body: 'b' })
        .catch(e => e);
      expect(duplicate.message).toMatch(
        /opening a pull request failed with HTTP 422: A pull request already exists for o:b/,
      );
    } finally {
      await gh.close();
    }
  });
});
