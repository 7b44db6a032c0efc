import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ConfigReader } from '@backstage/config';
import { GitLabPullRequestHost } from './gitlab';
import { PullRequestApiError } from './PullRequestHost';
import {
  pullRequestHostFor,
  PullRequestHostNotAllowedError,
  readPullRequestSettings,
} from './pullRequestMode';

/**
 * GitLab cannot run here: a local **stand-in** serves the parts of the recorded merge requests API
 * v4 contract the adapter uses (merge requests by source branch, create, update, notes, close by
 * `state_event`, approvals, head pipeline, accept with auto-merge, users by user name, rate-limit
 * answers), in memory, under a sub-path (`/gitlab/api/v4`), and records every request.
 */
async function gitLabStandIn(options: { project?: string } = {}) {
  const project = options.project ?? 'platform/apps/shop';
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
    sha: string;
    merge_commit_sha: string | null;
    squash_commit_sha: string | null;
    head_pipeline: { status: string; sha: string } | null;
    auto_merge: boolean;
  }
  const mrs: Mr[] = [];
  const approvals = new Map<number, string[]>();
  const users = [
    { id: 11, username: 'ann' },
    { id: 12, username: 'bob' },
  ];
  const requests: Array<{
    method: string;
    path: string;
    query: Record<string, string>;
    headers: http.IncomingHttpHeaders;
    body?: any;
  }> = [];
  const answers: Array<{
    status: number;
    headers?: Record<string, string>;
    body: unknown;
  }> = [];
  /** How the accept (auto-merge) call is answered instead, as a repository without it would. */
  const mergeRefusal: { answer?: { status: number; body: unknown } } = {};
  const view = (mr: Mr, origin: string) => ({
    id: 1000 + mr.iid,
    iid: mr.iid,
    project_id: 7,
    web_url: `${origin}/gitlab/${project}/-/merge_requests/${mr.iid}`,
    state: mr.state,
    title: mr.title,
    description: mr.description,
    source_branch: mr.source_branch,
    target_branch: mr.target_branch,
    labels: mr.labels,
    reviewers: mr.reviewer_ids.map(id => users.find(u => u.id === id)),
    sha: mr.sha,
    merge_commit_sha: mr.merge_commit_sha,
    squash_commit_sha: mr.squash_commit_sha,
    head_pipeline: mr.head_pipeline,
    merge_when_pipeline_succeeds: mr.auto_merge,
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
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
    });
    const send = (
      status: number,
      payload?: unknown,
      headers: Record<string, string> = {},
    ) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    const answer = answers.shift();
    if (answer) return send(answer.status, answer.body, answer.headers);
    if (
      req.headers['private-token'] !== 'glpat-sekret' &&
      req.headers.authorization !== 'Bearer oauth-sekret'
    ) {
      return send(401, { message: '401 Unauthorized' });
    }
    // GitLab's project id in a path: the full path with its slashes encoded (`%2F`).
    const prefix = `/gitlab/api/v4/projects/${encodeURIComponent(project)}`;
    const raw = req.url!.split('?')[0];
    if (raw === '/gitlab/api/v4/users' && req.method === 'GET') {
      return send(
        200,
        users.filter(u => u.username === url.searchParams.get('username')),
      );
    }
    if (!raw.startsWith(prefix))
      return send(404, { message: '404 Project Not Found' });
    const path = raw.slice(prefix.length);
    let n: RegExpMatchArray | null;
    if (path === '/merge_requests' && req.method === 'GET') {
      const state = url.searchParams.get('state');
      return send(
        200,
        mrs
          .filter(
            m =>
              (!state || m.state === state) &&
              m.source_branch === url.searchParams.get('source_branch') &&
              m.target_branch === url.searchParams.get('target_branch'),
          )
          .map(m => view(m, origin)),
      );
    }
    if (path === '/merge_requests' && req.method === 'POST') {
      if (!body.title)
        return send(400, { message: { title: ["can't be blank"] } });
      if (
        mrs.some(
          m => m.state === 'opened' && m.source_branch === body.source_branch,
        )
      ) {
        return send(409, {
          message: [
            `Another open merge request already exists for this source branch: !1`,
          ],
        });
      }
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
        sha: `head-${mrs.length + 1}`,
        merge_commit_sha: null,
        squash_commit_sha: null,
        head_pipeline: null,
        auto_merge: false,
      };
      mrs.push(mr);
      return send(201, view(mr, origin));
    }
    n = path.match(/^\/merge_requests\/(\d+)$/);
    if (n) {
      const mr = mrs.find(m => m.iid === Number(n![1]));
      if (!mr) return send(404, { message: '404 Not found' });
      if (req.method === 'PUT') {
        if (body.title !== undefined) mr.title = body.title;
        if (body.description !== undefined) mr.description = body.description;
        if (body.state_event === 'close') mr.state = 'closed';
      }
      return send(200, view(mr, origin));
    }
    n = path.match(/^\/merge_requests\/(\d+)\/notes$/);
    if (n && req.method === 'POST') {
      mrs.find(m => m.iid === Number(n![1]))!.notes.push(body.body);
      return send(201, { id: 1, body: body.body });
    }
    n = path.match(/^\/merge_requests\/(\d+)\/approvals$/);
    if (n) {
      return send(200, {
        approved: (approvals.get(Number(n[1])) ?? []).length > 0,
        approved_by: (approvals.get(Number(n[1])) ?? []).map(username => ({
          user: { username },
        })),
      });
    }
    n = path.match(/^\/merge_requests\/(\d+)\/merge$/);
    if (n && req.method === 'PUT') {
      const mr = mrs.find(m => m.iid === Number(n![1]))!;
      if (mergeRefusal.answer)
        return send(mergeRefusal.answer.status, mergeRefusal.answer.body);
      if (body.sha && body.sha !== mr.sha)
        return send(409, {
          message: 'SHA does not match HEAD of source branch',
        });
      mr.auto_merge = true;
      return send(200, view(mr, origin));
    }
    return send(404, { message: '404 Not Found' });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    apiBaseUrl: `http://127.0.0.1:${port}/gitlab/api/v4`,
    repositoryUrl: `http://127.0.0.1:${port}/gitlab/${project}.git`,
    mrs,
    approvals,
    requests,
    answers,
    mergeRefusal,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

const token = {
  type: 'basic' as const,
  username: 'bot',
  password: 'glpat-sekret',
};

describe('GitLabPullRequestHost against a GitLab stand-in', () => {
  it('finds, opens (labels, reviewers by id, auto-merge), updates, reads approvals and the head pipeline, closes with a note, and reads a merge', async () => {
    const gl = await gitLabStandIn();
    try {
      const host = new GitLabPullRequestHost({
        apiBaseUrl: gl.apiBaseUrl,
        project: 'platform/apps/shop',
        auth: token,
      });
      expect(host.host).toBe(gl.host);
      expect(
        await host.findOpen('image-automation/apps/web', 'main'),
      ).toBeUndefined();
      const opened = await host.open({
        head: 'image-automation/apps/web',
        base: 'main',
        title: 'Update web',
        body: 'body',
        labels: ['deps', 'images'],
        reviewers: ['ann', 'bob'],
        autoMerge: true,
      });
      expect(opened).toEqual({
        number: 1,
        url: `http://${gl.host}/gitlab/platform/apps/shop/-/merge_requests/1`,
        autoMerge: true,
      });
      expect(gl.mrs[0]).toMatchObject({
        labels: ['deps', 'images'],
        reviewer_ids: [11, 12],
        auto_merge: true,
        description: 'body',
      });

      // The recorded contract: the project id is the URL-encoded path; labels a comma-separated
      // string; reviewers user ids looked up by user name; auto-merge on accept, for the head.
      const sent = gl.requests.map(r => `${r.method} ${r.path}`);
      expect(sent).toEqual([
        'GET /gitlab/api/v4/projects/platform%2Fapps%2Fshop/merge_requests',
        'GET /gitlab/api/v4/users',
        'GET /gitlab/api/v4/users',
        'POST /gitlab/api/v4/projects/platform%2Fapps%2Fshop/merge_requests',
        'PUT /gitlab/api/v4/projects/platform%2Fapps%2Fshop/merge_requests/1/merge',
      ]);
      expect(gl.requests[0].query).toEqual({
        state: 'opened',
        source_branch: 'image-automation/apps/web',
        target_branch: 'main',
        per_page: '1',
      });
      expect(gl.requests[1].query).toEqual({ username: 'ann' });
      expect(gl.requests[3].body).toEqual({
        source_branch: 'image-automation/apps/web',
        target_branch: 'main',
        title: 'Update web',
        description: 'body',
        labels: 'deps,images',
        reviewer_ids: [11, 12],
      });
      expect(gl.requests[4].body).toEqual({
        auto_merge: true,
        merge_when_pipeline_succeeds: true,
        sha: 'head-1',
      });

      expect(await host.findOpen('image-automation/apps/web', 'main')).toEqual({
        number: 1,
        url: opened.url,
      });
      await host.update(1, {
        title: 'Update web to 2',
        body: 'changed since: 1 → 2',
      });
      expect(gl.requests.at(-1)).toMatchObject({
        method: 'PUT',
        body: { title: 'Update web to 2', description: 'changed since: 1 → 2' },
      });
      expect(gl.mrs[0]).toMatchObject({
        title: 'Update web to 2',
        description: 'changed since: 1 → 2',
      });

      // Approvals and the head pipeline: the pipeline from the merge request just read (no extra call).
      gl.approvals.set(1, ['bob', 'ann']);
      gl.mrs[0].head_pipeline = { status: 'running', sha: 'head-1' };
      const state = await host.get(1);
      expect(state).toEqual({
        number: 1,
        url: opened.url,
        state: 'open',
        headSha: 'head-1',
      });
      const before = gl.requests.length;
      expect(await host.reviews(1, state.headSha)).toEqual({
        approvedBy: ['ann', 'bob'],
        changesRequestedBy: [],
        checks: 'pending',
      });
      expect(gl.requests.length - before).toBe(1);
      gl.mrs[0].head_pipeline = { status: 'failed', sha: 'head-1' };
      // Another head than the one read: the merge request is read again for its pipeline.
      gl.mrs[0].sha = 'head-2';
      gl.mrs[0].head_pipeline = { status: 'success', sha: 'head-2' };
      expect((await host.reviews(1, 'head-2')).checks).toBe('success');
      expect(await host.reviews(1)).toEqual({
        approvedBy: ['ann', 'bob'],
        changesRequestedBy: [],
        checks: 'none',
      });

      await host.closeWithComment(1, 'main already carries 2');
      expect(
        gl.requests.slice(-2).map(r => [r.method, r.path, r.body]),
      ).toEqual([
        [
          'POST',
          '/gitlab/api/v4/projects/platform%2Fapps%2Fshop/merge_requests/1/notes',
          { body: 'main already carries 2' },
        ],
        [
          'PUT',
          '/gitlab/api/v4/projects/platform%2Fapps%2Fshop/merge_requests/1',
          { state_event: 'close' },
        ],
      ]);
      expect(gl.mrs[0]).toMatchObject({
        state: 'closed',
        notes: ['main already carries 2'],
      });
      expect(await host.get(1)).toMatchObject({ state: 'closed' });

      gl.mrs[0].state = 'merged';
      gl.mrs[0].merge_commit_sha = 'cafe';
      expect(await host.get(1)).toMatchObject({
        state: 'merged',
        mergeCommit: 'cafe',
      });
      // Fast-forward merge: no merge commit, the head is what the target got.
      gl.mrs[0].merge_commit_sha = null;
      expect(await host.get(1)).toMatchObject({
        state: 'merged',
        mergeCommit: 'head-2',
      });

      expect(new Set(gl.requests.map(r => r.headers['private-token']))).toEqual(
        new Set(['glpat-sekret']),
      );
      expect(
        gl.requests.every(r => r.headers.authorization === undefined),
      ).toBe(true);
      expect(host.calls).toBe(gl.requests.length);
    } finally {
      await gl.close();
    }
  });

  it('sends an OAuth token (oauth2 user, or a bearer credential) as a bearer token', async () => {
    const gl = await gitLabStandIn();
    try {
      for (const auth of [
        {
          type: 'basic' as const,
          username: 'oauth2',
          password: 'oauth-sekret',
        },
        { type: 'bearer' as const, token: 'oauth-sekret' },
      ]) {
        const host = new GitLabPullRequestHost({
          apiBaseUrl: gl.apiBaseUrl,
          project: 'platform/apps/shop',
          auth,
        });
        expect(await host.findOpen('b', 'main')).toBeUndefined();
        expect(gl.requests.at(-1)!.headers).toMatchObject({
          authorization: 'Bearer oauth-sekret',
        });
        expect(gl.requests.at(-1)!.headers['private-token']).toBeUndefined();
      }
    } finally {
      await gl.close();
    }
  });

  it('waits out a short 429 once, fails a long one and a 403 naming host and status, and opens without auto-merge when GitLab refuses it', async () => {
    const gl = await gitLabStandIn();
    try {
      const host = new GitLabPullRequestHost({
        apiBaseUrl: gl.apiBaseUrl,
        project: 'platform/apps/shop',
        auth: token,
      });
      gl.answers.push({
        status: 429,
        headers: { 'retry-after': '1' },
        body: { message: 'Retry later' },
      });
      const started = Date.now();
      await host.open({ head: 'b', base: 'main', title: 't', body: 'b' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(gl.mrs).toHaveLength(1);

      gl.answers.push({
        status: 429,
        headers: { 'retry-after': '600' },
        body: { message: 'Retry later' },
      });
      const limited = await host.get(1).catch(e => e);
      expect(limited).toBeInstanceOf(PullRequestApiError);
      expect(limited.message).toBe(
        `${gl.host}: reading merge request !1 failed with HTTP 429: rate limited, retry after 600s: Retry later`,
      );
      expect(limited.retryAfterMs).toBe(600_000);

      gl.answers.push({ status: 403, body: { message: '403 Forbidden' } });
      const forbidden = await host
        .update(1, { title: 't', body: 'b' })
        .catch(e => e);
      expect(forbidden.message).toBe(
        `${gl.host}: updating merge request !1 failed with HTTP 403: 403 Forbidden`,
      );
      expect(forbidden.status).toBe(403);

      // GitLab's field errors are an object: named as they came.
      const blank = await host
        .open({ head: 'c', base: 'main', title: '', body: 'b' })
        .catch(e => e);
      expect(blank.message).toBe(
        `${gl.host}: opening a merge request failed with HTTP 400: {"title":["can't be blank"]}`,
      );

      // An unknown reviewer: nothing is opened, the error names the user.
      const unknown = await host
        .open({
          head: 'd',
          base: 'main',
          title: 't',
          body: 'b',
          reviewers: ['mallory'],
        })
        .catch(e => e);
      expect(unknown.message).toBe(
        `${gl.host}: looking up reviewer 'mallory' failed: no such user`,
      );
      expect(gl.mrs).toHaveLength(1);

      // Auto-merge refused (405: the merge request cannot be merged yet): open all the same, saying why.
      gl.mergeRefusal.answer = {
        status: 405,
        body: { message: '405 Method Not Allowed' },
      };
      const opened = await host.open({
        head: 'e',
        base: 'main',
        title: 't',
        body: 'b',
        autoMerge: true,
      });
      expect(opened).toMatchObject({
        number: 2,
        autoMerge: false,
        autoMergeRefused: `${gl.host}: setting auto-merge failed with HTTP 405: 405 Method Not Allowed`,
      });
      expect(gl.mrs[1].state).toBe('opened');

      // A 401 on auto-merge is not a refusal of auto-merge: it fails.
      const bad = new GitLabPullRequestHost({
        apiBaseUrl: gl.apiBaseUrl,
        project: 'platform/apps/shop',
        auth: { ...token, password: 'wrong' },
      });
      const unauthorized = await bad
        .open({
          head: 'f',
          base: 'main',
          title: 't',
          body: 'b',
          autoMerge: true,
        })
        .catch(e => e);
      expect(unauthorized.message).toBe(
        `${gl.host}: opening a merge request failed with HTTP 401: 401 Unauthorized`,
      );
      expect(
        JSON.stringify([
          limited.message,
          forbidden.message,
          unknown.message,
          opened,
          unauthorized.message,
        ]),
      ).not.toContain('sekret');
    } finally {
      await gl.close();
    }
  });
});

describe('pull-request hosts from imageAutomation.git.pullRequests', () => {
  const settings = (
    hosts: Array<Record<string, string | boolean>>,
    fetchImpl?: typeof fetch,
    insecureHosts = ['127.0.0.1'],
  ) => ({
    ...readPullRequestSettings(
      new ConfigReader({
        imageAutomation: { git: { pullRequests: hosts, insecureHosts } },
      }),
    ),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });

  it('serves a GitLab project of nested groups on a host under a sub-path, with auto-merge from the host', async () => {
    const gl = await gitLabStandIn();
    try {
      const found = pullRequestHostFor(
        settings([
          {
            host: gl.host,
            type: 'gitlab',
            apiBaseUrl: `${gl.apiBaseUrl}/`,
            autoMerge: true,
          },
        ]),
        gl.repositoryUrl,
        token,
      );
      expect(found.autoMerge).toBe(true);
      // Plain HTTP gets the credential only where git.insecureHosts allows it.
      expect(() =>
        pullRequestHostFor(
          settings(
            [{ host: gl.host, type: 'gitlab', apiBaseUrl: gl.apiBaseUrl }],
            undefined,
            [],
          ),
          gl.repositoryUrl,
          token,
        ),
      ).toThrow(
        new PullRequestHostNotAllowedError(
          `the API of '${gl.host}' (${gl.host}) is plain HTTP and not in imageAutomation.git.insecureHosts: no credential is sent over it`,
        ),
      );
      expect(found.reviewsApprove).toBe(false);
      expect(await found.host.findOpen('x', 'main')).toBeUndefined();
      expect(gl.requests.at(-1)!.path).toBe(
        '/gitlab/api/v4/projects/platform%2Fapps%2Fshop/merge_requests',
      );

      // A repository outside the sub-path, or a single segment, is no project of that GitLab.
      expect(() =>
        pullRequestHostFor(
          settings([
            { host: gl.host, type: 'gitlab', apiBaseUrl: gl.apiBaseUrl },
          ]),
          `http://${gl.host}/elsewhere/shop.git`,
          token,
        ),
      ).toThrow(
        new PullRequestHostNotAllowedError(
          `'/elsewhere/shop.git' is not a group/project path on '${gl.host}' under '/gitlab'`,
        ),
      );
      expect(() =>
        pullRequestHostFor(
          settings([{ host: gl.host, type: 'gitlab' }]),
          `http://${gl.host}/shop.git`,
          token,
        ),
      ).toThrow(/is not a group\/project path/);
      // Without apiBaseUrl: `<origin>/api/v4`, the whole path is the project.
      const plain = pullRequestHostFor(
        settings([{ host: 'gitlab.example.com', type: 'gitlab' }]),
        'https://gitlab.example.com/a/b/c.git',
        token,
      );
      expect((plain.host as unknown as { api: string }).api).toBe(
        'https://gitlab.example.com/api/v4',
      );
    } finally {
      await gl.close();
    }
  });

  it('serves Gitea and GitHub Enterprise under a sub-path', () => {
    const gitea = pullRequestHostFor(
      settings([
        {
          host: 'git.example.com',
          type: 'gitea',
          apiBaseUrl: 'https://git.example.com/gitea/api/v1',
        },
      ]),
      'https://git.example.com/gitea/team/app.git',
      token,
    );
    expect((gitea.host as unknown as { api: string }).api).toBe(
      'https://git.example.com/gitea/api/v1/repos/team/app',
    );
    const ghe = pullRequestHostFor(
      settings([
        {
          host: 'ghe.example.com',
          type: 'github',
          apiBaseUrl: 'https://ghe.example.com/code/api/v3',
        },
      ]),
      'https://ghe.example.com/code/team/app',
      token,
    );
    expect((ghe.host as unknown as { api: string }).api).toBe(
      'https://ghe.example.com/code/api/v3/repos/team/app',
    );
    expect(() =>
      pullRequestHostFor(
        settings([
          {
            host: 'ghe.example.com',
            type: 'github',
            apiBaseUrl: 'https://ghe.example.com/code/api/v3',
          },
        ]),
        'https://ghe.example.com/team/app',
        token,
      ),
    ).toThrow(
      /is not an owner\/repository path on 'ghe.example.com' under '\/code'/,
    );
  });

  it('never calls nor sends a credential to a GitLab host that is not in the list (fails closed, also when the list is empty)', async () => {
    const gl = await gitLabStandIn();
    try {
      let calls = 0;
      const counting: typeof fetch = (...args) => {
        calls++;
        return fetch(...args);
      };
      for (const hosts of [
        [],
        [{ host: 'gitlab.example.com', type: 'gitlab' }],
        [{ host: gl.host.replace(/:\d+$/, ''), type: 'gitlab' }],
      ]) {
        expect(() =>
          pullRequestHostFor(
            settings(hosts, counting),
            gl.repositoryUrl,
            token,
          ),
        ).toThrow(
          new PullRequestHostNotAllowedError(
            `host '${gl.host}' is not in imageAutomation.git.pullRequests: no pull request is opened and no API call is made`,
          ),
        );
      }
      expect(() =>
        pullRequestHostFor(undefined, gl.repositoryUrl, token),
      ).toThrow(PullRequestHostNotAllowedError);
      // An SSH key is never sent as an API token.
      expect(() =>
        pullRequestHostFor(
          settings([{ host: gl.host, type: 'gitlab' }]),
          gl.repositoryUrl,
          { type: 'ssh', privateKey: 'k' } as never,
        ),
      ).toThrow(/need an HTTPS credential/);
      expect(calls).toBe(0);
      expect(gl.requests).toEqual([]);
    } finally {
      await gl.close();
    }
  });

  it('refuses repository paths with dot segments, which would move the API call elsewhere on the host', () => {
    for (const [type, url] of [
      ['github', 'https://github.com/%2e%2e/x'],
      ['gitea', 'https://github.com/acme/%2E'],
      ['gitlab', 'https://github.com/group/%2e%2e/x'],
      ['azure-devops', 'https://github.com/acme/%2e%2e/_git/app'],
    ]) {
      expect(() =>
        pullRequestHostFor(
          settings([{ host: 'github.com', type }]),
          url,
          token,
        ),
      ).toThrow(PullRequestHostNotAllowedError);
    }
  });

  it('refuses an unknown host type and an apiBaseUrl that is not a plain http(s) URL', () => {
    expect(() => settings([{ host: 'h', type: 'bitbucket' }])).toThrow(
      "type 'bitbucket' is not supported (supported: gitea, github, gitlab, azure-devops)",
    );
    expect(() =>
      settings([{ host: 'h', type: 'gitlab', apiBaseUrl: 'ftp://h/api/v4' }]),
    ).toThrow("apiBaseUrl 'ftp://h/api/v4' of 'h' is not an http(s) URL");
    expect(() =>
      settings([
        { host: 'h', type: 'gitlab', apiBaseUrl: 'https://u:p@h/api/v4' },
      ]),
    ).toThrow(/is not an http\(s\) URL without query or credentials/);
  });
});
