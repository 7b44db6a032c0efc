import request from 'supertest';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  AzureDevOpsRepository,
  AzureDevOpsStandIn,
  ExternalServiceStandIn,
  startAzureDevOpsStandIn,
  startExternalServiceStandIn,
} from '../../testbed';
import { eventually, startBackend } from '../integration/backendHarness';
import { CapturingLogger } from '../integration/capturingLogger';

/*
 * Issue #20: the ExternalService and AzureDevOps* ResourceSetInputProvider types through the real
 * backend (catalog, manifests, engine, store, API), against a stand-in Azure DevOps REST API and a
 * stand-in external service on 127.0.0.1 (neither can be the real thing here). Working providers
 * export exactly what they should; each failing one carries a condition naming its cause while
 * the others are unaffected; refusals happen before any request; no secret reaches a status, an
 * event, an API answer or a log line.
 */

jest.setTimeout(120_000);

const user = mockCredentials.user.header();
const PLATFORM = 'component:default/platform';
const PAT = 'azdo-pat-it-6c1f0e93b4d2';
const WRONG_PAT = 'azdo-wrong-pat-it-2d77e1';
const SERVICE_TOKEN = 'ext-token-it-91b3aa5c07';

const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: platform
  annotations:
    image-automation.io/manifests: ./providers.yaml
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

const sha = (n: number) => n.toString(16).padStart(40, '0');
const repo: AzureDevOpsRepository = {
  organization: 'acme',
  project: 'shop',
  name: 'web',
  branches: [
    { name: 'main', sha: sha(1) },
    ...Array.from({ length: 140 }, (_, i) => ({
      name: `env/e${String(i).padStart(3, '0')}`,
      sha: sha(100 + i),
    })),
  ],
  tags: [
    { name: 'v1.0.0', sha: sha(2) },
    { name: 'v1.1.0', sha: sha(3), tagObject: sha(903) },
  ],
  pullRequests: [
    {
      id: 42,
      title: 'Add search',
      branch: 'feature/search',
      sha: sha(42),
      author: 'Jamie Doe',
      labels: ['preview'],
    },
    {
      id: 41,
      title: 'Fix typo',
      branch: 'fix/typo',
      sha: sha(41),
      author: 'Ann Lee',
    },
    {
      id: 40,
      title: 'Old',
      branch: 'old',
      sha: sha(40),
      author: 'Ann Lee',
      labels: ['preview'],
      status: 'completed',
    },
  ],
};

function providers(azure: AzureDevOpsStandIn, service: ExternalServiceStandIn) {
  const azureUrl = azure.repositoryUrl(repo);
  const rsip = (name: string, spec: string, metadata = '') => `---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: ${name}
  namespace: flux-system${metadata}
spec:
${spec}
`;
  return [
    rsip(
      'previews',
      `  type: ExternalService\n  url: ${service.baseUrl}/previews\n  insecure: true\n  secretRef: { name: ext-token }\n  filter: { limit: 2 }\n  defaultValues: { env: preview }`,
    ),
    rsip(
      'duplicate-ids',
      `  type: ExternalService\n  url: ${service.baseUrl}/duplicates\n  insecure: true\n  secretRef: { name: ext-token }`,
    ),
    rsip(
      'rate-limited',
      `  type: ExternalService\n  url: ${service.baseUrl}/limited\n  insecure: true`,
    ),
    rsip(
      'not-allowed-host',
      `  type: ExternalService\n  url: http://localhost:${
        new URL(service.baseUrl).port
      }/elsewhere\n  insecure: true\n  secretRef: { name: ext-token }`,
    ),
    rsip(
      'envs',
      `  type: AzureDevOpsBranch\n  url: ${azureUrl}\n  secretRef: { name: azdo }\n  filter: { includeBranch: '^env/', excludeBranch: '[02468]$', limit: 60 }`,
    ),
    rsip(
      'releases',
      `  type: AzureDevOpsTag\n  url: ${azureUrl}\n  secretRef: { name: azdo }\n  filter: { semver: '>=1.0.0', limit: 1 }`,
    ),
    rsip(
      'previews-azdo',
      `  type: AzureDevOpsPullRequest\n  url: ${azureUrl}\n  secretRef: { name: azdo }\n  filter: { labels: [preview] }`,
    ),
    rsip(
      'wrong-pat',
      `  type: AzureDevOpsBranch\n  url: ${azureUrl}\n  secretRef: { name: azdo-wrong }`,
    ),
    rsip(
      'not-granted',
      `  type: AzureDevOpsBranch\n  url: ${azureUrl}\n  secretRef: { name: azdo-other-entity }`,
    ),
    rsip(
      'workload-identity',
      `  type: AzureDevOpsBranch\n  url: ${azureUrl}\n  serviceAccountName: azdo-reader`,
    ),
    rsip('static', `  type: Static\n  defaultValues: { tenant: acme }`),
  ].join('');
}

describe('ExternalService and Azure DevOps input providers through the backend (stand-in services)', () => {
  let azure: AzureDevOpsStandIn;
  let service: ExternalServiceStandIn;
  beforeAll(async () => {
    azure = await startAzureDevOpsStandIn({ repositories: [repo], pat: PAT });
    service = await startExternalServiceStandIn();
  });
  afterAll(async () => {
    await azure?.stop();
    await service?.stop();
  });

  it('exports inputs, fails each broken provider with its own condition, refuses before sending, and leaks no secret', async () => {
    service.answer('/previews', {
      body: {
        inputs: [
          { id: 'pr-7', branch: 'feat/a', image: 'ghcr.io/acme/web:pr-7' },
          { id: 'pr-9', branch: 'feat/b', env: 'from-service' },
          { id: 'pr-11', branch: 'feat/c' },
        ],
      },
    });
    service.answer('/duplicates', {
      body: { inputs: [{ id: 'a' }, { id: 'a' }] },
    });
    service.answer('/limited', {
      status: 429,
      body: { message: 'slow down' },
      headers: { 'retry-after': '120' },
    });

    const logs: string[] = [];
    const rootLogger = new CapturingLogger(logs);
    const scoped = { allowedEntities: [PLATFORM] };
    const backend = await startBackend({
      files: {
        'catalog.yaml': catalog,
        'providers.yaml': providers(azure, service),
      },
      config: {
        inputProviders: {
          allowedHosts: ['127.0.0.1'],
          insecureHosts: ['127.0.0.1', 'localhost'],
        },
        credentials: {
          'ext-token': {
            type: 'token',
            token: SERVICE_TOKEN,
            hosts: [service.host, 'localhost'],
            ...scoped,
          },
          azdo: {
            type: 'token',
            token: PAT,
            hosts: [`${azure.host}/acme`],
            ...scoped,
          },
          'azdo-wrong': {
            type: 'basic',
            username: 'x',
            password: WRONG_PAT,
            hosts: [`${azure.host}/acme`],
            ...scoped,
          },
          'azdo-other-entity': {
            type: 'token',
            token: PAT,
            hosts: [azure.host],
            allowedEntities: ['component:default/shop'],
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
    try {
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

      await eventually(async () => {
        await backend.sync();
        const res = await api('/entities/component/default/platform/objects');
        return res.body.items?.length === 11 ? true : undefined;
      });
      await backend.reconcile();

      // ExternalService: the service's inputs in its order, cut to the limit, defaults only where absent.
      const previews = await get('previews');
      expect(previews.status.exportedInputs).toEqual([
        {
          branch: 'feat/a',
          env: 'preview',
          id: 'pr-7',
          image: 'ghcr.io/acme/web:pr-7',
        },
        { branch: 'feat/b', env: 'from-service', id: 'pr-9' },
      ]);
      expect(condition(previews, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      const previewCalls = service.requests.filter(r => r.path === '/previews');
      expect(previewCalls[0]).toEqual({
        method: 'GET',
        path: '/previews',
        authorization: `Bearer ${SERVICE_TOKEN}`,
        accept: 'application/json',
      });

      // Azure DevOps: branches over two pages (the filter keeps 70 of 140, limit 60), a peeled annotated tag, labelled active PRs.
      const envs = await get('envs');
      expect(envs.status.exportedInputs).toHaveLength(60);
      expect(envs.status.exportedInputs[0]).toEqual({
        branch: 'env/e001',
        id: '211157615',
        sha: sha(101),
      });
      expect(envs.status.exportedInputs[59]).toMatchObject({
        branch: 'env/e119',
        sha: sha(219),
      });
      expect((await get('releases')).status.exportedInputs).toEqual([
        { id: '93716837', sha: sha(3), tag: 'v1.1.0' },
      ]);
      expect((await get('previews-azdo')).status.exportedInputs).toEqual([
        {
          author: 'Jamie Doe',
          branch: 'feature/search',
          id: '42',
          labels: ['preview'],
          sha: sha(42),
          title: 'Add search',
        },
      ]);
      const refCalls = azure.requests.filter(
        r =>
          r.path.endsWith('/refs') &&
          r.query.filter === 'heads/' &&
          r.authorization ===
            `Basic ${Buffer.from(`:${PAT}`).toString('base64')}`,
      );
      expect(
        refCalls.map(r => r.query.continuationToken === undefined),
      ).toEqual([true, false]);
      expect(azure.requests.every(r => r.query['api-version'] === '7.1')).toBe(
        true,
      );

      // Each broken provider: its own condition, naming the cause.
      const duplicates = await get('duplicate-ids');
      expect(condition(duplicates, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `invalid response from external service '${service.baseUrl}/duplicates': input at index 1 has a duplicate 'id' value 'a'`,
      });
      expect(duplicates.status.exportedInputs ?? []).toEqual([]);
      expect(condition(await get('rate-limited'), 'Ready')).toMatchObject({
        status: 'False',
        message: `external service '${service.baseUrl}/limited' returned HTTP 429; rate limited, retry after 120s`,
      });
      expect(condition(await get('wrong-pat'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `failed to call Git provider: Azure DevOps '${azure.baseUrl}/acme/shop/_apis/git/repositories/web/refs' returned HTTP 401`,
      });
      const TERMINAL =
        'Reconciliation failed terminally due to configuration error: ';
      expect(condition(await get('not-allowed-host'), 'Stalled')).toMatchObject(
        {
          status: 'True',
          reason: 'HostNotAllowed',
          message: `${TERMINAL}host localhost:${
            new URL(service.baseUrl).port
          } is not in imageAutomation.inputProviders.allowedHosts, the hosts input providers may call`,
        },
      );
      expect(condition(await get('not-granted'), 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'CredentialRefused',
        message: `${TERMINAL}failed to read secret 'flux-system/azdo-other-entity': credential 'azdo-other-entity' is not granted to ${PLATFORM} (imageAutomation.credentials.azdo-other-entity.allowedEntities)`,
      });
      const identity = condition(await get('workload-identity'), 'Stalled');
      expect(identity).toMatchObject({
        status: 'True',
        reason: 'FieldNotSupported',
      });
      expect(identity.message).toContain(
        'spec.serviceAccountName is not supported',
      );
      // Refused before any request: the stand-ins saw nothing of them.
      expect(service.requests.filter(r => r.path === '/elsewhere')).toEqual([]);
      const anyAuth = new Set(azure.requests.map(r => r.authorization));
      expect(anyAuth).toEqual(
        new Set([
          `Basic ${Buffer.from(`:${PAT}`).toString('base64')}`,
          `Basic ${Buffer.from(`:${WRONG_PAT}`).toString('base64')}`,
        ]),
      );
      expect(azure.requests.filter(r => r.authorization === undefined)).toEqual(
        [],
      );

      // The other providers are unaffected.
      expect((await get('static')).status.exportedInputs).toEqual([
        { id: expect.stringMatching(/^\d+$/), tenant: 'acme' },
      ]);

      // The service recovers: the next reconcile exports.
      service.answer('/duplicates', {
        body: { inputs: [{ id: 'a' }, { id: 'b' }] },
      });
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ResourceSetInputProvider/flux-system/duplicate-ids/reconcile',
        )
        .set('Authorization', user)
        .expect(200);
      await backend.reconcile();
      const recovered = await get('duplicate-ids');
      expect(recovered.status.exportedInputs).toEqual([
        { id: 'a' },
        { id: 'b' },
      ]);
      expect(condition(recovered, 'Ready')).toMatchObject({ status: 'True' });
      // Failing again keeps what was exported last.
      service.answer('/duplicates', { status: 500, body: { message: 'down' } });
      await request(backend.server)
        .post(
          '/api/image-automation/objects/ResourceSetInputProvider/flux-system/duplicate-ids/reconcile',
        )
        .set('Authorization', user)
        .expect(200);
      await backend.reconcile();
      const down = await get('duplicate-ids');
      expect(down.status.exportedInputs).toEqual([{ id: 'a' }, { id: 'b' }]);
      expect(condition(down, 'Ready')).toMatchObject({
        status: 'False',
        message: `external service '${service.baseUrl}/duplicates' returned HTTP 500`,
      });

      // No secret in any status, event, API answer or log line.
      const texts: string[] = [...logs];
      const items = (await api('/entities/component/default/platform/objects'))
        .body.items as Array<{ id: string }>;
      texts.push(JSON.stringify(items));
      for (const { id } of items) {
        texts.push(JSON.stringify((await api(`/objects/${id}`)).body));
        texts.push(JSON.stringify((await api(`/objects/${id}/events`)).body));
      }
      expect(texts.join('\n')).toContain('returned HTTP 401');
      const secrets = [PAT, WRONG_PAT, SERVICE_TOKEN].flatMap(s => [
        s,
        Buffer.from(`:${s}`).toString('base64'),
        Buffer.from(`x:${s}`).toString('base64'),
        encodeURIComponent(s),
      ]);
      const leaks = texts.flatMap((text, i) =>
        secrets
          .filter(s => text.includes(s))
          .map(s => `${s.slice(0, 6)}… in text ${i}`),
      );
      expect(leaks).toEqual([]);
      expect(logs.length).toBeGreaterThan(5);
    } finally {
      await backend.stop();
    }
  });
});
