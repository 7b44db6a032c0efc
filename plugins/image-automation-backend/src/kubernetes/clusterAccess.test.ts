import http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  accessRefusal,
  clusterForObject,
  dependencyRefusal,
  entityRefusal,
  writeRefusal,
} from './clusterWritePolicy';
import { ClusterUnreachableError } from './errors';
import { KubeClient } from './KubeClient';
import { ClusterWritePolicy, KubernetesObject } from './types';

const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
): KubernetesObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});
const CLUSTER_SCOPED = false;

describe('what counts as a Namespace object', () => {
  const policy: ClusterWritePolicy = {
    allowedKinds: ['*'],
    allowedClusterScopedKinds: ['*'],
    allowedNamespaces: ['app'],
  };

  it('checks the names of core Namespaces only, not of other core cluster-scoped kinds', () => {
    expect(
      writeRefusal(
        obj('v1', 'Namespace', 'other'),
        policy,
        'c',
        CLUSTER_SCOPED,
      ),
    ).toBe(
      "Namespace/other refused: namespace 'other' is not in the allowedNamespaces of cluster 'c'",
    );
    expect(
      writeRefusal(
        obj('v1', 'PersistentVolume', 'pv-1'),
        policy,
        'c',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
  });

  it('does not treat a kind called Namespace in another API group as a Namespace', () => {
    expect(
      writeRefusal(
        obj('example.com/v1', 'Namespace', 'other'),
        policy,
        'c',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
  });

  it("checks an entity's grants for core Namespaces only", () => {
    const narrowed = clusterForObject(
      { writePolicy: policy },
      {
        source: { type: 'catalog' },
        entityRef: 'component:default/a',
        grantedNamespaces: [],
      },
    ).writePolicy;
    expect(
      writeRefusal(
        obj('v1', 'Namespace', 'app'),
        narrowed,
        'c',
        CLUSTER_SCOPED,
      ),
    ).toMatch(/namespace 'app' is not granted to entity component:default\/a/);
    expect(
      writeRefusal(
        obj('v1', 'PersistentVolume', 'pv-1'),
        narrowed,
        'c',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
    expect(
      writeRefusal(
        obj('example.com/v1', 'Namespace', 'app'),
        narrowed,
        'c',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
  });

  it('names "this object" when the narrowed policy has no entity ref, and grants nothing without grants', () => {
    const narrowed = clusterForObject(
      { writePolicy: policy },
      { source: { type: 'catalog' } },
    ).writePolicy;
    expect(narrowed.grantedTo).toEqual({
      entityRef: undefined,
      namespaces: [],
    });
    expect(
      writeRefusal(obj('v1', 'ConfigMap', 'x', 'app'), narrowed, 'c', true),
    ).toBe(
      "ConfigMap/app/x refused: namespace 'app' is not granted to this object (imageAutomation.tenancy.namespaces)",
    );
  });
});

describe('entityRefusal of an entity without an owner', () => {
  it('is refused by a listed owner (the message names no owner) and let in by allowedOwners *', () => {
    expect(
      entityRefusal({ allowedOwners: ['group:default/team-a'] }, 'prod', {
        entityRef: 'component:default/shop',
      }),
    ).toBe(
      "cluster 'prod' does not allow entity component:default/shop to target it: list the entity in allowedEntities or its owner in allowedOwners of imageAutomation.kubernetes.clusters 'prod'",
    );
    expect(
      entityRefusal({ allowedOwners: ['*'] }, 'prod', {
        entityRef: 'component:default/shop',
      }),
    ).toBeUndefined();
  });
});

// Reading and deleting take the scope of a kind from the API server's discovery, through the real
// KubeClient. The server here answers discovery for the core group only (what kube-apiserver sends
// for /api/v1, trimmed to two kinds); test/src/integration/clusterPolicy.test.ts runs the same rules
// against a real kube-apiserver, which is too slow to start for every mutant.
describe('accessRefusal and dependencyRefusal', () => {
  let server: http.Server;
  let url: string;
  const policy: ClusterWritePolicy = {
    allowedKinds: ['ConfigMap', 'Secret'],
    allowedNamespaces: ['app'],
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/api/v1') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            kind: 'APIResourceList',
            groupVersion: 'v1',
            resources: [
              { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
              { name: 'secrets', kind: 'Secret', namespaced: true },
              { name: 'namespaces', kind: 'Namespace', namespaced: false },
            ],
          }),
        );
        return;
      }
      if (req.url === '/apis/forbidden.example.com/v1') {
        res.writeHead(403, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            kind: 'Status',
            status: 'Failure',
            reason: 'Forbidden',
            message: 'discovery is forbidden',
            code: 403,
          }),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          reason: 'NotFound',
          message: 'the server could not find the requested resource',
          code: 404,
        }),
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  // Plain HTTP, which @kubernetes/client-node only accepts with skipTLSVerify.
  const client = (clusterUrl = url) =>
    KubeClient.forCluster({
      name: 'c',
      url: clusterUrl,
      source: 'config',
      skipTLSVerify: true,
      writePolicy: policy,
    });

  it('decides by the scope discovery reports', async () => {
    const kube = await client();
    expect(
      await accessRefusal(kube, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'x',
        namespace: 'app',
      }),
    ).toBeUndefined();
    expect(
      await accessRefusal(kube, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'x',
        namespace: 'other',
      }),
    ).toBe("namespace 'other' is not in the allowedNamespaces of cluster 'c'");
    // Cluster-scoped per discovery, whatever the reference says about a namespace.
    expect(
      await accessRefusal(kube, {
        apiVersion: 'v1',
        kind: 'Namespace',
        name: 'app',
        namespace: 'app',
      }),
    ).toMatch(
      /^kind Namespace is cluster-scoped on cluster 'c' \(its metadata.namespace 'app' does not make it namespaced\)/,
    );
  });

  it('refuses a kind the cluster does not serve, naming it', async () => {
    const kube = await client();
    expect(
      await accessRefusal(kube, {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        name: 'w',
        namespace: 'app',
      }),
    ).toBe(
      "kind example.com/Widget is not served by cluster 'c', so its scope cannot be checked",
    );
    expect(
      await accessRefusal(kube, {
        apiVersion: 'v1',
        kind: 'Widget',
        name: 'w',
        namespace: 'app',
      }),
    ).toBe(
      "kind Widget is not served by cluster 'c', so its scope cannot be checked",
    );
  });

  it('rethrows an API error other than not found instead of calling the kind unserved', async () => {
    const kube = await client();
    await expect(
      accessRefusal(kube, {
        apiVersion: 'forbidden.example.com/v1',
        kind: 'Widget',
        name: 'w',
        namespace: 'app',
      }),
    ).rejects.toMatchObject({ statusCode: 403 });
  });

  it('fails with the cluster unreachable rather than guessing a scope', async () => {
    const closed = http.createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>(resolve => closed.close(() => resolve()));
    const kube = await client(`http://127.0.0.1:${port}`);
    await expect(
      accessRefusal(kube, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'x',
        namespace: 'app',
      }),
    ).rejects.toBeInstanceOf(ClusterUnreachableError);
  });

  it('never lets a core Secret be a dependency, even where it may be written', async () => {
    const kube = await client();
    expect(
      await dependencyRefusal(kube, {
        apiVersion: 'v1',
        kind: 'Secret',
        name: 's',
        namespace: 'app',
      }),
    ).toBe(
      'Secrets cannot be dependencies (their content is never read for readiness)',
    );
    expect(
      await dependencyRefusal(kube, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'x',
        namespace: 'app',
      }),
    ).toBeUndefined();
    expect(
      await dependencyRefusal(kube, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'x',
        namespace: 'other',
      }),
    ).toMatch(/not in the allowedNamespaces/);
    // A Secret kind of another group is an ordinary object (here: not served).
    expect(
      await dependencyRefusal(kube, {
        apiVersion: 'example.com/v1',
        kind: 'Secret',
        name: 's',
        namespace: 'app',
      }),
    ).toMatch(/^kind example.com\/Secret is not served/);
  });
});
