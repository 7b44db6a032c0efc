import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';
import { eventually, startBackend } from './backendHarness';

// Issue #13, clusters are opt-in: the real backend (catalog + plugin, app-config as operators write
// it) against a real kube-apiserver. A cluster of `kubernetes.clusterLocatorMethods` that
// `imageAutomation.kubernetes.clusters` does not list is not written to, and a listed cluster only
// takes ResourceSets of the entities / owners it names; a legitimate neighbour still applies.
jest.setTimeout(240_000);

const user = mockCredentials.user.header();

const component = (name: string, owner: string, clusters: string) => `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  annotations:
    image-automation.io/manifests: ./${name}.yaml
    image-automation.io/clusters: ${clusters}
spec: { type: service, lifecycle: production, owner: ${owner} }
`;

const resourceSet = (name: string) => `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: ${name}
  namespace: apps
spec:
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: ${name}-settings
        namespace: apps
      data:
        owner: ${name}
`;

describe('cluster opt-in and entity grants through the backend', () => {
  let kube: TestKubernetes;

  beforeAll(async () => {
    kube = await startKubernetes();
    await kube.kubectl(['create', 'namespace', 'apps']);
  });
  afterAll(async () => {
    await kube?.stop();
  });

  it('writes only to listed clusters, for the entities and owners they name', async () => {
    const backend = await startBackend({
      files: {
        'catalog.yaml': [
          // Granted by its owner.
          component('podinfo', 'group:default/team-podinfo', 'testbed'),
          // Its owner is not granted, nor is the entity.
          component('shop', 'group:default/team-shop', 'testbed'),
          // Targets a cluster the Kubernetes plugin knows but image automation does not list.
          component('broken', 'group:default/team-podinfo', 'plugin-only'),
        ].join('---'),
        'podinfo.yaml': resourceSet('podinfo'),
        'shop.yaml': resourceSet('shop'),
        'broken.yaml': resourceSet('broken'),
      },
      config: {
        kubernetes: {
          clusters: [
            {
              name: 'testbed',
              allowedNamespaces: ['apps'],
              allowedKinds: ['ConfigMap'],
              allowedOwners: ['group:default/team-podinfo'],
            },
          ],
        },
      },
      rootConfig: {
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: ['testbed', 'plugin-only'].map(name => ({
                name,
                url: kube.url,
                serviceAccountToken: kube.admin.token,
                caData: kube.caData,
              })),
            },
          ],
        },
      },
    });
    try {
      const get = async (name: string) => {
        const res = await request(backend.server)
          .get(`/api/image-automation/objects/ResourceSet/apps/${name}`)
          .set('Authorization', user);
        return res.status === 200 ? res.body : undefined;
      };
      const ready = (o: any) =>
        o.status.conditions?.find((c: any) => c.type === 'Ready');
      const configMaps = async () =>
        (
          await kube.kubectl([
            'get',
            'configmaps',
            '-n',
            'apps',
            '-o',
            'jsonpath={.items[*].metadata.name}',
          ])
        )
          .split(' ')
          .filter(n => n.endsWith('-settings'))
          .sort();

      await eventually(async () => {
        await backend.sync();
        const all = await Promise.all(['podinfo', 'shop', 'broken'].map(get));
        return all.every(Boolean) ? true : undefined;
      });
      await backend.reconcile();

      expect(ready(await get('podinfo'))).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      expect(ready(await get('shop'))).toMatchObject({
        status: 'False',
        reason: 'ClusterNotAllowed',
        message:
          "cluster 'testbed' does not allow entity component:default/shop (owner group:default/team-shop) to target it: list the entity in allowedEntities or its owner in allowedOwners of imageAutomation.kubernetes.clusters 'testbed'",
      });
      expect(ready(await get('broken'))).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message:
          "cluster 'plugin-only' (app-config) cannot be used: cluster 'plugin-only' of kubernetes.clusterLocatorMethods is not listed in imageAutomation.kubernetes.clusters: image automation only uses clusters listed there with their policy",
      });
      expect(await configMaps()).toEqual(['podinfo-settings']);
    } finally {
      await backend.stop();
    }
  });
});
