/**
 * Pull-request mode of ImageUpdateAutomation (issue #19) on GitLab, through the reconciler: the
 * pushes go to the test bed's real Git server, and the merge requests API is a local **stand-in**
 * for GitLab (it cannot run here) serving the recorded API v4 contract (merge requests by source
 * branch, create, update, notes, close by `state_event`, approvals, head pipeline, users by user
 * name), backed by the real repository: a merge request's `sha` is the branch's commit on the Git
 * server, and a fast-forward merge made "as a person" moves `main` there.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  BRANCH,
  deployment,
  pullRequestHarness,
  ready,
} from './pullRequestHarness';

jest.setTimeout(180_000);

const TOKEN = 'glpat-standInSecret0123';
let git: TestGitServer;

beforeAll(async () => {
  git = await startGitServer({ users: { bot: TOKEN } });
});

afterAll(async () => {
  await git?.stop();
});

interface Mr {
  iid: number;
  state: 'opened' | 'closed' | 'merged';
  title: string;
  description: string;
  source_branch: string;
  target_branch: string;
  labels: string[];
  reviewer_ids: number[];
  notes: string[];
  merge_commit_sha: string | null;
}

async function gitLabStandIn(repo: string) {
  const mrs: Mr[] = [];
  const approvals = new Map<number, string[]>();
  const pipelines = new Map<string, string>();
  const users = [{ id: 41, username: 'ann' }];
  const requests: Array<{
    method: string;
    path: string;
    query: string;
    token?: string;
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
  const view = async (mr: Mr, origin: string) => {
    const sha = (await headOf(mr.source_branch)) ?? null;
    return {
      iid: mr.iid,
      web_url: `${origin}/${repo}/-/merge_requests/${mr.iid}`,
      state: mr.state,
      title: mr.title,
      description: mr.description,
      source_branch: mr.source_branch,
      target_branch: mr.target_branch,
      labels: mr.labels,
      sha,
      merge_commit_sha: mr.merge_commit_sha,
      squash_commit_sha: null,
      head_pipeline:
        sha && pipelines.has(sha)
          ? { id: 1, sha, status: pipelines.get(sha) }
          : null,
    };
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length
      ? JSON.parse(Buffer.concat(chunks).toString())
      : undefined;
    const origin = `http://${req.headers.host}`;
    const url = new URL(req.url!, origin);
    const raw = req.url!.split('?')[0];
    requests.push({
      method: req.method!,
      path: raw,
      query: url.search,
      token: req.headers['private-token'] as string | undefined,
      authorization: req.headers.authorization,
      body,
    });
    const send = (status: number, payload?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (req.headers['private-token'] !== TOKEN)
      return send(401, { message: '401 Unauthorized' });
    if (raw === '/api/v4/users')
      return send(
        200,
        users.filter(u => u.username === url.searchParams.get('username')),
      );
    const prefix = `/api/v4/projects/${encodeURIComponent(repo)}`;
    if (!raw.startsWith(prefix))
      return send(404, { message: '404 Project Not Found' });
    const path = raw.slice(prefix.length);
    let n: RegExpMatchArray | null;
    const find = (iid: string) => mrs.find(m => m.iid === Number(iid));
    if (path === '/merge_requests' && req.method === 'GET') {
      const matching = mrs.filter(
        m =>
          m.state === url.searchParams.get('state') &&
          m.source_branch === url.searchParams.get('source_branch') &&
          m.target_branch === url.searchParams.get('target_branch'),
      );
      return send(200, await Promise.all(matching.map(m => view(m, origin))));
    }
    if (path === '/merge_requests' && req.method === 'POST') {
      if (!(await headOf(body.source_branch)))
        return send(400, { message: ['Source branch does not exist'] });
      const mr: Mr = {
        iid: mrs.length + 1,
        state: 'opened',
        title: body.title,
        description: body.description,
        source_branch: body.source_branch,
        target_branch: body.target_branch,
        labels: body.labels ? String(body.labels).split(',') : [],
        reviewer_ids: body.reviewer_ids ?? [],
        notes: [],
        merge_commit_sha: null,
      };
      mrs.push(mr);
      return send(201, await view(mr, origin));
    }
    if ((n = path.match(/^\/merge_requests\/(\d+)$/))) {
      const mr = find(n[1]);
      if (!mr) return send(404, { message: '404 Not found' });
      if (req.method === 'PUT') {
        if (body.title !== undefined) mr.title = body.title;
        if (body.description !== undefined) mr.description = body.description;
        if (body.state_event === 'close') mr.state = 'closed';
      }
      return send(200, await view(mr, origin));
    }
    if ((n = path.match(/^\/merge_requests\/(\d+)\/approvals$/))) {
      return send(200, {
        approved_by: (approvals.get(Number(n[1])) ?? []).map(username => ({
          user: { username },
        })),
      });
    }
    if (
      (n = path.match(/^\/merge_requests\/(\d+)\/notes$/)) &&
      req.method === 'POST'
    ) {
      find(n[1])!.notes.push(body.body);
      return send(201, { id: 1 });
    }
    return send(404, { message: '404 Not Found' });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    apiBaseUrl: `http://127.0.0.1:${port}/api/v4`,
    mrs,
    approvals,
    pipelines,
    requests,
    headOf,
    /** A fast-forward merge as a person would make it: `main` moves to the head; no merge commit. */
    async fastForward(iid: number): Promise<string> {
      const mr = mrs.find(m => m.iid === iid)!;
      const head = (await headOf(mr.source_branch))!;
      await git.git(repo, [
        'merge-base',
        '--is-ancestor',
        `refs/heads/${mr.target_branch}`,
        head,
      ]);
      await git.git(repo, [
        'update-ref',
        `refs/heads/${mr.target_branch}`,
        head,
      ]);
      mr.state = 'merged';
      return head;
    },
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

describe('pull-request mode on GitLab (API stand-in) with pushes to the real test-bed Git server', () => {
  it('opens a merge request for a project in nested groups, updates it, counts an approval, and applies the promotion on a fast-forward merge', async () => {
    const repo = 'platform/apps/shop';
    await git.createRepository(repo, {
      'deploy/app.yaml': deployment('1.0.0'),
    });
    const gl = await gitLabStandIn(repo);
    const h = await pullRequestHarness({
      git,
      repo,
      credential: { username: 'bot', password: TOKEN },
      insecureHosts: [gl.host],
      pullRequests: [
        {
          host: new URL(git.baseUrl).host,
          type: 'gitlab',
          apiBaseUrl: gl.apiBaseUrl,
          reviewsApprove: true,
        },
      ],
    });
    const annotations = {
      'promotion.image-automation.io/approvals': '1',
      'image-automation.io/pull-request-labels': 'dependencies',
      'image-automation.io/pull-request-reviewers': 'ann',
    };
    const project = `/api/v4/projects/${encodeURIComponent(repo)}`;
    try {
      await h.select('1.0.1');
      const first = await h.run(annotations);
      expect(ready(first)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      expect(first.status.pullRequest).toMatchObject({
        number: 1,
        state: 'open',
        url: `http://${gl.host}/${repo}/-/merge_requests/1`,
      });
      expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
        'app:1.0.1 #',
      );
      expect(gl.requests.map(r => `${r.method} ${r.path}`)).toEqual([
        `GET ${project}/merge_requests`,
        'GET /api/v4/users',
        `POST ${project}/merge_requests`,
      ]);
      expect(gl.requests[0].query).toBe(
        `?state=opened&source_branch=${encodeURIComponent(
          BRANCH,
        )}&target_branch=main&per_page=1`,
      );
      expect(gl.requests[2].body).toMatchObject({
        source_branch: BRANCH,
        target_branch: 'main',
        labels: 'dependencies',
        reviewer_ids: [41],
      });
      expect(gl.requests[2].body.description).toContain(
        '(`apps:app`): `registry.example.com/team/app:1.0.0` → `registry.example.com/team/app:1.0.1`',
      );
      let [promotion] = await h.promotionList();
      expect(promotion.state).toBe('pending');
      expect((await h.view(promotion.id)).pullRequest).toMatchObject({
        number: 1,
        host: gl.host,
        state: 'open',
      });

      // A newer version: the same merge request, updated with one call and nothing read before it
      // (its answer says it is still open); no listing.
      await h.select('1.0.2');
      let from = gl.requests.length;
      const second = await h.run(annotations);
      expect(ready(second).status).toBe('True');
      expect(gl.requests.slice(from).map(r => `${r.method} ${r.path}`)).toEqual(
        [`PUT ${project}/merge_requests/1`],
      );
      expect(gl.mrs[0].description).toContain('- app: 1.0.1 → 1.0.2');
      expect(await git.readFile(repo, BRANCH, 'deploy/app.yaml')).toContain(
        'app:1.0.2 #',
      );

      // ann approves and the head pipeline passes: the approval gate passes.
      const head = (await gl.headOf(BRANCH))!;
      gl.approvals.set(1, ['ann']);
      gl.pipelines.set(head, 'success');
      from = gl.requests.length;
      const approved = await h.run(annotations);
      expect(ready(approved).status).toBe('True');
      promotion = (await h.promotionList()).find(p => p.to.tag === '1.0.2')!;
      expect(promotion.state).toBe('applying');
      expect((await h.view(promotion.id)).votes).toEqual([
        expect.objectContaining({
          actor: `review:${gl.host}/ann`,
          decision: 'approve',
        }),
      ]);
      expect((await h.view(promotion.id)).pullRequest).toMatchObject({
        state: 'open',
        approvedBy: ['ann'],
        checks: 'success',
      });
      // The head pipeline came with the merge request already read: no extra read for it.
      expect(
        gl.requests
          .slice(from)
          .filter(
            r => r.path === `${project}/merge_requests/1` && r.method === 'GET',
          ),
      ).toHaveLength(1);

      // Fast-forward merge: no merge commit; the head is what main got, and the promotion's commit.
      const merged = await gl.fastForward(1);
      const after = await h.run(annotations);
      expect(ready(after)).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      expect(after.status.pullRequest).toMatchObject({
        state: 'merged',
        mergeCommit: merged,
      });
      const view = await h.view(promotion.id);
      expect(view).toMatchObject({ state: 'applied', commit: merged });
      expect(view.pullRequest).toMatchObject({
        state: 'merged',
        mergeCommit: merged,
        approvedBy: ['ann'],
      });

      expect(new Set(gl.requests.map(r => r.token))).toEqual(new Set([TOKEN]));
      expect(
        JSON.stringify([
          first,
          second,
          approved,
          after,
          await h.promotionList(),
          view,
          h.logs,
        ]),
      ).not.toContain(TOKEN);
    } finally {
      await h.stop();
      await gl.close();
    }
  });

  it('closes its merge request with a note when main reaches the version another way', async () => {
    const repo = 'platform/apps/elsewhere';
    await git.createRepository(repo, {
      'deploy/app.yaml': deployment('1.0.0'),
    });
    const gl = await gitLabStandIn(repo);
    const h = await pullRequestHarness({
      git,
      repo,
      credential: { username: 'bot', password: TOKEN },
      insecureHosts: [gl.host],
      pullRequests: [
        {
          host: new URL(git.baseUrl).host,
          type: 'gitlab',
          apiBaseUrl: gl.apiBaseUrl,
        },
      ],
    });
    try {
      await h.select('1.0.3');
      expect(ready(await h.run()).status).toBe('True');
      await git.commitFiles(
        repo,
        'main',
        { 'deploy/app.yaml': deployment('1.0.3') },
        'bump by hand',
      );
      const after = await h.run();
      expect(ready(after)).toMatchObject({
        status: 'True',
        message: 'repository up-to-date',
      });
      expect(gl.mrs[0]).toMatchObject({ state: 'closed' });
      expect(gl.mrs[0].notes.join('\n')).toContain(
        '`main` already carries what this pull request proposed (app 1.0.3)',
      );
      const [promotion] = await h.promotionList();
      expect(await h.view(promotion.id)).toMatchObject({
        state: 'applied',
        pullRequest: { number: 1, state: 'closed' },
      });
    } finally {
      await h.stop();
      await gl.close();
    }
  });
});
