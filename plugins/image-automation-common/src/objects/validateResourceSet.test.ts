import { validateAutomationObject } from './validate';

const rset = (spec: Record<string, unknown>) => ({
  apiVersion: 'fluxcd.controlplane.io/v1',
  kind: 'ResourceSet',
  metadata: { name: 'podinfo', namespace: 'apps' },
  spec,
});

const messages = (spec: Record<string, unknown>) =>
  validateAutomationObject(rset(spec)).map(e => `${e.field}: ${e.message}`);

describe('ResourceSet validation', () => {
  it('accepts the podinfo example and every field of the ResourceSet CRD', () => {
    expect(
      messages({
        inputStrategy: { name: 'Permute', includeEmptyProviders: false },
        inputsFrom: [
          { kind: 'ResourceSetInputProvider', name: 'podinfo-chart' },
          {
            apiVersion: 'fluxcd.controlplane.io/v1',
            selector: { matchLabels: { app: 'podinfo' } },
          },
        ],
        inputs: [{ tenant: 'team1', replicas: 2, nested: { a: [1, 'b'] } }],
        resources: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
        ],
        resourcesTemplate: 'apiVersion: v1\nkind: ConfigMap\n',
        dependsOn: [
          { apiVersion: 'v1', kind: 'Namespace', name: 'apps', ready: true },
        ],
        serviceAccountName: 'flux',
        wait: true,
        commonMetadata: { labels: { team: 'a' }, annotations: { note: 'x' } },
      }),
    ).toEqual([]);
    expect(
      messages({
        steps: [
          {
            name: 'pre-deploy',
            resources: [{ kind: 'Namespace' }],
            timeout: '2m',
          },
          { name: 'deploy', resourcesTemplate: 'kind: ConfigMap' },
        ],
      }),
    ).toEqual([]);
  });

  it('refuses wrong shapes and unknown fields', () => {
    expect(messages({ inputStrategy: { name: 'Shuffle' } })).toEqual([
      'spec.inputStrategy.name: Unsupported value: "Shuffle": supported values: "Flatten", "Permute"',
    ]);
    expect(messages({ inputs: ['a'], wait: 'yes', resourcez: [] })).toEqual([
      'spec.inputs[0]: Invalid value: "string": spec.inputs[0] in body must be of type object',
      'spec.wait: Invalid value: "string": spec.wait in body must be of type boolean',
      'spec.resourcez: unknown field',
    ]);
    expect(messages({ dependsOn: [{ kind: 'ConfigMap', name: 'x' }] })).toEqual(
      ['spec.dependsOn[0].apiVersion: Required value'],
    );
  });

  it('applies the cross-field rules', () => {
    expect(
      messages({ steps: [{ name: 'a', resources: [{}] }], resources: [{}] }),
    ).toEqual([
      'spec.steps: spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate',
    ]);
    expect(
      messages({
        steps: [{ name: 'Deploy' }, { name: 'Deploy', resources: [{}] }],
      }),
    ).toEqual([
      'spec.steps[0].name: Invalid value: "Deploy": step name must be a lowercase RFC 1123 label',
      'spec.steps[0]: step "Deploy": at least one of resources or resourcesTemplate must be set',
      'spec.steps[1].name: Invalid value: "Deploy": step name must be a lowercase RFC 1123 label',
      'spec.steps[1].name: Duplicate value: "Deploy"',
    ]);
    expect(messages({ steps: [] })).toEqual([
      'spec.steps: Invalid value: 0: spec.steps must have between 1 and 20 items',
    ]);
    expect(messages({ inputsFrom: [{ name: 'a', selector: {} }, {}] })).toEqual(
      [
        'spec.inputsFrom[0]: exactly one of name or selector must be set',
        'spec.inputsFrom[1]: exactly one of name or selector must be set',
      ],
    );
  });
});
