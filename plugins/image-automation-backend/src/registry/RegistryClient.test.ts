import nodeHttp from 'node:http';
import {
  addTags,
  FaultProxy,
  pushImage,
  startFaultProxy,
  startRegistry,
  startTokenServer,
  TestRegistry,
  TestTokenServer,
} from '@internal/image-automation-test/testbed';
import { parseImageReference } from './parseImageReference';
import { RegistryClient, RegistryCredentials } from './RegistryClient';
import { RegistryError } from './RegistryError';

// Real registries (distribution v3 from the Go module proxy, Debian's 2.8), a real token server
// and a fault-injecting proxy in front of them; every one is stopped in afterAll.

const BIG_TAGS = Array.from(
  { length: 10_000 },
  (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`,
);

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    return error as RegistryError;
  }
  throw new Error('expected the call to fail');
}

function refAt(host: string, repository: string) {
  return parseImageReference(`${host}/${repository}`, { insecure: true });
}

describe('RegistryClient against distribution v3 (anonymous)', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let appDigest: string;
  let indexDigest: string;

  beforeAll(async () => {
    registry = await startRegistry({ version: 'v3' });
    const big = await pushImage(registry, 'big/repo', ['seed']);
    await addTags(registry, 'big/repo', big.digest, BIG_TAGS);
    appDigest = (
      await pushImage(registry, 'team/app', ['1.0.0', '1.1.0', 'latest'])
    ).digest;
    indexDigest = (
      await pushImage(registry, 'multi', ['v1'], {
        platforms: [
          { os: 'linux', architecture: 'amd64' },
          { os: 'linux', architecture: 'arm64' },
        ],
      })
    ).digest;
    proxy = await startFaultProxy(registry.url);
  }, 600_000); // the first run on a machine builds distribution v3 (~4 min)

  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  beforeEach(() => proxy.clear());

  it('lists 10,000 tags across 100 pages of 100, following Link headers', async () => {
    const client = new RegistryClient({ pageSize: 100 });
    const started = Date.now();
    const { tags, requests } = await client.listTags(
      refAt(proxy.host, 'big/repo'),
    );
    expect(new Set(tags)).toEqual(new Set([...BIG_TAGS, 'seed']));
    expect(tags).toHaveLength(10_001);
    expect(requests).toBeGreaterThanOrEqual(101);
    expect(
      proxy.requests.filter(r => r.path.includes('/tags/list')),
    ).toHaveLength(requests);
    expect(proxy.requests[0].path).toBe('/v2/big/repo/tags/list?n=100');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('asks for 1000 tags per page by default, as Flux does', async () => {
    const { tags, requests } = await new RegistryClient().listTags(
      refAt(registry.host, 'big/repo'),
    );
    expect(tags).toHaveLength(10_001);
    expect(requests).toBeGreaterThanOrEqual(11);
    expect(requests).toBeLessThanOrEqual(12);
  });

  it('fails with tagLimit when a repository has more tags than the cap', async () => {
    const error = await failure(
      new RegistryClient({ maxTags: 5000 }).listTags(
        refAt(registry.host, 'big/repo'),
      ),
    );
    expect(error.kind).toBe('tagLimit');
    expect(error.message).toBe(
      `repository ${registry.host}/big/repo has more than 5000 tags, the most this scanner is configured to read`,
    );
  });

  it('reports a missing repository as Flux does', async () => {
    const error = await failure(
      new RegistryClient().listTags(refAt(registry.host, 'nope')),
    );
    expect(error.kind).toBe('notFound');
    expect(error.status).toBe(404);
    expect(error.message).toBe(
      `GET http://${registry.host}/v2/nope/tags/list?n=1000: NAME_UNKNOWN: repository name not known to registry; map[name:nope]`,
    );
  });

  it('resolves digests of images and multi-arch indexes with HEAD', async () => {
    const client = new RegistryClient();
    await expect(
      client.getDigest(refAt(proxy.host, 'team/app'), '1.1.0'),
    ).resolves.toEqual({
      digest: appDigest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
    await expect(
      client.getDigest(refAt(proxy.host, 'multi'), 'v1'),
    ).resolves.toEqual({
      digest: indexDigest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
    expect(proxy.requests.map(r => r.method)).toEqual(['HEAD', 'HEAD']);
    const missing = await failure(
      client.getDigest(refAt(registry.host, 'team/app'), '9.9.9'),
    );
    expect(missing.kind).toBe('notFound');
    expect(missing.message).toBe(
      `GET http://${registry.host}/v2/team/app/manifests/9.9.9: MANIFEST_UNKNOWN: manifest unknown; unknown tag=9.9.9`,
    );
  });

  it('falls back to GET and hashes the manifest when HEAD gives no digest', async () => {
    proxy.inject({
      match: r => r.method === 'HEAD',
      action: {
        rewriteHeaders: h => {
          const { 'docker-content-digest': _, ...rest } = h;
          return rest;
        },
      },
    });
    proxy.inject({
      match: r => r.method === 'GET',
      action: {
        rewriteHeaders: h => {
          const { 'docker-content-digest': _, ...rest } = h;
          return rest;
        },
      },
    });
    const { digest } = await new RegistryClient().getDigest(
      refAt(proxy.host, 'team/app'),
      'latest',
    );
    expect(digest).toBe(appDigest);
    expect(proxy.requests.map(r => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('refuses hosts that are not allow-listed before sending anything', async () => {
    const client = new RegistryClient({
      allowedHosts: ['ghcr.io', '*.example.com'],
    });
    const error = await failure(client.listTags(refAt(proxy.host, 'team/app')));
    expect(error.kind).toBe('hostNotAllowed');
    expect(error.message).toBe(
      `registry host ${proxy.host} is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`,
    );
    expect(proxy.requests).toHaveLength(0);
    // An empty list allows no host at all (fails closed, #13).
    const none = await failure(
      new RegistryClient({ allowedHosts: [] }).listTags(
        refAt(proxy.host, 'team/app'),
      ),
    );
    expect(none.kind).toBe('hostNotAllowed');
    expect(proxy.requests).toHaveLength(0);
    await expect(
      new RegistryClient({ allowedHosts: ['*'] }).listTags(
        refAt(proxy.host, 'team/app'),
      ),
    ).resolves.toMatchObject({ tags: ['1.0.0', '1.1.0', 'latest'] });
    await expect(
      new RegistryClient({ allowedHosts: [proxy.host] }).listTags(
        refAt(proxy.host, 'team/app'),
      ),
    ).resolves.toMatchObject({ tags: ['1.0.0', '1.1.0', 'latest'] });
  });

  it('refuses a Link to another host with Flux error text', async () => {
    proxy.inject({
      action: {
        rewriteHeaders: h => ({
          ...h,
          link: '<http://169.254.169.254/v2/big/repo/tags/list?n=100&last=x>; rel="next"',
        }),
      },
    });
    const error = await failure(
      new RegistryClient({ pageSize: 100 }).listTags(
        refAt(proxy.host, 'big/repo'),
      ),
    );
    expect(error.kind).toBe('invalidResponse');
    expect(error.message).toBe(
      'pagination URL host does not match registry host: potential SSRF attack',
    );
    expect(proxy.requests).toHaveLength(1);
  });

  it('follows next-page links verbatim, resolved against the request URL', async () => {
    // A link that skips the second page: the client must not rebuild links from `last` itself.
    const skipTo = [...BIG_TAGS, 'seed'].sort()[1999];
    proxy.inject({
      action: {
        rewriteHeaders: h => ({
          ...h,
          link: `<list?n=1000&last=${skipTo}>; rel="next"`,
        }),
      },
    });
    const { tags } = await new RegistryClient().listTags(
      refAt(proxy.host, 'big/repo'),
    );
    expect(proxy.requests[1].path).toBe(
      `/v2/big/repo/tags/list?n=1000&last=${skipTo}`,
    );
    expect(new Set(tags).size).toBe(9_001);
  });

  it('retries 5xx and resets with backoff, then reports the last failure', async () => {
    proxy.inject({ action: { status: 503, body: '' } });
    proxy.inject({ action: { reset: true } });
    const client = new RegistryClient({ retries: { baseDelayMs: 10 } });
    const ok = await client.listTags(refAt(proxy.host, 'team/app'));
    expect(ok).toEqual({ tags: ['1.0.0', '1.1.0', 'latest'], requests: 3 });

    proxy.inject({
      times: Infinity,
      action: { status: 500, body: 'database on fire' },
    });
    const error = await failure(client.listTags(refAt(proxy.host, 'team/app')));
    expect(error.kind).toBe('server');
    expect(error.requests).toBe(3);
    expect(error.message).toBe(
      `GET http://${proxy.host}/v2/team/app/tags/list?n=1000: unexpected status code 500 Internal Server Error: database on fire`,
    );
    proxy.clear();
    proxy.inject({ times: Infinity, action: { reset: true } });
    const reset = await failure(client.listTags(refAt(proxy.host, 'team/app')));
    expect(reset.kind).toBe('network');
    expect(reset.message).toContain(
      `GET http://${proxy.host}/v2/team/app/tags/list?n=1000: `,
    );
  });

  it('honours Retry-After on 429, and gives up when it asks for too long', async () => {
    proxy.inject({ action: { status: 429, headers: { 'retry-after': '1' } } });
    const started = Date.now();
    await new RegistryClient().listTags(refAt(proxy.host, 'team/app'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    proxy.inject({
      action: { status: 429, headers: { 'retry-after': '3600' } },
    });
    const error = await failure(
      new RegistryClient().listTags(refAt(proxy.host, 'team/app')),
    );
    expect(error.kind).toBe('rateLimited');
    expect(error.message).toContain(
      'Retry-After 3600 s is longer than the 30 s this client waits',
    );
  });

  it('times out slow responses per request and per call', async () => {
    proxy.inject({ action: { delayMs: 3000 } });
    const client = new RegistryClient({
      requestTimeoutMs: 300,
      retries: { baseDelayMs: 10 },
    });
    await expect(
      client.listTags(refAt(proxy.host, 'team/app')),
    ).resolves.toMatchObject({ requests: 2 });

    proxy.inject({ times: Infinity, action: { delayMs: 3000 } });
    const started = Date.now();
    const error = await failure(
      new RegistryClient().listTags(refAt(proxy.host, 'team/app'), {
        timeoutMs: 500,
      }),
    );
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('rejects malformed JSON and oversized bodies', async () => {
    proxy.inject({
      action: { replaceBody: '{"name":"team/app","tags":["1.0' },
    });
    const malformed = await failure(
      new RegistryClient().listTags(refAt(proxy.host, 'team/app')),
    );
    expect(malformed.kind).toBe('invalidResponse');
    expect(malformed.message).toBe(
      `GET http://${proxy.host}/v2/team/app/tags/list?n=1000: the tag list is not valid JSON`,
    );

    proxy.inject({ action: { oversizedBytes: 4 * 1024 * 1024 } });
    const oversized = await failure(
      new RegistryClient({ maxBodyBytes: 1024 * 1024 }).listTags(
        refAt(proxy.host, 'team/app'),
      ),
    );
    expect(oversized.kind).toBe('invalidResponse');
    expect(oversized.message).toContain('response body exceeds 1048576 bytes');
  });

  it('keeps to the per-registry concurrency limit', async () => {
    proxy.inject({ times: Infinity, action: { delayMs: 50 } });
    const client = new RegistryClient({ concurrencyPerRegistry: 2 });
    await Promise.all(
      Array.from({ length: 8 }, () =>
        client.getDigest(refAt(proxy.host, 'team/app'), 'latest'),
      ),
    );
    expect(proxy.requests).toHaveLength(8);
    expect(proxy.maxInFlight()).toBe(2);
  });

  it('spends a request budget, waiting for it or failing when the deadline is too near', async () => {
    const client = new RegistryClient({
      requestBudget: { requests: 4, intervalMs: 1000 },
    });
    const started = Date.now();
    for (let i = 0; i < 6; i++) {
      await client.getDigest(refAt(proxy.host, 'team/app'), 'latest');
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const error = await failure(
      Promise.all(
        Array.from({ length: 6 }, () =>
          client.getDigest(refAt(proxy.host, 'team/app'), 'latest', {
            timeoutMs: 300,
          }),
        ),
      ),
    );
    expect(error.kind).toBe('budgetExceeded');
  });

  it('stops when aborted', async () => {
    proxy.inject({ action: { delayMs: 3000 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(
      new RegistryClient().listTags(refAt(proxy.host, 'team/app'), {
        signal: controller.signal,
      }),
    );
    expect(error.kind).toBe('aborted');
  });
});

describe('RegistryClient with Basic auth (htpasswd, bcrypt)', () => {
  let registry: TestRegistry;
  const password = 'hunter2-not-in-messages';

  beforeAll(async () => {
    registry = await startRegistry({
      version: 'v3',
      htpasswd: { username: 'alice', password },
    });
    await pushImage(registry, 'private/app', ['1.0.0']);
  }, 60_000);
  afterAll(() => registry?.stop());

  it('authenticates with basic credentials and with a matching docker config', async () => {
    const client = new RegistryClient();
    const ref = refAt(registry.host, 'private/app');
    await expect(
      client.listTags(ref, {
        plainHttpCredentials: true,
        credentials: { type: 'basic', username: 'alice', password },
      }),
    ).resolves.toEqual({
      tags: ['1.0.0'],
      requests: 2,
    });
    // The challenge is remembered: the next call authenticates up front.
    await expect(
      client.listTags(ref, {
        plainHttpCredentials: true,
        credentials: { type: 'basic', username: 'alice', password },
      }),
    ).resolves.toEqual({
      tags: ['1.0.0'],
      requests: 1,
    });
    const dockerConfigJson = JSON.stringify({
      auths: {
        [`http://${registry.host}/v2/`]: {
          auth: Buffer.from(`alice:${password}`).toString('base64'),
        },
      },
    });
    await expect(
      new RegistryClient().listTags(ref, {
        plainHttpCredentials: true,
        credentials: { type: 'dockerConfigJson', dockerConfigJson },
      }),
    ).resolves.toMatchObject({ tags: ['1.0.0'] });
  });

  it('never sends credentials over plain HTTP unless the call allows it (#13)', async () => {
    const ref = refAt(registry.host, 'private/app');
    const error = await failure(
      new RegistryClient().listTags(ref, {
        credentials: { type: 'basic', username: 'alice', password },
      }),
    );
    expect(error.kind).toBe('hostNotAllowed');
    expect(error.message).toBe(
      `refusing to send credentials to http://${registry.host} over plain HTTP (the host is not in imageAutomation.registry.insecureHosts)`,
    );
  });

  it('reports wrong and missing credentials clearly, without the secret', async () => {
    const ref = refAt(registry.host, 'private/app');
    for (const credentials of [
      { type: 'basic', username: 'alice', password: 'wrong-secret-value' },
      undefined,
      {
        type: 'dockerConfigJson',
        dockerConfigJson: JSON.stringify({
          auths: { 'ghcr.io': { auth: 'eDp5' } },
        }),
      },
    ] as Array<RegistryCredentials | undefined>) {
      const error = await failure(
        new RegistryClient().listTags(ref, {
          credentials,
          plainHttpCredentials: true,
        }),
      );
      expect(error.kind).toBe('unauthorized');
      expect(error.status).toBe(401);
      expect(error.message).toBe(
        `GET http://${registry.host}/v2/private/app/tags/list?n=1000: UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:private/app Type:repository]]`,
      );
      expect(error.message).not.toContain('wrong-secret-value');
      expect(error.message).not.toContain(password);
    }
  });
});

describe('RegistryClient with Bearer tokens (token server)', () => {
  let tokens: TestTokenServer;
  let registry: TestRegistry;
  const password = 'correct-horse-battery';
  const identityToken = 'identity-token-secret-1';

  beforeAll(async () => {
    tokens = await startTokenServer({
      users: { alice: password, bob: 'bob-password' },
      identityTokens: { [identityToken]: 'alice' },
      publicRepositories: ['public/app'],
      deny: { bob: ['private/app'] },
      expiresInS: 6,
    });
    registry = await startRegistry({ version: 'v3', token: tokens.auth });
    const session = { credentials: { username: 'alice', password } };
    await pushImage(registry, 'private/app', ['1.0.0', '2.0.0'], session);
    await pushImage(registry, 'public/app', ['latest'], session);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });
  beforeEach(() => {
    tokens.requests.length = 0;
  });
  /** The token server's host, which the credentials of these tests are bound to; both speak plain HTTP. */
  const bound = () => ({
    credentialHosts: [new URL(tokens.realm).host],
    plainHttpCredentials: true,
  });

  it('gets an anonymous token for a public repository', async () => {
    const result = await new RegistryClient().listTags(
      refAt(registry.host, 'public/app'),
    );
    expect(result).toEqual({ tags: ['latest'], requests: 3 });
    expect(tokens.requests).toEqual([
      {
        method: 'GET',
        grant: 'anonymous',
        user: undefined,
        scopes: ['repository:public/app:pull'],
        status: 200,
      },
    ]);
  });

  it('gets a token with credentials, caches it per scope until it expires', async () => {
    const client = new RegistryClient();
    const credentials: RegistryCredentials = {
      type: 'basic',
      username: 'alice',
      password,
    };
    const ref = refAt(registry.host, 'private/app');
    await expect(
      client.listTags(ref, { credentials, ...bound() }),
    ).resolves.toEqual({
      tags: ['1.0.0', '2.0.0'],
      requests: 3,
    });
    await expect(
      client.listTags(ref, { credentials, ...bound() }),
    ).resolves.toEqual({
      tags: ['1.0.0', '2.0.0'],
      requests: 1,
    });
    await expect(
      client.getDigest(ref, '2.0.0', { credentials, ...bound() }),
    ).resolves.toMatchObject({ digest: expect.stringMatching(/^sha256:/) });
    expect(tokens.requests).toHaveLength(1);
    // Tokens live 6 s and are renewed 5 s early.
    await new Promise(r => setTimeout(r, 1200));
    await expect(
      client.listTags(ref, { credentials, ...bound() }),
    ).resolves.toEqual({
      tags: ['1.0.0', '2.0.0'],
      requests: 2,
    });
    expect(tokens.requests).toHaveLength(2);
    // Another credential never reuses alice's token.
    const anonymous = await failure(client.listTags(ref));
    expect(anonymous.kind).toBe('unauthorized');
  });

  it('shares one token request among concurrent calls', async () => {
    const client = new RegistryClient();
    const credentials: RegistryCredentials = {
      type: 'basic',
      username: 'alice',
      password,
    };
    const ref = refAt(registry.host, 'private/app');
    const digests = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.getDigest(ref, '1.0.0', { credentials, ...bound() }),
      ),
    );
    expect(new Set(digests.map(d => d.digest)).size).toBe(1);
    expect(tokens.requests).toHaveLength(1);
  });

  it('exchanges an identity token with the OAuth2 refresh grant', async () => {
    const client = new RegistryClient();
    const ref = refAt(registry.host, 'private/app');
    await expect(
      client.listTags(ref, {
        ...bound(),
        credentials: { type: 'token', token: identityToken },
      }),
    ).resolves.toMatchObject({ tags: ['1.0.0', '2.0.0'] });
    expect(tokens.requests).toEqual([
      {
        method: 'POST',
        grant: 'refresh_token',
        user: 'alice',
        scopes: ['repository:private/app:pull'],
        status: 200,
      },
    ]);
    const dockerConfigJson = JSON.stringify({
      auths: { [registry.host]: { identitytoken: identityToken } },
    });
    await expect(
      new RegistryClient().listTags(ref, {
        ...bound(),
        credentials: { type: 'dockerConfigJson', dockerConfigJson },
      }),
    ).resolves.toMatchObject({ tags: ['1.0.0', '2.0.0'] });
  });

  it('reports refused credentials without the secret', async () => {
    const ref = refAt(registry.host, 'private/app');
    const error = await failure(
      new RegistryClient().listTags(ref, {
        ...bound(),
        credentials: {
          type: 'basic',
          username: 'alice',
          password: 'not-the-password',
        },
      }),
    );
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toBe(
      `GET ${tokens.realm}?scope=repository%3Aprivate%2Fapp%3Apull&service=testbed-registry: unexpected status code 401 Unauthorized: {"details":"incorrect username or password"} (the token service refused the credentials)`,
    );
    expect(error.message).not.toContain('not-the-password');
    const badToken = await failure(
      new RegistryClient().listTags(ref, {
        ...bound(),
        credentials: { type: 'token', token: 'identity-nope' },
      }),
    );
    expect(badToken.kind).toBe('unauthorized');
    expect(badToken.message).not.toContain('identity-nope');
  });

  it('asks for a fresh token once on insufficient_scope, then reports it', async () => {
    const ref = refAt(registry.host, 'private/app');
    const error = await failure(
      new RegistryClient().listTags(ref, {
        ...bound(),
        credentials: {
          type: 'basic',
          username: 'bob',
          password: 'bob-password',
        },
      }),
    );
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toMatch(
      new RegExp(
        `^GET http://${registry.host}/v2/private/app/tags/list\\?n=1000: UNAUTHORIZED: authentication required`,
      ),
    );
    expect(tokens.requests).toHaveLength(2);
    expect(error.message).not.toContain('bob-password');
  });

  it('sends a docker config registrytoken as is', async () => {
    const response = await fetch(
      `${tokens.realm}?service=testbed-registry&scope=repository:private/app:pull`,
      {
        headers: {
          authorization: `Basic ${Buffer.from(`alice:${password}`).toString(
            'base64',
          )}`,
        },
      },
    );
    const { token } = (await response.json()) as { token: string };
    tokens.requests.length = 0;
    const dockerConfigJson = JSON.stringify({
      auths: { [registry.host]: { registrytoken: token } },
    });
    const result = await new RegistryClient().listTags(
      refAt(registry.host, 'private/app'),
      {
        ...bound(),
        credentials: { type: 'dockerConfigJson', dockerConfigJson },
      },
    );
    expect(result).toEqual({ tags: ['1.0.0', '2.0.0'], requests: 1 });
    expect(tokens.requests).toHaveLength(0);
  });

  it('refuses to send credentials to a plain-HTTP realm of an HTTPS registry', async () => {
    const secure = await startRegistry({
      version: 'v3',
      tls: true,
      token: tokens.auth,
    });
    try {
      const ref = {
        ...refAt(secure.host, 'private/app'),
        scheme: 'https' as const,
      };
      const error = await failure(
        new RegistryClient({ ca: secure.certificates!.ca }).listTags(ref, {
          credentials: { type: 'basic', username: 'alice', password },
        }),
      );
      expect(error.kind).toBe('invalidResponse');
      expect(error.message).toBe(
        `token realm ${
          new URL(tokens.realm).origin
        } is not HTTPS; refusing to send credentials for a secure registry`,
      );
      expect(tokens.requests).toHaveLength(0);
    } finally {
      await secure.stop();
    }
  });

  it('refuses a token realm on a host that is not allow-listed', async () => {
    const client = new RegistryClient({ allowedHosts: [registry.host] });
    const error = await failure(
      client.listTags(refAt(registry.host, 'public/app')),
    );
    expect(error.kind).toBe('hostNotAllowed');
    expect(error.message).toBe(
      `token realm host ${
        new URL(tokens.realm).host
      } is not in imageAutomation.allowedRegistries, the registry hosts this backend may contact`,
    );
  });

  it('refuses to send credentials to a token realm on a host they are not bound to (#13)', async () => {
    // The registry's realm is the token server, on another port of 127.0.0.1: another host.
    const error = await failure(
      new RegistryClient().listTags(refAt(registry.host, 'private/app'), {
        credentials: { type: 'basic', username: 'alice', password },
        credentialHosts: [registry.host],
        plainHttpCredentials: true,
      }),
    );
    expect(error.kind).toBe('hostNotAllowed');
    expect(error.message).toBe(
      `token realm ${new URL(tokens.realm).origin} is on host ${
        new URL(tokens.realm).host
      }, which the credentials are not bound to; refusing to send them there (add the host to the credential's hosts)`,
    );
    expect(error.message).not.toContain(password);
    expect(tokens.requests).toHaveLength(0);
    // Without any binding (a caller that passes none), only the registry's own host qualifies.
    const unbound = await failure(
      new RegistryClient().listTags(refAt(registry.host, 'private/app'), {
        credentials: { type: 'token', token: identityToken },
        plainHttpCredentials: true,
      }),
    );
    expect(unbound.kind).toBe('hostNotAllowed');
    expect(tokens.requests).toHaveLength(0);
    // Anonymous pulls still get their token there: nothing secret is sent.
    await expect(
      new RegistryClient().listTags(refAt(registry.host, 'public/app')),
    ).resolves.toMatchObject({ tags: ['latest'] });
  });
});

describe('RegistryClient and redirects (#13)', () => {
  it('never follows a redirect, so credentials never reach another host', async () => {
    const http = nodeHttp;
    const seen: Array<{ url?: string; authorization?: string }> = [];
    const attacker = http.createServer((req, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"name":"x","tags":["stolen"]}');
    });
    const registry = http.createServer((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        res.end();
        return;
      }
      const port = (attacker.address() as { port: number }).port;
      res.writeHead(307, { location: `http://localhost:${port}${req.url}` });
      res.end();
    });
    await new Promise<void>(r => attacker.listen(0, '127.0.0.1', r));
    await new Promise<void>(r => registry.listen(0, '127.0.0.1', r));
    try {
      const host = `127.0.0.1:${(registry.address() as { port: number }).port}`;
      const error = await failure(
        new RegistryClient({ retries: { attempts: 1 } }).listTags(
          refAt(host, 'team/app'),
          {
            credentials: {
              type: 'basic',
              username: 'u',
              password: 'redirect-secret',
            },
            credentialHosts: [host],
            plainHttpCredentials: true,
          },
        ),
      );
      expect(error.message).toMatch(/307/);
      expect(error.message).not.toContain('redirect-secret');
      expect(seen).toEqual([]);
    } finally {
      await new Promise(r => attacker.close(r));
      await new Promise(r => registry.close(r));
    }
  });
});

describe('RegistryClient over TLS', () => {
  let registry: TestRegistry;
  let mutual: TestRegistry;

  beforeAll(async () => {
    [registry, mutual] = await Promise.all([
      startRegistry({ tls: true }),
      startRegistry({ tls: { clientAuth: true } }),
    ]);
    await Promise.all([
      pushImage(registry, 'secure/app', ['1.0.0']),
      pushImage(mutual, 'secure/app', ['1.0.0']),
    ]);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    await mutual?.stop();
  });

  // 127.0.0.1 is plain HTTP by Flux's rules; these registries speak HTTPS.
  const secureRef = (r: TestRegistry) => ({
    ...refAt(r.host, 'secure/app'),
    scheme: 'https' as const,
  });

  it('trusts a custom CA given per call or per client, and only then', async () => {
    const ca = registry.certificates!.ca;
    await expect(
      new RegistryClient().listTags(secureRef(registry), { tls: { ca } }),
    ).resolves.toMatchObject({ tags: ['1.0.0'] });
    await expect(
      new RegistryClient({ ca }).listTags(secureRef(registry)),
    ).resolves.toMatchObject({ tags: ['1.0.0'] });
    const error = await failure(
      new RegistryClient().listTags(secureRef(registry)),
    );
    expect(error.kind).toBe('tls');
    expect(error.message).toContain(
      `GET https://${registry.host}/v2/secure/app/tags/list?n=1000: `,
    );
  });

  it('switches to HTTPS when a registry parsed as plain HTTP answers as a TLS server', async () => {
    const client = new RegistryClient({ ca: registry.certificates!.ca });
    const ref = refAt(registry.host, 'secure/app');
    expect(ref.scheme).toBe('http');
    await expect(client.listTags(ref)).resolves.toEqual({
      tags: ['1.0.0'],
      requests: 2,
    });
    await expect(client.listTags(ref)).resolves.toEqual({
      tags: ['1.0.0'],
      requests: 1,
    });
    await expect(client.getDigest(ref, '1.0.0')).resolves.toMatchObject({
      digest: expect.stringMatching(/^sha256:/),
    });
  });

  it('presents a client certificate when the registry requires one', async () => {
    const c = mutual.certificates!;
    await expect(
      new RegistryClient().listTags(secureRef(mutual), {
        tls: { ca: c.ca, cert: c.clientCert, key: c.clientKey },
      }),
    ).resolves.toMatchObject({ tags: ['1.0.0'] });
    const error = await failure(
      new RegistryClient({ retries: { attempts: 1 } }).listTags(
        secureRef(mutual),
        { tls: { ca: c.ca } },
      ),
    );
    expect(['tls', 'network']).toContain(error.kind);
  });
});

describe('RegistryClient against distribution 2.8 (Debian)', () => {
  it('lists an unpaginated tag list and resolves digests', async () => {
    const registry = await startRegistry({ version: '2.8' });
    try {
      const pushed = await pushImage(registry, 'old/app', ['a', 'b', 'c']);
      const client = new RegistryClient({ pageSize: 2 });
      const { tags } = await client.listTags(refAt(registry.host, 'old/app'));
      expect([...tags].sort()).toEqual(['a', 'b', 'c']);
      await expect(
        client.getDigest(refAt(registry.host, 'old/app'), 'b'),
      ).resolves.toMatchObject({ digest: pushed.digest });
    } finally {
      await registry.stop();
    }
  });
});
