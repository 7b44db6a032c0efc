import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import { eventually, startBackend } from '../integration/backendHarness';
import { CapturingLogger } from '../integration/capturingLogger';

/*
 * GitLabBranch, GitLabTag, GitLabMergeRequest and GitLabEnvironment providers in a real backend,
 * against a local stand-in for GitLab's REST API (v4): projects addressed by their URL-encoded
 * path, `page`/`per_page` paging with `x-next-page`/`x-total-pages`, `labels` and `state` on the
 * merge request listing, environments and their deployments, response shapes as GitLab documents
 * them, 401s and `Retry-After` on 429. The stand-in records every request.
 */

jest.setTimeout(120_000);

const user = mockCredentials.user.header();
const secret = (label: string) =>
  `${label}-${crypto.randomBytes(12).toString('hex')}`;
const TOKEN = secret('glpat');
const WRONG_TOKEN = secret('wrongglpat');
const OTHER_TOKEN = secret('otherglpat');
const PROJECT = 'group/sub/app';

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

interface Seen {
  method: string;
  host: string;
  /** The raw path, encoded as sent. */
  rawPath: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

interface MergeRequest {
  iid: number;
  branch: string;
  sha: string;
  author: string;
  title: string;
  labels: string[];
}

interface Environment {
  id: number;
  name: string;
  slug: string;
  state: 'available' | 'stopping' | 'stopped';
  /** Oldest first; the API answers newest first when asked `order_by=id&sort=desc`. */
  deployments: Array<{
    id: number;
    ref: string;
    sha: string;
    status: string;
    user: string;
  }>;
}

class GitLabStandIn {
  readonly seen: Seen[] = [];
  server!: http.Server;
  host = '';
  readonly projects = new Map<
    string,
    {
      id: number;
      branches: Array<[string, string]>;
      tags: Array<[string, string]>;
      mrs: MergeRequest[];
      environments: Environment[];
    }
  >();

  async start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>(resolve =>
      this.server.listen(0, '127.0.0.1', resolve),
    );
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise(resolve => this.server.close(resolve));
  }

  private json(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  /** GitLab's offset pagination: `page`, `per_page` (default 20, at most 100) and its headers. */
  private page(res: http.ServerResponse, url: URL, items: unknown[]) {
    const perPage = Math.min(
      Number(url.searchParams.get('per_page') ?? 20),
      100,
    );
    const page = Number(url.searchParams.get('page') ?? 1);
    const totalPages = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string) => {
      const q = new URLSearchParams(url.searchParams);
      q.set('page', String(n));
      return `<http://${this.host}${url.pathname}?${q}>; rel="${rel}"`;
    };
    const links = [
      ...(page < totalPages ? [link(page + 1, 'next')] : []),
      link(1, 'first'),
      link(totalPages, 'last'),
    ];
    this.json(res, 200, items.slice((page - 1) * perPage, page * perPage), {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      link: links.join(', '),
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const rawPath = (req.url ?? '/').replace(/\?.*$/, '');
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    this.seen.push({
      method: req.method ?? '',
      host: req.headers.host ?? '',
      rawPath,
      query: url.searchParams,
      headers: req.headers,
    });
    const route =
      /^\/api\/v4\/projects\/([^/]+)\/(repository\/branches|repository\/tags|merge_requests|environments|deployments)$/.exec(
        rawPath,
      );
    if (!route || req.method !== 'GET')
      return this.json(res, 404, { error: '404 Not Found' });
    const id = decodeURIComponent(route[1]);
    const project =
      this.projects.get(id) ??
      [...this.projects.values()].find(p => String(p.id) === id);
    if (id === 'group/limited')
      return this.json(
        res,
        429,
        { message: 'Retry later' },
        { 'retry-after': '45', 'ratelimit-remaining': '0' },
      );
    const auth = req.headers.authorization;
    if (auth && auth !== `Bearer ${TOKEN}`)
      return this.json(res, 401, { message: '401 Unauthorized' });
    if (!project || !auth)
      return this.json(res, 404, { message: '404 Project Not Found' });
    switch (route[2]) {
      case 'repository/branches':
        return this.page(
          res,
          url,
          project.branches.map(([name, commit]) => ({
            name,
            merged: false,
            protected: name === 'main',
            default: name === 'main',
            web_url: `http://${this.host}/${id}/-/tree/${name}`,
            commit: {
              id: commit,
              short_id: commit.slice(0, 8),
              title: 'commit',
              author_name: 'dev',
            },
          })),
        );
      case 'repository/tags':
        return this.page(
          res,
          url,
          project.tags.map(([name, commit]) => ({
            name,
            message: '',
            target: sha(`tag-object-${name}`),
            commit: {
              id: commit,
              short_id: commit.slice(0, 8),
              title: 'release',
            },
            release: null,
            protected: false,
          })),
        );
      case 'merge_requests': {
        if (url.searchParams.get('state') !== 'opened')
          return this.json(res, 400, { error: 'state must be opened here' });
        const wanted = (url.searchParams.get('labels') ?? '')
          .split(',')
          .filter(Boolean);
        return this.page(
          res,
          url,
          project.mrs
            .filter(mr => wanted.every(l => mr.labels.includes(l)))
            .map(mr => ({
              id: 9000 + mr.iid,
              iid: mr.iid,
              project_id: project.id,
              title: mr.title,
              state: 'opened',
              source_branch: mr.branch,
              target_branch: 'main',
              sha: mr.sha,
              author: {
                id: 1,
                username: mr.author,
                name: mr.author.toUpperCase(),
              },
              labels: mr.labels,
              web_url: `http://${this.host}/${id}/-/merge_requests/${mr.iid}`,
            })),
        );
      }
      case 'environments':
        return this.page(
          res,
          url,
          project.environments.map(e => ({
            id: e.id,
            name: e.name,
            slug: e.slug,
            external_url: `https://${e.slug}.example.test`,
            state: e.state,
            tier: 'other',
          })),
        );
      default: {
        const environment = project.environments.find(
          e => e.name === url.searchParams.get('environment'),
        );
        let deployments = [...(environment?.deployments ?? [])];
        if (
          url.searchParams.get('order_by') === 'id' &&
          url.searchParams.get('sort') === 'desc'
        )
          deployments = deployments.reverse();
        return this.page(
          res,
          url,
          deployments.map(d => ({
            id: d.id,
            iid: d.id,
            ref: d.ref,
            sha: d.sha,
            status: d.status,
            user: { id: 1, username: d.user, name: d.user },
            environment: { id: environment!.id, name: environment!.name },
          })),
        );
      }
    }
  }
}

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: platform
  annotations:
    image-automation.io/manifests: ./providers.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function provider(
  name: string,
  type: string,
  url: string,
  extra = '  secretRef: { name: gl-token }\n',
) {
  return `---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: ${name}, namespace: flux-system }
spec:
  type: ${type}
  url: ${url}
${extra}`;
}

describe('GitLab input providers against a GitLab API stand-in', () => {
  const gitlab = new GitLabStandIn();
  beforeAll(async () => {
    await gitlab.start();
    const mrs: MergeRequest[] = [];
    for (let iid = 120; iid >= 1; iid--) {
      const labels =
        iid === 100
          ? ['preview', 'approved']
          : iid === 7
          ? ['approved', 'preview']
          : iid === 50
          ? ['preview']
          : [];
      mrs.push({
        iid,
        branch: iid === 7 ? 'Feature/Add_Thing' : `mr-${iid}`,
        sha: sha(`mr-${iid}`),
        author: `dev${iid % 2}`,
        title: `MR ${iid}`,
        labels,
      });
    }
    gitlab.projects.set(PROJECT, {
      id: 55,
      branches: [
        ['main', sha('main')],
        ['feature/Login_Form', sha('login')],
        ['release-1.x', sha('rel')],
      ],
      tags: [
        ...Array.from({ length: 129 }, (_, i): [string, string] => [
          `v2.${i}.0`,
          sha(`v2.${i}.0`),
        ]),
        ['6.0.4', '11cf36d83818e64aaa60d523ab6438258ebb6009'],
      ],
      mrs,
      environments: [
        {
          id: 11,
          name: 'production',
          slug: 'production',
          state: 'available',
          deployments: [
            {
              id: 1,
              ref: 'main',
              sha: sha('d1'),
              status: 'success',
              user: 'alice',
            },
            {
              id: 2,
              ref: 'main',
              sha: sha('d2'),
              status: 'success',
              user: 'bob',
            },
            {
              id: 3,
              ref: 'main',
              sha: sha('d3'),
              status: 'failed',
              user: 'carol',
            },
          ],
        },
        {
          id: 12,
          name: 'staging',
          slug: 'staging',
          state: 'available',
          deployments: [
            {
              id: 4,
              ref: 'main',
              sha: sha('d4'),
              status: 'success',
              user: 'alice',
            },
            {
              id: 5,
              ref: 'develop',
              sha: sha('d5'),
              status: 'running',
              user: 'dave',
            },
          ],
        },
        {
          id: 13,
          name: 'review/feat-x',
          slug: 'review-feat-x-abc123',
          state: 'stopped',
          deployments: [
            {
              id: 6,
              ref: 'feat-x',
              sha: sha('d6'),
              status: 'success',
              user: 'erin',
            },
          ],
        },
        {
          id: 14,
          name: 'review/old',
          slug: 'review-old-def456',
          state: 'stopping',
          deployments: [
            {
              id: 7,
              ref: 'old',
              sha: sha('d7'),
              status: 'running',
              user: 'frank',
            },
          ],
        },
        {
          id: 15,
          name: 'dev',
          slug: 'dev',
          state: 'available',
          deployments: [],
        },
        {
          id: 16,
          name: 'qa',
          slug: 'qa',
          state: 'available',
          deployments: [
            {
              id: 8,
              ref: 'main',
              sha: sha('d8'),
              status: 'success',
              user: 'gina',
            },
          ],
        },
      ],
    });
    gitlab.projects.set('group/limited', {
      id: 56,
      branches: [['main', sha('main')]],
      tags: [],
      mrs: [],
      environments: [],
    });
    gitlab.projects.set('other/app', {
      id: 57,
      branches: [['main', sha('main')]],
      tags: [],
      mrs: [],
      environments: [],
    });
  });
  afterAll(() => gitlab.stop());

  it('exports branches, tags, merge requests and environments with slugs, and turns every failure into a condition naming its cause', async () => {
    const host = gitlab.host;
    const localhost = host.replace('127.0.0.1', 'localhost');
    const repo = (path: string) => `http://${host}/${path}`;
    const manifests = [
      provider(
        'branches',
        'GitLabBranch',
        repo(PROJECT),
        "  secretRef: { name: gl-token }\n  filter: { excludeBranch: '^main$' }\n",
      ),
      provider(
        'tags',
        'GitLabTag',
        repo(`${PROJECT}.git`),
        "  secretRef: { name: gl-token }\n  filter: { semver: '>=2.0.0 <3.0.0', limit: 2 }\n",
      ),
      provider(
        'tag-604',
        'GitLabTag',
        repo(PROJECT),
        "  secretRef: { name: gl-token }\n  filter: { includeTag: '^6\\.0\\.4$' }\n",
      ),
      provider(
        'mrs',
        'GitLabMergeRequest',
        repo(PROJECT),
        "  secretRef: { name: gl-token }\n  filter: { labels: [preview] }\n  skip: { labels: ['!approved'] }\n",
      ),
      provider(
        'mrs-all',
        'GitLabMergeRequest',
        repo(PROJECT),
        '  secretRef: { name: gl-token }\n  filter: { limit: 150 }\n',
      ),
      provider(
        'environments',
        'GitLabEnvironment',
        repo(PROJECT),
        "  secretRef: { name: gl-token }\n  filter: { excludeEnvironment: '^qa$' }\n",
      ),
      provider(
        'environments-first',
        'GitLabEnvironment',
        repo(PROJECT),
        '  secretRef: { name: gl-token }\n  filter: { limit: 1 }\n',
      ),
      provider(
        'wrong-token',
        'GitLabBranch',
        repo(PROJECT),
        '  secretRef: { name: gl-wrong }\n',
      ),
      provider('limited', 'GitLabTag', repo('group/limited')),
      provider('not-allowed', 'GitLabBranch', `http://${localhost}/${PROJECT}`),
      provider('unbound', 'GitLabBranch', repo('other/app')),
      provider('anonymous', 'GitLabBranch', repo('other/app'), ''),
      provider(
        'not-granted',
        'GitLabBranch',
        repo(PROJECT),
        '  secretRef: { name: not-granted }\n',
      ),
      provider('bad-url', 'GitLabBranch', `http://${host}/app`),
    ];
    const logs: string[] = [];
    const rootLogger = new CapturingLogger(logs);
    const platform = ['component:default/platform'];
    const backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'providers.yaml': manifests.join('') },
      config: {
        inputProviders: {
          allowedHosts: ['127.0.0.1'],
          insecureHosts: ['127.0.0.1', 'localhost'],
        },
        credentials: {
          'gl-token': {
            type: 'token',
            token: TOKEN,
            allowedEntities: platform,
            hosts: [`${host}/group`],
          },
          'gl-wrong': {
            type: 'basic',
            username: 'oauth2',
            password: WRONG_TOKEN,
            allowedEntities: platform,
            hosts: [`${host}/group`],
          },
          'not-granted': {
            type: 'token',
            token: OTHER_TOKEN,
            allowedEntities: ['component:default/other'],
            hosts: [host],
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
    const encoded = `/api/v4/projects/${encodeURIComponent(PROJECT)}`;
    try {
      await eventually(async () => {
        await backend.sync();
        const res = await api('/entities/component/default/platform/objects');
        return res.body.items?.length === manifests.length ? true : undefined;
      });
      const started = Date.now();
      await backend.reconcile();

      // Branches: API order, GitLab's slug on each.
      const branches = await get('branches');
      expect(condition(branches, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      expect(branches.status.exportedInputs).toEqual([
        {
          id: adler32('feature/Login_Form'),
          sha: sha('login'),
          branch: 'feature/Login_Form',
          slug: 'feature-login-form',
        },
        {
          id: adler32('release-1.x'),
          sha: sha('rel'),
          branch: 'release-1.x',
          slug: 'release-1-x',
        },
      ]);
      const branchRequest = gitlab.seen.find(
        s => s.rawPath === `${encoded}/repository/branches`,
      )!;
      expect(branchRequest.rawPath).toBe(
        '/api/v4/projects/group%2Fsub%2Fapp/repository/branches',
      );
      expect(Object.fromEntries(branchRequest.query)).toEqual({
        per_page: '100',
        page: '1',
      });
      expect(branchRequest.headers.authorization).toBe(`Bearer ${TOKEN}`);

      // Tags over two pages (x-next-page followed), semver-sorted.
      expect((await get('tags')).status.exportedInputs).toEqual([
        {
          id: adler32('v2.128.0'),
          sha: sha('v2.128.0'),
          tag: 'v2.128.0',
          slug: 'v2-128-0',
        },
        {
          id: adler32('v2.127.0'),
          sha: sha('v2.127.0'),
          tag: 'v2.127.0',
          slug: 'v2-127-0',
        },
      ]);
      expect(
        gitlab.seen
          .filter(s => s.rawPath === `${encoded}/repository/tags`)
          .map(s => s.query.get('page'))
          .sort(),
      ).toEqual(['1', '1', '2', '2']);
      // The Flux Operator's own GitLab tag test: the same item, the same revision.
      const tag604 = await get('tag-604');
      expect(tag604.status.exportedInputs).toEqual([
        {
          id: '48955639',
          sha: '11cf36d83818e64aaa60d523ab6438258ebb6009',
          slug: '6-0-4',
          tag: '6.0.4',
        },
      ]);
      expect(tag604.status.lastExportedRevision).toBe(
        'sha256:8d17289b10914ff4cf5226d649a7266136d071de6ed9be1c2745eb24449f7cf4',
      );

      // Merge requests: labels filtered by GitLab (the query asks for them), IIDs as ids, the
      // source branch's slug; `!approved` leaves out the new request without that label.
      const mrs = await get('mrs');
      expect(mrs.status.exportedInputs).toEqual([
        {
          id: '100',
          sha: sha('mr-100'),
          branch: 'mr-100',
          author: 'dev0',
          title: 'MR 100',
          labels: ['preview', 'approved'],
          slug: 'mr-100',
        },
        {
          id: '7',
          sha: sha('mr-7'),
          branch: 'Feature/Add_Thing',
          author: 'dev1',
          title: 'MR 7',
          labels: ['approved', 'preview'],
          slug: 'feature-add-thing',
        },
      ]);
      const mrRequests = gitlab.seen.filter(
        s => s.rawPath === `${encoded}/merge_requests`,
      );
      expect(mrRequests.map(s => Object.fromEntries(s.query))).toContainEqual({
        state: 'opened',
        labels: 'preview',
        per_page: '100',
        page: '1',
      });
      const all = await get('mrs-all');
      expect(all.status.exportedInputs).toHaveLength(120);
      expect(all.status.exportedInputs[119]).toEqual({
        id: '1',
        sha: sha('mr-1'),
        branch: 'mr-1',
        author: 'dev1',
        title: 'MR 1',
        slug: 'mr-1',
      });

      // Environments: the newest running deployment, or successful one while available; the
      // environment's id and slug; environments without one (stopped, or never deployed) left out.
      expect((await get('environments')).status.exportedInputs).toEqual([
        {
          id: '11',
          sha: sha('d2'),
          branch: 'main',
          author: 'bob',
          title: 'production',
          slug: 'production',
        },
        {
          id: '12',
          sha: sha('d5'),
          branch: 'develop',
          author: 'dave',
          title: 'staging',
          slug: 'staging',
        },
        {
          id: '14',
          sha: sha('d7'),
          branch: 'old',
          author: 'frank',
          title: 'review/old',
          slug: 'review-old-def456',
        },
      ]);
      expect(
        (await get('environments-first')).status.exportedInputs.map(
          (i: any) => i.title,
        ),
      ).toEqual(['production']);
      const deploymentQuery = gitlab.seen.find(
        s => s.rawPath === `${encoded}/deployments`,
      )!;
      expect(Object.fromEntries(deploymentQuery.query)).toEqual({
        environment: 'production',
        order_by: 'id',
        sort: 'desc',
        per_page: '100',
        page: '1',
      });

      // A wrong token: Ready=False naming the URL and status.
      expect(condition(await get('wrong-token'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: GitLab 'http://${host}${encoded}/repository/branches' returned HTTP 401`,
      });
      // 429 with Retry-After: the wait is named and kept (the default retry would be a minute).
      const limited = await get('limited');
      expect(condition(limited, 'Ready')).toMatchObject({
        status: 'False',
        message: `failed to call Git provider: GitLab 'http://${host}/api/v4/projects/group%2Flimited/repository/tags' returned HTTP 429; rate limited, retry after 45s`,
      });
      const next = Date.parse(limited.nextRunAt) - started;
      expect(next).toBeGreaterThan(40_000);
      expect(next).toBeLessThan(55_000);

      // Refused before any request.
      expect(condition(await get('not-allowed'), 'Stalled')).toMatchObject({
        reason: 'HostNotAllowed',
        message: expect.stringContaining(
          `host ${localhost} is not in imageAutomation.inputProviders.allowedHosts`,
        ),
      });
      expect(gitlab.seen.filter(s => s.host !== host)).toEqual([]);
      expect(condition(await get('not-granted'), 'Stalled')).toMatchObject({
        reason: 'CredentialRefused',
        message: expect.stringContaining(
          "failed to read secret 'flux-system/not-granted': credential 'not-granted' is not granted to component:default/platform",
        ),
      });
      // A credential bound to group/… is never sent for other/…; without a secretRef the call is anonymous.
      expect(condition(await get('unbound'), 'Stalled')).toMatchObject({
        reason: 'CredentialRefused',
        message: expect.stringContaining(
          `credential 'gl-token' may not be sent to ${host}/other/app: it is bound to ${host}/group`,
        ),
      });
      expect(condition(await get('anonymous'), 'Ready').message).toBe(
        `failed to call Git provider: GitLab 'http://${host}/api/v4/projects/other%2Fapp/repository/branches' returned HTTP 404`,
      );
      expect(
        gitlab.seen
          .filter(s => s.rawPath.startsWith('/api/v4/projects/other%2Fapp/'))
          .map(s => s.headers.authorization),
      ).toEqual([undefined]);
      expect(condition(await get('bad-url'), 'Stalled')).toMatchObject({
        reason: 'InvalidSpec',
        message: `Reconciliation failed terminally due to configuration error: invalid spec.url 'http://${host}/app': a GitLab repository URL is https://<host>/<group>/…/<project>`,
      });
      expect(
        gitlab.seen.every(
          s =>
            !s.headers.authorization ||
            s.headers.authorization === `Bearer ${TOKEN}` ||
            s.headers.authorization === `Bearer ${WRONG_TOKEN}`,
        ),
      ).toBe(true);
      expect(
        gitlab.seen.filter(
          s => s.headers.authorization === `Bearer ${OTHER_TOKEN}`,
        ),
      ).toEqual([]);

      // No secret anywhere.
      const answers: string[] = [];
      for (const m of manifests) {
        const name = /name: ([\w-]+),/.exec(m)![1];
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
      const everything = [...answers, ...logs].join('\n');
      for (const value of [TOKEN, WRONG_TOKEN, OTHER_TOKEN]) {
        expect(everything).not.toContain(value);
        expect(everything).not.toContain(Buffer.from(value).toString('base64'));
      }
    } finally {
      await backend.stop();
    }
  });
});
