import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { trackDirectory } from './processes';
import { RegistryTokenAuth } from './registry';

const execFileAsync = promisify(execFile);

/** Options of {@link startTokenServer}. @public */
export interface TokenServerOptions {
  /** Users and passwords accepted with HTTP Basic on the token request. */
  users?: Record<string, string>;
  /** OAuth2 refresh ("identity") tokens accepted by the POST grant, and the user each stands for. */
  identityTokens?: Record<string, string>;
  /** Repositories anonymous requests may pull (public images). Default none. */
  publicRepositories?: string[];
  /** Repositories (exact names) a user may not pull, to provoke `insufficient_scope`. */
  deny?: Record<string, string[]>;
  /** Token lifetime in seconds. Default 300. */
  expiresInS?: number;
  /** Return an `access_token` field instead of `token`. */
  accessTokenField?: boolean;
}

/** A log line of a token request (never a password). @public */
export interface TokenRequest {
  method: string;
  grant: 'basic' | 'anonymous' | 'refresh_token';
  user?: string;
  scopes: string[];
  status: number;
}

/** A running token server. @public */
export interface TestTokenServer {
  /** What {@link startRegistry}'s `token` option needs. */
  auth: RegistryTokenAuth;
  realm: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Starts a Docker-registry token server (the Docker Hub / GHCR flow) on 127.0.0.1 in this
 * process: `GET /token?service=…&scope=…` with optional Basic credentials, or `POST /token` with an
 * OAuth2 `refresh_token` grant. Tokens are RS256 JWTs carrying their certificate in `x5c`, which
 * both distribution 2.8 and v3 verify against `rootcertbundle`.
 * @public
 */
export async function startTokenServer(
  options: TokenServerOptions = {},
): Promise<TestTokenServer> {
  const dir = await fs.promises.mkdtemp(
    path.join(os.tmpdir(), 'testbed-token-'),
  );
  const removeDir = trackDirectory(dir);
  await execFileAsync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-subj',
      '/CN=testbed token issuer',
    ],
    { cwd: dir },
  );
  const key = crypto.createPrivateKey(
    await fs.promises.readFile(path.join(dir, 'key.pem')),
  );
  const certificate = new crypto.X509Certificate(
    await fs.promises.readFile(path.join(dir, 'cert.pem')),
  );
  const issuer = 'testbed-token-issuer';
  const service = 'testbed-registry';
  const requests: TokenRequest[] = [];
  const refreshTokens = new Map(Object.entries(options.identityTokens ?? {}));

  function sign(
    user: string | undefined,
    access: Array<{ type: string; name: string; actions: string[] }>,
  ) {
    const now = Math.floor(Date.now() / 1000);
    const header = {
      alg: 'RS256',
      typ: 'JWT',
      x5c: [certificate.raw.toString('base64')],
    };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + (options.expiresInS ?? 300),
      nbf: now - 5,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(
      JSON.stringify(claims),
    )}`;
    return `${input}.${base64url(
      crypto.sign('RSA-SHA256', Buffer.from(input), key),
    )}`;
  }

  function grant(user: string | undefined, scopes: string[]) {
    return scopes.flatMap(scope => {
      const [type, name, actions] = [
        scope.split(':')[0],
        scope.split(':').slice(1, -1).join(':'),
        scope.split(':').slice(-1)[0],
      ];
      if (type !== 'repository' || !name) {
        return [];
      }
      const wanted = actions.split(',');
      const allowed =
        user === undefined
          ? wanted.filter(
              a =>
                a === 'pull' &&
                (options.publicRepositories ?? []).includes(name),
            )
          : (options.deny?.[user] ?? []).includes(name)
          ? []
          : wanted;
      return [{ type, name, actions: allowed }];
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const reply = (
        status: number,
        body: unknown,
        log: Omit<TokenRequest, 'status' | 'method'>,
      ) => {
        requests.push({ method: req.method ?? 'GET', status, ...log });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.pathname !== '/token') {
        reply(
          404,
          { details: 'not found' },
          { grant: 'anonymous', scopes: [] },
        );
        return;
      }
      if (req.method === 'POST') {
        const form = new URLSearchParams(
          Buffer.concat(chunks).toString('utf8'),
        );
        const scopes = form
          .getAll('scope')
          .flatMap(s => s.split(' '))
          .filter(Boolean);
        const user = refreshTokens.get(form.get('refresh_token') ?? '');
        if (form.get('grant_type') !== 'refresh_token' || !user) {
          reply(
            401,
            { error: 'invalid_grant' },
            { grant: 'refresh_token', scopes },
          );
          return;
        }
        const refresh = `refresh-${crypto.randomUUID()}`;
        refreshTokens.set(refresh, user);
        const token = sign(user, grant(user, scopes));
        reply(
          200,
          {
            access_token: token,
            refresh_token: refresh,
            expires_in: options.expiresInS ?? 300,
            issued_at: new Date().toISOString(),
          },
          { grant: 'refresh_token', user, scopes },
        );
        return;
      }
      const scopes = url.searchParams
        .getAll('scope')
        .flatMap(s => s.split(' '))
        .filter(Boolean);
      let user: string | undefined;
      const authorization = req.headers.authorization ?? '';
      if (authorization.startsWith('Basic ')) {
        const decoded = Buffer.from(authorization.slice(6), 'base64').toString(
          'utf8',
        );
        const colon = decoded.indexOf(':');
        const [name, password] = [
          decoded.slice(0, colon),
          decoded.slice(colon + 1),
        ];
        if (
          options.users?.[name] === undefined ||
          options.users[name] !== password
        ) {
          reply(
            401,
            { details: 'incorrect username or password' },
            { grant: 'basic', user: name, scopes },
          );
          return;
        }
        user = name;
      }
      const token = sign(user, grant(user, scopes));
      const body = options.accessTokenField
        ? {
            access_token: token,
            expires_in: options.expiresInS ?? 300,
            issued_at: new Date().toISOString(),
          }
        : {
            token,
            access_token: token,
            expires_in: options.expiresInS ?? 300,
            issued_at: new Date().toISOString(),
          };
      reply(200, body, { grant: user ? 'basic' : 'anonymous', user, scopes });
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const realm = `http://127.0.0.1:${port}/token`;
  return {
    auth: {
      realm,
      service,
      issuer,
      rootCertBundleFile: path.join(dir, 'cert.pem'),
    },
    realm,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
      await removeDir();
    },
  };
}
