import http from 'node:http';
import { AddressInfo } from 'node:net';
import { GiteaPullRequestHost } from './gitea';
import { PullRequestApiError } from './PullRequestHost';
import { ConfigReader } from '@backstage/config';
import {
  pullRequestHostFor,
  pullRequestOptions,
  PullRequestHostNotAllowedError,
  readPullRequestSettings,
} from './pullRequestMode';

/**
 * Rate limiting cannot be provoked on the test Gitea on demand: a local server answers with the
 * status and headers Gitea (and its reverse proxies) send when limiting; the full flow runs
 * against the real Gitea in test/src/git/pullRequests.test.ts.
 */
async function server(
  answers: Array<{
    status: number;
    headers?: Record<string, string>;
    body?: unknown;
  }>,
) {
  const seen: Array<{ method?: string; url?: string; authorization?: string }> =
    [];
  const srv = http.createServer((req, res) => {
    seen.push({
      method: req.method,
      url: req.url,
      authorization: req.headers.authorization,
    });
    const answer = answers.shift() ?? { status: 500 };
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      ...answer.headers,
    });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise(resolve => srv.close(resolve)),
  };
}

const pr = {
  number: 7,
  html_url: 'http://x/o/r/pulls/7',
  state: 'open',
  merged: false,
  head: { sha: 'abc' },
};

describe('GiteaPullRequestHost', () => {
  it('waits out a short Retry-After once, then succeeds', async () => {
    const s = await server([
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200, body: { ...pr, state: 'closed' } },
    ]);
    try {
      const host = new GiteaPullRequestHost({
        baseUrl: s.url,
        owner: 'o',
        repo: 'r',
        auth: { type: 'bearer', token: 'sekret' },
      });
      const started = Date.now();
      const state = await host.get(7);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(state.state).toBe('closed');
      expect(host.calls).toBe(2);
      expect(s.seen.map(r => r.authorization)).toEqual([
        'token sekret',
        'token sekret',
      ]);
    } finally {
      await s.close();
    }
  });

  it('fails a long rate limit at once, naming the host, the status and the wait, never the token', async () => {
    const s = await server([
      {
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'retry-after': '3600' },
        body: { message: 'API rate limit exceeded' },
      },
    ]);
    try {
      const host = new GiteaPullRequestHost({
        baseUrl: s.url,
        owner: 'o',
        repo: 'r',
        auth: { type: 'basic', username: 'bot', password: 'sekret' },
      });
      const error = await host
        .update(7, { title: 't', body: 'b' })
        .catch(e => e);
      expect(error).toBeInstanceOf(PullRequestApiError);
      expect(error.message).toBe(
        `${
          new URL(s.url).host
        }: updating pull request #7 failed with HTTP 403: rate limited, retry after 3600s: API rate limit exceeded`,
      );
      expect(error.retryAfterMs).toBe(3_600_000);
      expect(error.message).not.toContain('sekret');
      expect(s.seen).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it("answers an update with the pull request's state and merge commit, in one call", async () => {
    const s = await server([
      {
        status: 201,
        body: {
          ...pr,
          state: 'closed',
          merged: true,
          merge_commit_sha: 'f00d',
        },
      },
      { status: 201, body: '' },
    ]);
    try {
      const host = new GiteaPullRequestHost({
        baseUrl: s.url,
        owner: 'o',
        repo: 'r',
      });
      expect(await host.update(7, { title: 't', body: 'b' })).toEqual({
        number: 7,
        url: 'http://x/o/r/pulls/7',
        state: 'merged',
        mergeCommit: 'f00d',
        headSha: 'abc',
      });
      expect(s.seen).toEqual([
        expect.objectContaining({
          method: 'PATCH',
          url: '/api/v1/repos/o/r/pulls/7',
        }),
      ]);
      // An answer without the pull request is refused, naming the host and the call.
      const error = await host
        .update(7, { title: 't', body: 'b' })
        .catch(e => e);
      expect(error).toBeInstanceOf(PullRequestApiError);
      expect(error.message).toBe(
        `${
          new URL(s.url).host
        }: updating pull request #7 failed: the answer does not carry the pull request and its state`,
      );
    } finally {
      await s.close();
    }
  });

  it('reads reviews (latest per reviewer, dismissed ignored) and the combined checks', async () => {
    const s = await server([
      { status: 200, body: pr },
      {
        status: 200,
        body: [
          { state: 'REQUEST_CHANGES', user: { login: 'ann' } },
          { state: 'APPROVED', user: { login: 'ann' } },
          { state: 'APPROVED', user: { login: 'bob' }, dismissed: true },
          { state: 'REQUEST_CHANGES', user: { login: 'cy' } },
          { state: 'COMMENT', user: { login: 'dee' } },
        ],
      },
      { status: 200, body: { state: 'pending', total_count: 2 } },
    ]);
    try {
      const host = new GiteaPullRequestHost({
        baseUrl: s.url,
        owner: 'o',
        repo: 'r',
      });
      const state = await host.get(7);
      expect(state).toMatchObject({ state: 'open', headSha: 'abc' });
      expect(await host.reviews(7, state.headSha)).toEqual({
        approvedBy: ['ann'],
        changesRequestedBy: ['cy'],
        checks: 'pending',
      });
      expect(s.seen.map(r => r.url)).toEqual([
        '/api/v1/repos/o/r/pulls/7',
        '/api/v1/repos/o/r/pulls/7/reviews?limit=50',
        '/api/v1/repos/o/r/commits/abc/status',
      ]);
      expect(s.seen[0].authorization).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});

describe('pull-request mode settings', () => {
  const target = { namespace: 'apps', name: 'web' };

  it('is off unless annotated, and names the per-target branch', () => {
    expect(
      pullRequestOptions(undefined, target, 'main', undefined),
    ).toBeUndefined();
    expect(
      pullRequestOptions(
        { 'image-automation.io/pull-request': 'false' },
        target,
        'main',
        undefined,
      ),
    ).toBeUndefined();
    expect(
      pullRequestOptions(
        { 'image-automation.io/pull-request': 'true' },
        target,
        'main',
        'main',
      ),
    ).toMatchObject({
      branch: 'image-automation/apps/web',
      base: 'main',
    });
    expect(
      pullRequestOptions(
        { 'image-automation.io/pull-request': 'true' },
        target,
        'main',
        'updates/web',
      )?.branch,
    ).toBe('updates/web');
  });

  it('refuses what it cannot honour, naming the annotation', () => {
    expect(() =>
      pullRequestOptions(
        { 'image-automation.io/pull-request': 'yes' },
        target,
        'main',
        undefined,
      ),
    ).toThrow(
      "image-automation.io/pull-request: 'yes' is neither 'true' nor 'false'",
    );
    expect(() =>
      pullRequestOptions(
        { 'image-automation.io/pull-request': 'true' },
        target,
        undefined,
        undefined,
      ),
    ).toThrow(/need a checkout branch/);
    expect(() =>
      pullRequestOptions(
        {
          'image-automation.io/pull-request': 'true',
          'image-automation.io/pull-request-reviewers': 'ann,../admin',
        },
        target,
        'main',
        undefined,
      ),
    ).toThrow(
      "image-automation.io/pull-request-reviewers: '../admin' is not a user name",
    );
  });

  it('reads the allow-list and refuses a host type without an adapter at startup', () => {
    expect(
      readPullRequestSettings(
        new ConfigReader({
          app: { baseUrl: 'https://backstage.acme' },
          imageAutomation: {
            git: { pullRequests: [{ host: 'Gitea.Acme', type: 'gitea' }] },
          },
        }),
      ),
    ).toEqual({
      hosts: [{ host: 'gitea.acme', type: 'gitea', reviewsApprove: false }],
      appBaseUrl: 'https://backstage.acme',
      insecureHosts: [],
    });
    expect(readPullRequestSettings(new ConfigReader({})).hosts).toEqual([]);
    expect(() =>
      readPullRequestSettings(
        new ConfigReader({
          imageAutomation: {
            git: {
              pullRequests: [{ host: 'bitbucket.org', type: 'bitbucket' }],
            },
          },
        }),
      ),
    ).toThrow(
      "imageAutomation.git.pullRequests: type 'bitbucket' is not supported (supported: gitea, github, gitlab, azure-devops)",
    );
  });

  it('fails closed on hosts and credentials the platform did not allow', () => {
    const settings = {
      hosts: [{ host: 'gitea.example.com', type: 'gitea' as const }],
    };
    expect(() =>
      pullRequestHostFor(
        settings,
        'https://evil.example.com/o/r.git',
        undefined,
      ),
    ).toThrow(PullRequestHostNotAllowedError);
    expect(() =>
      pullRequestHostFor(
        undefined,
        'https://gitea.example.com/o/r.git',
        undefined,
      ),
    ).toThrow(/not in imageAutomation.git.pullRequests/);
    expect(() =>
      pullRequestHostFor(settings, 'https://gitea.example.com/o/r.git', {
        type: 'ssh',
        credential: 'k',
        host: 'gitea.example.com',
        privateKey: 'x',
        knownHosts: 'y',
      } as any),
    ).toThrow(/need an HTTPS credential/);
    expect(() =>
      pullRequestHostFor(
        settings,
        'https://gitea.example.com/a/b/c.git',
        undefined,
      ),
    ).toThrow(/not an owner\/repository path/);
    expect(
      pullRequestHostFor(
        settings,
        'https://GITEA.example.com/o/r.git',
        undefined,
      ).host.host,
    ).toBe('gitea.example.com');
    // GitHub: the API host is the platform's (api.github.com for github.com), never the manifest's.
    const github = {
      hosts: [
        { host: 'github.com', type: 'github' as const },
        { host: 'ghe.acme.example', type: 'github' as const },
      ],
    };
    expect(
      pullRequestHostFor(github, 'https://github.com/acme/app.git', undefined)
        .host.host,
    ).toBe('api.github.com');
    expect(
      pullRequestHostFor(
        github,
        'https://ghe.acme.example/acme/app.git',
        undefined,
      ).host.host,
    ).toBe('ghe.acme.example');
  });
});
