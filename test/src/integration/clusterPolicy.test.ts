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

  it("keeps two entities on a cluster that allows every namespace out of each other's namespaces (tenancy grants)", async () => {
    const tenant = (name: string) => `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  annotations:
    image-automation.io/manifests: ./${name}.yaml
    image-automation.io/clusters: shared
spec: { type: service, lifecycle: production, owner: group:default/${name} }
`;
    const set = (name: string, namespace: string, resources: string) => `
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  resources:
${resources}`;
    const configMap = (name: string, namespace: string) => `
    - apiVersion: v1
      kind: ConfigMap
      metadata: { name: ${name}, namespace: ${namespace} }
      data: { a: b }`;
    await kube.kubectl([
      'create',
      'secret',
      'generic',
      'b-db',
      '-n',
      'team-b',
      '--from-literal=password=s3cr3t-of-b',
    ]);
    const backend = await startBackend({
      files: {
        'catalog.yaml': [tenant('tenant-a'), tenant('tenant-b')].join('---'),
        // Entity A reaches into B's namespace: writes there, and copies B's Secret out of it.
        'tenant-a.yaml': [
          set(
            'a-write',
            'team-a',
            configMap('a-own', 'team-a') + configMap('a-into-b', 'team-b'),
          ),
          set(
            'a-copy',
            'team-a',
            `
    - apiVersion: v1
      kind: Secret
      metadata:
        name: a-stolen
        namespace: team-a
        annotations: { fluxcd.controlplane.io/copyFrom: team-b/b-db }`,
          ),
        ].join('\n---\n'),
        'tenant-b.yaml': set('b-apply', 'team-b', configMap('b-own', 'team-b')),
      },
      config: {
        tenancy: {
          namespaces: [
            { entity: 'component:default/tenant-a', namespaces: ['team-a'] },
            { entity: 'component:default/tenant-b', namespaces: ['team-b'] },
          ],
        },
        kubernetes: {
          clusters: [
            {
              name: 'shared',
              allowedNamespaces: ['*'],
              allowedKinds: ['ConfigMap', 'Secret'],
              allowedEntities: [
                'component:default/tenant-a',
                'component:default/tenant-b',
              ],
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
                  name: 'shared',
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
      const get = async (id: string) => {
        const res = await request(backend.server)
          .get(`/api/image-automation/objects/ResourceSet/${id}`)
          .set('Authorization', user);
        return res.status === 200 ? res.body : undefined;
      };
      const ready = (o: any) =>
        o.status.conditions?.find((c: any) => c.type === 'Ready');
      const names = async (kind: string, namespace: string) =>
        (
          await kube.kubectl([
            'get',
            kind,
            '-n',
            namespace,
            '-o',
            'jsonpath={.items[*].metadata.name}',
          ])
        )
          .split(' ')
          .filter(Boolean);
      await eventually(async () => {
        await backend.sync();
        const all = await Promise.all(
          ['team-a/a-write', 'team-a/a-copy', 'team-b/b-apply'].map(get),
        );
        return all.every(Boolean) ? true : undefined;
      });
      await backend.reconcile();

      const notGranted =
        "namespace 'team-b' is not granted to entity component:default/tenant-a (imageAutomation.tenancy.namespaces)";
      const write = await get('team-a/a-write');
      expect(ready(write)).toMatchObject({
        status: 'False',
        reason: 'ReconciliationFailed',
        message: `ConfigMap/team-b/a-into-b refused: ${notGranted}`,
      });
      const copy = await get('team-a/a-copy');
      expect(ready(copy)).toMatchObject({
        status: 'False',
        message: `Secret/team-a/a-stolen: fluxcd.controlplane.io/copyFrom source Secret/team-b/b-db refused: ${notGranted}`,
      });
      expect(JSON.stringify(copy)).not.toContain(
        Buffer.from('s3cr3t-of-b').toString('base64'),
      );
      // Nothing of A's refused sets was written; B's set applied into its own namespace.
      expect(await names('configmaps', 'team-b')).not.toContain('a-into-b');
      expect(await names('configmaps', 'team-a')).not.toContain('a-own');
      expect(await names('secrets', 'team-a')).not.toContain('a-stolen');
      expect(ready(await get('team-b/b-apply'))).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
      });
      expect(await names('configmaps', 'team-b')).toContain('b-own');
    } finally {
      await backend.stop();
    }
  });
});
