import { planApplyStages, planPrunePhases } from './applyOrder';
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

const names = (objects: KubernetesObject[]) =>
  objects.map(
    o =>
      `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${
        o.metadata.name
      }`,
  );

describe('planApplyStages', () => {
  it('stages definitions, classes, roles and the rest, each in Flux kind order', () => {
    const stages = planApplyStages([
      obj('apps/v1', 'Deployment', 'web', 'apps'),
      obj('networking.k8s.io/v1', 'Ingress', 'web', 'apps'),
      obj(
        'admissionregistration.k8s.io/v1',
        'ValidatingWebhookConfiguration',
        'hook',
      ),
      obj('v1', 'ConfigMap', 'b', 'apps'),
      obj('v1', 'ConfigMap', 'a', 'apps'),
      obj('v1', 'ServiceAccount', 'web', 'apps'),
      obj('rbac.authorization.k8s.io/v1', 'Role', 'r', 'apps'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'cr'),
      obj('storage.k8s.io/v1', 'StorageClass', 'fast'),
      obj('networking.k8s.io/v1', 'IngressClass', 'nginx'),
      obj('v1', 'Namespace', 'apps'),
      obj(
        'apiextensions.k8s.io/v1',
        'CustomResourceDefinition',
        'widgets.example.com',
      ),
      obj('source.toolkit.fluxcd.io/v1', 'GitRepository', 'repo', 'apps'),
      obj('v1', 'Secret', 's', 'apps'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', 'apps'),
      obj('v1', 'Service', 'web', 'apps'),
    ]);
    expect(stages.map(s => [s.name, s.wait, names(s.objects)])).toEqual([
      [
        'definitions',
        true,
        [
          'CustomResourceDefinition/widgets.example.com',
          'Namespace/apps',
          'ClusterRole/cr',
        ],
      ],
      ['classes', true, ['StorageClass/fast', 'IngressClass/nginx']],
      ['roles', false, ['Role/apps/r']],
      [
        'resources',
        false,
        [
          'ServiceAccount/apps/web',
          'RoleBinding/apps/rb',
          'ConfigMap/apps/a',
          'ConfigMap/apps/b',
          'Secret/apps/s',
          'Service/apps/web',
          'Deployment/apps/web',
          'Ingress/apps/web',
          'GitRepository/apps/repo',
          'ValidatingWebhookConfiguration/hook',
        ],
      ],
    ]);
  });

  it('sorts kinds outside the list by group, kind, namespace, name', () => {
    const [stage] = planApplyStages([
      obj('source.toolkit.fluxcd.io/v1', 'OCIRepository', 'x', 'b'),
      obj('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'x', 'a'),
      obj('source.toolkit.fluxcd.io/v1', 'GitRepository', 'y', 'a'),
      obj('source.toolkit.fluxcd.io/v1', 'GitRepository', 'x', 'a'),
    ]);
    expect(names(stage.objects)).toEqual([
      'Kustomization/a/x',
      'GitRepository/a/x',
      'GitRepository/a/y',
      'OCIRepository/b/x',
    ]);
  });
});

describe('planPrunePhases', () => {
  it('prunes Kustomizations and HelmReleases before everything else', () => {
    const phases = planPrunePhases([
      { apiVersion: 'v1', id: 'cm' },
      { apiVersion: 'helm.toolkit.fluxcd.io/v2', id: 'hr' },
      { apiVersion: 'source.toolkit.fluxcd.io/v1', id: 'repo' },
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', id: 'ks' },
    ]);
    expect(phases.map(p => [p.fluxObjects, p.objects.map(o => o.id)])).toEqual([
      [true, ['hr', 'ks']],
      [false, ['cm', 'repo']],
    ]);
    expect(planPrunePhases([{ apiVersion: 'v1' }])).toEqual([
      { fluxObjects: false, objects: [{ apiVersion: 'v1' }] },
    ]);
  });
});
