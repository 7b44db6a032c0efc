import crypto from 'node:crypto';
import { ConfigReader } from '@backstage/config';
import {
  CredentialRefusedError,
  GitHubAppCredential,
  NamedCredentials,
} from '../../credentials/NamedCredentials';
import {
  ForgeSpecError,
  forgeFailure,
  forSecret,
  repositoryUrl,
} from './forgeCall';
import {
  clearGitHubAppTokens,
  githubApiBase,
  githubAppJwt,
  githubAppToken,
  nextLink,
} from './github';
import { gitlabProjectApi } from './gitlab';
import { SourceHttp, SourceHttpError, SourceNotAllowedError } from './http';
import { InputSourceContext } from './types';

// The pieces of the GitHub and GitLab sources that need no server: where requests go, page
// links, the GitHub App's JWT and its token cache, and what each failure becomes.

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const app: GitHubAppCredential = {
  name: 'app',
  appId: '99',
  installationId: '5',
  privateKey,
};

describe('GitHub and GitLab API addresses', () => {
  it('derives the API from the repository URL only', () => {
    const at = (url: string, max = 2) =>
      repositoryUrl({ url }, 'GitHub', { min: 2, max });
    expect(githubApiBase(at('https://github.com/acme/app.git').url)).toBe(
      'https://api.github.com',
    );
    expect(githubApiBase(at('https://GitHub.com/acme/app/').url)).toBe(
      'https://api.github.com',
    );
    expect(githubApiBase(at('https://ghe.example.com:8443/acme/app').url)).toBe(
      'https://ghe.example.com:8443/api/v3',
    );
    expect(at('https://github.com/acme/app.git').path).toEqual(['acme', 'app']);
    const gl = repositoryUrl(
      { url: 'https://gitlab.example.com/group/sub/app.git' },
      'GitLab',
      { min: 2, max: 20 },
    );
    expect(gitlabProjectApi(gl.url, gl.path)).toBe(
      'https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fapp',
    );
    expect(gl.repository).toBe('https://gitlab.example.com/group/sub/app');
  });

  it('refuses URLs that are not a repository', () => {
    for (const url of [
      '',
      'ssh://github.com/acme/app',
      'https://github.com/acme',
      'https://github.com/acme/app/tree/main',
      'https://github.com/acme/app?x=1',
      'https://user:pw@github.com/acme/app',
      'https://github.com/acme/%2e%2e',
      'https://github.com/acme/a%2Fb',
    ]) {
      expect(() =>
        repositoryUrl({ url }, 'GitHub', { min: 2, max: 2 }),
      ).toThrow(ForgeSpecError);
    }
    // A GitLab page URL is not a project.
    for (const url of [
      'https://gitlab.com/group/app/-/tree/main',
      'https://gitlab.com/app',
    ]) {
      expect(() =>
        repositoryUrl({ url }, 'GitLab', { min: 2, max: 20 }),
      ).toThrow(ForgeSpecError);
    }
    expect(
      repositoryUrl({ url: 'https://github.com/acme/app.git/' }, 'GitHub', {
        min: 2,
        max: 2,
      }).repository,
    ).toBe('https://github.com/acme/app');
    expect(() =>
      repositoryUrl({ url: 'https://user:pw@github.com/acme/app' }, 'GitHub', {
        min: 2,
        max: 2,
      }),
    ).toThrow(
      'invalid spec.url: credentials in the URL are not allowed; use spec.secretRef',
    );
  });

  it("reads the next page from GitHub's Link header", () => {
    expect(
      nextLink(
        '<https://api.github.com/repositories/1/branches?page=2>; rel="next", <https://api.github.com/repositories/1/branches?page=5>; rel="last"',
      ),
    ).toBe('https://api.github.com/repositories/1/branches?page=2');
    expect(
      nextLink(
        '<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first"',
      ),
    ).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});

describe('GitHub App tokens', () => {
  beforeEach(() => clearGitHubAppTokens());

  it('signs an RS256 JWT for the app, valid under ten minutes', () => {
    const now = Date.UTC(2026, 0, 1);
    const [header, payload, signature] = githubAppJwt(app, now).split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({
      alg: 'RS256',
      typ: 'JWT',
    });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      iat: now / 1000 - 60,
      exp: now / 1000 + 540,
      iss: '99',
    });
    expect(
      crypto.verify(
        'RSA-SHA256',
        Buffer.from(`${header}.${payload}`),
        publicKey,
        Buffer.from(signature, 'base64url'),
      ),
    ).toBe(true);
    expect(() => githubAppJwt({ ...app, privateKey: 'not a key' })).toThrow(
      new CredentialRefusedError(
        "credential 'app': privateKey is not a PEM private key",
      ),
    );
  });

  it('mints once, renews five minutes before expiry, and does not keep a failure', async () => {
    const posts: string[] = [];
    let expiresIn = 3_600_000;
    let fail = false;
    const client: SourceHttp = {
      getJson: async () => {
        throw new Error('not used');
      },
      postJson: async <T>(url: string) => {
        posts.push(url);
        if (fail)
          throw new SourceHttpError(`GitHub '${url}' returned HTTP 500`, 500);
        return {
          status: 201,
          headers: {},
          body: {
            token: `t${posts.length}`,
            expires_at: new Date(Date.now() + expiresIn).toISOString(),
          } as T,
        };
      },
    };
    expect(await githubAppToken(app, client, 'https://api.github.com')).toBe(
      't1',
    );
    expect(await githubAppToken(app, client, 'https://api.github.com/')).toBe(
      't1',
    );
    expect(posts).toEqual([
      'https://api.github.com/app/installations/5/access_tokens',
    ]);
    // Another base URL (e.g. another GitHub Enterprise) is another token.
    expect(
      await githubAppToken(app, client, 'https://ghe.example.com/api/v3'),
    ).toBe('t2');
    clearGitHubAppTokens();
    expiresIn = 4 * 60_000;
    expect(await githubAppToken(app, client, 'https://api.github.com')).toBe(
      't3',
    );
    expect(await githubAppToken(app, client, 'https://api.github.com')).toBe(
      't4',
    );
    clearGitHubAppTokens();
    fail = true;
    await expect(
      githubAppToken(app, client, 'https://api.github.com'),
    ).rejects.toThrow('HTTP 500');
    fail = false;
    expiresIn = 3_600_000;
    expect(await githubAppToken(app, client, 'https://api.github.com')).toBe(
      't6',
    );
  });

  it('reads githubApp credentials: exactly one of installationId and installationOwner', () => {
    const read = (entry: object) =>
      NamedCredentials.fromConfig(
        new ConfigReader({
          imageAutomation: {
            credentials: {
              app: {
                type: 'githubApp',
                allowedEntities: ['component:default/a'],
                hosts: ['github.com/acme'],
                ...entry,
              },
            },
          },
        }),
      );
    expect(() => read({ appId: 1, privateKey })).toThrow(
      'exactly one of installationId and installationOwner',
    );
    expect(() =>
      read({
        appId: 1,
        installationId: 2,
        installationOwner: 'acme',
        privateKey,
      }),
    ).toThrow('exactly one of installationId and installationOwner');
    expect(() => read({ installationId: 2, privateKey })).toThrow(
      'needs appId',
    );
    const credentials = read({ appId: 1, installationId: 2, privateKey });
    expect(
      credentials.resolveGitHubApp('app', 'component:default/a', {
        kind: 'git',
        url: 'https://github.com/acme/app',
      }),
    ).toEqual({
      name: 'app',
      appId: '1',
      installationId: '2',
      installationOwner: undefined,
      privateKey,
      baseUrl: undefined,
    });
    expect(() =>
      credentials.resolveGitHubApp('app', 'component:default/b', {
        kind: 'git',
        url: 'https://github.com/acme/app',
      }),
    ).toThrow(CredentialRefusedError);
    expect(() =>
      credentials.resolveGitHubApp('app', 'component:default/a', {
        kind: 'git',
        url: 'https://github.com/other/app',
      }),
    ).toThrow(CredentialRefusedError);
    // A githubApp credential is no registry or Git password.
    expect(() =>
      credentials.resolve('app', 'component:default/a', {
        kind: 'git',
        url: 'https://github.com/acme/app',
      }),
    ).toThrow('is of another type');
  });
});

describe('forge failures', () => {
  const context = {
    provider: { namespace: 'apps', name: 'p' },
    spec: { type: 'GitHubBranch', secretRef: { name: 'gh' } },
  } as unknown as InputSourceContext;

  it('makes configuration errors terminal and call errors retried, with the wait a rate limit asked for', () => {
    expect(
      forgeFailure(context, new SourceNotAllowedError('host x is not in …')),
    ).toEqual({
      ok: false,
      terminal: true,
      reason: 'HostNotAllowed',
      message: 'host x is not in …',
    });
    expect(
      forgeFailure(context, new CredentialRefusedError('not granted')),
    ).toEqual({
      ok: false,
      terminal: true,
      reason: 'CredentialRefused',
      message: "failed to read secret 'apps/gh': not granted",
    });
    expect(
      forgeFailure(
        context,
        new ForgeSpecError('invalid includeBranch regex: x'),
      ),
    ).toMatchObject({ terminal: true, reason: 'InvalidSpec' });
    // A refusal names the reference that was refused.
    let refused: unknown;
    try {
      forSecret('ca', () => {
        throw new CredentialRefusedError("credential 'ca' is not granted");
      });
    } catch (error) {
      refused = error;
    }
    expect(forgeFailure(context, refused)).toMatchObject({
      reason: 'CredentialRefused',
      message:
        "failed to read secret 'apps/ca': credential 'ca' is not granted",
    });
    expect(
      forgeFailure(
        context,
        new SourceHttpError(
          "GitHub 'u' returned HTTP 429; rate limited, retry after 7s",
          429,
          7000,
        ),
      ),
    ).toEqual({
      ok: false,
      terminal: false,
      reason: 'ReconciliationFailed',
      message:
        "failed to call Git provider: GitHub 'u' returned HTTP 429; rate limited, retry after 7s",
      retryAfterMs: 7000,
    });
    expect(
      forgeFailure(
        context,
        new SourceHttpError("GitHub 'u' returned HTTP 401", 401),
      ),
    ).not.toHaveProperty('retryAfterMs');
  });
});
