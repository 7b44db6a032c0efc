import { writeRefusal } from './clusterWritePolicy';
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

describe('writeRefusal', () => {
  it('allows everything without restrictions', () => {
    expect(
      writeRefusal(
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'x'),
        {},
        'prod',
      ),
    ).toBeUndefined();
    expect(
      writeRefusal(
        obj('v1', 'ConfigMap', 'x', 'any'),
        { allowedNamespaces: ['*'] },
        'prod',
      ),
    ).toBeUndefined();
  });

  it('restricts namespaces, Namespace objects and cluster-scoped kinds', () => {
    const policy = { allowedNamespaces: ['team-a'] };
    expect(
      writeRefusal(obj('v1', 'ConfigMap', 'x', 'team-a'), policy, 'prod'),
    ).toBeUndefined();
    expect(
      writeRefusal(obj('v1', 'ConfigMap', 'x', 'team-b'), policy, 'prod'),
    ).toBe(
      "ConfigMap/team-b/x refused: namespace 'team-b' is not in the allowed namespaces of cluster 'prod'",
    );
    expect(
      writeRefusal(obj('v1', 'Namespace', 'team-a'), policy, 'prod'),
    ).toBeUndefined();
    expect(
      writeRefusal(obj('v1', 'Namespace', 'kube-system'), policy, 'prod'),
    ).toMatch(/namespace 'kube-system' is not in the allowed/);
    expect(
      writeRefusal(
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'x'),
        policy,
        'prod',
      ),
    ).toMatch(
      /^ClusterRole\/x refused: cluster-scoped objects are not allowed in cluster 'prod'/,
    );
    expect(
      writeRefusal(
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'x'),
        { ...policy, allowedKinds: ['ClusterRole', 'ConfigMap'] },
        'prod',
      ),
    ).toBeUndefined();
  });

  it('restricts kinds by name or group/name', () => {
    const policy = {
      allowedKinds: [
        'ConfigMap',
        'apps/Deployment',
        'source.toolkit.fluxcd.io/OCIRepository',
      ],
    };
    expect(
      writeRefusal(obj('v1', 'ConfigMap', 'x', 'a'), policy, 'prod'),
    ).toBeUndefined();
    expect(
      writeRefusal(obj('apps/v1', 'Deployment', 'x', 'a'), policy, 'prod'),
    ).toBeUndefined();
    expect(
      writeRefusal(
        obj('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'x', 'a'),
        policy,
        'prod',
      ),
    ).toBeUndefined();
    expect(writeRefusal(obj('v1', 'Secret', 'x', 'a'), policy, 'prod')).toBe(
      "Secret/a/x refused: kind Secret is not in the allowed kinds of cluster 'prod'",
    );
    expect(
      writeRefusal(
        obj('source.toolkit.fluxcd.io/v1', 'GitRepository', 'x', 'a'),
        policy,
        'prod',
      ),
    ).toMatch(
      /kind source.toolkit.fluxcd.io\/GitRepository is not in the allowed kinds/,
    );
  });
});
