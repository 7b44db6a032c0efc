import { mockCredentials } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { ConfigReader } from '@backstage/config';
import { Entity } from '@backstage/catalog-model';
import { CatalogClusterLocator } from './CatalogClusterLocator';
import { ConfigClusterLocator } from './ConfigClusterLocator';
import { KubernetesClusters } from './KubernetesClusters';
import { readKubernetesSettings } from './kubernetesSettings';

const config = new ConfigReader({
  kubernetes: {
    clusterLocatorMethods: [
      { type: 'catalog' },
      {
        type: 'config',
        clusters: [
          {
            name: 'local',
            url: 'https://127.0.0.1:6443',
            authProvider: 'serviceAccount',
            serviceAccountToken: 'sa-token',
            caData: 'Q0E=',
          },
          {
            name: 'edge',
            url: 'https://edge:6443',
            authProvider: 'serviceAccount',
            skipTLSVerify: true,
          },
        ],
      },
    ],
  },
  imageAutomation: {
    kubernetes: {
      fieldManager: 'backstage-automation',
      clusters: [
        {
          name: 'edge',
          credential: 'edge-cert',
          allowedNamespaces: ['apps'],
          allowedKinds: ['*'],
          allowedClusterScopedKinds: ['Namespace'],
          allowedEntities: ['component:default/shop'],
          allowedOwners: ['group:default/team-a'],
        },
        {
          name: 'prod',
          credential: 'prod-token',
          url: 'https://prod.example.com',
          allowedKinds: ['ConfigMap'],
        },
        {
          name: 'moved',
          credential: 'prod-token',
          url: 'https://prod.example.com',
        },
      ],
    },
    credentials: {
      'prod-token': { type: 'token', token: 'prod-secret' },
      'edge-cert': {
        type: 'clientCertificate',
        certData: '-----BEGIN CERTIFICATE-----',
        keyData: '-----BEGIN PRIVATE KEY-----',
      },
      registry: { type: 'basic', username: 'u', password: 'p' },
    },
  },
});

const cluster = (
  name: string,
  annotations: Record<string, string>,
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'kubernetes-cluster', owner: 'platform' },
});

describe('cluster locators', () => {
  const settings = readKubernetesSettings(config);

  it('reads settings with defaults', () => {
    expect(settings.fieldManager).toBe('backstage-automation');
    expect(settings.force).toBe(false);
    expect(settings.concurrency).toBe(8);
    expect([...settings.credentials.keys()]).toEqual([
      'prod-token',
      'edge-cert',
    ]);
    expect(readKubernetesSettings(new ConfigReader({})).fieldManager).toBe(
      'image-automation',
    );
  });

  it('reads config clusters with their token, CA, TLS setting and write policy, only when imageAutomation lists them', () => {
    const locator = new ConfigClusterLocator(config, settings);
    // 'local' is a cluster of the Kubernetes plugin only: image automation may not use it.
    expect(locator.getUnlisted()).toEqual(['local']);
    const clusters = locator.getClusters();
    expect(clusters).toEqual([
      {
        name: 'edge',
        url: 'https://edge:6443',
        source: 'config',
        auth: {
          type: 'clientCertificate',
          certData: '-----BEGIN CERTIFICATE-----',
          keyData: '-----BEGIN PRIVATE KEY-----',
        },
        caData: undefined,
        skipTLSVerify: true,
        writePolicy: {
          allowedNamespaces: ['apps'],
          allowedKinds: ['*'],
          allowedClusterScopedKinds: ['Namespace'],
          allowedEntities: ['component:default/shop'],
          allowedOwners: ['group:default/team-a'],
        },
      },
    ]);
  });

  it('takes catalog clusters with the Kubernetes plugin annotations and tokens from config only', async () => {
    const catalog = catalogServiceMock({
      entities: [
        cluster('prod', {
          'kubernetes.io/api-server': 'https://prod.example.com',
          'kubernetes.io/api-server-certificate-authority': 'UFJPRC1DQQ==',
          'kubernetes.io/skip-tls-verify': 'false',
          // A token in the catalog is never read.
          'kubernetes.io/service-account-token': 'from-catalog',
        }),
        cluster('moved', {
          'kubernetes.io/api-server': 'https://attacker.example.com',
        }),
        cluster('unknown', {
          'kubernetes.io/api-server': 'https://x.example.com',
        }),
        cluster('oidc', {
          'kubernetes.io/api-server': 'https://x.example.com',
          'kubernetes.io/auth-provider': 'oidc',
        }),
        cluster('local', {
          'kubernetes.io/api-server': 'https://shadow.example.com',
        }),
        {
          ...cluster('not-a-cluster', {}),
          spec: { type: 'database', owner: 'x' },
        },
      ],
    });
    const clusters = new KubernetesClusters(
      new ConfigClusterLocator(config, settings),
      new CatalogClusterLocator(catalog, settings),
    );
    const { clusters: found, rejected } = await clusters.list(
      mockCredentials.none(),
    );
    expect(found.map(c => `${c.source}:${c.name}`)).toEqual([
      'config:edge',
      'catalog:prod',
    ]);
    expect(found[1]).toEqual({
      name: 'prod',
      url: 'https://prod.example.com',
      source: 'catalog',
      auth: { type: 'serviceAccount', token: 'prod-secret' },
      caData: 'UFJPRC1DQQ==',
      skipTLSVerify: false,
      writePolicy: {
        allowedNamespaces: undefined,
        allowedKinds: ['ConfigMap'],
        allowedClusterScopedKinds: undefined,
        allowedEntities: undefined,
        allowedOwners: undefined,
      },
      entityRef: 'resource:default/prod',
    });
    expect(
      Object.fromEntries(rejected.map(r => [r.entityRef, r.reason])),
    ).toEqual({
      'app-config':
        "cluster 'local' of kubernetes.clusterLocatorMethods is not listed in imageAutomation.kubernetes.clusters: image automation only uses clusters listed there with their policy",
      'resource:default/moved':
        "the catalog's API server 'https://attacker.example.com' is not the url app-config allows for cluster 'moved' (https://prod.example.com)",
      'resource:default/unknown':
        "no credential for cluster 'unknown': add it to imageAutomation.kubernetes.clusters with a credential and url",
      'resource:default/oidc':
        "auth provider 'oidc' is not supported by image automation (only serviceAccount with a named credential)",
      'resource:default/local':
        "cluster name 'local' is already configured in app-config",
    });
    await expect(clusters.get('moved', mockCredentials.none())).rejects.toThrow(
      "cluster 'moved' (resource:default/moved) cannot be used: the catalog's API server",
    );
    await expect(clusters.get('local', mockCredentials.none())).rejects.toThrow(
      "cluster 'local' (app-config) cannot be used: cluster 'local' of kubernetes.clusterLocatorMethods is not listed in imageAutomation.kubernetes.clusters",
    );
    await expect(
      clusters.get('nowhere', mockCredentials.none()),
    ).rejects.toThrow("unknown cluster 'nowhere'");
  });

  it('names a missing credential', () => {
    const broken = new ConfigReader({
      kubernetes: {
        clusterLocatorMethods: [
          { type: 'config', clusters: [{ name: 'c', url: 'https://c' }] },
        ],
      },
      imageAutomation: {
        kubernetes: { clusters: [{ name: 'c', credential: 'nope' }] },
      },
    });
    expect(() =>
      new ConfigClusterLocator(
        broken,
        readKubernetesSettings(broken),
      ).getClusters(),
    ).toThrow(
      "imageAutomation.kubernetes.clusters 'c' names credential 'nope', which is not a token or clientCertificate entry of imageAutomation.credentials",
    );
  });
});
