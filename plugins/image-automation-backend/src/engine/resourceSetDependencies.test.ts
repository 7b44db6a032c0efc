import {
  FLUX_OPERATOR_API_VERSION,
  ObjectStatus,
  ResourceSetDependency,
} from '@imageops/backstage-plugin-image-automation-common';
import { StoredObject } from '../store/ObjectStore';
import {
  BUILT_IN_READY_EXPR,
  compileDependencies,
  dependencyNotReady,
} from './resourceSetDependencies';

// The Flux Operator's own kinds as dependencies of a ResourceSet: looked up among the stored
// objects (no cluster involved). Reading dependencies from a cluster is tested with a real
// kube-apiserver in ResourceSetReconciler.test.ts.

const FO = FLUX_OPERATOR_API_VERSION;

function stored(
  kind: string,
  name: string,
  generation: number,
  status: ObjectStatus,
  spec: Record<string, unknown> = {},
): StoredObject {
  return {
    id: `${kind}/apps/${name}`,
    apiVersion: FO,
    kind,
    namespace: 'apps',
    name,
    sourceKey: 's',
    source: { type: 'catalog', location: 'x' },
    manifest: {
      apiVersion: FO,
      kind,
      metadata: { name, namespace: 'apps' },
      spec,
    },
    generation,
    status,
    suspended: false,
    nextRunAt: '2026-01-01T00:00:00.000Z',
  };
}

const readyAt = (
  generation: number,
  status: 'True' | 'False' = 'True',
): ObjectStatus => ({
  conditions: [
    {
      type: 'Ready',
      status,
      reason: 'R',
      message: 'm',
      observedGeneration: generation,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ],
});

async function check(
  dependsOn: ResourceSetDependency[],
  objects: StoredObject[],
) {
  const looked: string[] = [];
  const result = await dependencyNotReady({
    dependencies: compileDependencies(dependsOn, 'apps'),
    namespace: 'apps',
    clusters: [],
    stored: async id => {
      looked.push(id);
      return objects.find(o => o.id === id);
    },
  });
  return { result, looked };
}

describe('compileDependencies', () => {
  it("puts a dependency without namespace in the ResourceSet's, except a Namespace, and names it", () => {
    const compiled = compileDependencies(
      [
        { apiVersion: FO, kind: 'ResourceSet', name: 'infra' },
        { apiVersion: 'v1', kind: 'Namespace', name: 'team' },
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'other' },
      ],
      'apps',
    );
    expect(compiled.map(d => [d.namespace, d.ref])).toEqual([
      ['apps', `${FO}/ResourceSet/apps/infra`],
      [undefined, 'v1/Namespace/team'],
      ['other', 'v1/ConfigMap/other/cm'],
    ]);
  });

  it("compiles readyExpr, or the built-in expression for the Flux Operator's kinds only", () => {
    const [set, provider, instance, sameName, cm, custom] = compileDependencies(
      [
        { apiVersion: FO, kind: 'ResourceSet', name: 'a' },
        { apiVersion: FO, kind: 'ResourceSetInputProvider', name: 'b' },
        // The operator's API group, but a kind that lives in the cluster, not in Backstage.
        { apiVersion: FO, kind: 'FluxInstance', name: 'flux' },
        { apiVersion: 'example.com/v1', kind: 'ResourceSet', name: 'c' },
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'd' },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'e',
          readyExpr: "data.ready == 'yes'",
        },
      ],
      'apps',
    );
    expect(typeof set.program).toBe('function');
    expect(typeof provider.program).toBe('function');
    expect(instance.program).toBeUndefined();
    expect(sameName.program).toBeUndefined();
    expect(cm.program).toBeUndefined();
    expect(custom.program!({ data: { ready: 'yes' } })).toBe(true);
    expect(custom.program!({ data: { ready: 'no' } })).toBe(false);
    expect(BUILT_IN_READY_EXPR).toContain("c.type == 'Ready'");
  });

  it('refuses an expression that does not parse, naming it and the dependency', () => {
    expect(() =>
      compileDependencies(
        [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'x',
            readyExpr: 'status ==',
          },
        ],
        'apps',
      ),
    ).toThrow(
      /^failed to parse the CEL expression 'status ==' of dependency v1\/ConfigMap\/apps\/x: ./,
    );
  });
});

describe("dependencyNotReady for the Flux Operator's kinds", () => {
  it('looks each one up among the stored objects; a missing one is not ready', async () => {
    const { result, looked } = await check(
      [
        { apiVersion: FO, kind: 'ResourceSet', name: 'infra', ready: true },
        {
          apiVersion: FO,
          kind: 'ResourceSetInputProvider',
          name: 'tags',
          namespace: 'other',
        },
      ],
      [stored('ResourceSet', 'infra', 2, readyAt(2))],
    );
    expect(looked).toEqual([
      'ResourceSet/apps/infra',
      'ResourceSetInputProvider/other/tags',
    ]);
    expect(result).toEqual({
      refused: false,
      // The Flux Operator's words: the API server's NotFound message appended.
      message: `dependency ${FO}/ResourceSetInputProvider/other/tags not found: resourcesetinputproviders.fluxcd.controlplane.io "tags" not found`,
    });
  });

  it('with ready: Ready=True for the current generation (vacuously before the first reconcile)', async () => {
    const dep = [
      { apiVersion: FO, kind: 'ResourceSet', name: 'infra', ready: true },
    ];
    expect(
      (await check(dep, [stored('ResourceSet', 'infra', 3, readyAt(3))]))
        .result,
    ).toBeUndefined();
    expect(
      (
        await check(dep, [
          stored('ResourceSet', 'infra', 3, { conditions: [] }),
        ])
      ).result,
    ).toBeUndefined();
    const notReady = {
      refused: false,
      message: `dependency ${FO}/ResourceSet/apps/infra not ready`,
    };
    expect(
      (
        await check(dep, [
          stored('ResourceSet', 'infra', 3, readyAt(3, 'False')),
        ])
      ).result,
    ).toEqual(notReady);
    // Ready for an older generation: the stored generation counts, not the manifest's.
    expect(
      (await check(dep, [stored('ResourceSet', 'infra', 3, readyAt(2))]))
        .result,
    ).toEqual(notReady);
  });

  it('without ready: only that it exists', async () => {
    const dep = [{ apiVersion: FO, kind: 'ResourceSet', name: 'infra' }];
    expect(
      (
        await check(dep, [
          stored('ResourceSet', 'infra', 3, readyAt(3, 'False')),
        ])
      ).result,
    ).toBeUndefined();
  });

  it('evaluates readyExpr over the manifest, the generation and the status; only true is ready', async () => {
    const object = stored(
      'ResourceSetInputProvider',
      'tags',
      4,
      { ...readyAt(4), exportedInputs: [{ tag: '1.0.0' }] } as ObjectStatus,
      {
        type: 'OCIArtifactTag',
      },
    );
    const dep = (readyExpr: string) => [
      {
        apiVersion: FO,
        kind: 'ResourceSetInputProvider',
        name: 'tags',
        ready: true,
        readyExpr,
      },
    ];
    expect(
      (
        await check(
          dep(
            "spec.type == 'OCIArtifactTag' && metadata.generation == 4 && metadata.name == 'tags'",
          ),
          [object],
        )
      ).result,
    ).toBeUndefined();
    expect(
      (await check(dep('size(status.exportedInputs) == 1'), [object])).result,
    ).toBeUndefined();
    expect(
      (await check(dep('size(status.exportedInputs)'), [object])).result,
    ).toEqual({
      refused: false,
      // What the expression produced (here a number) is never echoed.
      message: `dependency ${FO}/ResourceSetInputProvider/apps/tags not ready`,
    });
    // An evaluation error says only that: never the error's text (it can carry the object's content).
    const failed = (
      await check(dep("status.exportedInputs[0].missing == 'x'"), [object])
    ).result;
    expect(failed).toEqual({
      refused: false,
      message: `dependency ${FO}/ResourceSetInputProvider/apps/tags not ready: its readiness expression could not be evaluated (not true)`,
    });
  });

  it('reports the first dependency that is not ready, and nothing when all are', async () => {
    const objects = [
      stored('ResourceSet', 'a', 1, readyAt(1, 'False')),
      stored('ResourceSet', 'b', 1, readyAt(1, 'False')),
      stored('ResourceSet', 'c', 1, readyAt(1)),
    ];
    const deps = (...names: string[]) =>
      names.map(name => ({
        apiVersion: FO,
        kind: 'ResourceSet',
        name,
        ready: true,
      }));
    expect(
      (await check(deps('c', 'b', 'a'), objects)).result?.message,
    ).toContain('ResourceSet/apps/b not ready');
    const { result, looked } = await check(deps('c', 'c'), objects);
    expect(result).toBeUndefined();
    expect(looked).toHaveLength(2);
  });

  it('leaves other kinds to the clusters: with none, only the stored ones are looked at', async () => {
    const { result, looked } = await check(
      [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', ready: true },
        { apiVersion: FO, kind: 'FluxInstance', name: 'flux', ready: true },
        { apiVersion: FO, kind: 'ResourceSet', name: 'infra', ready: true },
      ],
      [stored('ResourceSet', 'infra', 1, readyAt(1))],
    );
    expect(looked).toEqual(['ResourceSet/apps/infra']);
    expect(result).toBeUndefined();
  });
});
