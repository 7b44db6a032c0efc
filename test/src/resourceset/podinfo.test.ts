import fs from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  MediaTypes,
  pushImage,
  startRegistry,
  TestRegistry,
} from '../../testbed';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';
import { eventually, startBackend } from '../integration/backendHarness';

// The Flux Operator's "ResourceSets for app image updates" guide (the podinfo seed), end to end:
// a real registry, a real Backstage backend, and a real kube-apiserver with the Flux CRDs that
// validates the OCIRepository and HelmRelease the ResourceSet renders.
jest.setTimeout(240_000);

const user = mockCredentials.user.header();

// The target cluster comes from the entity that declares the manifests.
const catalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: podinfo
  annotations:
    image-automation.io/manifests: ./podinfo.yaml
    image-automation.io/clusters: testbed
spec: { type: service, lifecycle: production, owner: group:default/team }
`;

function providers(host: string) {
  return `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: podinfo-chart
  namespace: apps
  annotations:
    fluxcd.controlplane.io/reconcileEvery: "15m"
spec:
  type: OCIArtifactTag
  url: oci://${host}/stefanprodan/charts/podinfo
  filter:
    semver: ">=6.0.0"
    limit: 1
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: podinfo-image
  namespace: apps
  annotations:
    fluxcd.controlplane.io/reconcileEvery: "5m"
spec:
  type: OCIArtifactTag
  url: oci://${host}/stefanprodan/podinfo
  filter:
    includeTag: "latest"
    limit: 1
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: redis-image
  namespace: apps
  annotations:
    fluxcd.controlplane.io/reconcileEvery: "15m"
spec:
  type: OCIArtifactTag
  url: oci://${host}/library/redis
  filter:
    semver: ">0.0.0-0"
    includeTag: ".*-alpine$"
    limit: 1
`;
}

function resourceSet(host: string) {
  return `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: podinfo
  namespace: apps
  annotations:
    fluxcd.controlplane.io/reconcileTimeout: "5m"
spec:
  inputStrategy:
    name: Permute
  inputsFrom:
    - kind: ResourceSetInputProvider
      name: podinfo-chart
    - kind: ResourceSetInputProvider
      name: podinfo-image
    - kind: ResourceSetInputProvider
      name: redis-image
  resources:
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: OCIRepository
      metadata:
        name: podinfo
        namespace: << inputs.podinfo_chart.provider.namespace >>
      spec:
        interval: 12h
        url: oci://${host}/stefanprodan/charts/podinfo
        ref:
          tag: << inputs.podinfo_chart.tag >>
    - apiVersion: helm.toolkit.fluxcd.io/v2
      kind: HelmRelease
      metadata:
        name: podinfo
        namespace: << inputs.podinfo_chart.provider.namespace >>
      spec:
        interval: 30m
        releaseName: podinfo
        chartRef:
          kind: OCIRepository
          name: podinfo
        values:
          image:
            tag: "<< inputs.podinfo_image.tag >>@<< inputs.podinfo_image.digest >>"
          redis:
            enabled: true
            tag: "<< inputs.redis_image.tag >>@<< inputs.redis_image.digest >>"
`;
}

describe('the podinfo ResourceSet (Flux Operator guide) through the backend into a real cluster', () => {
  let registry: TestRegistry;
  let kube: TestKubernetes;
  const chart = { configMediaType: MediaTypes.helmConfig };

  beforeAll(async () => {
    [registry, kube] = await Promise.all([startRegistry(), startKubernetes()]);
    await kube.kubectl(['create', 'namespace', 'apps']);
  });
  afterAll(async () => {
    await registry?.stop();
    await kube?.stop();
  });

  it('applies the chart and image versions, follows new pushes and prunes when the ResourceSet is deleted', async () => {
    await pushImage(
      registry,
      'stefanprodan/charts/podinfo',
      ['5.2.0', '6.0.0', '6.0.4'],
      {
        ...chart,
        seed: 'chart 6.0',
      },
    );
    const podinfoV1 = (
      await pushImage(registry, 'stefanprodan/podinfo', ['latest', '6.0.4'], {
        seed: 'podinfo v1',
      })
    ).digest;
    await pushImage(registry, 'library/redis', ['7.4.1-alpine'], {
      seed: 'redis 7.4.1',
    });
    const redis742 = (
      await pushImage(registry, 'library/redis', ['7.4.2-alpine', '7.4.2'], {
        seed: 'redis 7.4.2',
      })
    ).digest;

    const manifests = `${providers(registry.host)}---${resourceSet(
      registry.host,
    )}`;
    const backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'podinfo.yaml': manifests },
      // Clusters are opt-in, each with its policy: podinfo may write its Flux objects into apps.
      config: {
        // A ResourceSet gone from its source is uninstalled after this grace period.
        engine: { uninstallGraceSeconds: 1 },
        kubernetes: {
          clusters: [
            {
              name: 'testbed',
              allowedNamespaces: ['apps'],
              allowedKinds: [
                'source.toolkit.fluxcd.io/OCIRepository',
                'helm.toolkit.fluxcd.io/HelmRelease',
              ],
              allowedEntities: ['component:default/podinfo'],
            },
          ],
        },
      },
      rootConfig: {
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                {
                  name: 'testbed',
                  url: kube.url,
                  serviceAccountToken: kube.admin.token,
                  caData: kube.caData,
                },
              ],
            },
          ],
        },
      },
    });
    try {
      const get = async (kind: string, name: string) => {
        const res = await request(backend.server)
          .get(`/api/image-automation/objects/${kind}/apps/${name}`)
          .set('Authorization', user);
        return res.status === 200 ? res.body : undefined;
      };
      const act = async (kind: string, name: string, action: string) => {
        const res = await request(backend.server)
          .post(`/api/image-automation/objects/${kind}/apps/${name}/${action}`)
          .set('Authorization', user);
        expect(res.status).toBe(200);
      };
      const ready = (o: any) =>
        o.status.conditions?.find((c: any) => c.type === 'Ready');
      const inCluster = async (kind: string) => {
        try {
          return JSON.parse(
            await kube.kubectl([
              'get',
              kind,
              'podinfo',
              '-n',
              'apps',
              '-o',
              'json',
            ]),
          );
        } catch (error) {
          if (/NotFound/.test((error as Error).message)) return undefined;
          throw error;
        }
      };

      await eventually(async () => {
        await backend.sync();
        return (await get('ResourceSet', 'podinfo')) ? true : undefined;
      });
      await backend.reconcile();

      const rset = await get('ResourceSet', 'podinfo');
      expect(ready(rset)).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      // In apply order (kind, then group: helm.toolkit before source.toolkit), as the Flux
      // Operator records it, not in render order.
      expect(rset.status.inventory.entries).toEqual([
        { id: 'apps_podinfo_helm.toolkit.fluxcd.io_HelmRelease', v: 'v2' },
        { id: 'apps_podinfo_source.toolkit.fluxcd.io_OCIRepository', v: 'v1' },
      ]);
      expect(rset.status.appliedClusters).toEqual(['testbed']);
      const source = await inCluster(
        'ocirepositories.source.toolkit.fluxcd.io',
      );
      expect(source.spec.ref).toEqual({ tag: '6.0.4' });
      expect(source.metadata.labels).toMatchObject({
        'resourceset.fluxcd.controlplane.io/name': 'podinfo',
        'resourceset.fluxcd.controlplane.io/namespace': 'apps',
      });
      const release = await inCluster('helmreleases.helm.toolkit.fluxcd.io');
      expect(release.spec.values).toEqual({
        image: { tag: `latest@${podinfoV1}` },
        redis: { enabled: true, tag: `7.4.2-alpine@${redis742}` },
      });

      // A new chart version: the provider exports it and the ResourceSet follows at once.
      await pushImage(registry, 'stefanprodan/charts/podinfo', ['6.1.0'], {
        ...chart,
        seed: 'chart 6.1',
      });
      await act('ResourceSetInputProvider', 'podinfo-chart', 'reconcile');
      await backend.reconcile();
      expect(
        (await inCluster('ocirepositories.source.toolkit.fluxcd.io')).spec.ref,
      ).toEqual({ tag: '6.1.0' });
      const afterChart = await get('ResourceSet', 'podinfo');
      expect(afterChart.status.lastAppliedRevision).not.toBe(
        rset.status.lastAppliedRevision,
      );

      // `latest` re-pushed with new content: the HelmRelease gets the new digest.
      const podinfoV2 = (
        await pushImage(registry, 'stefanprodan/podinfo', ['latest'], {
          seed: 'podinfo v2',
        })
      ).digest;
      expect(podinfoV2).not.toBe(podinfoV1);
      await act('ResourceSetInputProvider', 'podinfo-image', 'reconcile');
      await backend.reconcile();
      expect(
        (await inCluster('helmreleases.helm.toolkit.fluxcd.io')).spec.values
          .image,
      ).toEqual({
        tag: `latest@${podinfoV2}`,
      });

      // The ResourceSet removed from the manifests: what it applied stays for the grace period
      // (the file may be back soon), then the first sync after it prunes it.
      await fs.writeFile(
        path.join(backend.dir, 'podinfo.yaml'),
        providers(registry.host),
      );
      await backend.sync();
      expect(await get('ResourceSet', 'podinfo')).toBeUndefined();
      expect(
        await inCluster('helmreleases.helm.toolkit.fluxcd.io'),
      ).toBeDefined();
      await new Promise(resolve => setTimeout(resolve, 1_100));
      await backend.sync();
      expect(
        await inCluster('ocirepositories.source.toolkit.fluxcd.io'),
      ).toBeUndefined();
      expect(
        await inCluster('helmreleases.helm.toolkit.fluxcd.io'),
      ).toBeUndefined();
    } finally {
      await backend.stop();
    }
  });
});
