import fs from 'node:fs';
import path from 'node:path';
import { parseYaml, parseYamlDocuments } from '../golib/yaml';
import {
  buildResourceSet,
  printObjects,
  resourceSetFromManifest,
  ResourceSetObject,
  selectProviders,
  staticProviderFromManifest,
} from './index';
import { CORPUS_DIR } from './__testUtils__/corpus';

function rset(yaml: string): ResourceSetObject {
  return resourceSetFromManifest(parseYaml(yaml), 'default');
}

describe('buildResourceSet', () => {
  it('renders the podinfo image-automation example (chart + image + redis providers, Permute)', () => {
    const dir = path.join(CORPUS_DIR, '14-podinfo-image-automation');
    const resourceSet = rset(
      fs.readFileSync(path.join(dir, 'rset.yaml'), 'utf8'),
    );
    const candidates = parseYamlDocuments(
      fs.readFileSync(path.join(dir, 'providers.yaml'), 'utf8'),
    ).map(doc => staticProviderFromManifest(doc, 'apps')!);
    const providers = selectProviders(
      'apps',
      resourceSet.spec.inputsFrom!,
      candidates,
    );
    const result = buildResourceSet({ resourceSet, providers });
    if (!result.ok) throw new Error(result.error);
    expect(result.inputs).toHaveLength(1);
    expect(result.inputs[0].id).toBe('2373783760'); // adler32("podinfo_chart=0/podinfo_image=0/redis_image=0");
    const [repo, release] = result.objects as any[];
    expect(repo.kind).toBe('OCIRepository');
    expect(repo.spec.ref.tag).toBe('6.9.2');
    expect(release.spec.values.image.tag).toMatch(/^latest@sha256:3c1c1b5e/);
    expect(release.spec.values.redis.tag).toMatch(
      /^7\.4\.2-alpine@sha256:9a8b7c6d/,
    );
    expect(release.spec.postRenderers[0].kustomize.images[0].newTag).toBe(
      'latest',
    );
    expect(release.metadata.labels).toEqual({
      'resourceset.fluxcd.controlplane.io/name': 'podinfo',
      'resourceset.fluxcd.controlplane.io/namespace': 'apps',
    });
    expect(printObjects(result.steps)).toBe(
      fs.readFileSync(path.join(dir, 'golden.yaml'), 'utf8'),
    );
  });

  it('names the resource index and the template position, and yields no objects on failure', () => {
    const result = buildResourceSet({
      resourceSet: rset(`
metadata: {name: r, namespace: default}
spec:
  inputs: [{tenant: a, semver: "1.x"}, {tenant: b}]
  resources:
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: ok, namespace: default}}
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: "<< inputs.tenant >>", namespace: default}
      data: {semver: "<< inputs.semver >>"}
`),
      providers: [],
    });
    expect(result).toEqual({
      ok: false,
      error:
        'failed to build resources[1]: failed to execute template: template: resourceset:3:13: executing "resourceset" at <inputs>: map has no entry for key "semver"',
    });
  });

  it('reports unknown functions as parse errors, wrong argument types and rendered text that is not YAML', () => {
    const build = (data: string) =>
      buildResourceSet({
        resourceSet: rset(`
metadata: {name: r, namespace: default}
spec:
  inputs: [{num: 2, s: ">=1.0"}]
  resources:
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: default}, data: {v: "${data}"}}
`),
        providers: [],
      });
    expect(build('<< now >>')).toEqual({
      ok: false,
      error:
        'failed to build resources[0]: failed to parse template: template: resourceset:3: function "now" not defined',
    });
    expect(build('<< inputs.num | lower >>')).toEqual({
      ok: false,
      error:
        'failed to build resources[0]: failed to execute template: template: resourceset:3:21: executing "resourceset" at <lower>: wrong type for value; expected string; got int64',
    });
    expect(build('<< inputs.s >>')).toEqual({
      ok: false,
      error:
        'failed to build resources[0]: failed to read object: error converting YAML to JSON: yaml: line 3: did not find expected comment or line break',
    });
  });

  it('names the step of a duplicate resource', () => {
    const result = buildResourceSet({
      resourceSet: rset(`
metadata: {name: r, namespace: apps}
spec:
  steps:
    - name: one
      resources: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: apps}}]
    - name: two
      resources: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: apps}}]
`),
      providers: [],
    });
    expect(result).toEqual({
      ok: false,
      error:
        'duplicate resource ConfigMap/apps/c in step "two", already defined in step "one"',
    });
  });

  it('validates steps against resources', () => {
    const result = buildResourceSet({
      resourceSet: rset(`
metadata: {name: r, namespace: apps}
spec:
  resources: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}]
  steps: [{name: one, resourcesTemplate: "x"}]
`),
      providers: [],
    });
    expect(result).toEqual({
      ok: false,
      error:
        'spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate',
    });
  });

  it('builds nothing when inputsFrom is set but the providers export no inputs (the controller then prunes everything)', () => {
    const resourceSet = rset(`
metadata: {name: r, namespace: default}
spec:
  inputsFrom: [{name: p}]
  resources: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}}]
`);
    const provider = {
      apiVersion: 'fluxcd.controlplane.io/v1',
      kind: 'ResourceSetInputProvider',
      name: 'p',
      namespace: 'default',
      inputs: [],
    };
    expect(buildResourceSet({ resourceSet, providers: [provider] })).toEqual({
      ok: true,
      steps: [],
      objects: [],
      inputs: [],
    });
    const cli = buildResourceSet({
      resourceSet,
      providers: [provider],
      emptyInputsFrom: 'render-without-inputs',
    });
    expect(cli.ok && cli.objects.map(o => (o.metadata as any).name)).toEqual([
      'c',
    ]);
  });

  it('applies commonMetadata, then the owner labels', () => {
    const result = buildResourceSet({
      resourceSet: rset(`
metadata: {name: r, namespace: ns}
spec:
  commonMetadata:
    labels: {team: a, resourceset.fluxcd.controlplane.io/name: x}
    annotations: {note: text}
  resources: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: ns, labels: {team: b, keep: k}}}]
`),
      providers: [],
    });
    expect(result.ok && result.objects[0].metadata).toEqual({
      name: 'c',
      namespace: 'ns',
      labels: {
        team: 'a',
        keep: 'k',
        'resourceset.fluxcd.controlplane.io/name': 'r',
        'resourceset.fluxcd.controlplane.io/namespace': 'ns',
      },
      annotations: { note: 'text' },
    });
  });
});
