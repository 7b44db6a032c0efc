import {
  clusterForObject,
  entityRefusal,
  writeRefusal,
} from './clusterWritePolicy';
import { KubernetesObject } from './types';

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

const NAMESPACED = true;
const CLUSTER_SCOPED = false;

describe('writeRefusal', () => {
  it('allows nothing without a policy or with empty lists (fails closed)', () => {
    for (const policy of [
      {},
      {
        allowedNamespaces: [],
        allowedKinds: [],
        allowedClusterScopedKinds: [],
      },
      { allowedNamespaces: ['team-a'] },
      { allowedKinds: ['ConfigMap'] },
    ]) {
      expect(
        writeRefusal(
          obj('v1', 'ConfigMap', 'x', 'team-a'),
          policy,
          'prod',
          NAMESPACED,
        ),
      ).toMatch(/^ConfigMap\/team-a\/x refused: /);
      expect(
        writeRefusal(
          obj('v1', 'Namespace', 'team-a'),
          policy,
          'prod',
          CLUSTER_SCOPED,
        ),
      ).toMatch(/^Namespace\/team-a refused: /);
    }
    expect(
      writeRefusal(
        obj('v1', 'ConfigMap', 'x', 'team-a'),
        { allowedKinds: ['ConfigMap'] },
        'prod',
        NAMESPACED,
      ),
    ).toBe(
      "ConfigMap/team-a/x refused: namespace 'team-a' is not in the allowedNamespaces of cluster 'prod'",
    );
    expect(
      writeRefusal(
        obj('v1', 'ConfigMap', 'x', 'team-a'),
        { allowedNamespaces: ['team-a'] },
        'prod',
        NAMESPACED,
      ),
    ).toBe(
      "ConfigMap/team-a/x refused: kind ConfigMap is not in the allowedKinds of cluster 'prod'",
    );
  });

  it("allows everything of a dimension only with an explicit '*'", () => {
    const all = { allowedNamespaces: ['*'], allowedKinds: ['*'] };
    expect(
      writeRefusal(obj('v1', 'ConfigMap', 'x', 'any'), all, 'prod', NAMESPACED),
    ).toBeUndefined();
    // '*' for namespaced kinds says nothing about cluster-scoped ones.
    expect(
      writeRefusal(
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'x'),
        all,
        'prod',
        CLUSTER_SCOPED,
      ),
    ).toBe(
      "ClusterRole/x refused: kind rbac.authorization.k8s.io/ClusterRole is cluster-scoped on cluster 'prod' and not in its allowedClusterScopedKinds",
    );
    expect(
      writeRefusal(
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'x'),
        { ...all, allowedClusterScopedKinds: ['*'] },
        'prod',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
  });

  it('decides by the scope it is given, not by metadata.namespace', () => {
    const policy = { allowedNamespaces: ['team-a'], allowedKinds: ['*'] };
    // A ClusterRoleBinding carrying an allowed namespace is still cluster-scoped.
    expect(
      writeRefusal(
        obj(
          'rbac.authorization.k8s.io/v1',
          'ClusterRoleBinding',
          'x',
          'team-a',
        ),
        policy,
        'prod',
        CLUSTER_SCOPED,
      ),
    ).toBe(
      "ClusterRoleBinding/team-a/x refused: kind rbac.authorization.k8s.io/ClusterRoleBinding is cluster-scoped on cluster 'prod' (its metadata.namespace 'team-a' does not make it namespaced) and not in its allowedClusterScopedKinds",
    );
    expect(
      writeRefusal(
        obj(
          'rbac.authorization.k8s.io/v1',
          'ClusterRoleBinding',
          'x',
          'team-a',
        ),
        { ...policy, allowedClusterScopedKinds: ['ClusterRoleBinding'] },
        'prod',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
    // A namespaced kind without a namespace is refused, not written cluster-wide.
    expect(
      writeRefusal(obj('v1', 'ConfigMap', 'x'), policy, 'prod', NAMESPACED),
    ).toBe(
      'ConfigMap/x refused: ConfigMap is namespaced but the object has no namespace',
    );
  });

  it('needs Namespace objects listed as a cluster-scoped kind and their name allowed', () => {
    const policy = {
      allowedNamespaces: ['team-a'],
      allowedClusterScopedKinds: ['Namespace'],
    };
    expect(
      writeRefusal(
        obj('v1', 'Namespace', 'team-a'),
        policy,
        'prod',
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
    expect(
      writeRefusal(
        obj('v1', 'Namespace', 'kube-system'),
        policy,
        'prod',
        CLUSTER_SCOPED,
      ),
    ).toBe(
      "Namespace/kube-system refused: namespace 'kube-system' is not in the allowedNamespaces of cluster 'prod'",
    );
  });

  it('restricts kinds by name or group/name', () => {
    const policy = {
      allowedNamespaces: ['*'],
      allowedKinds: [
        'ConfigMap',
        'apps/Deployment',
        'source.toolkit.fluxcd.io/OCIRepository',
      ],
    };
    const refusal = (o: KubernetesObject) =>
      writeRefusal(o, policy, 'prod', NAMESPACED);
    expect(refusal(obj('v1', 'ConfigMap', 'x', 'a'))).toBeUndefined();
    expect(refusal(obj('apps/v1', 'Deployment', 'x', 'a'))).toBeUndefined();
    expect(
      refusal(obj('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'x', 'a')),
    ).toBeUndefined();
    expect(refusal(obj('v1', 'Secret', 'x', 'a'))).toBe(
      "Secret/a/x refused: kind Secret is not in the allowedKinds of cluster 'prod'",
    );
    expect(
      refusal(obj('source.toolkit.fluxcd.io/v1', 'GitRepository', 'x', 'a')),
    ).toMatch(
      /kind source.toolkit.fluxcd.io\/GitRepository is not in the allowedKinds/,
    );
  });
});

describe('clusterForObject', () => {
  const everything = {
    allowedNamespaces: ['*'],
    allowedKinds: ['*'],
    allowedClusterScopedKinds: ['*'],
    allowedEntities: ['*'],
  };
  const shared = { name: 'shared', writePolicy: everything };
  const refusal = (
    object: Parameters<typeof clusterForObject>[1],
    target: KubernetesObject,
    namespaced: boolean,
  ) =>
    writeRefusal(
      target,
      clusterForObject(shared, object).writePolicy,
      'shared',
      namespaced,
    );
  const tenantA = {
    source: { type: 'catalog' },
    entityRef: 'component:default/a',
    grantedNamespaces: ['team-a'],
  };

  it("bounds a catalog entity's objects by its grants on top of the cluster's lists", () => {
    expect(
      refusal(tenantA, obj('v1', 'ConfigMap', 'x', 'team-a'), NAMESPACED),
    ).toBeUndefined();
    expect(
      refusal(tenantA, obj('v1', 'ConfigMap', 'x', 'team-b'), NAMESPACED),
    ).toBe(
      "ConfigMap/team-b/x refused: namespace 'team-b' is not granted to entity component:default/a (imageAutomation.tenancy.namespaces)",
    );
    // A Namespace object needs its own name granted; other cluster-scoped kinds only the cluster's list.
    expect(
      refusal(tenantA, obj('v1', 'Namespace', 'team-a'), CLUSTER_SCOPED),
    ).toBeUndefined();
    expect(
      refusal(tenantA, obj('v1', 'Namespace', 'team-b'), CLUSTER_SCOPED),
    ).toMatch(
      /^Namespace\/team-b refused: namespace 'team-b' is not granted to entity component:default\/a/,
    );
    expect(
      refusal(
        tenantA,
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'r'),
        CLUSTER_SCOPED,
      ),
    ).toBeUndefined();
    // The cluster's own refusal comes first and still applies.
    expect(
      writeRefusal(
        obj('v1', 'ConfigMap', 'x', 'team-a'),
        clusterForObject(
          {
            name: 'c',
            writePolicy: { ...everything, allowedNamespaces: ['team-b'] },
          },
          tenantA,
        ).writePolicy,
        'c',
        NAMESPACED,
      ),
    ).toMatch(/not in the allowedNamespaces of cluster 'c'/);
  });

  it("grants '*' everything, a catalog object without grants nothing, and leaves platform objects alone", () => {
    expect(
      refusal(
        { ...tenantA, grantedNamespaces: ['*'] },
        obj('v1', 'ConfigMap', 'x', 'team-b'),
        NAMESPACED,
      ),
    ).toBeUndefined();
    expect(
      refusal(
        { source: { type: 'catalog' }, entityRef: 'component:default/a' },
        obj('v1', 'ConfigMap', 'x', 'team-a'),
        NAMESPACED,
      ),
    ).toMatch(/not granted to entity component:default\/a/);
    expect(
      refusal(
        { source: { type: 'config' } },
        obj('v1', 'ConfigMap', 'x', 'team-b'),
        NAMESPACED,
      ),
    ).toBeUndefined();
    expect(clusterForObject(shared, { source: { type: 'config' } })).toBe(
      shared,
    );
    // The cluster object itself is never changed.
    clusterForObject(shared, tenantA);
    expect(shared.writePolicy).not.toHaveProperty('grantedTo');
  });
});

describe('entityRefusal', () => {
  const shop = {
    entityRef: 'component:default/shop',
    owner: 'group:default/team-a',
  };

  it('lets no entity target a cluster without allowedEntities / allowedOwners', () => {
    expect(entityRefusal({}, 'prod', shop)).toBe(
      "cluster 'prod' does not allow entity component:default/shop (owner group:default/team-a) to target it: list the entity in allowedEntities or its owner in allowedOwners of imageAutomation.kubernetes.clusters 'prod'",
    );
    expect(
      entityRefusal({ allowedEntities: [], allowedOwners: [] }, 'prod', shop),
    ).toBeDefined();
    expect(
      entityRefusal(
        { allowedEntities: ['component:default/other'] },
        'prod',
        shop,
      ),
    ).toBeDefined();
    expect(
      entityRefusal({ allowedOwners: ['group:default/team-b'] }, 'prod', shop),
    ).toBeDefined();
  });

  it('allows listed entities, entities of listed owners, and anyone with *', () => {
    expect(
      entityRefusal(
        { allowedEntities: ['Component:default/Shop'] },
        'prod',
        shop,
      ),
    ).toBeUndefined();
    expect(
      entityRefusal({ allowedOwners: ['group:default/team-a'] }, 'prod', shop),
    ).toBeUndefined();
    expect(
      entityRefusal({ allowedEntities: ['*'] }, 'prod', shop),
    ).toBeUndefined();
  });

  it('lets objects without an entity in only with allowedEntities *', () => {
    expect(entityRefusal({ allowedOwners: ['*'] }, 'prod', {})).toMatch(
      /does not allow an object without a catalog entity/,
    );
    expect(
      entityRefusal({ allowedEntities: ['*'] }, 'prod', {}),
    ).toBeUndefined();
  });
});
