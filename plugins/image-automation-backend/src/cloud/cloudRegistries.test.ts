import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  AutomationObject,
  ObjectStatus,
} from '@imageops/backstage-plugin-image-automation-common';
import {
  makeCertificates,
  pushImage,
  startRegistry,
  TestCertificates,
  TestRegistry,
  loopbackResolver,
} from '@internal/image-automation-test/testbed';
import { NamedCredentials } from '../credentials/NamedCredentials';
import { ImagePolicyReconciler } from '../engine/ImagePolicyReconciler';
import { ImageRepositoryReconciler } from '../engine/ImageRepositoryReconciler';
import { ResourceSetInputProviderReconciler } from '../engine/ResourceSetInputProviderReconciler';
import { inputId } from '../inputs';
import { RegistryClient } from '../registry';
import { DatabaseObjectStore } from '../store/DatabaseObjectStore';
import { DatabaseScanStore } from '../store/DatabaseScanStore';
import { ObjectStore } from '../store/ObjectStore';
import { ScanStore } from '../store/ScanStore';
import {
  ACR_REFRESH_TOKEN_USER,
  CloudRegistryAuth,
  GCP_ACCESS_TOKEN_USER,
} from './CloudRegistryAuth';

jest.setTimeout(90_000);

// Cloud registry auth (issue #20) end to end: REAL registries (Debian's distribution 2.8, htpasswd
// Basic auth with the user names the clouds use) behind a TLS front that answers to the cloud
// registry host names, reached through a test-only resolver (the `lookup` seam of RegistryClient
// and CloudRegistryAuth, never settable from config); the token services cannot run here, so
// local stand-ins implement their recorded contracts and the tests assert the requests they get:
// - AWS ECR API `GetAuthorizationToken` (AWS JSON 1.1, SigV4), called by @aws-sdk/client-ecr;
// - the Google metadata server (`GCE_METADATA_HOST`), called by google-auth-library's ADC;
// - Azure AD (OpenID configuration and the v2.0 token endpoint), called by @azure/identity, and
//   ACR's `POST /oauth2/exchange` on the registry host (served by the front).

const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const OTHER_ECR_HOST = '210987654321.dkr.ecr.us-east-1.amazonaws.com';
const GAR_HOST = 'europe-docker.pkg.dev';
const ACR_HOST = 'acmeshop.azurecr.io';
const ENTITY = 'component:default/shop';
const INTRUDER = 'component:default/intruder';
const TENANT = 'tenant-0001';
const CLIENT_ID = 'client-0001';

// Every value below is a secret: none may appear in a status, event, scan or log line.
const AWS_ACCESS_KEY = 'AKIASTANDINEXAMPLE01';
const AWS_SECRET_KEY = 'aws-secret-key-not-in-status';
const ECR_PASSWORD = 'ecr-password-not-in-status';
const GAR_TOKEN = 'ya29.gar-token-not-in-status';
const AAD_TOKEN = 'aad-access-token-not-in-status';
const AZURE_SECRET = 'azure-client-secret-not-in-status';
const ACR_REFRESH = 'acr-refresh-token-not-in-status';
const SECRETS = [
  AWS_SECRET_KEY,
  ECR_PASSWORD,
  GAR_TOKEN,
  AAD_TOKEN,
  AZURE_SECRET,
  ACR_REFRESH,
];

const CLOUD_NAMES = new Set([ECR_HOST, OTHER_ECR_HOST, GAR_HOST, ACR_HOST]);
/** Test-only resolver: the cloud registry names are this machine; every other name is unknown. */
const lookup = loopbackResolver(CLOUD_NAMES);

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise(resolve => {
    let body = '';
    req.on('data', chunk => (body += chunk));
    req.on('end', () => resolve(body));
  });
}

function listen(server: http.Server): Promise<number> {
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () =>
      resolve((server.address() as AddressInfo).port),
    ),
  );
}

function close(server: http.Server | undefined): Promise<void> {
  return new Promise(resolve =>
    server ? server.close(() => resolve()) : resolve(),
  );
}

describe('cloud registry auth (issue #20): real registries through a test-only resolver, stand-in token services (ECR API, Google metadata server, Azure AD, ACR exchange)', () => {
  let dir: string;
  let certs: TestCertificates;
  let ecrRegistry: TestRegistry;
  let garRegistry: TestRegistry;
  let acrRegistry: TestRegistry;
  let plainRegistry: TestRegistry;
  let front: https.Server;
  let frontPort: number;
  let ecrApi: http.Server;
  let metadata: http.Server;
  let aad: https.Server;
  let config: ConfigReader;
  const digests: Record<string, string> = {};

  // What each stand-in saw, and how it answers.
  const ecrRequests: Seen[] = [];
  const metadataTokenRequests: Seen[] = [];
  const aadTokenRequests: Seen[] = [];
  const exchangeRequests: Seen[] = [];
  const frontRequests: Array<{ host: string; url?: string }> = [];
  const answer = { ecr: 200, metadata: 200, aad: 200, exchange: 200 };
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloud-registries-'));
    certs = await makeCertificates(dir, {
      serverNames: [ECR_HOST, OTHER_ECR_HOST, GAR_HOST, '*.azurecr.io'],
    });
    [ecrRegistry, garRegistry, acrRegistry, plainRegistry] = await Promise.all([
      startRegistry({ htpasswd: { username: 'AWS', password: ECR_PASSWORD } }),
      startRegistry({
        htpasswd: { username: GCP_ACCESS_TOKEN_USER, password: GAR_TOKEN },
      }),
      startRegistry({
        htpasswd: { username: ACR_REFRESH_TOKEN_USER, password: ACR_REFRESH },
      }),
      startRegistry(),
    ]);
    digests.ecr = (
      await pushImage(ecrRegistry, 'shop/app', ['1.0.0', '1.1.0'], {
        seed: 'ecr',
      })
    ).digest;
    digests.gar = (
      await pushImage(garRegistry, 'acme-prod/shop/app', ['2.0.0', '2.1.0'], {
        seed: 'gar',
      })
    ).digest;
    digests.acr = (
      await pushImage(acrRegistry, 'shop/app', ['3.0.0', '3.1.0'], {
        seed: 'acr',
      })
    ).digest;
    await pushImage(plainRegistry, 'team/web', ['0.1.0']);

    // The TLS front of the cloud registries (stand-in): by host name to the real registry behind
    // it; ACR's `/oauth2/exchange` answered here, as ACR serves it on the registry host.
    const upstream: Record<string, TestRegistry> = {
      [ECR_HOST]: ecrRegistry,
      [OTHER_ECR_HOST]: ecrRegistry,
      [GAR_HOST]: garRegistry,
      [ACR_HOST]: acrRegistry,
    };
    front = https.createServer(
      {
        cert: fs.readFileSync(certs.serverCertFile),
        key: fs.readFileSync(certs.serverKeyFile),
      },
      async (req, res) => {
        const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
        frontRequests.push({ host, url: req.url });
        if (host === ACR_HOST && req.url === '/oauth2/exchange') {
          exchangeRequests.push({
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: await readBody(req),
          });
          res.statusCode = answer.exchange;
          res.setHeader('content-type', 'application/json');
          res.end(
            answer.exchange === 200
              ? JSON.stringify({ refresh_token: ACR_REFRESH })
              : '{"errors":[{"code":"UNAUTHORIZED"}]}',
          );
          return;
        }
        const target = upstream[host];
        if (!target) {
          res.statusCode = 404;
          res.end();
          return;
        }
        const [, port] = target.host.split(':');
        const forward = http.request(
          {
            host: '127.0.0.1',
            port: Number(port),
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host },
          },
          response => {
            res.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(res);
          },
        );
        forward.on('error', () => res.destroy());
        req.pipe(forward);
      },
    );
    frontPort = await listen(front);

    // AWS ECR API stand-in: AWS JSON 1.1 `GetAuthorizationToken`.
    ecrApi = http.createServer(async (req, res) => {
      ecrRequests.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: await readBody(req),
      });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      res.statusCode = answer.ecr;
      if (answer.ecr !== 200) {
        res.end(
          JSON.stringify({
            __type: 'UnrecognizedClientException',
            message: 'The security token included in the request is invalid.',
          }),
        );
        return;
      }
      res.end(
        JSON.stringify({
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${ECR_PASSWORD}`).toString(
                'base64',
              ),
              expiresAt: Date.now() / 1000 + 12 * 3600,
              proxyEndpoint: `https://${ECR_HOST}`,
            },
          ],
        }),
      );
    });
    const ecrPort = await listen(ecrApi);

    // Google metadata server stand-in (what application default credentials use on GCE/GKE).
    metadata = http.createServer(async (req, res) => {
      res.setHeader('metadata-flavor', 'Google');
      res.setHeader('content-type', 'application/json');
      if (
        req.url?.startsWith(
          '/computeMetadata/v1/instance/service-accounts/default/token',
        )
      ) {
        metadataTokenRequests.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: await readBody(req),
        });
        res.statusCode = answer.metadata;
        res.end(
          answer.metadata === 200
            ? JSON.stringify({
                access_token: GAR_TOKEN,
                expires_in: 3599,
                token_type: 'Bearer',
              })
            : 'Unauthorized',
        );
        return;
      }
      res.end(req.url?.includes('project-id') ? 'stand-in-project' : '{}');
    });
    const metadataPort = await listen(metadata);

    // Azure AD stand-in: the tenant's OpenID configuration and v2.0 token endpoint.
    aad = https.createServer(
      {
        cert: fs.readFileSync(certs.serverCertFile),
        key: fs.readFileSync(certs.serverKeyFile),
      },
      async (req, res) => {
        const base = `https://127.0.0.1:${
          (aad.address() as AddressInfo).port
        }/${TENANT}`;
        res.setHeader('content-type', 'application/json');
        if (req.url === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
          res.end(
            JSON.stringify({
              token_endpoint: `${base}/oauth2/v2.0/token`,
              authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
              end_session_endpoint: `${base}/oauth2/v2.0/logout`,
              issuer: `${base}/v2.0`,
              jwks_uri: `${base}/discovery/v2.0/keys`,
            }),
          );
          return;
        }
        aadTokenRequests.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: await readBody(req),
        });
        res.statusCode = answer.aad;
        res.end(
          answer.aad === 200
            ? JSON.stringify({
                token_type: 'Bearer',
                expires_in: 3599,
                ext_expires_in: 3599,
                access_token: AAD_TOKEN,
              })
            : JSON.stringify({
                error: 'invalid_client',
                error_description:
                  'AADSTS7000215: Invalid client secret provided.',
              }),
        );
      },
    );
    const aadPort = await listen(aad);

    process.env.AWS_ACCESS_KEY_ID = AWS_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = AWS_SECRET_KEY;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GCE_METADATA_HOST = `127.0.0.1:${metadataPort}`;
    config = new ConfigReader({
      imageAutomation: {
        allowedRegistries: [
          ECR_HOST,
          OTHER_ECR_HOST,
          GAR_HOST,
          '*.azurecr.io',
          '127.0.0.1',
          'ghcr.io',
        ],
        registry: { insecureHosts: ['127.0.0.1'] },
        cloudIdentity: {
          aws: {
            allowedEntities: [ENTITY],
            registries: [ECR_HOST],
            endpoint: `http://127.0.0.1:${ecrPort}`,
          },
          gcp: { allowedEntities: [ENTITY], registries: [GAR_HOST] },
          azure: {
            allowedEntities: [ENTITY],
            registries: ['*.azurecr.io'],
            tenantId: TENANT,
            clientId: CLIENT_ID,
            clientSecret: AZURE_SECRET,
            authorityHost: `https://127.0.0.1:${aadPort}`,
          },
        },
      },
    });
  });

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([
      close(front),
      close(ecrApi),
      close(metadata),
      close(aad),
    ]);
    await Promise.all(
      [ecrRegistry, garRegistry, acrRegistry, plainRegistry].map(r =>
        r?.stop(),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const databases = TestDatabases.create({
    ids: ['SQLITE_3'],
    disableDocker: true,
  });

  /** A world: stores, a registry client and cloud auth with the test seams, and the reconcilers. */
  async function world(options: { clock?: { now: number } } = {}) {
    const knex = await databases.init('SQLITE_3');
    const objects: ObjectStore = await DatabaseObjectStore.create({ knex });
    const scans: ScanStore = await DatabaseScanStore.create({
      knex,
      skipMigrations: true,
    });
    const logger = mockServices.logger.mock();
    const registry = new RegistryClient({
      allowedHosts: config.getStringArray('imageAutomation.allowedRegistries'),
      ca: certs.ca,
      lookup,
      retries: { attempts: 1 },
    });
    const cloud = CloudRegistryAuth.fromConfig(config, {
      allowedRegistries: config.getStringArray(
        'imageAutomation.allowedRegistries',
      ),
      logger,
      ca: certs.ca,
      lookup,
      now: options.clock ? () => options.clock!.now : undefined,
    });
    const credentials = NamedCredentials.fromConfig(config);
    const repositories = new ImageRepositoryReconciler({
      objects,
      scans,
      registry,
      credentials,
      logger,
      cloud,
    });
    const providers = new ResourceSetInputProviderReconciler({
      objects,
      registry,
      credentials,
      logger,
      config,
      cloud,
    });
    const policies = new ImagePolicyReconciler({
      objects,
      scans,
      registry,
      credentials,
      cloud,
    });
    const statuses = new Map<string, ObjectStatus>();
    const results: unknown[] = [];

    async function declare(manifests: AutomationObject[], entityRef = ENTITY) {
      await objects.syncSource(
        entityRef,
        manifests.map(manifest => ({
          manifest,
          source: {
            type: 'config' as const,
            location: `file:///${entityRef}.yaml`,
          },
          entityRef,
        })),
      );
    }
    async function reconcile(id: string, now = new Date()) {
      const object = (await objects.get(id))!;
      let reconciler: typeof repositories | typeof policies | typeof providers =
        providers;
      if (object.kind === 'ImageRepository') reconciler = repositories;
      else if (object.kind === 'ImagePolicy') reconciler = policies;
      const result = await reconciler.reconcile(
        { ...object, status: statuses.get(id) ?? object.status },
        now,
      );
      statuses.set(id, result.status);
      results.push(result);
      return result;
    }
    /** Everything that left the reconcilers, the scan history and the logger. */
    async function everything(): Promise<string> {
      const scanRows = [];
      for (const object of await objects.list()) {
        if (object.kind === 'ImageRepository')
          scanRows.push(
            ...(await scans.listScans(object.id, { limit: 50 })).items,
          );
      }
      const logged = [
        logger.debug,
        logger.info,
        logger.warn,
        logger.error,
      ].flatMap(fn => (fn as jest.Mock).mock.calls);
      return JSON.stringify({ results, scanRows, logged });
    }
    return { declare, reconcile, everything, cloud };
  }

  const repository = (
    name: string,
    spec: Record<string, unknown>,
  ): AutomationObject => ({
    apiVersion: 'image.toolkit.fluxcd.io/v1',
    kind: 'ImageRepository',
    metadata: { name, namespace: 'shop' },
    spec: { interval: '5m', ...spec },
  });
  const inputProvider = (
    name: string,
    spec: Record<string, unknown>,
  ): AutomationObject => ({
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSetInputProvider',
    metadata: { name, namespace: 'shop' },
    spec,
  });
  const condition = (result: { status: ObjectStatus }, type: string) =>
    result.status.conditions?.find(c => c.type === type);
  const at = (host: string) => `${host}:${frontPort}`;

  function resetStandIns() {
    for (const list of [
      ecrRequests,
      metadataTokenRequests,
      aadTokenRequests,
      exchangeRequests,
      frontRequests,
    ])
      list.length = 0;
    Object.assign(answer, { ecr: 200, metadata: 200, aad: 200, exchange: 200 });
  }

  function assertNoSecrets(text: string) {
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(text).not.toContain(
      Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64'),
    );
  }

  it('scans ECR, GAR and ACR with the backend identity (stand-in token services, real registries), a generic repository alongside; tokens are cached until shortly before expiry', async () => {
    resetStandIns();
    const clock = { now: Date.now() };
    const w = await world({ clock });
    await w.declare([
      repository('ecr', {
        image: `${at(ECR_HOST)}/shop/app`,
        provider: 'aws',
        secretRef: { name: 'ignored-with-a-provider' },
      }),
      repository('gar', {
        image: `${at(GAR_HOST)}/acme-prod/shop/app`,
        provider: 'gcp',
      }),
      repository('acr', {
        image: `${at(ACR_HOST)}/shop/app`,
        provider: 'azure',
      }),
      repository('plain', {
        image: `${plainRegistry.host}/team/web`,
        provider: 'generic',
      }),
    ]);
    const t0 = new Date();
    const expected: Record<string, string[]> = {
      ecr: ['1.1.0', '1.0.0'],
      gar: ['2.1.0', '2.0.0'],
      acr: ['3.1.0', '3.0.0'],
      plain: ['0.1.0'],
    };
    for (const [name, tags] of Object.entries(expected)) {
      const result = await w.reconcile(`ImageRepository/shop/${name}`, t0);
      expect(condition(result, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
      expect(result.status.lastScanResult).toMatchObject({
        tagCount: tags.length,
        latestTags: tags,
      });
    }

    // ECR stand-in: one GetAuthorizationToken, AWS JSON 1.1, SigV4-signed with the environment's key for us-east-1.
    expect(ecrRequests).toHaveLength(1);
    expect(ecrRequests[0]).toMatchObject({
      method: 'POST',
      url: '/',
      body: '{}',
    });
    expect(ecrRequests[0].headers).toMatchObject({
      'x-amz-target':
        'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken',
      'content-type': 'application/x-amz-json-1.1',
    });
    expect(String(ecrRequests[0].headers.authorization)).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${AWS_ACCESS_KEY}/\\d{8}/us-east-1/ecr/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$`,
      ),
    );
    // Metadata server stand-in: one token request with the cloud-platform scope and the flavor header.
    expect(metadataTokenRequests).toHaveLength(1);
    expect(metadataTokenRequests[0].headers['metadata-flavor']).toBe('Google');
    expect(metadataTokenRequests[0].url).toContain(
      'scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform',
    );
    // Azure AD stand-in: client credentials for Azure Resource Manager; then ACR's exchange.
    expect(aadTokenRequests).toHaveLength(1);
    const aadForm = new URLSearchParams(aadTokenRequests[0].body);
    expect(aadTokenRequests[0].url).toMatch(
      new RegExp(`^/${TENANT}/oauth2/v2.0/token`),
    );
    expect(aadForm.get('grant_type')).toBe('client_credentials');
    expect(aadForm.get('client_id')).toBe(CLIENT_ID);
    expect(aadForm.get('client_secret')).toBe(AZURE_SECRET);
    expect(aadForm.get('scope')).toBe('https://management.azure.com/.default');
    expect(exchangeRequests).toHaveLength(1);
    expect(exchangeRequests[0].method).toBe('POST');
    expect(exchangeRequests[0].headers['content-type']).toBe(
      'application/x-www-form-urlencoded',
    );
    expect(
      Object.fromEntries(new URLSearchParams(exchangeRequests[0].body)),
    ).toEqual({
      grant_type: 'access_token',
      service: at(ACR_HOST),
      tenant: TENANT,
      access_token: AAD_TOKEN,
    });

    // The next scans (the interval later, token clock unchanged) reuse every token: no token request.
    const t1 = new Date(t0.getTime() + 6 * 60_000);
    const registryCallsBefore = frontRequests.length;
    for (const name of Object.keys(expected)) {
      const result = await w.reconcile(`ImageRepository/shop/${name}`, t1);
      expect(condition(result, 'Ready')).toMatchObject({ status: 'True' });
    }
    expect(frontRequests.length).toBeGreaterThan(registryCallsBefore);
    expect([
      ecrRequests.length,
      metadataTokenRequests.length,
      aadTokenRequests.length,
      exchangeRequests.length,
    ]).toEqual([1, 1, 1, 1]);

    // Past the ECR token's 12 h (and the ACR refresh token's fallback hour): asked again.
    clock.now += 13 * 3600_000;
    const t2 = new Date(t1.getTime() + 6 * 60_000);
    await w.reconcile('ImageRepository/shop/ecr', t2);
    await w.reconcile('ImageRepository/shop/acr', t2);
    expect(ecrRequests).toHaveLength(2);
    expect(exchangeRequests).toHaveLength(2);

    assertNoSecrets(await w.everything());
  });

  it('ECR/GAR/ACRArtifactTag providers export id, tag and digest with the backend identity', async () => {
    resetStandIns();
    const w = await world();
    await w.declare([
      inputProvider('ecr', {
        type: 'ECRArtifactTag',
        url: `oci://${at(ECR_HOST)}/shop/app`,
        filter: { semver: '>=1.0.0' },
      }),
      inputProvider('gar', {
        type: 'GARArtifactTag',
        url: `oci://${at(GAR_HOST)}/acme-prod/shop/app`,
        filter: { limit: 1 },
      }),
      inputProvider('acr', {
        type: 'ACRArtifactTag',
        url: `oci://${at(ACR_HOST)}/shop/app`,
      }),
    ]);
    const expected: Record<string, Array<[string, string]>> = {
      ecr: [
        ['1.1.0', digests.ecr],
        ['1.0.0', digests.ecr],
      ],
      gar: [['2.1.0', digests.gar]],
      acr: [
        ['3.1.0', digests.acr],
        ['3.0.0', digests.acr],
      ],
    };
    for (const [name, items] of Object.entries(expected)) {
      const result = await w.reconcile(`ResourceSetInputProvider/shop/${name}`);
      expect(condition(result, 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
        message: expect.stringMatching(/^Reconciliation finished in /),
      });
      expect(result.status.exportedInputs).toEqual(
        items.map(([tag, digest]) => ({ id: inputId(tag), tag, digest })),
      );
    }
    expect([
      ecrRequests.length,
      metadataTokenRequests.length,
      exchangeRequests.length,
    ]).toEqual([1, 1, 1]);
    assertNoSecrets(await w.everything());
  });

  it('refuses, before any token request, an entity not granted, a registry not listed, a host of another provider and an unconfigured provider', async () => {
    resetStandIns();
    const w = await world();
    await w.declare(
      [
        repository('ecr', {
          image: `${at(ECR_HOST)}/shop/app`,
          provider: 'aws',
        }),
        inputProvider('acr', {
          type: 'ACRArtifactTag',
          url: `oci://${at(ACR_HOST)}/shop/app`,
        }),
      ],
      INTRUDER,
    );
    await w.declare([
      repository('other-account', {
        image: `${at(OTHER_ECR_HOST)}/shop/app`,
        provider: 'aws',
      }),
      repository('gcp-on-ghcr', { image: 'ghcr.io/acme/app', provider: 'gcp' }),
      repository('azure-on-ecr', {
        image: `${at(ECR_HOST)}/shop/app`,
        provider: 'azure',
      }),
      inputProvider('ecr-unlisted', {
        type: 'ECRArtifactTag',
        url: `oci://${OTHER_ECR_HOST}/shop/app`,
      }),
    ]);
    const stalled = async (id: string) => {
      const result = await w.reconcile(id);
      expect(condition(result, 'Stalled')).toMatchObject({ status: 'True' });
      return condition(result, 'Ready');
    };
    const TERMINAL =
      'Reconciliation failed terminally due to configuration error: ';
    expect(await stalled('ImageRepository/shop/ecr')).toMatchObject({
      status: 'False',
      reason: 'CloudIdentityNotGranted',
      message: `the backend's aws identity is not granted to ${INTRUDER} (imageAutomation.cloudIdentity.aws.allowedEntities)`,
    });
    expect(await stalled('ResourceSetInputProvider/shop/acr')).toMatchObject({
      reason: 'CloudIdentityNotGranted',
      message: `${TERMINAL}the backend's azure identity is not granted to ${INTRUDER} (imageAutomation.cloudIdentity.azure.allowedEntities)`,
    });
    expect(await stalled('ImageRepository/shop/other-account')).toMatchObject({
      reason: 'RegistryNotAllowed',
      message: `registry host ${at(
        OTHER_ECR_HOST,
      )} is not in imageAutomation.cloudIdentity.aws.registries, the registries the backend's aws identity may be used for`,
    });
    expect(await stalled('ImageRepository/shop/gcp-on-ghcr')).toMatchObject({
      reason: 'RegistryHostMismatch',
      message:
        "registry host 'ghcr.io' is not a registry of provider 'gcp' (Google Artifact Registry or Container Registry: gcr.io, <region>.gcr.io, <location>-docker.pkg.dev); use provider 'generic' with a secretRef naming a credential for other registries",
    });
    expect((await stalled('ImageRepository/shop/azure-on-ecr'))?.reason).toBe(
      'RegistryHostMismatch',
    );
    expect(
      (await stalled('ResourceSetInputProvider/shop/ecr-unlisted'))?.reason,
    ).toBe('RegistryNotAllowed');

    // A backend without cloudIdentity.gcp refuses gcp for everyone.
    const bare = new CloudRegistryAuth({}, { allowedRegistries: ['*'] });
    expect(() =>
      bare.admit(
        'gcp',
        {
          canonical: `${GAR_HOST}/a/b`,
          registry: GAR_HOST,
          repository: 'a/b',
          scheme: 'https',
        },
        ENTITY,
      ),
    ).toThrow(
      "provider 'gcp' cannot be used: imageAutomation.cloudIdentity.gcp is not configured, so the backend's gcp identity is not available to any entity",
    );

    // Nothing reached a token service or a registry.
    expect([
      ecrRequests.length,
      metadataTokenRequests.length,
      aadTokenRequests.length,
      exchangeRequests.length,
      frontRequests.length,
    ]).toEqual([0, 0, 0, 0, 0]);
  });

  it('a token service answering 401 is Ready=False naming the provider and status, without a secret; the others and a generic repository keep working', async () => {
    resetStandIns();
    const w = await world();
    await w.declare([
      repository('ecr', { image: `${at(ECR_HOST)}/shop/app`, provider: 'aws' }),
      repository('gar', {
        image: `${at(GAR_HOST)}/acme-prod/shop/app`,
        provider: 'gcp',
      }),
      repository('acr', {
        image: `${at(ACR_HOST)}/shop/app`,
        provider: 'azure',
      }),
      repository('plain', { image: `${plainRegistry.host}/team/web` }),
      inputProvider('ecr-tags', {
        type: 'ECRArtifactTag',
        url: `oci://${at(ECR_HOST)}/shop/app`,
      }),
    ]);
    const failed = async (id: string, inWorld = w) => {
      const result = await inWorld.reconcile(id);
      expect(condition(result, 'Stalled')).toBeUndefined();
      return condition(result, 'Ready');
    };
    // Only the ECR API refuses: ECR fails, GAR, ACR and the generic repository scan.
    answer.ecr = 401;
    expect(await failed('ImageRepository/shop/ecr')).toMatchObject({
      status: 'False',
      reason: 'AuthenticationFailed',
      message: `failed to configure authentication options: failed to get a registry token for ${at(
        ECR_HOST,
      )} from provider 'aws': ECR GetAuthorizationToken in us-east-1 failed (HTTP 401): UnrecognizedClientException: The security token included in the request is invalid.`,
    });
    for (const name of ['gar', 'acr', 'plain']) {
      expect(await failed(`ImageRepository/shop/${name}`)).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
      });
    }
    expect(exchangeRequests).toHaveLength(1);

    // Google's and Azure AD's token services refuse too (a new backend: nothing cached).
    Object.assign(answer, { metadata: 401, aad: 401 });
    exchangeRequests.length = 0;
    const fresh = await world();
    await fresh.declare([
      repository('gar', {
        image: `${at(GAR_HOST)}/acme-prod/shop/app`,
        provider: 'gcp',
      }),
      repository('acr', {
        image: `${at(ACR_HOST)}/shop/app`,
        provider: 'azure',
      }),
      repository('plain', { image: `${plainRegistry.host}/team/web` }),
    ]);
    expect((await failed('ImageRepository/shop/gar', fresh))?.message).toMatch(
      new RegExp(
        `^failed to configure authentication options: failed to get a registry token for ${at(
          GAR_HOST,
        )} from provider 'gcp': the Google access token request failed \\(HTTP 401\\)`,
      ),
    );
    expect((await failed('ImageRepository/shop/acr', fresh))?.message).toMatch(
      new RegExp(
        `^failed to configure authentication options: failed to get a registry token for ${at(
          ACR_HOST,
        )} from provider 'azure': the Azure AD token request failed \\(HTTP 401\\)`,
      ),
    );
    expect(
      await failed('ResourceSetInputProvider/shop/ecr-tags'),
    ).toMatchObject({
      reason: 'ReconciliationFailed',
      message: expect.stringMatching(
        /^failed to call OCI provider: failed to get a registry token for .* from provider 'aws': .*\(HTTP 401\)/,
      ),
    });
    expect(exchangeRequests).toHaveLength(0);
    expect(await failed('ImageRepository/shop/plain', fresh)).toMatchObject({
      status: 'True',
    });

    // Azure AD accepts, ACR's exchange refuses: that status is named.
    answer.aad = 200;
    answer.exchange = 401;
    expect((await failed('ImageRepository/shop/acr', fresh))?.message).toBe(
      `failed to configure authentication options: failed to get a registry token for ${at(
        ACR_HOST,
      )} from provider 'azure': the ACR token exchange POST https://${at(
        ACR_HOST,
      )}/oauth2/exchange answered HTTP 401`,
    );
    // Fixed: the next scan succeeds (a failure is not cached).
    Object.assign(answer, { ecr: 200, exchange: 200 });
    expect(await failed('ImageRepository/shop/ecr')).toMatchObject({
      status: 'True',
    });
    expect(await failed('ImageRepository/shop/acr', fresh)).toMatchObject({
      status: 'True',
    });
    assertNoSecrets(await w.everything());
    assertNoSecrets(await fresh.everything());
  });

  it('an ImagePolicy reflecting digests of a cloud repository uses the cloud identity too', async () => {
    resetStandIns();
    const w = await world();
    await w.declare([
      repository('ecr', { image: `${at(ECR_HOST)}/shop/app`, provider: 'aws' }),
      {
        apiVersion: 'image.toolkit.fluxcd.io/v1',
        kind: 'ImagePolicy',
        metadata: { name: 'ecr', namespace: 'shop' },
        spec: {
          imageRepositoryRef: { name: 'ecr' },
          policy: { semver: { range: '>=1.0.0' } },
          digestReflectionPolicy: 'Always',
          interval: '5m',
        },
      },
    ]);
    expect(
      condition(await w.reconcile('ImageRepository/shop/ecr'), 'Ready'),
    ).toMatchObject({ status: 'True' });
    const policy = await w.reconcile('ImagePolicy/shop/ecr');
    expect(condition(policy, 'Ready')).toMatchObject({ status: 'True' });
    expect(policy.status.latestRef).toMatchObject({
      tag: '1.1.0',
      digest: digests.ecr,
    });
    expect(ecrRequests).toHaveLength(1);
  });
});
