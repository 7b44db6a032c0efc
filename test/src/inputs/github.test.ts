import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import { makeCertificates, TestCertificates } from '../../testbed';
import { eventually, startBackend } from '../integration/backendHarness';
import { CapturingLogger } from '../integration/capturingLogger';

/*
 * GitHubBranch, GitHubTag and GitHubPullRequest providers in a real backend, against a local
 * stand-in for GitHub's REST API (v3, as GitHub Enterprise Server serves it under /api/v3): the
 * documented paths and query parameters, `Link` paging, response shapes, `Authorization: Bearer`,
 * the App installation-token exchange (the stand-in checks the JWT's RS256 signature with the
 * app's public key), 401s and both kinds of rate limit. The stand-in records every request, so
 * the tests also see what was *not* sent.
 */

jest.setTimeout(120_000);

const user = mockCredentials.user.header();
const secret = (label: string) =>
  `${label}-${crypto.randomBytes(12).toString('hex')}`;
const TOKEN = secret('ghp');
const WRONG_TOKEN = secret('wrongghp');
const OTHER_TOKEN = secret('otherghp');
const INSTALLATION_TOKEN = secret('ghs');
const INTEGRATION_TOKEN = secret('integration');
const APP_ID = '4242';
const { privateKey: APP_KEY, publicKey: APP_PUBLIC_KEY } =
  crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
/** A line from the middle of the private key: no part of it may appear anywhere. */
const KEY_PART = APP_KEY.split('\n')[5];

/** Adler-32, decimal: the Flux Operator's input id (re-stated here to check the backend's). */
function adler32(text: string): string {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return String(((b << 16) | a) >>> 0);
}
const sha = (text: string) =>
  crypto.createHash('sha1').update(text).digest('hex');

// ---- the stand-in ----------------------------------------------------------------------------

interface Seen {
  method: string;
  host: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

interface Pull {
  number: number;
  ref: string;
  sha: string;
  login: string;
  title: string;
  labels: string[];
}

class GitHubStandIn {
  readonly seen: Seen[] = [];
  mints = 0;
  server!: http.Server;
  host = '';
  /** The same API over HTTPS, with a certificate of the test CA. */
  tlsServer?: https.Server;
  tlsHost = '';
  readonly repos = new Map<
    string,
    {
      id: number;
      branches: string[];
      tags: string[];
      pulls: Pull[];
      public?: boolean;
    }
  >();

  async start(certificates: TestCertificates) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>(resolve =>
      this.server.listen(0, '127.0.0.1', resolve),
    );
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.tlsServer = https.createServer(
      {
        cert: fs.readFileSync(certificates.serverCertFile),
        key: fs.readFileSync(certificates.serverKeyFile),
      },
      (req, res) => this.handle(req, res),
    );
    await new Promise<void>(resolve =>
      this.tlsServer!.listen(0, '127.0.0.1', resolve),
    );
    this.tlsHost = `127.0.0.1:${
      (this.tlsServer.address() as AddressInfo).port
    }`;
  }

  async stop() {
    for (const server of [this.server, this.tlsServer]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
  }

  private json(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  /** The app's JWT, verified as GitHub does: RS256 with the app's public key, `iss`, at most 10 minutes. */
  private appAuthorized(req: http.IncomingMessage): boolean {
    const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(
      req.headers.authorization ?? '',
    );
    if (!match) return false;
    const header = JSON.parse(Buffer.from(match[1], 'base64url').toString());
    const payload = JSON.parse(Buffer.from(match[2], 'base64url').toString());
    const valid = crypto.verify(
      'RSA-SHA256',
      Buffer.from(`${match[1]}.${match[2]}`),
      APP_PUBLIC_KEY,
      Buffer.from(match[3], 'base64url'),
    );
    const now = Date.now() / 1000;
    return (
      valid &&
      header.alg === 'RS256' &&
      String(payload.iss) === APP_ID &&
      payload.iat <= now &&
      payload.exp > now &&
      payload.exp - payload.iat <= 600
    );
  }

  /** Pages of `per_page` items, with GitHub's `Link` header (repository-id URLs, as GitHub writes them). */
  private page(
    res: http.ServerResponse,
    url: URL,
    items: unknown[],
    linkPath: string,
    linkHost = this.host,
  ) {
    const perPage = Math.min(
      Number(url.searchParams.get('per_page') ?? 30),
      100,
    );
    const page = Number(url.searchParams.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const links: string[] = [];
    const query = new URLSearchParams(url.searchParams);
    const link = (n: number, rel: string) => {
      query.set('page', String(n));
      links.push(`<http://${linkHost}${linkPath}?${query}>; rel="${rel}"`);
    };
    if (page < last) {
      link(page + 1, 'next');
      link(last, 'last');
    }
    if (page > 1) {
      link(1, 'first');
      link(page - 1, 'prev');
    }
    this.json(
      res,
      200,
      items.slice((page - 1) * perPage, page * perPage),
      links.length ? { link: links.join(', ') } : {},
    );
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    this.seen.push({
      method: req.method ?? '',
      host: req.headers.host ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    });
    const path = url.pathname;
    if (req.method === 'GET' && path === '/api/v3/app/installations') {
      if (!this.appAuthorized(req))
        return this.json(res, 401, {
          message: 'A JSON web token could not be decoded',
        });
      return this.page(
        res,
        url,
        [
          {
            id: 12,
            account: { login: 'someone-else', type: 'User' },
            app_id: Number(APP_ID),
          },
          {
            id: 77,
            account: { login: 'Acme', type: 'Organization' },
            app_id: Number(APP_ID),
          },
        ],
        path,
      );
    }
    const mint = /^\/api\/v3\/app\/installations\/(\d+)\/access_tokens$/.exec(
      path,
    );
    if (mint && req.method === 'POST') {
      if (!this.appAuthorized(req))
        return this.json(res, 401, {
          message: 'A JSON web token could not be decoded',
        });
      if (mint[1] !== '77')
        return this.json(res, 404, { message: 'Not Found' });
      this.mints++;
      return this.json(res, 201, {
        token: INSTALLATION_TOKEN,
        expires_at: new Date(Date.now() + 3_600_000)
          .toISOString()
          .replace(/\.\d+Z$/, 'Z'),
        permissions: { contents: 'read', pull_requests: 'read' },
        repository_selection: 'all',
      });
    }
    const route =
      /^\/api\/v3\/(?:repos\/([^/]+)\/([^/]+)|repositories\/(\d+))\/(branches|tags|pulls)$/.exec(
        path,
      );
    if (!route || req.method !== 'GET')
      return this.json(res, 404, { message: 'Not Found' });
    const [, owner, name, id, what] = route;
    const entry = owner
      ? [...this.repos.entries()].find(([full]) => full === `${owner}/${name}`)
      : [...this.repos.entries()].find(([, r]) => String(r.id) === id);
    if (!entry) return this.json(res, 404, { message: 'Not Found' });
    const [full, repo] = entry;
    const auth = req.headers.authorization;
    if (
      auth &&
      ![TOKEN, INSTALLATION_TOKEN, INTEGRATION_TOKEN].some(
        t => auth === `Bearer ${t}`,
      )
    ) {
      return this.json(res, 401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    if (!auth && !repo.public)
      return this.json(res, 404, { message: 'Not Found' });
    if (full === 'acme/limited') {
      // A secondary rate limit: 403 with Retry-After.
      return this.json(
        res,
        403,
        { message: 'You have exceeded a secondary rate limit.' },
        { 'retry-after': '30' },
      );
    }
    if (full === 'acme/exhausted') {
      const reset = Math.floor(Date.now() / 1000) + 120;
      return this.json(
        res,
        403,
        { message: 'API rate limit exceeded' },
        {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
        },
      );
    }
    const linkPath = `/api/v3/repositories/${repo.id}/${what}`;
    const linkHost =
      full === 'acme/offorigin'
        ? this.host.replace('127.0.0.1', 'localhost')
        : this.host;
    if (what === 'branches') {
      return this.page(
        res,
        url,
        repo.branches.map(b => ({
          name: b,
          commit: {
            sha: sha(b),
            url: `http://${this.host}/api/v3/repos/${full}/commits/${sha(b)}`,
          },
          protected: b === 'main',
        })),
        linkPath,
        linkHost,
      );
    }
    if (what === 'tags') {
      return this.page(
        res,
        url,
        repo.tags.map(t => ({
          name: t,
          commit: {
            sha: sha(t),
            url: `http://${this.host}/api/v3/repos/${full}/commits/${sha(t)}`,
          },
          zipball_url: `http://${this.host}/api/v3/repos/${full}/zipball/${t}`,
          tarball_url: `http://${this.host}/api/v3/repos/${full}/tarball/${t}`,
          node_id: 'MDM6UmVm',
        })),
        linkPath,
        linkHost,
      );
    }
    if (url.searchParams.get('state') !== 'open')
      return this.json(res, 422, { message: 'state must be open here' });
    return this.page(
      res,
      url,
      repo.pulls.map(p => ({
        url: `http://${this.host}/api/v3/repos/${full}/pulls/${p.number}`,
        number: p.number,
        state: 'open',
        title: p.title,
        user: { login: p.login, id: 1, type: 'User' },
        labels: p.labels.map((l, i) => ({
          id: i + 1,
          name: l,
          color: 'ededed',
          default: false,
        })),
        head: {
          label: `acme:${p.ref}`,
          ref: p.ref,
          sha: p.sha,
          repo: { full_name: full },
        },
        base: { label: 'acme:main', ref: 'main', sha: sha('main') },
        draft: false,
      })),
      linkPath,
      linkHost,
    );
  }
}

// ---- the backend -----------------------------------------------------------------------------

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: platform
  annotations:
    image-automation.io/manifests: ./providers.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function provider(name: string, type: string, url: string, extra = '') {
  return `---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: ${name}, namespace: flux-system }
spec:
  type: ${type}
  url: ${url}
${extra}`;
}

describe('GitHub input providers against a GitHub API stand-in', () => {
  const github = new GitHubStandIn();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'github-standin-'));
  let certificates: TestCertificates;
  beforeAll(async () => {
    certificates = await makeCertificates(dir);
    await github.start(certificates);
    const pulls: Pull[] = [];
    // Newest first, as GitHub lists open pull requests by default.
    for (let n = 130; n >= 1; n--) {
      const labels =
        n === 5 ? ['preview', 'hold'] : n % 10 === 0 ? ['preview'] : [];
      pulls.push({
        number: n,
        ref: n === 70 ? 'hotfix/70' : `feature/pr-${n}`,
        sha: sha(`pr-${n}`),
        login: `dev-${n % 3}`,
        title: `Change ${n}`,
        labels,
      });
    }
    github.repos.set('acme/app', {
      id: 1001,
      branches: [
        'main',
        ...Array.from({ length: 149 }, (_, i) => `feat-${i + 1}`),
      ],
      tags: [
        'rubbish',
        ...Array.from({ length: 130 }, (_, i) => `v1.0.${i}`),
        'latest',
      ],
      pulls,
    });
    github.repos.set('acme/public', {
      id: 1002,
      branches: ['main', 'dev'],
      tags: [],
      pulls: [],
      public: true,
    });
    github.repos.set('acme/integrated', {
      id: 1003,
      branches: ['main'],
      tags: [],
      pulls: [],
    });
    github.repos.set('acme/limited', {
      id: 1004,
      branches: ['main'],
      tags: [],
      pulls: [],
    });
    github.repos.set('acme/exhausted', {
      id: 1005,
      branches: ['main'],
      tags: [],
      pulls: [],
    });
    github.repos.set('acme/offorigin', {
      id: 1006,
      branches: Array.from({ length: 150 }, (_, i) => `b${i}`),
      tags: [],
      pulls: [],
    });
    github.repos.set('acme/ungranted', {
      id: 1007,
      branches: ['main'],
      tags: [],
      pulls: [],
      public: true,
    });
    github.repos.set('acme/unbound', {
      id: 1008,
      branches: ['main'],
      tags: [],
      pulls: [],
      public: true,
    });
  });
  afterAll(async () => {
    await github.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exports branches, tags and pull requests, authenticates as configured, and turns every failure into a condition naming its cause', async () => {
    const host = github.host;
    const localhost = host.replace('127.0.0.1', 'localhost');
    const repo = (path: string) => `http://${host}/${path}`;
    const manifests = [
      provider(
        'branches',
        'GitHubBranch',
        repo('acme/app'),
        '  secretRef: { name: gh-token }\n',
      ),
      provider(
        'branches-late',
        'GitHubBranch',
        repo('acme/app'),
        "  secretRef: { name: gh-token }\n  filter: { includeBranch: '^feat-14', excludeBranch: '^feat-14$' }\n",
      ),
      provider(
        'tags',
        'GitHubTag',
        repo('acme/app.git'),
        "  secretRef: { name: gh-token }\n  filter: { semver: '>=1.0.0', limit: 2 }\n",
      ),
      provider(
        'tags-all',
        'GitHubTag',
        repo('acme/app'),
        "  secretRef: { name: gh-token }\n  filter: { includeTag: '^(v1\\.0\\.1|latest|rubbish)$' }\n",
      ),
      provider(
        'pulls',
        'GitHubPullRequest',
        repo('acme/app'),
        "  secretRef: { name: gh-token }\n  filter: { includeBranch: '^feature/', labels: [preview] }\n  skip: { labels: [hold] }\n  defaultValues: { env: preview }\n",
      ),
      provider(
        'pulls-first',
        'GitHubPullRequest',
        repo('acme/app'),
        '  secretRef: { name: gh-token }\n  filter: { limit: 2 }\n',
      ),
      provider(
        'app-branches',
        'GitHubBranch',
        repo('acme/app'),
        "  secretRef: { name: gh-app }\n  filter: { includeBranch: '^main$' }\n",
      ),
      provider(
        'app-tags',
        'GitHubTag',
        repo('acme/app'),
        '  secretRef: { name: gh-app }\n  filter: { limit: 1 }\n',
      ),
      provider(
        'app-owner',
        'GitHubBranch',
        repo('acme/app'),
        "  secretRef: { name: gh-app-owner }\n  filter: { includeBranch: '^main$' }\n",
      ),
      provider('public', 'GitHubBranch', repo('acme/public')),
      provider('integrated', 'GitHubBranch', repo('acme/integrated')),
      provider(
        'wrong-token',
        'GitHubBranch',
        repo('acme/app'),
        '  secretRef: { name: gh-wrong }\n',
      ),
      provider(
        'limited',
        'GitHubBranch',
        repo('acme/limited'),
        '  secretRef: { name: gh-token }\n',
      ),
      provider(
        'exhausted',
        'GitHubBranch',
        repo('acme/exhausted'),
        '  secretRef: { name: gh-token }\n',
      ),
      provider(
        'off-origin',
        'GitHubBranch',
        repo('acme/offorigin'),
        '  secretRef: { name: gh-token }\n  filter: { limit: 150 }\n',
      ),
      provider(
        'not-allowed',
        'GitHubBranch',
        `http://${localhost}/acme/app`,
        '  secretRef: { name: gh-token }\n',
      ),
      provider(
        'github-com',
        'GitHubPullRequest',
        'https://github.com/acme/app',
      ),
      provider(
        'not-granted',
        'GitHubBranch',
        repo('acme/ungranted'),
        '  secretRef: { name: not-granted }\n',
      ),
      provider(
        'unbound',
        'GitHubBranch',
        repo('acme/unbound'),
        '  secretRef: { name: unbound }\n',
      ),
      provider('bad-url', 'GitHubTag', repo('acme')),
      provider(
        'tls',
        'GitHubBranch',
        `https://${github.tlsHost}/acme/public`,
        '  certSecretRef: { name: gh-ca }\n',
      ),
      provider(
        'tls-untrusted',
        'GitHubBranch',
        `https://${github.tlsHost}/acme/public`,
      ),
      provider(
        'tls-unbound',
        'GitHubBranch',
        `https://${github.tlsHost}/other/public`,
        '  secretRef: { name: gh-token }\n  certSecretRef: { name: gh-ca }\n',
      ),
      provider(
        'bad-filter',
        'GitHubBranch',
        repo('acme/public'),
        "  filter: { includeBranch: '(' }\n",
      ),
    ];
    const logs: string[] = [];
    const rootLogger = new CapturingLogger(logs);
    const platform = ['component:default/platform'];
    const backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'providers.yaml': manifests.join('') },
      rootConfig: {
        integrations: {
          github: [
            {
              host,
              apiBaseUrl: `http://${host}/api/v3`,
              token: INTEGRATION_TOKEN,
            },
          ],
        },
      },
      config: {
        // localhost may be reached over HTTP but is not allowed: the allow-list refuses it.
        inputProviders: {
          allowedHosts: ['127.0.0.1'],
          insecureHosts: ['127.0.0.1', 'localhost'],
        },
        git: { integrationRead: [{ host, pathPrefix: 'acme/integrated' }] },
        credentials: {
          'gh-token': {
            type: 'token',
            token: TOKEN,
            allowedEntities: platform,
            hosts: [`${host}/acme`],
          },
          'gh-wrong': {
            type: 'basic',
            username: 'x',
            password: WRONG_TOKEN,
            allowedEntities: platform,
            hosts: [`${host}/acme`],
          },
          'gh-app': {
            type: 'githubApp',
            appId: APP_ID,
            installationId: '77',
            privateKey: APP_KEY,
            allowedEntities: platform,
            hosts: [`${host}/acme/app`],
          },
          'gh-app-owner': {
            type: 'githubApp',
            appId: Number(APP_ID),
            installationOwner: 'acme',
            privateKey: APP_KEY,
            allowedEntities: platform,
            hosts: [`${host}/acme`],
          },
          'not-granted': {
            type: 'token',
            token: OTHER_TOKEN,
            allowedEntities: ['component:default/other'],
            hosts: [host],
          },
          unbound: {
            type: 'token',
            token: OTHER_TOKEN,
            allowedEntities: platform,
            hosts: [`${host}/elsewhere`],
          },
          'gh-ca': {
            type: 'tls',
            ca: certificates.ca,
            allowedEntities: platform,
            hosts: [`${github.tlsHost}/acme`],
          },
        },
      },
      features: [
        createServiceFactory({
          service: coreServices.rootLogger,
          deps: {},
          factory: () => rootLogger,
        }),
      ],
    });
    const api = (path: string) =>
      request(backend.server)
        .get(`/api/image-automation${path}`)
        .set('Authorization', user);
    const get = async (name: string) => {
      const res = await api(
        `/objects/ResourceSetInputProvider/flux-system/${name}`,
      );
      expect(res.status).toBe(200);
      return res.body;
    };
    const condition = (o: any, type: string) =>
      o.status?.conditions?.find((c: any) => c.type === type);
    const requestsFor = (repoPath: string) =>
      github.seen.filter(s => s.path.startsWith(`/api/v3/repos/${repoPath}/`));
    try {
      await eventually(async () => {
        await backend.sync();
        const res = await api('/entities/component/default/platform/objects');
        return res.body.items?.length === manifests.length ? true : undefined;
      });
      const started = Date.now();
      await backend.reconcile();

      // Branches: API order, the first 100 (the default limit) from one page of 100; the request
      // as GitHub documents it, with the named credential's token.
      const branches = await get('branches');
      expect(condition(branches, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      expect(branches.status.exportedInputs).toHaveLength(100);
      expect(branches.status.exportedInputs[0]).toEqual({
        id: '68878758',
        sha: sha('main'),
        branch: 'main',
      });
      expect(branches.status.exportedInputs[0].id).toBe(adler32('main'));
      expect(branches.status.exportedInputs[99]).toEqual({
        id: adler32('feat-99'),
        sha: sha('feat-99'),
        branch: 'feat-99',
      });
      const first = github.seen.find(
        s =>
          s.path === '/api/v3/repos/acme/app/branches' &&
          s.headers.authorization === `Bearer ${TOKEN}`,
      )!;
      expect(first.method).toBe('GET');
      expect(Object.fromEntries(first.query)).toEqual({ per_page: '100' });
      expect(first.headers.accept).toBe('application/vnd.github+json');
      expect(first.headers['x-github-api-version']).toBe('2022-11-28');
      // Filtered branches on the second page: the Link header's next page was followed.
      expect(
        (await get('branches-late')).status.exportedInputs.map(
          (i: any) => i.branch,
        ),
      ).toEqual([
        'feat-140',
        'feat-141',
        'feat-142',
        'feat-143',
        'feat-144',
        'feat-145',
        'feat-146',
        'feat-147',
        'feat-148',
        'feat-149',
      ]);
      expect(
        github.seen.some(
          s =>
            s.path === '/api/v3/repositories/1001/branches' &&
            s.query.get('page') === '2',
        ),
      ).toBe(true);

      // Tags: every page listed, semver-sorted descending, limited; without semver reverse byte order.
      expect((await get('tags')).status.exportedInputs).toEqual([
        { id: adler32('v1.0.129'), sha: sha('v1.0.129'), tag: 'v1.0.129' },
        { id: adler32('v1.0.128'), sha: sha('v1.0.128'), tag: 'v1.0.128' },
      ]);
      expect(
        (await get('tags-all')).status.exportedInputs.map((i: any) => i.tag),
      ).toEqual(['v1.0.1', 'rubbish', 'latest']);

      // Pull requests: head branch and labels filtered client-side across both pages; `labels`
      // only when there are some; #5 carries the skip label and is new, so it is left out.
      const pulls = await get('pulls');
      expect(pulls.status.exportedInputs.map((i: any) => i.id)).toEqual([
        '130',
        '120',
        '110',
        '100',
        '90',
        '80',
        '60',
        '50',
        '40',
        '30',
        '20',
        '10',
      ]);
      expect(pulls.status.exportedInputs[0]).toEqual({
        env: 'preview',
        id: '130',
        sha: sha('pr-130'),
        branch: 'feature/pr-130',
        author: 'dev-1',
        title: 'Change 130',
        labels: ['preview'],
      });
      expect((await get('pulls-first')).status.exportedInputs).toEqual([
        {
          id: '130',
          sha: sha('pr-130'),
          branch: 'feature/pr-130',
          author: 'dev-1',
          title: 'Change 130',
          labels: ['preview'],
        },
        {
          id: '129',
          sha: sha('pr-129'),
          branch: 'feature/pr-129',
          author: 'dev-0',
          title: 'Change 129',
        },
      ]);
      expect(
        github.seen
          .filter(s => s.path.endsWith('/pulls'))
          .every(
            s =>
              s.query.get('state') === 'open' &&
              s.query.get('per_page') === '100',
          ),
      ).toBe(true);

      // GitHub App: one installation token per credential, minted with a valid JWT and reused.
      expect((await get('app-branches')).status.exportedInputs).toEqual([
        { id: adler32('main'), sha: sha('main'), branch: 'main' },
      ]);
      expect(
        (await get('app-tags')).status.exportedInputs.map((i: any) => i.tag),
      ).toEqual(['v1.0.99']);
      expect(
        (await get('app-owner')).status.exportedInputs.map(
          (i: any) => i.branch,
        ),
      ).toEqual(['main']);
      expect(github.mints).toBe(2);
      const exchanges = github.seen.filter(s =>
        s.path.startsWith('/api/v3/app/'),
      );
      expect(exchanges.map(s => `${s.method} ${s.path}`).sort()).toEqual([
        'GET /api/v3/app/installations',
        'POST /api/v3/app/installations/77/access_tokens',
        'POST /api/v3/app/installations/77/access_tokens',
      ]);
      expect(
        exchanges.every(
          s => s.headers.accept === 'application/vnd.github+json',
        ),
      ).toBe(true);
      expect(
        github.seen.filter(
          s => s.headers.authorization === `Bearer ${INSTALLATION_TOKEN}`,
        ).length,
      ).toBeGreaterThanOrEqual(3);

      // No secretRef: the integration token only where imageAutomation.git.integrationRead lists
      // the repository; anonymous elsewhere.
      expect(
        (await get('public')).status.exportedInputs.map((i: any) => i.branch),
      ).toEqual(['main', 'dev']);
      expect(
        requestsFor('acme/public')
          .filter(s => s.host === host)
          .map(s => s.headers.authorization),
      ).toEqual([undefined]);
      expect(
        (await get('integrated')).status.exportedInputs.map(
          (i: any) => i.branch,
        ),
      ).toEqual(['main']);
      expect(
        requestsFor('acme/integrated').map(s => s.headers.authorization),
      ).toEqual([`Bearer ${INTEGRATION_TOKEN}`]);
      expect(
        github.seen
          .filter(
            s => s.headers.authorization === `Bearer ${INTEGRATION_TOKEN}`,
          )
          .every(s => s.path.startsWith('/api/v3/repos/acme/integrated/')),
      ).toBe(true);

      // A wrong token: Ready=False naming the URL and the status, retried.
      const wrong = await get('wrong-token');
      expect(condition(wrong, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: GitHub 'http://${host}/api/v3/repos/acme/app/branches' returned HTTP 401`,
      });
      expect(condition(wrong, 'Stalled')).toBeUndefined();

      // Rate limits: the condition says how long to wait, and the provider is asked again then.
      const limited = await get('limited');
      expect(condition(limited, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: GitHub 'http://${host}/api/v3/repos/acme/limited/branches' returned HTTP 403; rate limited, retry after 30s`,
      });
      const limitedNext = Date.parse(limited.nextRunAt) - started;
      expect(limitedNext).toBeGreaterThan(25_000);
      expect(limitedNext).toBeLessThan(45_000);
      const exhausted = await get('exhausted');
      expect(condition(exhausted, 'Ready').message).toMatch(
        new RegExp(
          `^failed to call Git provider: GitHub 'http://${host.replace(
            /\./g,
            '\\.',
          )}/api/v3/repos/acme/exhausted/branches' returned HTTP 403; rate limited, retry after 1[12]\\ds$`,
        ),
      );
      const exhaustedNext = Date.parse(exhausted.nextRunAt) - started;
      expect(exhaustedNext).toBeGreaterThan(100_000);
      expect(exhaustedNext).toBeLessThan(140_000);
      expect(requestsFor('acme/limited')).toHaveLength(1);

      // A page link to another origin is not followed.
      expect(condition(await get('off-origin'), 'Ready')).toMatchObject({
        status: 'False',
        message: `failed to call Git provider: GitHub: GET http://${host}/api/v3/repos/acme/offorigin/branches: the next page link leads to ${localhost}, off http://${host}`,
      });

      // Refused before any request: hosts outside the allow-list, credentials not granted or not bound.
      expect(condition(await get('not-allowed'), 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'HostNotAllowed',
        message: `Reconciliation failed terminally due to configuration error: host ${localhost} is not in imageAutomation.inputProviders.allowedHosts, the hosts input providers may call`,
      });
      expect(condition(await get('github-com'), 'Stalled')).toMatchObject({
        reason: 'HostNotAllowed',
        message: expect.stringContaining(
          'host api.github.com is not in imageAutomation.inputProviders.allowedHosts',
        ),
      });
      expect(github.seen.filter(s => s.host.startsWith('localhost'))).toEqual(
        [],
      );
      expect(condition(await get('not-granted'), 'Stalled')).toMatchObject({
        reason: 'CredentialRefused',
        message:
          "Reconciliation failed terminally due to configuration error: failed to read secret 'flux-system/not-granted': credential 'not-granted' is not granted to component:default/platform (imageAutomation.credentials.not-granted.allowedEntities)",
      });
      expect(condition(await get('unbound'), 'Stalled')).toMatchObject({
        reason: 'CredentialRefused',
        message: expect.stringContaining(
          `credential 'unbound' may not be sent to ${host}/acme/unbound: it is bound to ${host}/elsewhere`,
        ),
      });
      expect(requestsFor('acme/ungranted')).toEqual([]);
      expect(requestsFor('acme/unbound')).toEqual([]);
      expect(condition(await get('bad-url'), 'Stalled')).toMatchObject({
        reason: 'InvalidSpec',
        message: `Reconciliation failed terminally due to configuration error: invalid spec.url 'http://${host}/acme': a GitHub repository URL is https://<host>/<owner>/<repository>`,
      });
      expect(condition(await get('bad-filter'), 'Stalled')).toMatchObject({
        reason: 'InvalidSpec',
        message: expect.stringContaining('invalid includeBranch regex: '),
      });
      expect(
        requestsFor('acme/public').filter(s => s.host === host),
      ).toHaveLength(1);

      // certSecretRef: the CA it names is trusted for that provider's calls, and only there.
      expect(
        (await get('tls')).status.exportedInputs.map((i: any) => i.branch),
      ).toEqual(['main', 'dev']);
      expect(condition(await get('tls-untrusted'), 'Ready')).toMatchObject({
        status: 'False',
        message: expect.stringMatching(
          new RegExp(
            `^failed to call Git provider: GitHub: GET https://${github.tlsHost.replace(
              /\./g,
              '\\.',
            )}/api/v3/repos/acme/public/branches: .*certificate`,
          ),
        ),
      });
      expect(condition(await get('tls-unbound'), 'Stalled')).toMatchObject({
        reason: 'CredentialRefused',
        message: expect.stringContaining(
          `failed to read secret 'flux-system/gh-ca': credential 'gh-ca' may not be sent to ${github.tlsHost}/other/public`,
        ),
      });
      expect(
        github.seen.filter(s => s.path.startsWith('/api/v3/repos/other/')),
      ).toEqual([]);

      // spec.skip.labels: #130 gets the skip label and a new head; its inputs stay as they were.
      const pr130 = github.repos
        .get('acme/app')!
        .pulls.find(p => p.number === 130)!;
      pr130.labels = ['preview', 'hold'];
      pr130.sha = sha('pr-130-v2');
      const pr120 = github.repos
        .get('acme/app')!
        .pulls.find(p => p.number === 120)!;
      pr120.sha = sha('pr-120-v2');
      const res = await request(backend.server)
        .post(
          '/api/image-automation/objects/ResourceSetInputProvider/flux-system/pulls/reconcile',
        )
        .set('Authorization', user);
      expect(res.status).toBe(200);
      const mintsBefore = github.mints;
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ResourceSetInputProvider/flux-system/app-tags/reconcile',
        )
        .set('Authorization', user);
      await backend.reconcile();
      const after = await get('pulls');
      expect(after.status.exportedInputs[0]).toEqual(
        pulls.status.exportedInputs[0],
      );
      expect(after.status.exportedInputs[1]).toMatchObject({
        id: '120',
        sha: sha('pr-120-v2'),
      });
      expect(after.status.lastExportedRevision).not.toBe(
        pulls.status.lastExportedRevision,
      );
      // The cached installation token served the second reconcile.
      expect(github.mints).toBe(mintsBefore);

      // No secret anywhere: status, events, log lines.
      const names = manifests.map(m => /name: ([\w-]+),/.exec(m)![1]);
      const answers: string[] = [];
      for (const name of names) {
        answers.push(JSON.stringify(await get(name)));
        answers.push(
          JSON.stringify(
            (
              await api(
                `/objects/ResourceSetInputProvider/flux-system/${name}/events`,
              )
            ).body,
          ),
        );
      }
      answers.push(
        JSON.stringify(
          (await api('/entities/component/default/platform/objects')).body,
        ),
      );
      const everything = [...answers, ...logs].join('\n');
      expect(logs.length).toBeGreaterThan(0);
      for (const value of [
        TOKEN,
        WRONG_TOKEN,
        OTHER_TOKEN,
        INSTALLATION_TOKEN,
        INTEGRATION_TOKEN,
        KEY_PART,
      ]) {
        expect(everything).not.toContain(value);
        expect(everything).not.toContain(Buffer.from(value).toString('base64'));
      }
    } finally {
      await backend.stop();
    }
  });
});
