import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import {
  AzureDevOpsRepository,
  AzureDevOpsStandIn,
  startAzureDevOpsStandIn,
} from '@internal/image-automation-test/testbed/azureDevOps';
import { NamedCredentials } from '../../credentials/NamedCredentials';
import { inputId } from '../exportedInputs';
import {
  azureDevOpsBranchSource,
  azureDevOpsPullRequestSource,
  azureDevOpsRepository,
  azureDevOpsTagSource,
} from './azureDevOps';
import { InputSource, InputSourceContext, InputSourceResult } from './types';

// The Azure DevOps input providers against a stand-in of the Azure DevOps Git REST API
// (refs and pull requests, continuation tokens, $top/$skip, api-version, PAT Basic auth), which
// cannot run here: exact inputs, paging over 100, filters, failures and refusals.

const PAT = 'azdo-pat-5b0c7e19d2';
const INTEGRATION_PAT = 'azdo-integration-pat-77aa01';
const ENTITY = 'component:default/app';
const sha = (n: number) => n.toString(16).padStart(40, '0');

const repo: AzureDevOpsRepository = {
  organization: 'acme',
  project: 'Shop Platform',
  name: 'web',
  branches: [
    { name: 'main', sha: sha(1) },
    ...Array.from({ length: 249 }, (_, i) => ({
      name: `feature/f${String(i).padStart(3, '0')}`,
      sha: sha(1000 + i),
    })),
    { name: 'release/1.x', sha: sha(2) },
  ],
  tags: [
    { name: 'v1.0.0', sha: sha(10) },
    { name: 'v1.2.0', sha: sha(12), tagObject: sha(9012) },
    { name: 'v2.0.0-rc.1', sha: sha(20), tagObject: sha(9020) },
    { name: 'v1.10.0', sha: sha(11) },
    ...Array.from({ length: 120 }, (_, i) => ({
      name: `build-${String(i).padStart(3, '0')}`,
      sha: sha(3000 + i),
    })),
  ],
  pullRequests: [
    ...Array.from({ length: 230 }, (_, i) => ({
      id: 1000 - i,
      title: `Change ${i}`,
      branch: `feature/f${String(i).padStart(3, '0')}`,
      sha: sha(5000 + i),
      author: 'Jamie Doe',
      // Every other one is labelled preview; every fiftieth web as well.
      labels: [
        ...(i % 2 === 0 ? ['preview'] : []),
        ...(i % 50 === 0 ? ['web'] : []),
      ],
    })),
    {
      id: 2,
      title: 'Done',
      branch: 'old',
      sha: sha(3),
      author: 'Old Timer',
      status: 'completed' as const,
    },
    {
      id: 1,
      title: 'Dropped label',
      branch: 'dropped',
      sha: sha(4),
      author: 'Ann',
      labels: [{ name: 'preview', active: false }, 'web'],
    },
  ],
};

describe('Azure DevOps input sources (stand-in Azure DevOps REST API)', () => {
  let azure: AzureDevOpsStandIn;
  beforeAll(async () => {
    azure = await startAzureDevOpsStandIn({ repositories: [repo], pat: PAT });
  });
  afterAll(() => azure.stop());
  beforeEach(() => {
    azure.requests.length = 0;
  });

  const open = () => ({
    allowedHosts: ['127.0.0.1'],
    insecureHosts: ['127.0.0.1'],
  });
  const credentials = (hosts = [`${azure.host}/acme`]) => ({
    azdo: { type: 'token', token: PAT, allowedEntities: [ENTITY], hosts },
    'azdo-basic': {
      type: 'basic',
      username: 'ignored',
      password: PAT,
      allowedEntities: [ENTITY],
      hosts,
    },
    'azdo-wrong': {
      type: 'token',
      token: 'not-the-pat',
      allowedEntities: [ENTITY],
      hosts,
    },
    'azdo-other': {
      type: 'token',
      token: PAT,
      allowedEntities: ['component:default/other'],
      hosts,
    },
  });
  const context = (
    spec: Record<string, unknown>,
    config: Record<string, unknown> = {
      inputProviders: open(),
      credentials: credentials(),
    },
    root: Record<string, unknown> = {},
  ): InputSourceContext => {
    const reader = new ConfigReader({
      ...root,
      imageAutomation: config,
    } as JsonObject);
    return {
      provider: { namespace: 'apps', name: 'azdo', entityRef: ENTITY },
      spec: {
        url: azure.repositoryUrl(repo),
        secretRef: { name: 'azdo' },
        ...spec,
      } as any,
      previous: undefined,
      credentials: NamedCredentials.fromConfig(reader),
      config: reader,
      deadline: Date.now() + 10_000,
      now: new Date(),
    };
  };
  const ok = (result: InputSourceResult) => {
    if (!result.ok)
      throw new Error(
        `expected inputs, got ${result.reason}: ${result.message}`,
      );
    return result.inputs;
  };
  const failed = (result: InputSourceResult) => {
    if (result.ok)
      throw new Error(
        `expected a failure, got ${JSON.stringify(result.inputs)}`,
      );
    return result;
  };
  const apiPath = '/acme/Shop Platform/_apis/git/repositories/web';
  const basic = (token: string) =>
    `Basic ${Buffer.from(`:${token}`).toString('base64')}`;

  it('reads the repository URL forms Azure DevOps uses', () => {
    expect(
      azureDevOpsRepository(
        'https://dev.azure.com/acme/Shop%20Platform/_git/web',
      ),
    ).toEqual({
      repositoryUrl: 'https://dev.azure.com/acme/Shop%20Platform/_git/web',
      apiUrl:
        'https://dev.azure.com/acme/Shop%20Platform/_apis/git/repositories/web',
      project: 'Shop%20Platform',
      repository: 'web',
    });
    // The clone URL carries the organization as a user name: dropped, never sent.
    expect(
      azureDevOpsRepository('https://acme@dev.azure.com/acme/shop/_git/web.git')
        .apiUrl,
    ).toBe('https://dev.azure.com/acme/shop/_apis/git/repositories/web');
    expect(
      azureDevOpsRepository('https://acme.visualstudio.com/shop/_git/web')
        .apiUrl,
    ).toBe('https://acme.visualstudio.com/shop/_apis/git/repositories/web');
    expect(
      azureDevOpsRepository(
        'https://acme.visualstudio.com/DefaultCollection/shop/_git/web/',
      ).apiUrl,
    ).toBe(
      'https://acme.visualstudio.com/DefaultCollection/shop/_apis/git/repositories/web',
    );
    expect(
      azureDevOpsRepository('https://tfs.acme.example/tfs/Main/shop/_git/web')
        .apiUrl,
    ).toBe('https://tfs.acme.example/tfs/Main/shop/_apis/git/repositories/web');
    for (const bad of [
      'https://dev.azure.com/acme/_git/web',
      'https://acme.visualstudio.com/a/b/shop/_git/web',
      'https://tfs.acme.example/shop/_git/web',
      'https://dev.azure.com/acme/shop/web',
      'https://dev.azure.com/acme/shop/_git/web/pullrequests',
      'https://dev.azure.com/acme/shop/_git/web?path=/',
      'https://dev.azure.com/acme/shop/_apis/x/_git/web',
      'https://dev.azure.com/acme/%2e%2e/_git/web',
      'ssh://ssh.dev.azure.com/v3/acme/shop/web',
      'https://user:secret@dev.azure.com/acme/shop/_git/web',
      'not a url',
    ]) {
      expect(() => azureDevOpsRepository(bad)).toThrow(/invalid spec\.url/);
    }
    expect(() =>
      azureDevOpsRepository(
        'https://user:hunter2@dev.azure.com/acme/shop/_git/web',
      ),
    ).toThrow(
      'invalid spec.url: credentials in the URL are not allowed; use spec.secretRef',
    );
  });

  it('AzureDevOpsBranch: every branch in API order over pages of 100 (continuation tokens), with PAT Basic auth', async () => {
    const inputs = ok(
      await azureDevOpsBranchSource(
        context({ type: 'AzureDevOpsBranch', filter: { limit: 1000 } }),
      ),
    );
    expect(inputs).toHaveLength(251);
    expect(inputs[0]).toEqual({
      id: inputId('main'),
      sha: sha(1),
      branch: 'main',
    });
    expect(inputs[0].id).toBe('68878758');
    expect(inputs[250]).toEqual({
      id: inputId('release/1.x'),
      sha: sha(2),
      branch: 'release/1.x',
    });
    expect(azure.requests).toHaveLength(3);
    expect(
      azure.requests.map(r => [r.path, r.authorization, r.accept]),
    ).toEqual(
      Array(3).fill([`${apiPath}/refs`, basic(PAT), 'application/json']),
    );
    expect(azure.requests[0].query).toEqual({
      filter: 'heads/',
      $top: '100',
      'api-version': '7.1',
    });
    expect(azure.requests[1].query).toEqual({
      filter: 'heads/',
      $top: '100',
      continuationToken: expect.any(String),
      'api-version': '7.1',
    });
    expect(azure.requests[2].query.continuationToken).not.toBe(
      azure.requests[1].query.continuationToken,
    );
  });

  it('AzureDevOpsBranch: include/exclude and limit, paging stopped once the limit is reached; a basic credential is a PAT too', async () => {
    const selected = ok(
      await azureDevOpsBranchSource(
        context({
          type: 'AzureDevOpsBranch',
          secretRef: { name: 'azdo-basic' },
          filter: {
            includeBranch: '^feature/f0[0-9]',
            excludeBranch: '5$',
            limit: 120,
          },
        }),
      ),
    );
    expect(selected.map(i => i.branch)).toEqual(
      Array.from(
        { length: 100 },
        (_, i) => `feature/f${String(i).padStart(3, '0')}`,
      ).filter(b => !b.endsWith('5')),
    );
    // Default limit 100: the first page already holds 100 matches, so one request.
    azure.requests.length = 0;
    expect(
      ok(await azureDevOpsBranchSource(context({ type: 'AzureDevOpsBranch' }))),
    ).toHaveLength(100);
    expect(azure.requests).toHaveLength(1);
    expect(azure.requests[0].authorization).toBe(basic(PAT));
  });

  it('AzureDevOpsTag: annotated tags peeled to their commit, sorted and filtered as the Flux Operator does', async () => {
    const inputs = ok(
      await azureDevOpsTagSource(
        context({ type: 'AzureDevOpsTag', filter: { semver: '>=1.0.0' } }),
      ),
    );
    expect(inputs).toEqual([
      { id: inputId('v1.10.0'), sha: sha(11), tag: 'v1.10.0' },
      { id: inputId('v1.2.0'), sha: sha(12), tag: 'v1.2.0' },
      { id: inputId('v1.0.0'), sha: sha(10), tag: 'v1.0.0' },
    ]);
    // 124 tags: two pages, every one asked with peelTags=true.
    expect(azure.requests.map(r => r.query)).toEqual([
      { filter: 'tags/', peelTags: 'true', $top: '100', 'api-version': '7.1' },
      {
        filter: 'tags/',
        peelTags: 'true',
        $top: '100',
        continuationToken: expect.any(String),
        'api-version': '7.1',
      },
    ]);
    // Without semver: reverse byte-wise order, then the limit.
    const all = ok(
      await azureDevOpsTagSource(
        context({ type: 'AzureDevOpsTag', filter: { limit: 3 } }),
      ),
    );
    expect(all.map(i => i.tag)).toEqual(['v2.0.0-rc.1', 'v1.2.0', 'v1.10.0']);
    expect(all[0].sha).toBe(sha(20));
    const builds = ok(
      await azureDevOpsTagSource(
        context({
          type: 'AzureDevOpsTag',
          filter: { includeTag: '^build-11', limit: 5 },
        }),
      ),
    );
    expect(builds.map(i => i.tag)).toEqual([
      'build-119',
      'build-118',
      'build-117',
      'build-116',
      'build-115',
    ]);
    expect(
      failed(
        await azureDevOpsTagSource(
          context({
            type: 'AzureDevOpsTag',
            filter: { semver: 'not a range' },
          }),
        ),
      ),
    ).toMatchObject({
      terminal: true,
      reason: 'InvalidSpec',
      message: expect.stringMatching(/^invalid semver expression: /),
    });
  });

  it('AzureDevOpsPullRequest: active pull requests over $top/$skip pages, creator display name, labels filtered client-side', async () => {
    const inputs = ok(
      await azureDevOpsPullRequestSource(
        context({ type: 'AzureDevOpsPullRequest', filter: { limit: 1000 } }),
      ),
    );
    expect(inputs).toHaveLength(231);
    expect(inputs[0]).toEqual({
      id: '1000',
      sha: sha(5000),
      branch: 'feature/f000',
      author: 'Jamie Doe',
      title: 'Change 0',
      labels: ['preview', 'web'],
    });
    expect(inputs[1]).toEqual({
      id: '999',
      sha: sha(5001),
      branch: 'feature/f001',
      author: 'Jamie Doe',
      title: 'Change 1',
    });
    // The completed one is not listed; an inactive label is not a label.
    expect(inputs.map(i => i.id)).not.toContain('2');
    expect(inputs[230]).toEqual({
      id: '1',
      sha: sha(4),
      branch: 'dropped',
      author: 'Ann',
      title: 'Dropped label',
      labels: ['web'],
    });
    expect(azure.requests.map(r => [r.path, r.query])).toEqual(
      [0, 100, 200].map(skip => [
        `${apiPath}/pullrequests`,
        {
          'searchCriteria.status': 'active',
          $top: '100',
          $skip: String(skip),
          'api-version': '7.1',
        },
      ]),
    );

    const labelled = ok(
      await azureDevOpsPullRequestSource(
        context({
          type: 'AzureDevOpsPullRequest',
          filter: { labels: ['preview', 'web'] },
        }),
      ),
    );
    expect(labelled.map(i => i.id)).toEqual([
      '1000',
      '950',
      '900',
      '850',
      '800',
    ]);
    const byBranch = ok(
      await azureDevOpsPullRequestSource(
        context({
          type: 'AzureDevOpsPullRequest',
          filter: {
            includeBranch: '^feature/f00',
            excludeBranch: '[13579]$',
            labels: ['preview'],
            limit: 3,
          },
        }),
      ),
    );
    expect(byBranch.map(i => [i.id, i.branch])).toEqual([
      ['1000', 'feature/f000'],
      ['998', 'feature/f002'],
      ['996', 'feature/f004'],
    ]);
  });

  it('AzureDevOpsPullRequest: spec.skip.labels keeps a skipped request as last exported, leaves a new one out', async () => {
    const previous = [
      {
        id: '1000',
        sha: 'old-sha',
        branch: 'feature/f000',
        author: 'Jamie Doe',
        title: 'Before',
        labels: ['preview'],
      },
    ];
    const inputs = ok(
      await azureDevOpsPullRequestSource({
        ...context({
          type: 'AzureDevOpsPullRequest',
          filter: { labels: ['web'] },
          skip: { labels: ['preview'] },
        }),
        previous,
      }),
    );
    // 1000 has 'preview': frozen as before; 950, 900 … have it too and are new: left out; 1 has only 'web'.
    expect(inputs).toEqual([
      previous[0],
      {
        id: '1',
        sha: sha(4),
        branch: 'dropped',
        author: 'Ann',
        title: 'Dropped label',
        labels: ['web'],
      },
    ]);
  });

  it('a wrong token (401), no accepted credential (203 sign-in page) and a rate limit (429 Retry-After) are conditions naming host, status and wait', async () => {
    const wrong = failed(
      await azureDevOpsBranchSource(
        context({
          type: 'AzureDevOpsBranch',
          secretRef: { name: 'azdo-wrong' },
        }),
      ),
    );
    expect(wrong).toEqual({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
      message: `failed to call Git provider: Azure DevOps '${azure.baseUrl}/acme/Shop%20Platform/_apis/git/repositories/web/refs' returned HTTP 401`,
    });
    const anonymous = failed(
      await azureDevOpsBranchSource(
        context({ type: 'AzureDevOpsBranch', secretRef: undefined }),
      ),
    );
    expect(anonymous).toMatchObject({
      terminal: false,
      reason: 'ReconciliationFailed',
    });
    expect(anonymous.message).toBe(
      'failed to call Git provider: Azure DevOps answered with a sign-in page (HTTP 203): the credential was not accepted',
    );
    expect(azure.requests[1].authorization).toBeUndefined();

    azure.failNext({
      status: 429,
      headers: { 'retry-after': '30' },
      body: '{"message":"TF400733: request was blocked"}',
    });
    const limited = failed(
      await azureDevOpsPullRequestSource(
        context({ type: 'AzureDevOpsPullRequest' }),
      ),
    );
    expect(limited).toEqual({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
      message: `failed to call Git provider: Azure DevOps '${azure.baseUrl}/acme/Shop%20Platform/_apis/git/repositories/web/pullrequests' returned HTTP 429; rate limited, retry after 30s`,
      retryAfterMs: 30_000,
    });
    // A rate limit on the second page fails the call: no partial list is exported.
    azure.requests.length = 0;
    azure.failNext('pass', { status: 429, headers: { 'retry-after': '5' } });
    const result = failed(
      await azureDevOpsBranchSource(
        context({ type: 'AzureDevOpsBranch', filter: { limit: 1000 } }),
      ),
    );
    expect(result).toMatchObject({
      terminal: false,
      retryAfterMs: 5000,
      message: expect.stringMatching(
        /returned HTTP 429; rate limited, retry after 5s$/,
      ),
    });
    expect(azure.requests).toHaveLength(2);
    for (const r of [wrong, anonymous, limited, result])
      expect(JSON.stringify(r)).not.toContain(PAT);
  });

  it('refuses a host not in allowedHosts, and a credential not granted or not bound, before any request', async () => {
    const cases: Array<[InputSource, InputSourceContext, string, RegExp]> = [
      [
        azureDevOpsBranchSource,
        context(
          { type: 'AzureDevOpsBranch' },
          {
            inputProviders: { insecureHosts: ['127.0.0.1'] },
            credentials: credentials(),
          },
        ),
        'HostNotAllowed',
        /^host 127\.0\.0\.1:\d+ is not in imageAutomation\.inputProviders\.allowedHosts/,
      ],
      [
        azureDevOpsTagSource,
        context(
          { type: 'AzureDevOpsTag' },
          {
            inputProviders: { allowedHosts: ['127.0.0.1'] },
            credentials: credentials(),
          },
        ),
        'HostNotAllowed',
        /^plain HTTP to 127\.0\.0\.1:\d+ is not allowed/,
      ],
      [
        azureDevOpsPullRequestSource,
        context({
          type: 'AzureDevOpsPullRequest',
          secretRef: { name: 'azdo-other' },
        }),
        'CredentialRefused',
        /^failed to read secret 'apps\/azdo-other': credential 'azdo-other' is not granted to component:default\/app/,
      ],
      [
        azureDevOpsBranchSource,
        context(
          { type: 'AzureDevOpsBranch' },
          {
            inputProviders: open(),
            credentials: credentials([`${azure.host}/other-org`]),
          },
        ),
        'CredentialRefused',
        /credential 'azdo' may not be sent to 127\.0\.0\.1:\d+\/acme\/Shop%20Platform\/_git\/web: it is bound to 127\.0\.0\.1:\d+\/other-org/,
      ],
      [
        azureDevOpsBranchSource,
        context({
          type: 'AzureDevOpsBranch',
          url: `${azure.baseUrl}/acme/_git/web`,
        }),
        'InvalidSpec',
        /^invalid spec\.url/,
      ],
      [
        azureDevOpsBranchSource,
        context({ type: 'AzureDevOpsBranch', filter: { includeBranch: '(' } }),
        'InvalidSpec',
        /^invalid includeBranch regex: /,
      ],
    ];
    for (const [source, ctx, reason, message] of cases) {
      const result = failed(await source(ctx));
      expect([result.terminal, result.reason]).toEqual([true, reason]);
      expect(result.message).toMatch(message);
      expect(result.message).not.toContain(PAT);
    }
    expect(azure.requests).toEqual([]);
  });

  it("uses Backstage's integrations.azure token only for repositories under git.integrationRead", async () => {
    const integrations = {
      integrations: {
        azure: [
          {
            host: azure.host,
            credentials: [{ personalAccessToken: INTEGRATION_PAT }],
          },
        ],
      },
    };
    const config = (read: unknown[]) => ({
      inputProviders: open(),
      git: { integrationRead: read },
    });
    // Listed: the integration's PAT is sent (and the stand-in, which wants PAT, refuses it: 401).
    const listed = failed(
      await azureDevOpsBranchSource(
        context(
          { type: 'AzureDevOpsBranch', secretRef: undefined },
          config([{ host: azure.host, pathPrefix: 'acme' }]),
          integrations,
        ),
      ),
    );
    expect(listed.message).toMatch(/returned HTTP 401$/);
    expect(azure.requests[0].authorization).toBe(basic(INTEGRATION_PAT));
    // Not listed (another organization): anonymous.
    await azureDevOpsBranchSource(
      context(
        { type: 'AzureDevOpsBranch', secretRef: undefined },
        config([{ host: azure.host, pathPrefix: 'other' }]),
        integrations,
      ),
    );
    expect(azure.requests[1].authorization).toBeUndefined();
    expect(azure.requests).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain(INTEGRATION_PAT);
  });
});
