import { ConfigReader } from '@backstage/config';
import { ResourceSetInputProviderSpec } from '@imageops/backstage-plugin-image-automation-common';
import { NamedCredentials } from '../../credentials/NamedCredentials';
import {
  FaultProxy,
  GiteaRepository,
  GiteaUser,
  startFaultProxy,
  startGitea,
  TestGitea,
} from '@internal/image-automation-test/testbed';
import { ExportedInput } from '../exportedInputs';
import {
  giteaBranchSource,
  giteaPullRequestSource,
  giteaRepository,
  giteaTagSource,
} from './gitea';
import { InputSource, InputSourceContext, InputSourceResult } from './types';

// The Gitea provider types against a real Gitea (built from the Go module proxy by
// test/testbed/build-gitea.sh), with a fault-injecting proxy in front where a test needs to count
// requests or make Gitea answer badly.

jest.setTimeout(180_000);

const ENTITY = 'component:default/shop';

describe('giteaRepository', () => {
  it('finds the API from the repository URL, also under a sub-path', () => {
    expect(giteaRepository('https://gitea.example.com/team/app')).toEqual({
      repositoryUrl: 'https://gitea.example.com/team/app',
      apiUrl: 'https://gitea.example.com/api/v1/repos/team/app',
      owner: 'team',
      repo: 'app',
    });
    expect(giteaRepository('https://example.com/git/team/app.git').apiUrl).toBe(
      'https://example.com/git/api/v1/repos/team/app',
    );
    expect(
      giteaRepository('http://127.0.0.1:3000/team/app/').repositoryUrl,
    ).toBe('http://127.0.0.1:3000/team/app');
  });

  it('refuses what is not a repository URL', () => {
    expect(() => giteaRepository('gitea.example.com/team/app')).toThrow(
      'is not a valid URL',
    );
    expect(() => giteaRepository('ssh://gitea.example.com/team/app')).toThrow(
      'must be an http(s) URL',
    );
    expect(() => giteaRepository('https://gitea.example.com/team')).toThrow(
      'does not name a repository',
    );
    expect(() =>
      giteaRepository('https://me:pw@gitea.example.com/team/app'),
    ).toThrow('credentials in the URL are not allowed');
    expect(() =>
      giteaRepository('https://gitea.example.com/team/app?x=1'),
    ).toThrow('must not have a query');
    expect(() =>
      giteaRepository('https://gitea.example.com/team/..%2fother/app'),
    ).toThrow("encoded '.', '/'");
  });
});

describe('Gitea provider types against a real Gitea', () => {
  let gitea: TestGitea;
  let proxy: FaultProxy;
  let alice: GiteaUser;
  let app: GiteaRepository;
  let privateRepo: GiteaRepository;
  let many: GiteaRepository;
  const heads: Record<string, string> = {};
  const tagCommits: Record<string, string> = {};
  const prs: Record<string, number> = {};

  beforeAll(async () => {
    gitea = await startGitea();
    proxy = await startFaultProxy(gitea.url);
    alice = await gitea.createUser('alice');
    app = await gitea.createRepository('app');
    heads.main = (
      await gitea.api('GET', `/repos/${app.fullName}/branches/main`)
    ).commit.id;
    for (const branch of ['feat-a', 'feat-b', 'fix-c'])
      heads[branch] = await gitea.createBranch(app, branch);
    for (const tag of ['v1.0.0', 'v1.1.0', 'rubbish', 'v2.0.0'])
      tagCommits[tag] = await gitea.createTag(app, tag);
    // An annotated tag: its input's sha is the commit, not the tag object.
    tagCommits['v1.2.0'] = await gitea.createTag(app, 'v1.2.0', {
      target: 'feat-a',
      message: 'release 1.2.0',
    });
    prs['feat-a'] = (
      await gitea.createPullRequest(app, {
        head: 'feat-a',
        title: 'Feature A',
        labels: ['preview', 'ok'],
      })
    ).number;
    prs['feat-b'] = (
      await gitea.createPullRequest(app, {
        head: 'feat-b',
        title: 'Feature B',
        labels: ['preview'],
      })
    ).number;
    prs['fix-c'] = (
      await gitea.createPullRequest(app, { head: 'fix-c', title: 'Fix C' })
    ).number;

    privateRepo = await gitea.createRepository('private-app', {
      private: true,
      as: alice,
    });
    await gitea.createBranch(privateRepo, 'feat-x');

    // More than two of Gitea's pages (50 items each by default).
    many = await gitea.createRepository('many');
    await gitea.pushBranches(
      many,
      Array.from({ length: 120 }, (_, i) => `b-${String(i).padStart(3, '0')}`),
    );
    await gitea.pushTags(
      many,
      Array.from({ length: 120 }, (_, i) => `1.0.${i}`),
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await gitea?.stop();
  });
  beforeEach(() => proxy.clear());

  const credentialConfig = (
    token: string,
    extra: Record<string, unknown> = {},
  ) => ({
    type: 'token',
    token,
    hosts: [proxy.host, gitea.host],
    allowedEntities: [ENTITY],
    ...extra,
  });

  function context(
    spec: Partial<ResourceSetInputProviderSpec> & {
      type: ResourceSetInputProviderSpec['type'];
    },
    options: {
      config?: Record<string, unknown>;
      previous?: ExportedInput[];
      entityRef?: string;
    } = {},
  ): InputSourceContext {
    const config = new ConfigReader({
      imageAutomation: {
        inputProviders: {
          allowedHosts: [proxy.host, gitea.host],
          insecureHosts: [proxy.host, gitea.host],
        },
        credentials: {
          'gitea-admin': credentialConfig(gitea.adminToken),
          'gitea-alice': credentialConfig(alice.token),
          'gitea-wrong': credentialConfig('wrong-token-0123456789abcdef'),
          'gitea-basic': {
            type: 'basic',
            username: 'alice',
            password: alice.token,
            hosts: [proxy.host],
            allowedEntities: [ENTITY],
          },
          'other-team': credentialConfig(gitea.adminToken, {
            allowedEntities: ['component:default/other'],
          }),
          'bound-elsewhere': {
            type: 'token',
            token: gitea.adminToken,
            hosts: [`${proxy.host}/someone-else`],
            allowedEntities: [ENTITY],
          },
        },
      },
      ...(options.config ?? {}),
    });
    return {
      provider: {
        namespace: 'apps',
        name: 'p',
        entityRef: options.entityRef ?? ENTITY,
      },
      spec: {
        url: `${proxy.url}/${app.fullName}`,
        ...spec,
      } as ResourceSetInputProviderSpec,
      previous: options.previous,
      credentials: NamedCredentials.fromConfig(config),
      config,
      deadline: Date.now() + 60_000,
      now: new Date(),
    };
  }

  async function inputs(
    source: InputSource,
    ctx: InputSourceContext,
  ): Promise<ExportedInput[]> {
    const result = await source(ctx);
    if (!result.ok) throw new Error(`${result.reason}: ${result.message}`);
    return result.inputs;
  }
  const failure = async (source: InputSource, ctx: InputSourceContext) => {
    const result = await source(ctx);
    expect(result.ok).toBe(false);
    return result as Extract<InputSourceResult, { ok: false }>;
  };

  it('GiteaBranch exports id, sha and branch of every branch in API order', async () => {
    const exported = await inputs(
      giteaBranchSource,
      context({ type: 'GiteaBranch' }),
    );
    // The ids are the decimal Adler-32 of the names (computed by hand with zlib.adler32).
    expect(
      [...exported].sort((a, b) =>
        String(a.branch).localeCompare(String(b.branch)),
      ),
    ).toEqual([
      { id: '134087215', sha: heads['feat-a'], branch: 'feat-a' },
      { id: '134152752', sha: heads['feat-b'], branch: 'feat-b' },
      { id: '97255896', sha: heads['fix-c'], branch: 'fix-c' },
      { id: '68878758', sha: heads.main, branch: 'main' },
    ]);
    // In the order Gitea lists them (not sorted).
    const listed = await gitea.api<Array<{ name: string }>>(
      'GET',
      `/repos/${app.fullName}/branches`,
    );
    expect(exported.map(i => i.branch)).toEqual(listed.map(b => b.name));
    // Anonymous: one request for a public repository without secretRef.
    expect(proxy.requests.map(r => r.path)).toEqual([
      `/api/v1/repos/${app.fullName}/branches?page=1&limit=100`,
    ]);
  });

  it('GiteaBranch filters by include and exclude regex and stops at the limit', async () => {
    const listed = (
      await gitea.api<Array<{ name: string }>>(
        'GET',
        `/repos/${app.fullName}/branches`,
      )
    ).map(b => b.name);
    const names = async (filter: ResourceSetInputProviderSpec['filter']) =>
      (
        await inputs(
          giteaBranchSource,
          context({ type: 'GiteaBranch', filter }),
        )
      ).map(i => i.branch);
    expect(await names({ includeBranch: '^f', excludeBranch: '-b$' })).toEqual(
      listed.filter(n => n === 'feat-a' || n === 'fix-c'),
    );
    expect(await names({ includeBranch: '^feat-', limit: 1 })).toEqual(
      listed.filter(n => n.startsWith('feat-')).slice(0, 1),
    );
    // The last non-empty include wins (Branch → Tag → Environment).
    expect(
      await names({ includeBranch: '^feat-', includeTag: '^main$' }),
    ).toEqual(['main']);
  });

  it('GiteaTag exports id, sha (the commit, also of annotated tags) and tag, newest semver first', async () => {
    expect(
      await inputs(
        giteaTagSource,
        context({ type: 'GiteaTag', filter: { semver: '>=1.0.0' } }),
      ),
    ).toEqual([
      { id: '93847909', sha: tagCommits['v2.0.0'], tag: 'v2.0.0' },
      { id: '93913446', sha: heads['feat-a'], tag: 'v1.2.0' },
      { id: '93716837', sha: tagCommits['v1.1.0'], tag: 'v1.1.0' },
      { id: '93520228', sha: tagCommits['v1.0.0'], tag: 'v1.0.0' },
    ]);
    const names = async (filter: ResourceSetInputProviderSpec['filter']) =>
      (await inputs(giteaTagSource, context({ type: 'GiteaTag', filter }))).map(
        i => i.tag,
      );
    // Without semver: reverse byte order, junk included.
    expect(await names({})).toEqual([
      'v2.0.0',
      'v1.2.0',
      'v1.1.0',
      'v1.0.0',
      'rubbish',
    ]);
    expect(
      await names({ includeTag: '^v1\\.', excludeTag: '^v1\\.0\\.0$' }),
    ).toEqual(['v1.2.0', 'v1.1.0']);
    expect(await names({ semver: '>= 1.0.0 < 2.0.0', limit: 2 })).toEqual([
      'v1.2.0',
      'v1.1.0',
    ]);
  });

  it('GiteaPullRequest exports id (the number), sha, branch, author, title and labels only when there are some', async () => {
    const all = await inputs(
      giteaPullRequestSource,
      context({ type: 'GiteaPullRequest' }),
    );
    expect([...all].sort((a, b) => Number(a.id) - Number(b.id))).toEqual([
      {
        id: String(prs['feat-a']),
        sha: heads['feat-a'],
        branch: 'feat-a',
        author: gitea.admin.username,
        title: 'Feature A',
        labels: ['ok', 'preview'],
      },
      {
        id: String(prs['feat-b']),
        sha: heads['feat-b'],
        branch: 'feat-b',
        author: gitea.admin.username,
        title: 'Feature B',
        labels: ['preview'],
      },
      {
        id: String(prs['fix-c']),
        sha: heads['fix-c'],
        branch: 'fix-c',
        author: gitea.admin.username,
        title: 'Fix C',
      },
    ]);
    const ids = async (filter: ResourceSetInputProviderSpec['filter']) =>
      (
        await inputs(
          giteaPullRequestSource,
          context({ type: 'GiteaPullRequest', filter }),
        )
      )
        .map(i => i.branch)
        .sort();
    // Every filter label must be present (AND), and the head branch must pass include/exclude.
    expect(await ids({ labels: ['preview', 'ok'] })).toEqual(['feat-a']);
    expect(await ids({ labels: ['preview'] })).toEqual(['feat-a', 'feat-b']);
    expect(await ids({ labels: ['preview'], excludeBranch: '-a$' })).toEqual([
      'feat-b',
    ]);
    expect(await ids({ includeBranch: '^fix-' })).toEqual(['fix-c']);
    expect(await ids({ limit: 2 })).toHaveLength(2);
    // Closed pull requests are not exported.
    const closedBranch = 'closed-d';
    await gitea.createBranch(app, closedBranch);
    const closed = await gitea.createPullRequest(app, {
      head: closedBranch,
      labels: ['preview'],
    });
    await gitea.closePullRequest(app, closed.number);
    expect(await ids({ labels: ['preview'] })).toEqual(['feat-a', 'feat-b']);
  });

  it('spec.skip.labels freezes a known pull request and leaves out a new one', async () => {
    const repo = await gitea.createRepository('skip');
    await gitea.createBranch(repo, 'one');
    await gitea.createBranch(repo, 'two');
    const one = await gitea.createPullRequest(repo, {
      head: 'one',
      title: 'One',
    });
    const spec = {
      type: 'GiteaPullRequest' as const,
      url: `${proxy.url}/${repo.fullName}`,
      skip: { labels: ['hold'] },
    };
    const first = await inputs(giteaPullRequestSource, context(spec));
    expect(first).toEqual([
      expect.objectContaining({ id: String(one.number), title: 'One' }),
    ]);

    // `one` is put on hold and changes; a new PR `two` arrives already on hold.
    await gitea.addLabels(repo, one.number, ['hold']);
    await gitea.api('PATCH', `/repos/${repo.fullName}/pulls/${one.number}`, {
      title: 'One, renamed',
    });
    await gitea.createPullRequest(repo, {
      head: 'two',
      title: 'Two',
      labels: ['hold'],
    });
    expect(
      await inputs(giteaPullRequestSource, context(spec, { previous: first })),
    ).toEqual(first);

    // `!label`: only PRs carrying `deploy` move; released from hold, `one` shows its new title.
    await gitea.removeLabel(repo, one.number, 'hold');
    const released = await inputs(
      giteaPullRequestSource,
      context({ ...spec, skip: { labels: ['hold'] } }, { previous: first }),
    );
    expect(released.map(i => i.title).sort()).toEqual(['One, renamed']);
    const negated = await inputs(
      giteaPullRequestSource,
      context(
        { ...spec, skip: { labels: ['!deploy'] } },
        { previous: released },
      ),
    );
    expect(negated).toEqual(released);
  });

  it('pages through Gitea\'s 50-item pages (Link rel="next", X-Total-Count) until the listing ends', async () => {
    const spec = {
      url: `${proxy.url}/${many.fullName}`,
      filter: { limit: 1000 },
    };
    const branches = await inputs(
      giteaBranchSource,
      context({ type: 'GiteaBranch', ...spec }),
    );
    expect(branches).toHaveLength(121);
    expect(new Set(branches.map(b => b.branch)).size).toBe(121);
    expect(proxy.requests.map(r => r.path)).toEqual(
      [1, 2, 3].map(
        n => `/api/v1/repos/${many.fullName}/branches?page=${n}&limit=100`,
      ),
    );
    proxy.clear();
    // The tags listing has no Link header, only X-Total-Count. Every page is read before
    // sorting: the newest versions may be on any page.
    const tags = await inputs(
      giteaTagSource,
      context({ type: 'GiteaTag', ...spec, filter: { semver: '*', limit: 3 } }),
    );
    expect(tags.map(t => t.tag)).toEqual(['1.0.119', '1.0.118', '1.0.117']);
    expect(proxy.requests.map(r => r.path)).toEqual(
      [1, 2, 3].map(
        n => `/api/v1/repos/${many.fullName}/tags?page=${n}&limit=100`,
      ),
    );
    const allTags = await inputs(
      giteaTagSource,
      context({ type: 'GiteaTag', ...spec }),
    );
    expect(allTags).toHaveLength(120);
    proxy.clear();
    // A next-page link to another host is not followed: pages are built from spec.url.
    proxy.inject({
      times: 2,
      action: {
        rewriteHeaders: headers => ({
          ...headers,
          link: '<https://elsewhere.example/steal?page=2>; rel="next"',
        }),
      },
    });
    expect(
      await inputs(
        giteaBranchSource,
        context({ type: 'GiteaBranch', ...spec }),
      ),
    ).toHaveLength(121);
    expect(proxy.requests.map(r => r.path)).toEqual(
      [1, 2, 3].map(
        n => `/api/v1/repos/${many.fullName}/branches?page=${n}&limit=100`,
      ),
    );
    proxy.clear();
    // Branches in API order stop paging once the limit is reached.
    expect(
      await inputs(
        giteaBranchSource,
        context({ type: 'GiteaBranch', ...spec, filter: { limit: 10 } }),
      ),
    ).toHaveLength(10);
    expect(proxy.requests).toHaveLength(1);
  });

  it('reads a private repository with a granted, bound credential (token, or basic whose password is the token)', async () => {
    const url = `${proxy.url}/${privateRepo.fullName}`;
    // Anonymous: Gitea hides the repository.
    const anonymous = await failure(
      giteaBranchSource,
      context({ type: 'GiteaBranch', url }),
    );
    expect(anonymous).toMatchObject({
      terminal: false,
      reason: 'ReconciliationFailed',
    });
    expect(anonymous.message).toBe(
      `failed to call Git provider: Gitea '${proxy.url}/api/v1/repos/${privateRepo.fullName}/branches' returned HTTP 404`,
    );
    for (const name of ['gitea-alice', 'gitea-basic']) {
      const branches = await inputs(
        giteaBranchSource,
        context({ type: 'GiteaBranch', url, secretRef: { name } }),
      );
      expect(branches.map(b => b.branch)).toEqual(['feat-x', 'main']);
    }
  });

  it('uses the Backstage Gitea integration only for repositories imageAutomation.git.integrationRead lists', async () => {
    const url = `${proxy.url}/${privateRepo.fullName}`;
    const integrations = {
      gitea: [
        {
          host: proxy.host,
          username: alice.username,
          password: alice.password,
        },
      ],
    };
    const listed = context(
      { type: 'GiteaBranch', url },
      {
        config: {
          integrations,
          imageAutomation: {
            inputProviders: {
              allowedHosts: [proxy.host],
              insecureHosts: [proxy.host],
            },
            git: {
              integrationRead: [{ host: proxy.host, pathPrefix: 'alice' }],
            },
          },
        },
      },
    );
    expect(
      (await inputs(giteaBranchSource, listed)).map(b => b.branch),
    ).toEqual(['feat-x', 'main']);
    const unlisted = context(
      { type: 'GiteaBranch', url },
      {
        config: {
          integrations,
          imageAutomation: {
            inputProviders: {
              allowedHosts: [proxy.host],
              insecureHosts: [proxy.host],
            },
            git: {
              integrationRead: [
                { host: proxy.host, pathPrefix: 'someone-else' },
              ],
            },
          },
        },
      },
    );
    // Not listed: the request is anonymous, and Gitea hides the private repository.
    expect((await failure(giteaBranchSource, unlisted)).message).toContain(
      'returned HTTP 404',
    );
  });

  it("a wrong token is a retried failure naming Gitea's 401, never the token", async () => {
    const result = await failure(
      giteaPullRequestSource,
      context({ type: 'GiteaPullRequest', secretRef: { name: 'gitea-wrong' } }),
    );
    expect(result).toEqual({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
      message: `failed to call Git provider: Gitea '${proxy.url}/api/v1/repos/${app.fullName}/pulls' returned HTTP 401`,
    });
    expect(JSON.stringify(result)).not.toContain('wrong-token');
  });

  it('refuses a host outside imageAutomation.inputProviders.allowedHosts before any request', async () => {
    const notAllowed = context(
      { type: 'GiteaBranch', secretRef: { name: 'gitea-admin' } },
      {
        config: {
          imageAutomation: {
            inputProviders: {
              allowedHosts: ['gitea.example.com'],
              insecureHosts: [proxy.host],
            },
          },
        },
      },
    );
    expect(await failure(giteaBranchSource, notAllowed)).toEqual({
      ok: false,
      terminal: true,
      reason: 'HostNotAllowed',
      message: `host ${proxy.host} is not in imageAutomation.inputProviders.allowedHosts, the hosts input providers may call`,
    });
    // No list at all fails closed too; so does plain HTTP to a host not in insecureHosts.
    const none = context(
      { type: 'GiteaBranch' },
      { config: { imageAutomation: {} } },
    );
    expect((await failure(giteaBranchSource, none)).reason).toBe(
      'HostNotAllowed',
    );
    const plain = context(
      { type: 'GiteaBranch' },
      {
        config: {
          imageAutomation: { inputProviders: { allowedHosts: [proxy.host] } },
        },
      },
    );
    expect((await failure(giteaBranchSource, plain)).message).toContain(
      `plain HTTP to ${proxy.host} is not allowed`,
    );
    expect(proxy.requests).toEqual([]);
  });

  it('refuses a credential not granted to the entity, or not bound to the repository, before any request', async () => {
    const notGranted = await failure(
      giteaTagSource,
      context({ type: 'GiteaTag', secretRef: { name: 'other-team' } }),
    );
    expect(notGranted).toMatchObject({
      terminal: true,
      reason: 'CredentialRefused',
    });
    expect(notGranted.message).toBe(
      `failed to read secret 'apps/other-team': credential 'other-team' is not granted to ${ENTITY} (imageAutomation.credentials.other-team.allowedEntities)`,
    );
    const unbound = await failure(
      giteaTagSource,
      context({ type: 'GiteaTag', secretRef: { name: 'bound-elsewhere' } }),
    );
    expect(unbound).toMatchObject({
      terminal: true,
      reason: 'CredentialRefused',
    });
    expect(unbound.message).toContain(
      `may not be sent to ${proxy.host}/${app.fullName}`,
    );
    const missing = await failure(
      giteaTagSource,
      context({ type: 'GiteaTag', secretRef: { name: 'nope' } }),
    );
    expect(missing.message).toContain("credential 'nope' is not defined");
    // A platform-owned object (no entity) may not use an entity's credential either.
    const noEntity = context({
      type: 'GiteaTag',
      secretRef: { name: 'gitea-admin' },
    });
    noEntity.provider.entityRef = undefined;
    expect((await failure(giteaTagSource, noEntity)).reason).toBe(
      'CredentialRefused',
    );
    expect(proxy.requests).toEqual([]);
  });

  it('a rate limit is a retried failure that says when to retry', async () => {
    proxy.inject({
      action: {
        status: 429,
        headers: { 'retry-after': '7' },
        body: '{"message":"slow down"}',
      },
    });
    const result = await failure(
      giteaBranchSource,
      context({ type: 'GiteaBranch' }),
    );
    expect(result).toMatchObject({
      terminal: false,
      reason: 'ReconciliationFailed',
      retryAfterMs: 7000,
    });
    expect(result.message).toContain(
      'returned HTTP 429; rate limited, retry after 7s',
    );
    // The next call is served.
    expect(
      (await inputs(giteaBranchSource, context({ type: 'GiteaBranch' })))
        .length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('a body over 10 MiB, malformed JSON or a non-list answer fails the call and exports nothing', async () => {
    proxy.inject({ action: { oversizedBytes: 10 * 1024 * 1024 + 1024 } });
    expect(
      (await failure(giteaTagSource, context({ type: 'GiteaTag' }))).message,
    ).toContain('the response is larger than 10485760 bytes');
    proxy.inject({ action: { replaceBody: '[{"name": ' } });
    expect(
      (await failure(giteaTagSource, context({ type: 'GiteaTag' }))).message,
    ).toContain('the response is not JSON');
    proxy.inject({
      action: {
        replaceBody:
          '[{"name": "main", "commit": {"id": "abc"}}, {"commit": {}}]',
      },
    });
    expect(
      (await failure(giteaBranchSource, context({ type: 'GiteaBranch' })))
        .message,
    ).toBe(
      'failed to call Git provider: Gitea answered with a malformed branch list',
    );
    proxy.inject({ action: { replaceBody: '[{"number": "1; drop"}]' } });
    expect(
      (
        await failure(
          giteaPullRequestSource,
          context({ type: 'GiteaPullRequest' }),
        )
      ).message,
    ).toBe(
      'failed to call Git provider: Gitea answered with a malformed pull request list',
    );
    proxy.inject({ action: { replaceBody: '{"message":"not a list"}' } });
    expect(
      (await failure(giteaTagSource, context({ type: 'GiteaTag' }))).message,
    ).toBe(
      'failed to call Git provider: Gitea answered with something other than a list',
    );
  });

  it('reports bad specs as configuration errors before any request', async () => {
    expect(
      await failure(
        giteaBranchSource,
        context({ type: 'GiteaBranch', url: undefined }),
      ),
    ).toMatchObject({
      terminal: true,
      reason: 'InvalidSpec',
      message: "spec.url is required for type 'GiteaBranch'",
    });
    expect(
      (
        await failure(
          giteaBranchSource,
          context({ type: 'GiteaBranch', url: `${proxy.url}/only-owner` }),
        )
      ).message,
    ).toContain('does not name a repository');
    expect(
      (
        await failure(
          giteaTagSource,
          context({ type: 'GiteaTag', filter: { includeTag: '(' } }),
        )
      ).message,
    ).toMatch(/^invalid includeTag regex: /);
    expect(
      (
        await failure(
          giteaTagSource,
          context({ type: 'GiteaTag', filter: { semver: 'not a range' } }),
        )
      ).message,
    ).toMatch(/^invalid semver expression: /);
    expect(proxy.requests).toEqual([]);
  });
});

describe('Gitea over HTTPS with a private CA (spec.certSecretRef)', () => {
  let gitea: TestGitea;
  let repo: GiteaRepository;
  let tagged: string;
  beforeAll(async () => {
    gitea = await startGitea({ tls: true });
    repo = await gitea.createRepository('tls');
    tagged = await gitea.createTag(repo, 'v1.0.0');
  });
  afterAll(async () => {
    await gitea?.stop();
  });

  function context(
    spec: Partial<ResourceSetInputProviderSpec>,
  ): InputSourceContext {
    const config = new ConfigReader({
      imageAutomation: {
        inputProviders: { allowedHosts: [gitea.host] },
        credentials: {
          'gitea-ca': {
            type: 'tls',
            ca: gitea.certificates!.ca,
            hosts: [gitea.host],
            allowedEntities: [ENTITY],
          },
          'ca-elsewhere': {
            type: 'tls',
            ca: gitea.certificates!.ca,
            hosts: ['gitea.example.com'],
            allowedEntities: [ENTITY],
          },
        },
      },
    });
    return {
      provider: { namespace: 'apps', name: 'p', entityRef: ENTITY },
      spec: {
        type: 'GiteaTag',
        url: repo.url,
        ...spec,
      } as ResourceSetInputProviderSpec,
      previous: undefined,
      credentials: NamedCredentials.fromConfig(config),
      config,
      deadline: Date.now() + 60_000,
      now: new Date(),
    };
  }

  it('trusts the CA certSecretRef names, and only for that provider', async () => {
    expect(repo.url).toMatch(/^https:\/\//);
    expect(
      await giteaTagSource(context({ certSecretRef: { name: 'gitea-ca' } })),
    ).toEqual({
      ok: true,
      inputs: [{ id: '93520228', sha: tagged, tag: 'v1.0.0' }],
    });
    const untrusted = await giteaTagSource(context({}));
    expect(untrusted).toMatchObject({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
    });
    expect((untrusted as { message: string }).message).toMatch(
      new RegExp(
        `^failed to call Git provider: Gitea: GET ${gitea.url}/api/v1/repos/${repo.fullName}/tags: .*certificate`,
      ),
    );
    expect(
      await giteaTagSource(
        context({ certSecretRef: { name: 'ca-elsewhere' } }),
      ),
    ).toMatchObject({
      ok: false,
      terminal: true,
      reason: 'CredentialRefused',
    });
  });
});
