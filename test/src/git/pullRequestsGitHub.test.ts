/**
 * Pull-request mode of ImageUpdateAutomation (issue #19) on GitHub, through the reconciler: the
 * pushes go to the test bed's real Git server (smart HTTP, `git http-backend`), and the pull-request
 * API is a local **stand-in** for GitHub (it cannot run here) serving the recorded REST v3 contract
 * (pulls listed by head, create, update, reviews, check runs and combined status, issue comments
 * and labels, requested reviewers) and the GraphQL `enablePullRequestAutoMerge` mutation, backed by
 * the real repository: a pull request's head is the branch's commit on the Git server, and a merge
 * made "as a person" is a real merge commit on `main`.
 */
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import { WarmClones } from '@imageops/backstage-plugin-image-automation-backend/src/git/warmClones';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  BRANCH,
  deployment,
  pullRequestHarness,
  ready,
} from './pullRequestHarness';

jest.setTimeout(180_000);

const TOKEN = 'ghs_standInSecret0123456789';

let git: TestGitServer;

beforeAll(async () => {
  git = await startGitServer({ users: { 'x-access-token': TOKEN } });
});

afterAll(async () => {
  await git?.stop();
});

interface Pr {
  number: number;
  node_id: string;
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

/**
 * The GitHub stand-in for repository `owner/name` of the test Git server: answers as GitHub's REST
 * v3 and GraphQL APIs do for the calls the adapter makes, and records every request.
 */
async function gitHubStandIn(repo: string) {
  const [owner] = repo.split('/');
  const pulls: Pr[] = [];
  const reviews = new Map<
    number,
    Array<{ state: string; user: { login: string }; commit_id: string }>
  >();
  const checkRuns = new Map<
    string,
    Array<{ status: string; conclusion: string | null }>
  >();
  const graphql: Array<{ query: string; variables: Record<string, unknown> }> =
    [];
  const settings = { allowAutoMerge: true };
  /**
   * Something that happens while the host answers a request (a person acting meanwhile); it may
   * answer instead of the stand-in.
   */
  const meanwhile: {
    hook?: (request: {
      method: string;
      path: string;
    }) => Promise<
      | { status: number; headers: Record<string, string>; body: unknown }
      | undefined
      | void
    >;
  } = {};
  const requests: Array<{
    method: string;
    path: string;
    query: string;
    authorization?: string;
    body?: any;
  }> = [];
  const headOf = async (branch: string) => {
    try {
      return (
        await git.git(repo, ['rev-parse', '--verify', `refs/heads/${branch}`])
      ).trim();
    } catch {
      return undefined;
    }
  };
  // `updated_at` moves with every change of the pull request, its reviews included, as on GitHub.
  const seen = new Map<number, { snapshot: string; changes: number }>();
  const updatedAt = (pr: Pr) => {
    const snapshot = JSON.stringify([pr, reviews.get(pr.number) ?? []]);
    const last = seen.get(pr.number) ?? { snapshot: '', changes: 0 };
    if (last.snapshot !== snapshot)
      seen.set(pr.number, { snapshot, changes: last.changes + 1 });
    return new Date(
      Date.UTC(2026, 11, 4) + seen.get(pr.number)!.changes * 1000,
    ).toISOString();
  };
  const view = async (pr: Pr, origin: string) => ({
    updated_at: updatedAt(pr),
    number: pr.number,
    node_id: pr.node_id,
    html_url: `${origin}/${repo}/pull/${pr.number}`,
    state: pr.state,
    title: pr.title,
    body: pr.body,
    merged: pr.merged,
    merged_at: pr.merged ? '2026-12-04T00:00:00Z' : null,
    merge_commit_sha: pr.merge_commit_sha,
    head: { ref: pr.head, sha: (await headOf(pr.head)) ?? null },
    base: { ref: pr.base },
  });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length
      ? JSON.parse(Buffer.concat(chunks).toString())
      : undefined;
    const origin = `http://${req.headers.host}`;
    const url = new URL(req.url!, origin);
    requests.push({
      method: req.method!,
      path: url.pathname,
      query: url.search,
      authorization: req.headers.authorization,
      body,
    });
    const answer = await meanwhile.hook?.({
      method: req.method!,
      path: url.pathname,
    });
    if (answer) {
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        ...answer.headers,
      });
      res.end(JSON.stringify(answer.body));
      return undefined;
    }
    const send = (status: number, payload?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(401, { message: 'Bad credentials' });
    if (req.headers['x-github-api-version'] !== '2022-11-28')
      return send(400, { message: 'missing X-GitHub-Api-Version' });
    if (url.pathname === '/api/graphql' && req.method === 'POST') {
      graphql.push(body);
      const pr = pulls.find(p => p.node_id === body.variables?.pullRequestId);
      if (
        !/enablePullRequestAutoMerge\(input: \{pullRequestId: \$pullRequestId\}\)/.test(
          body.query,
        ) ||
        !pr
      ) {
        return send(200, {
          data: null,
          errors: [
            {
              type: 'NOT_FOUND',
              message: `Could not resolve to a node with the global id of '${body.variables?.pullRequestId}'`,
            },
          ],
        });
      }
      if (!settings.allowAutoMerge) {
        return send(200, {
          data: { enablePullRequestAutoMerge: null },
          errors: [
            {
              type: 'UNPROCESSABLE',
              path: ['enablePullRequestAutoMerge'],
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
              autoMergeRequest: { enabledAt: new Date().toISOString() },
            },
          },
        },
      });
    }
    const prefix = `/api/v3/repos/${repo}`;
    if (!url.pathname.startsWith(`${prefix}/`))
      return send(404, { message: 'Not Found' });
    const path = url.pathname.slice(prefix.length);
    let n: RegExpMatchArray | null;
    const find = (number: string) =>
      pulls.find(p => p.number === Number(number));
    if (path === '/pulls' && req.method === 'GET') {
      const head = url.searchParams.get('head');
      const matching = pulls.filter(
        p =>
          (url.searchParams.get('state') ?? 'open') === p.state &&
          (!head || `${owner}:${p.head}` === head) &&
          (!url.searchParams.get('base') ||
            p.base === url.searchParams.get('base')),
      );
      return send(
        200,
        await Promise.all(
          matching
            .slice(0, Number(url.searchParams.get('per_page') ?? 30))
            .map(p => view(p, origin)),
        ),
      );
    }
    if (path === '/pulls' && req.method === 'POST') {
      if (!(await headOf(body.head))) {
        return send(422, {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }],
        });
      }
      if (
        pulls.some(
          p =>
            p.state === 'open' && p.head === body.head && p.base === body.base,
        )
      ) {
        return send(422, {
          message: `Validation Failed: A pull request already exists for ${owner}:${body.head}.`,
        });
      }
      const number = pulls.length + 1;
      const pr: Pr = {
        number,
        node_id: `PR_kwDO${number}`,
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
      return send(201, await view(pr, origin));
    }
    if ((n = path.match(/^\/pulls\/(\d+)$/))) {
      const pr = find(n[1]);
      if (!pr) return send(404, { message: 'Not Found' });
      if (req.method === 'PATCH') {
        if (pr.merged)
          return send(422, {
            message: 'Validation Failed: the pull request is merged',
          });
        for (const key of ['title', 'body', 'state'] as const)
          if (body[key] !== undefined) (pr as any)[key] = body[key];
      }
      return send(200, await view(pr, origin));
    }
    if (
      (n = path.match(/^\/issues\/(\d+)\/comments$/)) &&
      req.method === 'POST'
    ) {
      find(n[1])!.comments.push(body.body);
      return send(201, { id: 1, body: body.body });
    }
    if (
      (n = path.match(/^\/issues\/(\d+)\/labels$/)) &&
      req.method === 'POST'
    ) {
      find(n[1])!.labels.push(...body.labels);
      return send(
        200,
        body.labels.map((name: string) => ({ name })),
      );
    }
    if (
      (n = path.match(/^\/pulls\/(\d+)\/requested_reviewers$/)) &&
      req.method === 'POST'
    ) {
      find(n[1])!.reviewers.push(...body.reviewers);
      return send(201, await view(find(n[1])!, origin));
    }
    if ((n = path.match(/^\/pulls\/(\d+)\/reviews$/)))
      return send(200, reviews.get(Number(n[1])) ?? []);
    if ((n = path.match(/^\/commits\/([0-9a-f]{40})\/check-runs$/))) {
      const runs = checkRuns.get(n[1]) ?? [];
      return send(200, { total_count: runs.length, check_runs: runs });
    }
    if ((n = path.match(/^\/commits\/([0-9a-f]{40})\/status$/)))
      return send(200, { state: 'pending', total_count: 0, statuses: [] });
    return send(404, { message: 'Not Found' });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    apiBaseUrl: `http://127.0.0.1:${port}/api/v3`,
    pulls,
    reviews,
    checkRuns,
    graphql,
    settings,
    meanwhile,
    requests,
    headOf,
    /** Merges as a person would on GitHub: a merge commit of the head into the base, on the Git server. */
    async merge(number: number): Promise<string> {
      const pr = pulls.find(p => p.number === number)!;
      const tree = (
        await git.git(repo, [
          'merge-tree',
          '--write-tree',
          `refs/heads/${pr.base}`,
          `refs/heads/${pr.head}`,
        ])
      )
        .trim()
        .split('\n')[0];
      const commit = (
        await git.git(repo, [
          'commit-tree',
          tree,
          '-p',
          `refs/heads/${pr.base}`,
          '-p',
          `refs/heads/${pr.head}`,
          '-m',
          `Merge pull request #${number} from ${owner}/${pr.head}`,
        ])
      ).trim();
      await git.git(repo, ['update-ref', `refs/heads/${pr.base}`, commit]);
      Object.assign(pr, {
        merged: true,
        state: 'closed',
        merge_commit_sha: commit,
      });
      return commit;
    },
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

type StandIn = Awaited<ReturnType<typeof gitHubStandIn>>;

/** The harness with the GitHub stand-in as the repository's pull-request API. */
function harness(
  repo: string,
  gh: StandIn,
  options: {
    pullRequests?: Array<Record<string, string | boolean>>;
    reviewsApprove?: boolean;
    autoMerge?: boolean;
    clones?: WarmClones;
  } = {},
) {
  return pullRequestHarness({
    git,
    repo,
    clones: options.clones,
    credential: { username: 'x-access-token', password: TOKEN },
    insecureHosts: [gh.host],
    pullRequests: options.pullRequests ?? [
      {
        host: new URL(git.baseUrl).host,
        type: 'github',
        apiBaseUrl: gh.apiBaseUrl,
        reviewsApprove: options.reviewsApprove ?? false,
        ...(options.autoMerge !== undefined
          ? { autoMerge: options.autoMerge }
          : {}),
      },
    ],
  });
}

/**
 * A repository on the test bed's Git server holding `deployment('1.0.0')`, its GitHub stand-in and
 * the harness on both, stopped after `body`.
 */
async function onGitHub(
  repo: string,
  options: Parameters<typeof harness>[2],
  body: (
    h: Awaited<ReturnType<typeof harness>>,
    gh: StandIn,
    repo: string,
  ) => Promise<void>,
) {
  await git.createRepository(repo, {
    'deploy/app.yaml': deployment('1.0.0'),
  });
  const gh = await gitHubStandIn(repo);
  const h = await harness(repo, gh, options);
  try {
    await body(h, gh, repo);
  } finally {
    await h.stop();
    await gh.close();
  }
}

/** The API calls since `from`, as `METHOD path?query` with the repository prefix dropped. */
function callsSince(gh: StandIn, from: number, repo: string) {
  return gh.requests
    .slice(from)
    .map(
      r =>
        `${r.method} ${r.path.replace(`/api/v3/repos/${repo}`, '')}${r.query}`,
    );
}

describe('pull-request mode on GitHub (API stand-in) with pushes to the real test-bed Git server', () => {
  it('opens the pull request, updates it on a newer version, lets an approving review pass the gate, and applies the promotion on merge with the merge commit', async () => {
    const gated = {
      'promotion.image-automation.io/approvals': '1',
      'image-automation.io/pull-request-labels': 'dependencies, images',
      'image-automation.io/pull-request-reviewers': 'ann',
    };
    await onGitHub(
      'acme/flow',
      { reviewsApprove: true },
      async (h, gh, repo) => {
        await h.select('1.0.1');
        const first = await h.run(gated);
        expect(ready(first)).toMatchObject({
          status: 'True',
          reason: 'Succeeded',
        });
        const pr = first.status.pullRequest!;
        expect(pr).toMatchObject({
          number: 1,
          state: 'open',
          branch: BRANCH,
          base: 'main',
          versions: { app: '1.0.1' },
        });
        expect(pr.url).toBe(`http://${gh.host}/${repo}/pull/1`);
        // The push is real: the branch on the Git server carries the update, main does not.
        expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
          'app:1.0.1 #',
        );
        expect(await git.readFile(repo, 'main', 'deploy/app.yaml')).toContain(
          'app:1.0.0 #',
        );
        expect(pr.head).toBe(await gh.headOf(BRANCH));
        // The recorded contract: a listing filtered to the head branch, the create, labels, reviewers.
        expect(callsSince(gh, 0, repo)).toEqual([
          `GET /pulls?state=open&head=acme%3A${encodeURIComponent(
            BRANCH,
          )}&base=main&per_page=1`,
          'POST /pulls',
          'POST /issues/1/labels',
          'POST /pulls/1/requested_reviewers',
        ]);
        expect(gh.requests[1].body).toMatchObject({
          head: BRANCH,
          base: 'main',
          title: 'Update app to registry.example.com/team/app:1.0.1',
        });
        expect(gh.requests[1].body.body).toContain(
          '`deploy/app.yaml:10` (`apps:app`): `registry.example.com/team/app:1.0.0` → `registry.example.com/team/app:1.0.1`',
        );
        expect(gh.pulls[0]).toMatchObject({
          labels: ['dependencies', 'images'],
          reviewers: ['ann'],
        });
        let [promotion] = await h.promotionList();
        expect(promotion).toMatchObject({
          state: 'pending',
          to: { tag: '1.0.1' },
        });
        expect(promotion.gates.find(g => g.gate === 'approval')).toMatchObject({
          state: 'waiting',
          summary: 'approval 0/1',
        });
        expect((await h.view(promotion.id)).pullRequest).toEqual({
          url: pr.url,
          number: 1,
          host: gh.host,
          state: 'open',
          updatedAt: expect.any(String),
        });

        // A newer version: the same pull request, its branch force-pushed, updated with one call and
        // nothing read before it (the reviews of the old head decide nothing for the new version); no listing.
        await h.select('1.0.2');
        let from = gh.requests.length;
        const second = await h.run(gated);
        expect(ready(second).status).toBe('True');
        expect(second.status.pullRequest).toMatchObject({
          number: 1,
          versions: { app: '1.0.2' },
        });
        const head = await gh.headOf(BRANCH);
        expect(callsSince(gh, from, repo)).toEqual(['PATCH /pulls/1']);
        expect(gh.pulls).toHaveLength(1);
        expect(gh.pulls[0].body).toContain('- app: 1.0.1 → 1.0.2');
        expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
          'app:1.0.2 #',
        );
        expect(second.status.pullRequest!.head).toBe(head);
        expect(second.events?.map(e => e.reason)).toContain(
          'PullRequestUpdated',
        );

        // ann approves the new head, and its checks pass: the review is the approval the gate waits for.
        gh.reviews.set(1, [
          { state: 'APPROVED', user: { login: 'ann' }, commit_id: head! },
        ]);
        gh.checkRuns.set(head!, [
          { status: 'completed', conclusion: 'success' },
        ]);
        const approved = await h.run(gated);
        expect(ready(approved).status).toBe('True');
        promotion = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
        expect(promotion.state).toBe('applying');
        expect(promotion.gates.find(g => g.gate === 'approval')?.state).toBe(
          'passed',
        );
        expect((await h.view(promotion.id)).votes).toEqual([
          expect.objectContaining({
            actor: `review:${gh.host}/ann`,
            decision: 'approve',
            reason: 'approved pull request #1',
          }),
        ]);
        expect((await h.view(promotion.id)).pullRequest).toMatchObject({
          number: 1,
          state: 'open',
          approvedBy: ['ann'],
          checks: 'success',
        });
        expect(approved.status.pullRequest).toMatchObject({
          approvedBy: ['ann'],
          checks: 'success',
        });

        // Merged by a person: the promotion is applied with the merge commit; the next run finds main current.
        const mergeCommit = await gh.merge(1);
        const merged = await h.run(gated);
        expect(ready(merged)).toMatchObject({
          status: 'True',
          message: 'repository up-to-date',
        });
        expect(merged.status.pullRequest).toMatchObject({
          state: 'merged',
          mergeCommit,
        });
        expect(merged.events?.map(e => e.reason)).toEqual(
          expect.arrayContaining(['PullRequestMerged', 'PromotionApplied']),
        );
        const view = await h.view(promotion.id);
        expect(view).toMatchObject({ state: 'applied', commit: mergeCommit });
        expect(view.pullRequest).toMatchObject({
          state: 'merged',
          mergeCommit,
          approvedBy: ['ann'],
        });
        expect(await git.readFile(repo, 'main', 'deploy/app.yaml')).toContain(
          'app:1.0.2 #',
        );
        expect(gh.pulls.filter(p => p.state === 'open')).toEqual([]);

        // Nothing new after the merge: no API call at all.
        from = gh.requests.length;
        expect(ready(await h.run(gated))).toMatchObject({
          status: 'True',
          message: 'repository up-to-date',
        });
        expect(callsSince(gh, from, repo)).toEqual([]);

        // Every call carried the token as a bearer token, and no token is in status, events, promotions or logs.
        expect(new Set(gh.requests.map(r => r.authorization))).toEqual(
          new Set([`Bearer ${TOKEN}`]),
        );
        const everything = JSON.stringify([
          first,
          second,
          approved,
          merged,
          await h.promotionList(),
          view,
          h.logs,
        ]);
        expect(everything).not.toContain(TOKEN);
        expect(everything).not.toContain(
          Buffer.from(`x-access-token:${TOKEN}`).toString('base64'),
        );
      },
    );
  });

  it('costs one API call per update of the open pull request, one read per run with nothing new, and none after it closed', async () => {
    await onGitHub('acme/calls', {}, async (h, gh, repo) => {
      await h.select('1.0.1');
      expect(ready(await h.run()).status).toBe('True');
      expect(callsSince(gh, 0, repo)).toEqual([
        `GET /pulls?state=open&head=acme%3A${encodeURIComponent(
          BRANCH,
        )}&base=main&per_page=1`,
        'POST /pulls',
      ]);
      // Nothing new: the pull request is read (it may have been merged or closed); its reviews and
      // checks were never read since it opened, so they are read once.
      let from = gh.requests.length;
      let idle = await h.run();
      expect(ready(idle).message).toMatch(/^pull request #1 open/);
      const head = (await gh.headOf(BRANCH))!;
      expect(callsSince(gh, from, repo)).toEqual([
        'GET /pulls/1',
        'GET /pulls/1/reviews?per_page=100',
        `GET /commits/${head}/check-runs?per_page=100`,
        `GET /commits/${head}/status`,
      ]);
      // Nothing new again, the pull request unchanged on the host: one call, nothing else.
      from = gh.requests.length;
      idle = await h.run();
      expect(ready(idle).message).toMatch(/^pull request #1 open/);
      expect(callsSince(gh, from, repo)).toEqual(['GET /pulls/1']);
      // A review changes the pull request: the next read sees it moved, and reads the reviews.
      gh.reviews.set(1, [
        { state: 'APPROVED', user: { login: 'ann' }, commit_id: head },
      ]);
      from = gh.requests.length;
      idle = await h.run();
      expect(ready(idle).message).toMatch(
        /^pull request #1 open \(approved by ann/,
      );
      expect(callsSince(gh, from, repo)).toHaveLength(4);
      from = gh.requests.length;
      await h.run();
      expect(callsSince(gh, from, repo)).toEqual(['GET /pulls/1']);
      // Three newer versions, one run each: one call per update, the update itself.
      for (const tag of ['1.0.2', '1.0.3', '1.0.4']) {
        await h.select(tag);
        from = gh.requests.length;
        const updated = await h.run();
        expect(ready(updated).message).toMatch(/^pull request #1 updated/);
        expect(callsSince(gh, from, repo)).toEqual(['PATCH /pulls/1']);
        expect(gh.pulls[0].body).toContain(`→ ${tag}`);
        expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
          `app:${tag} #`,
        );
      }
      // Each superseded promotion was superseded only after the host answered the update.
      const byTag = new Map((await h.promotionList()).map(p => [p.to.tag, p]));
      expect(byTag.get('1.0.1')!.state).toBe('superseded');
      expect(byTag.get('1.0.3')!.state).toBe('superseded');
      expect(byTag.get('1.0.4')!.state).toBe('applying');
      expect(gh.pulls).toHaveLength(1);
      // Closed by a person: the next run's read learns it; after that, no call at all.
      gh.pulls[0].state = 'closed';
      from = gh.requests.length;
      expect(ready(await h.run()).reason).toBe('PullRequestClosed');
      expect(callsSince(gh, from, repo)).toEqual(['GET /pulls/1']);
      expect(
        (await h.promotionList()).find(p => p.to.tag === '1.0.4')!.state,
      ).toBe('rejected');
      from = gh.requests.length;
      expect(ready(await h.run()).reason).toBe('PullRequestClosed');
      expect(callsSince(gh, from, repo)).toEqual([]);
    });
  });

  it("applies the promotion with the merge commit when a person merged the pull request before a newer version came, learnt from the update's answer, and opens a new pull request for the newer version", async () => {
    await onGitHub('acme/merged-between', {}, async (h, gh, repo) => {
      await h.select('1.0.1');
      expect(ready(await h.run()).status).toBe('True');
      const [first] = await h.promotionList();
      expect(first).toMatchObject({ state: 'applying', to: { tag: '1.0.1' } });
      const mergeCommit = await gh.merge(1);
      // A newer version before any run saw the merge: nothing is read before the update; the host
      // refuses to edit a merged pull request (422), and that refusal is followed by the one read
      // that tells it was merged.
      await h.select('1.0.2');
      const from = gh.requests.length;
      const result = await h.run();
      expect(ready(result)).toMatchObject({
        status: 'True',
        message: expect.stringMatching(/^pull request #2 opened/),
      });
      expect(callsSince(gh, from, repo)).toEqual([
        'PATCH /pulls/1',
        'GET /pulls/1',
        `GET /pulls?state=open&head=acme%3A${encodeURIComponent(
          BRANCH,
        )}&base=main&per_page=1`,
        'POST /pulls',
      ]);
      const merged = await h.view(first.id);
      expect(merged).toMatchObject({ state: 'applied', commit: mergeCommit });
      expect(merged.pullRequest).toMatchObject({
        number: 1,
        state: 'merged',
        mergeCommit,
      });
      // Never superseded on the way: the history goes from applying to applied.
      expect(
        merged.history.map((step: { state: string }) => step.state),
      ).not.toContain('superseded');
      const second = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
      expect(second).toMatchObject({
        state: 'applying',
        from: { tag: '1.0.1' },
      });
      expect(result.status.pullRequest).toMatchObject({
        number: 2,
        state: 'open',
        versions: { app: '1.0.2' },
        promotions: [second.id],
      });
      expect(result.events?.map(e => e.reason)).toEqual(
        expect.arrayContaining([
          'PullRequestMerged',
          'PromotionApplied',
          'PullRequestOpened',
        ]),
      );
      expect(result.events?.map(e => e.reason)).not.toContain(
        'PromotionSuperseded',
      );
      // The new pull request proposes 1.0.1 → 1.0.2 on top of the merge.
      expect(gh.pulls[1].body).toContain(
        '`registry.example.com/team/app:1.0.1` → `registry.example.com/team/app:1.0.2`',
      );
    });
  });

  it('reuses the warm clone of the base branch: the run after the first fetches what changed instead of cloning', async () => {
    const repo = 'acme/warm';
    await git.createRepository(repo, {
      'deploy/app.yaml': deployment('1.0.0'),
    });
    const gh = await gitHubStandIn(repo);
    const directory = await fs.promises.mkdtemp(`${os.tmpdir()}/pr-warm-`);
    const clones = new WarmClones({ directory });
    const h = await harness(repo, gh, { clones });
    try {
      await h.select('1.0.1');
      expect(ready(await h.run()).message).toMatch(/^pull request #1 opened/);
      expect({ cloned: clones.cloned, reused: clones.reused }).toEqual({
        cloned: 1,
        reused: 0,
      });
      // main moves meanwhile (another change): the warm clone fetches it, the update is on top of it.
      await git.commitFiles(
        repo,
        'main',
        { 'deploy/other.yaml': 'kind: ConfigMap\n' },
        'another change',
      );
      await h.select('1.0.2');
      const updated = await h.run();
      expect(ready(updated).message).toMatch(/^pull request #1 updated/);
      expect({ cloned: clones.cloned, reused: clones.reused }).toEqual({
        cloned: 1,
        reused: 1,
      });
      expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
        'app:1.0.2 #',
      );
      expect(await git.readFile(repo, BRANCH, 'deploy/other.yaml')).toBe(
        'kind: ConfigMap\n',
      );
      expect(updated.status.pullRequest!.head).toBe(await gh.headOf(BRANCH));
      // The warm clone's work branch is the base: nothing the run committed is left on main.
      expect(await git.readFile(repo, 'main', 'deploy/app.yaml')).toContain(
        'app:1.0.0 #',
      );
    } finally {
      await h.stop();
      await clones.close();
      await fs.promises.rm(directory, { recursive: true, force: true });
      await gh.close();
    }
  });

  it('enables auto-merge where the host is configured for it, and leaves the pull request open for a person with a Warning where the repository does not allow it', async () => {
    const repo = 'acme/auto';
    await git.createRepository(repo, {
      'deploy/app.yaml': deployment('1.0.0'),
    });
    const gh = await gitHubStandIn(repo);
    const h = await harness(repo, gh, { autoMerge: true });
    try {
      await h.select('2.0.0');
      const opened = await h.run();
      expect(ready(opened).status).toBe('True');
      expect(gh.graphql).toEqual([
        {
          query: expect.stringContaining(
            'enablePullRequestAutoMerge(input: {pullRequestId: $pullRequestId})',
          ),
          variables: { pullRequestId: 'PR_kwDO1' },
        },
      ]);
      expect(gh.requests.find(r => r.path === '/api/graphql')).toMatchObject({
        method: 'POST',
        authorization: `Bearer ${TOKEN}`,
      });
      expect(opened.status.pullRequest).toMatchObject({
        number: 1,
        autoMerge: true,
      });
      const [promotion] = await h.promotionList();
      expect((await h.view(promotion.id)).pullRequest).toMatchObject({
        number: 1,
        state: 'open',
        autoMerge: true,
      });
      // Updated for a newer version: auto-merge stays as it was set, no second mutation.
      await h.select('2.0.1');
      const updated = await h.run();
      expect(updated.status.pullRequest).toMatchObject({
        number: 1,
        autoMerge: true,
        versions: { app: '2.0.1' },
      });
      expect(gh.graphql).toHaveLength(1);
    } finally {
      await h.stop();
      await gh.close();
    }

    // A repository without auto-merge: GitHub refuses the mutation; the pull request is open all
    // the same, the automation Ready, the refusal a Warning event naming the host and the answer.
    const repo2 = 'acme/manual';
    await git.createRepository(repo2, {
      'deploy/app.yaml': deployment('1.0.0'),
    });
    const gh2 = await gitHubStandIn(repo2);
    gh2.settings.allowAutoMerge = false;
    const h2 = await harness(repo2, gh2, { autoMerge: true });
    try {
      await h2.select('2.0.0');
      const result = await h2.run();
      expect(ready(result)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      expect(gh2.pulls).toMatchObject([{ number: 1, state: 'open' }]);
      expect(result.status.pullRequest).toMatchObject({
        number: 1,
        state: 'open',
        autoMerge: false,
      });
      const warning = result.events?.find(
        e => e.reason === 'PullRequestAutoMergeRefused',
      );
      expect(warning).toMatchObject({ type: 'Warning' });
      expect(warning!.message).toBe(
        `pull request #1 http://${gh2.host}/${repo2}/pull/1 is open without auto-merge, for a person to merge: ${gh2.host}: enabling auto-merge was refused: Pull request Auto merge is not allowed for this repository`,
      );
      const [promotion] = await h2.promotionList();
      expect(promotion.state).toBe('applying');
      expect((await h2.view(promotion.id)).pullRequest).toMatchObject({
        state: 'open',
        autoMerge: false,
      });
      // The annotation turns it off for one automation where the host turns it on: no mutation.
      await h2.select('2.0.1');
      await h2.run({ 'image-automation.io/pull-request-auto-merge': 'false' });
      expect(gh2.graphql).toHaveLength(1);
    } finally {
      await h2.stop();
      await gh2.close();
    }
  });

  it('proposes a promotion in the pull request only when an approval is all it waits for (reviews approve)', async () => {
    const cases = [
      // The window opens every hour for an hour: always open, its gate passed.
      { name: 'open-window', cron: '0 * * * *', proposed: true },
      // Open one minute a year, not now: the window waits too, which no review can give.
      { name: 'closed-window', cron: '0 0 1 1 *', proposed: false },
    ];
    for (const { name, cron, proposed } of cases) {
      const repo = `acme/${name}`;
      await git.createRepository(repo, {
        'deploy/app.yaml': deployment('1.0.0'),
      });
      const gh = await gitHubStandIn(repo);
      const h = await harness(repo, gh, { reviewsApprove: true });
      try {
        await h.select('1.0.1');
        const result = await h.run({
          'promotion.image-automation.io/approvals': '1',
          'promotion.image-automation.io/window': cron,
          'promotion.image-automation.io/window-duration':
            cron === '0 * * * *' ? '1h' : '1m',
        });
        expect(ready(result).status).toBe('True');
        const [promotion] = await h.promotionList();
        expect(promotion.state).toBe('pending');
        expect(
          Object.fromEntries(promotion.gates.map(g => [g.gate, g.state])),
        ).toEqual({
          approval: 'waiting',
          window: proposed ? 'passed' : 'waiting',
        });
        expect(gh.pulls).toHaveLength(proposed ? 1 : 0);
        expect(result.status.pullRequest?.versions).toEqual(
          proposed ? { app: '1.0.1' } : undefined,
        );
        expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toEqual(
          proposed ? expect.stringContaining('app:1.0.1 #') : undefined,
        );
      } finally {
        await h.stop();
        await gh.close();
      }
    }
  });

  it('closes the pull request of a version superseded by a newer one that waits for its window, saying why, reads the host once before, and comes back when the window opens', async () => {
    await onGitHub('acme/held-newer', {}, async (h, gh, repo) => {
      await h.select('1.0.1');
      expect(ready(await h.run()).message).toMatch(/^pull request #1 opened/);
      const [older] = await h.promotionList();
      expect(older).toMatchObject({ state: 'applying', to: { tag: '1.0.1' } });

      // 1.0.2 comes, gated by a window opening a few minutes later, well within the ten-minute
      // interval.
      await h.select('1.0.2');
      const opens = new Date(h.nextRunAt() + 5 * 60_000);
      opens.setUTCSeconds(0, 0);
      const gated = {
        'promotion.image-automation.io/window': `${opens.getUTCMinutes()} * * * *`,
        'promotion.image-automation.io/window-duration': '10m',
      };
      // The host first limits the rate for twenty minutes: a failed run waits what the host said,
      // not for the window.
      gh.meanwhile.hook = async () => ({
        status: 429,
        headers: { 'retry-after': '1200' },
        body: { message: 'API rate limit exceeded' },
      });
      const limited = await h.run(gated);
      gh.meanwhile.hook = undefined;
      expect(ready(limited).status).toBe('False');
      expect(limited.requeueAfterMs).toBe(1_200_000);
      expect(gh.pulls[0].state).toBe('open');
      const at = h.nextRunAt();
      const from = gh.requests.length;
      const held = await h.run(gated);
      expect(ready(held)).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      // The host is read once before the close: the pull request may have been merged meanwhile.
      expect(callsSince(gh, from, repo)).toEqual([
        'GET /pulls/1',
        'POST /issues/1/comments',
        'PATCH /pulls/1',
      ]);
      expect(gh.pulls[0]).toMatchObject({
        state: 'closed',
        comments: [
          'Closed by image automation: what this pull request proposed (app 1.0.1) was superseded by app 1.0.2, which waits for its promotion gates; a new pull request proposes it once they pass.',
        ],
      });
      expect(held.events).toContainEqual({
        type: 'Normal',
        reason: 'PullRequestSuperseded',
        message: `pull request #1 http://${gh.host}/${repo}/pull/1 closed: superseded by app 1.0.2, which waits for its promotion gates`,
      });
      expect(held.status.pullRequest).toBeUndefined();
      const newer = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
      expect(newer).toMatchObject({
        state: 'pending',
        eta: opens.toISOString(),
      });
      expect(newer.gates.find(g => g.gate === 'window')?.state).toBe('waiting');
      expect((await h.view(older.id)).state).toBe('superseded');
      expect(await git.readFile(repo, 'main', 'deploy/app.yaml')).toContain(
        'app:1.0.0 #',
      );
      // Back a second after the window opens, not at the interval.
      expect(held.requeueAfterMs).toBe(opens.getTime() - at + 1000);

      h.runNextAt(opens.getTime() + 1000);
      const opened = await h.run(gated);
      expect(ready(opened).message).toMatch(/^pull request #2 opened/);
      expect(opened.status.pullRequest).toMatchObject({
        number: 2,
        versions: { app: '1.0.2' },
        promotions: [newer.id],
      });
      expect(opened.requeueAfterMs).toBe(600_000);
    });
  });

  it('fails a decision that changed while the pull request was updated (a pin set meanwhile), and writes it on the next pass', async () => {
    await onGitHub('acme/pinned-meanwhile', {}, async (h, gh, repo) => {
      await h.select('1.0.1');
      expect(ready(await h.run()).message).toMatch(/^pull request #1 opened/);
      // 1.0.2 is pushed to the pull request's branch; while the host answers the update, a person
      // pins the policy at 1.0.1. The decision taken after the answer is no longer what was pushed.
      await h.select('1.0.2');
      gh.meanwhile.hook = async ({ method, path }) => {
        if (method === 'PATCH' && path.endsWith('/pulls/1')) {
          gh.meanwhile.hook = undefined;
          await h.pin('1.0.1', 'errors in prod');
        }
      };
      const updated = await h.run();
      expect(ready(updated).message).toMatch(/^pull request #1 updated/);
      expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
        'app:1.0.2 #',
      );
      const list = await h.promotionList();
      const pinned = list.find(
        p => p.history[0].note === 'pinned at 1.0.1: errors in prod',
      )!;
      expect(pinned).toMatchObject({ state: 'failed', to: { tag: '1.0.1' } });
      expect(pinned.history.at(-1)).toEqual(
        expect.objectContaining({
          state: 'failed',
          note: 'decided 1.0.1 after the pull request was updated with 1.0.2: written on the next pass',
        }),
      );
      expect(updated.events).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'PromotionFailed',
        }),
      );

      // The next pass decides again and writes the pin: the pull request goes back to 1.0.1.
      const next = await h.run();
      expect(ready(next).message).toMatch(/^pull request #1 updated/);
      expect(next.status.pullRequest).toMatchObject({
        versions: { app: '1.0.1' },
        promotions: [pinned.id],
      });
      expect((await h.view(pinned.id)).state).toBe('applying');
      expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
        'app:1.0.1 #',
      );
    });
  });

  it('leaves the pull request at the version a pin holds when a newer one is selected, without a call to the host', async () => {
    await onGitHub('acme/pinned-carried', {}, async (h, gh, repo) => {
      await h.select('1.0.1');
      const opened = await h.run();
      expect(ready(opened).message).toMatch(/^pull request #1 opened/);
      const head = await gh.headOf(BRANCH);
      // Pinned at what the pull request carries, then 1.0.2 is selected: the pin decides, and the
      // pull request already proposes it.
      await h.pin('1.0.1', 'hold while we test');
      await h.select('1.0.2');
      const from = gh.requests.length;
      const result = await h.run();
      expect(ready(result)).toMatchObject({
        status: 'True',
        message: expect.stringMatching(/^pull request #1 open \(/),
      });
      expect(callsSince(gh, from, repo)).toEqual([]);
      expect(await gh.headOf(BRANCH)).toBe(head);
      expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
        'app:1.0.1 #',
      );
      expect(result.status.pullRequest).toMatchObject({
        number: 1,
        state: 'open',
        versions: { app: '1.0.1' },
      });
    });
  });

  it('sends no request and no credential to a pull-request API the platform did not list', async () => {
    const repo = 'acme/abuse';
    await git.createRepository(repo, {
      'deploy/app.yaml': deployment('1.0.0'),
    });
    const gh = await gitHubStandIn(repo);
    // Listed: only some other host; and a GitLab entry for a different host.
    const h = await harness(repo, gh, {
      pullRequests: [
        { host: 'github.com', type: 'github' },
        {
          host: 'gitlab.example.com',
          type: 'gitlab',
          apiBaseUrl: gh.apiBaseUrl,
        },
      ],
    });
    try {
      await h.select('3.0.0');
      const result = await h.run();
      expect(ready(result)).toMatchObject({
        status: 'False',
        reason: 'PullRequestHostNotAllowed',
      });
      expect(ready(result).message).toContain(
        `host '${
          new URL(git.baseUrl).host
        }' is not in imageAutomation.git.pullRequests`,
      );
      expect(gh.requests).toEqual([]);
      // Nothing was pushed either.
      expect(await gh.headOf(BRANCH)).toBeUndefined();
      expect(JSON.stringify([result, h.logs])).not.toContain(TOKEN);
    } finally {
      await h.stop();
      await gh.close();
    }
  });
});
