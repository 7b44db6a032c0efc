import { randomBytes } from 'node:crypto';
import request from 'supertest';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  FaultProxy,
  GiteaRepository,
  startFaultProxy,
  startGitea,
  TestGitea,
} from '../../testbed';
import { eventually, startBackend } from '../integration/backendHarness';
import { CapturingLogger } from '../integration/capturingLogger';

/*
 * GiteaBranch, GiteaTag and GiteaPullRequest through a real Backstage backend against a real
 * Gitea (test/testbed/gitea.ts): the exported inputs and their ids as the Flux Operator defines
 * them (ids = decimal Adler-32 of the input, as the Flux Operator computes them), spec.skip.labels, and the
 * failures — a wrong token, a host outside the allow-list, a credential not granted — each on its
 * own provider while the others stay Ready, with no token in status, events or logs.
 */

jest.setTimeout(240_000);

const user = mockCredentials.user.header();
const SHOP = 'component:default/shop';
const WRONG_TOKEN = `wrong-${randomBytes(16).toString('hex')}`;

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    image-automation.io/manifests: ./providers.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function manifests(
  repo: GiteaRepository,
  privateRepo: GiteaRepository,
  proxy: FaultProxy,
) {
  const provider = (name: string, spec: string) => `
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: { name: ${name}, namespace: apps }
spec:
${spec}`;
  return [
    provider(
      'branches',
      `  type: GiteaBranch
  url: ${repo.url}
  secretRef: { name: gitea }
  filter:
    includeBranch: '^feat-'
  defaultValues:
    env: preview`,
    ),
    provider(
      'tags',
      `  type: GiteaTag
  url: ${repo.url}
  secretRef: { name: gitea }
  filter:
    semver: '>=1.0.0'
    limit: 2`,
    ),
    provider(
      'pulls',
      `  type: GiteaPullRequest
  url: ${repo.url}
  secretRef: { name: gitea }
  filter:
    labels: [preview]
  skip:
    labels: [hold]`,
    ),
    provider(
      'private-pulls',
      `  type: GiteaPullRequest
  url: ${privateRepo.url}
  secretRef: { name: gitea }`,
    ),
    provider(
      'wrong-token',
      `  type: GiteaPullRequest
  url: ${privateRepo.url}
  secretRef: { name: gitea-wrong }`,
    ),
    // Through a proxy in front of Gitea that answers 429 to tag listings and 11 MiB to branch listings.
    provider(
      'rate-limited',
      `  type: GiteaTag
  url: ${proxy.url}/${repo.fullName}
  secretRef: { name: gitea }`,
    ),
    provider(
      'oversized',
      `  type: GiteaBranch
  url: ${proxy.url}/${repo.fullName}
  secretRef: { name: gitea }`,
    ),
    provider(
      'elsewhere',
      `  type: GiteaBranch
  url: https://gitea.example.com/${repo.fullName}
  secretRef: { name: gitea }`,
    ),
    provider(
      'not-granted',
      `  type: GiteaTag
  url: ${repo.url}
  secretRef: { name: other-team }`,
    ),
  ]
    .join('\n')
    .replace(/^\n---\n/, '');
}

describe('Gitea input providers through the backend', () => {
  let gitea: TestGitea;
  let proxy: FaultProxy;
  let repo: GiteaRepository;
  let privateRepo: GiteaRepository;
  const heads: Record<string, string> = {};
  const numbers: Record<string, number> = {};

  beforeAll(async () => {
    gitea = await startGitea();
    proxy = await startFaultProxy(gitea.url);
    proxy.inject({
      match: r => r.path.includes('/tags'),
      times: Infinity,
      action: {
        status: 429,
        headers: { 'retry-after': '120' },
        body: '{"message":"rate limited"}',
      },
    });
    proxy.inject({
      match: r => r.path.includes('/branches'),
      times: Infinity,
      action: { oversizedBytes: 11 * 1024 * 1024 },
    });
    repo = await gitea.createRepository('shop');
    for (const b of ['feat-a', 'feat-b', 'fix-c'])
      heads[b] = await gitea.createBranch(repo, b);
    for (const t of ['v0.9.0', 'v1.0.0', 'v1.1.0', 'v1.10.0', 'latest'])
      await gitea.createTag(repo, t);
    numbers['feat-a'] = (
      await gitea.createPullRequest(repo, {
        head: 'feat-a',
        title: 'Feature A',
        labels: ['preview'],
      })
    ).number;
    numbers['feat-b'] = (
      await gitea.createPullRequest(repo, {
        head: 'feat-b',
        title: 'Feature B',
        labels: ['preview', 'hold'],
      })
    ).number;
    numbers['fix-c'] = (
      await gitea.createPullRequest(repo, { head: 'fix-c', title: 'Fix C' })
    ).number;
    privateRepo = await gitea.createRepository('internal', { private: true });
    await gitea.createBranch(privateRepo, 'feat-x');
    numbers['feat-x'] = (
      await gitea.createPullRequest(privateRepo, {
        head: 'feat-x',
        title: 'Internal X',
      })
    ).number;
  });
  afterAll(async () => {
    await proxy?.stop();
    await gitea?.stop();
  });

  it('exports branches, tags and pull requests, freezes held ones, and reports each failure on its own provider', async () => {
    const logs: string[] = [];
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'providers.yaml': manifests(repo, privateRepo, proxy),
      },
      config: {
        tenancy: { namespaces: [{ entity: SHOP, namespaces: ['apps'] }] },
        inputProviders: {
          allowedHosts: [gitea.host, proxy.host],
          insecureHosts: [gitea.host, proxy.host],
        },
        credentials: {
          gitea: {
            type: 'token',
            token: gitea.adminToken,
            hosts: [gitea.host, proxy.host],
            allowedEntities: [SHOP],
          },
          'gitea-wrong': {
            type: 'basic',
            username: 'ci',
            password: WRONG_TOKEN,
            hosts: [gitea.host],
            allowedEntities: [SHOP],
          },
          'other-team': {
            type: 'token',
            token: gitea.adminToken,
            hosts: [gitea.host],
            allowedEntities: ['component:default/other'],
          },
        },
      },
      features: [
        createServiceFactory({
          service: coreServices.rootLogger,
          deps: {},
          factory: () => new CapturingLogger(logs),
        }),
      ],
    });
    const api = (p: string) =>
      request(backend.server)
        .get(`/api/image-automation${p}`)
        .set('Authorization', user);
    const get = async (name: string, kind = 'ResourceSetInputProvider') => {
      const res = await api(`/objects/${kind}/apps/${name}`);
      expect(res.status).toBe(200);
      return res.body;
    };
    const condition = (o: any, type: string) =>
      o.status?.conditions?.find((c: any) => c.type === type);
    const responses: string[] = [];
    try {
      await eventually(async () => {
        await backend.sync();
        return (await api('/entities/component/default/shop/objects')).body
          .items?.length === 9
          ? true
          : undefined;
      });
      await backend.reconcile();

      const branches = await get('branches');
      expect(condition(branches, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      // In Gitea's order; compared sorted here (the unit tests check the order against the API).
      expect(
        [...branches.status.exportedInputs].sort((a: any, b: any) =>
          a.branch.localeCompare(b.branch),
        ),
      ).toEqual([
        {
          env: 'preview',
          id: '134087215',
          sha: heads['feat-a'],
          branch: 'feat-a',
        },
        {
          env: 'preview',
          id: '134152752',
          sha: heads['feat-b'],
          branch: 'feat-b',
        },
      ]);
      expect(branches.status.lastExportedRevision).toMatch(
        /^sha256:[0-9a-f]{64}$/,
      );

      const tags = await get('tags');
      expect(tags.status.exportedInputs.map((i: any) => [i.id, i.tag])).toEqual(
        [
          ['120390037', 'v1.10.0'],
          ['93716837', 'v1.1.0'],
        ],
      );
      expect(Object.keys(tags.status.exportedInputs[0]).sort()).toEqual([
        'id',
        'sha',
        'tag',
      ]);

      // Labelled `preview`; feat-b is on hold and new, so it is left out.
      const pulls = await get('pulls');
      expect(pulls.status.exportedInputs).toEqual([
        {
          id: String(numbers['feat-a']),
          sha: heads['feat-a'],
          branch: 'feat-a',
          author: gitea.admin.username,
          title: 'Feature A',
          labels: ['preview'],
        },
      ]);
      const privatePulls = await get('private-pulls');
      expect(privatePulls.status.exportedInputs).toEqual([
        expect.objectContaining({
          id: String(numbers['feat-x']),
          branch: 'feat-x',
          title: 'Internal X',
        }),
      ]);

      // Failures, each on its own provider.
      const wrong = await get('wrong-token');
      expect(condition(wrong, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: Gitea '${gitea.url}/api/v1/repos/${privateRepo.fullName}/pulls' returned HTTP 401`,
      });
      const rateLimited = await get('rate-limited');
      expect(condition(rateLimited, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: Gitea '${proxy.url}/api/v1/repos/${repo.fullName}/tags' returned HTTP 429; rate limited, retry after 120s`,
      });
      // Asked again when Gitea said it would answer (Retry-After: 120), not on the default retry.
      const wait = Date.parse(rateLimited.nextRunAt) - Date.now();
      expect(wait).toBeGreaterThan(90_000);
      expect(wait).toBeLessThanOrEqual(120_000);
      const oversized = await get('oversized');
      expect(condition(oversized, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: Gitea: GET ${proxy.url}/api/v1/repos/${repo.fullName}/branches: the response is larger than 10485760 bytes`,
      });
      for (const failed of [rateLimited, oversized])
        expect(failed.status.exportedInputs ?? []).toEqual([]);
      const elsewhere = await get('elsewhere');
      expect(condition(elsewhere, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'HostNotAllowed',
        message:
          'Reconciliation failed terminally due to configuration error: host gitea.example.com is not in imageAutomation.inputProviders.allowedHosts, the hosts input providers may call',
      });
      const notGranted = await get('not-granted');
      expect(condition(notGranted, 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'CredentialRefused',
        message: `Reconciliation failed terminally due to configuration error: failed to read secret 'apps/other-team': credential 'other-team' is not granted to ${SHOP} (imageAutomation.credentials.other-team.allowedEntities)`,
      });

      // A held pull request keeps what it exported; released, it follows its branch again.
      await gitea.addLabels(repo, numbers['feat-a'], ['hold']);
      const newHead = await gitea.api(
        'POST',
        `/repos/${repo.fullName}/contents/more.txt`,
        {
          branch: 'feat-a',
          message: 'more',
          content: Buffer.from('more\n').toString('base64'),
        },
      );
      const movedSha: string = newHead.commit.sha;
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ResourceSetInputProvider/apps/pulls/reconcile',
        )
        .set('Authorization', user);
      await backend.reconcile();
      const held = await get('pulls');
      expect(held.status.exportedInputs).toEqual(pulls.status.exportedInputs);
      expect(held.status.lastExportedRevision).toBe(
        pulls.status.lastExportedRevision,
      );

      await gitea.removeLabel(repo, numbers['feat-a'], 'hold');
      await gitea.removeLabel(repo, numbers['feat-b'], 'hold');
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ResourceSetInputProvider/apps/pulls/reconcile',
        )
        .set('Authorization', user);
      await backend.reconcile();
      const released = await get('pulls');
      expect(
        released.status.exportedInputs.map((i: any) => [i.branch, i.sha]),
      ).toEqual(
        expect.arrayContaining([
          ['feat-a', movedSha],
          ['feat-b', heads['feat-b']],
        ]),
      );
      expect(released.status.exportedInputs).toHaveLength(2);

      // No token anywhere: status, events and the API's answers, and the backend's logs.
      for (const name of [
        'branches',
        'tags',
        'pulls',
        'private-pulls',
        'wrong-token',
        'rate-limited',
        'oversized',
        'elsewhere',
        'not-granted',
      ]) {
        responses.push(JSON.stringify(await get(name)));
        responses.push(
          JSON.stringify(
            (await api(`/objects/ResourceSetInputProvider/apps/${name}/events`))
              .body,
          ),
        );
      }
      responses.push(
        JSON.stringify(
          (await api('/entities/component/default/shop/objects')).body,
        ),
      );
      const everything = [...responses, ...logs].join('\n');
      expect(logs.length).toBeGreaterThan(0);
      for (const secret of [
        gitea.adminToken,
        WRONG_TOKEN,
        Buffer.from(`ci:${WRONG_TOKEN}`).toString('base64'),
      ]) {
        expect(everything).not.toContain(secret);
      }
      const events = (
        await api('/objects/ResourceSetInputProvider/apps/wrong-token/events')
      ).body.items as Array<{ reason: string; message: string }>;
      expect(events.some(e => e.message.includes('returned HTTP 401'))).toBe(
        true,
      );
    } finally {
      await backend.stop();
    }
  });
});
