/**
 * The scenario corpus run through the real Flux Operator and through our backend
 * (fluxOperator.test.ts). Each scenario is data: the ResourceSets and ResourceSetInputProviders of
 * one namespace (`rs-<id>`, the same name on both sides: each side has its own kube-apiserver), the
 * tags pushed to the test bed's registry, what the ExternalService stand-in answers, objects that
 * exist in the cluster beforehand, and an optional second step.
 *
 * A scenario whose outputs differ lists the difference in `difference`: every differing field with
 * the Flux Operator's value and ours, and the reason, which docs/differences.md must also carry
 * (under "Compared with the real Flux Operator", naming the scenario id). The test asserts the
 * difference exactly, so a new, undocumented difference fails.
 */

/** What a scenario's manifests are made from. */
export interface ScenarioContext {
  /** The scenario's namespace. */
  namespace: string;
  /** The test bed registry's `host:port` (plain HTTP). */
  registry: string;
  /** The ExternalService stand-in's base URL, `http://127.0.0.1:<port>`. */
  service: string;
}

/** A difference between the Flux Operator's output and ours, field by field. */
export interface DocumentedDifference {
  /**
   * `path -> [flux, ours]` for every field that differs. In strings, `{registry}` and `{service}`
   * stand for the hosts of this run, `{digits}` and `{sha256}` for a value that changes from run to
   * run (the Flux Operator derives a Static provider's id from the object's UID).
   */
  fields: Record<string, [unknown, unknown]>;
  /** Why (one sentence; the long form is in docs/differences.md). */
  reason: string;
}

export interface Scenario {
  id: string;
  title: string;
  /** The ResourceSets and ResourceSetInputProviders (namespace filled in by the test). */
  objects(ctx: ScenarioContext): any[];
  /** Tags pushed to `<registry>/corpus/<id>` before the objects are created. */
  tags?: string[];
  /** What the stand-in answers, by path (`/<id>/...`): an array as the `inputs` field, else the body as given. */
  service?: Record<string, unknown>;
  /** Objects created in both clusters before anything else (e.g. a dependency). */
  existing?(ctx: ScenarioContext): any[];
  /**
   * A second step once both sides settled: `tags` pushed, the objects replaced by `objects` (when
   * given), and a reconcile requested of the objects named in `reconcile` (Flux: the
   * `reconcile.fluxcd.io/requestedAt` annotation; ours: the API's reconcile request). The outcome
   * then holds the first step's fields prefixed `before.` and the second's.
   */
  then?: {
    tags?: string[];
    objects?(ctx: ScenarioContext): any[];
    reconcile?: Array<{ kind: string; name: string }>;
  };
  difference?: DocumentedDifference;
}

const RSET = 'fluxcd.controlplane.io/v1';

function resourceSet(
  ctx: ScenarioContext,
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
) {
  return {
    apiVersion: RSET,
    kind: 'ResourceSet',
    metadata: { name, namespace: ctx.namespace, ...metadata },
    spec,
  };
}

function provider(
  ctx: ScenarioContext,
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
) {
  return {
    apiVersion: RSET,
    kind: 'ResourceSetInputProvider',
    metadata: { name, namespace: ctx.namespace, ...metadata },
    spec,
  };
}

function configMap(
  name: string,
  data: Record<string, string>,
  metadata: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: '<< inputs.provider.namespace >>',
      ...metadata,
    },
    data,
  };
}

const PRUNE_RESOURCES = [
  configMap('keep', { role: 'kept' }),
  configMap('removed', { role: 'pruned in the second step' }),
  configMap(
    'retained',
    { role: 'removed from the set, but prune is disabled' },
    { annotations: { 'fluxcd.controlplane.io/prune': 'disabled' } },
  ),
];

export const SCENARIOS: Scenario[] = [
  // --- inputs and strategies ------------------------------------------------------------------
  {
    id: 'flatten-inline',
    title:
      'inline inputs, Flatten (the default strategy), one ConfigMap per input',
    objects: ctx => [
      resourceSet(ctx, 'tenants', {
        inputs: [
          { tenant: 'team-a', replicas: 2, nested: { tier: 'gold' } },
          { tenant: 'team-b', replicas: 1, nested: { tier: 'silver' } },
        ],
        resources: [
          configMap('tenant-<< inputs.tenant >>', {
            replicas: '<< inputs.replicas | quote >>',
            tier: '<< inputs.nested.tier >>',
            rset: '<< inputs.provider.name >>',
          }),
        ],
      }),
    ],
  },
  {
    id: 'permute-inline-service',
    title:
      'Permute of inline inputs and an ExternalService provider (stand-in on 127.0.0.1)',
    service: {
      '/permute-inline-service/regions': [
        { id: 'eu', region: 'eu-west-1' },
        { id: 'us', region: 'us-east-1' },
      ],
    },
    objects: ctx => [
      provider(ctx, 'regions', {
        type: 'ExternalService',
        url: `${ctx.service}/permute-inline-service/regions`,
        insecure: true,
      }),
      resourceSet(ctx, 'matrix', {
        inputStrategy: { name: 'Permute' },
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'regions' }],
        inputs: [{ env: 'staging' }, { env: 'production' }],
        resources: [
          configMap(
            '<< inputs.matrix.env >>-<< inputs.regions.id >>',
            {
              id: '<< inputs.id | quote >>',
              region: '<< inputs.regions.region >>',
              providerKind: '<< inputs.regions.provider.kind >>',
            },
            { namespace: '<< inputs.regions.provider.namespace >>' },
          ),
        ],
      }),
    ],
  },
  {
    id: 'resources-template',
    title: 'resourcesTemplate with range, toYaml and a multi-document output',
    objects: ctx => [
      resourceSet(ctx, 'templated', {
        inputs: [
          {
            app: 'shop',
            envs: ['dev', 'prod'],
            settings: { replicas: 3, debug: false },
          },
        ],
        resourcesTemplate: `<<- range $env := inputs.envs >>
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: << inputs.app >>-<< $env >>
  namespace: << inputs.provider.namespace >>
data:
  env: << $env | quote >>
  settings: |
    << inputs.settings | toYaml | nindent 4 | trim >>
<<- end >>
`,
      }),
    ],
  },
  {
    id: 'common-metadata',
    title: 'commonMetadata labels and annotations on every applied object',
    objects: ctx => [
      resourceSet(ctx, 'labelled', {
        commonMetadata: {
          labels: { 'app.kubernetes.io/part-of': 'corpus' },
          annotations: { 'corpus.example.com/owner': 'team-a' },
        },
        inputs: [{ name: 'one' }, { name: 'two' }],
        resources: [configMap('<< inputs.name >>', { n: '<< inputs.name >>' })],
      }),
    ],
  },
  {
    id: 'inputs-by-selector',
    title:
      'inputsFrom by label selector over two ExternalService providers, Flatten',
    service: {
      '/inputs-by-selector/a': [{ id: 'a1', value: 'from a' }],
      '/inputs-by-selector/b': [
        { id: 'b1', value: 'from b' },
        { id: 'b2', value: 'from b again' },
      ],
    },
    objects: ctx => [
      ...['a', 'b', 'c'].map(name =>
        provider(
          ctx,
          `source-${name}`,
          {
            type: 'ExternalService',
            url: `${ctx.service}/inputs-by-selector/${name}`,
            insecure: true,
          },
          { labels: { selected: name === 'c' ? 'no' : 'yes' } },
        ),
      ),
      resourceSet(ctx, 'selected', {
        inputsFrom: [
          {
            kind: 'ResourceSetInputProvider',
            selector: { matchLabels: { selected: 'yes' } },
          },
        ],
        resources: [
          configMap('input-<< inputs.id >>', {
            value: '<< inputs.value >>',
            provider: '<< inputs.provider.name >>',
          }),
        ],
      }),
    ],
  },
  // --- input providers ------------------------------------------------------------------------
  {
    id: 'static-provider',
    title:
      'a Static provider exports its defaultValues; a ResourceSet uses them',
    objects: ctx => [
      provider(ctx, 'settings', {
        type: 'Static',
        defaultValues: { env: 'production', replicas: 3, flags: ['a', 'b'] },
      }),
      resourceSet(ctx, 'from-static', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'settings' }],
        resources: [
          configMap('settings-<< inputs.env >>', {
            replicas: '<< inputs.replicas | quote >>',
            flags: '<< inputs.flags | join "," >>',
          }),
        ],
      }),
    ],
  },
  {
    id: 'external-service',
    title:
      'ExternalService (stand-in on 127.0.0.1, plain HTTP with insecure) with defaultValues and a limit',
    service: {
      '/external-service/tenants': [
        { id: 'acme', tier: 'gold', nested: { a: 1 } },
        { id: 'globex', tier: 'silver' },
        { id: 'initech' },
      ],
    },
    objects: ctx => [
      provider(ctx, 'tenants', {
        type: 'ExternalService',
        url: `${ctx.service}/external-service/tenants`,
        insecure: true,
        defaultValues: { tier: 'bronze', region: 'eu' },
        filter: { limit: 2 },
      }),
      resourceSet(ctx, 'tenants', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'tenants' }],
        resources: [
          configMap('tenant-<< inputs.id >>', {
            tier: '<< inputs.tier >>',
            region: '<< inputs.region >>',
          }),
        ],
      }),
    ],
  },
  {
    id: 'oci-semver-limit',
    title:
      'OCIArtifactTag against the test bed registry: semver >=1.0.0, limit 2; then a newer tag is pushed',
    tags: ['0.9.0', '1.0.0', '1.1.0', '1.2.0-rc.1', '1.2.0', 'latest'],
    objects: ctx => [
      provider(ctx, 'app', {
        type: 'OCIArtifactTag',
        url: `oci://${ctx.registry}/corpus/oci-semver-limit`,
        insecure: true,
        filter: { semver: '>=1.0.0', limit: 2 },
      }),
      resourceSet(ctx, 'versions', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'app' }],
        resources: [
          configMap('app-<< inputs.tag | replace "." "-" >>', {
            tag: '<< inputs.tag >>',
            digest: '<< inputs.digest >>',
          }),
        ],
      }),
    ],
    then: {
      tags: ['1.3.0'],
      reconcile: [{ kind: 'ResourceSetInputProvider', name: 'app' }],
    },
  },
  {
    id: 'oci-include-exclude',
    title: 'OCIArtifactTag with includeTag and excludeTag regexes, no semver',
    tags: ['v1.0.0', 'v1.1.0-rc.1', 'v1.1.0', 'v2.0.0', 'dev-abc', 'latest'],
    objects: ctx => [
      provider(ctx, 'app', {
        type: 'OCIArtifactTag',
        url: `oci://${ctx.registry}/corpus/oci-include-exclude`,
        insecure: true,
        filter: { includeTag: '^v1\\.', excludeTag: '-rc' },
      }),
    ],
  },
  {
    id: 'schedule-skipped',
    title:
      'a provider whose cron schedule is not due is not called (Ready SkippedDueToSchedule, nextSchedule)',
    service: { '/schedule-skipped/never': [{ id: 'x' }] },
    objects: ctx => [
      provider(ctx, 'later', {
        type: 'ExternalService',
        url: `${ctx.service}/schedule-skipped/never`,
        insecure: true,
        schedule: [{ cron: '0 0 1 1 *', timeZone: 'UTC', window: '5m' }],
      }),
    ],
  },
  {
    id: 'error-schedule-window',
    title: 'a schedule window shorter than twice the reconcile timeout',
    service: { '/error-schedule-window/never': [{ id: 'x' }] },
    objects: ctx => [
      provider(ctx, 'later', {
        type: 'ExternalService',
        url: `${ctx.service}/error-schedule-window/never`,
        insecure: true,
        schedule: [{ cron: '0 0 1 1 *', timeZone: 'UTC', window: '1m' }],
      }),
    ],
  },
  // --- dependencies, prune, steps -------------------------------------------------------------
  {
    id: 'depends-missing',
    title: 'dependsOn a ConfigMap that does not exist',
    objects: ctx => [
      resourceSet(ctx, 'waiting', {
        dependsOn: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'not-there',
            namespace: ctx.namespace,
            ready: true,
          },
        ],
        inputs: [{ x: '1' }],
        resources: [configMap('never', { x: '<< inputs.x >>' })],
      }),
    ],
  },
  {
    id: 'depends-ready',
    title:
      'dependsOn an existing ConfigMap (kstatus) and on a ready provider of the namespace (built-in expression)',
    service: { '/depends-ready/gate': [{ id: 'open' }] },
    existing: ctx => [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'prerequisite', namespace: ctx.namespace },
        data: { ready: 'yes' },
      },
    ],
    objects: ctx => [
      provider(ctx, 'gate', {
        type: 'ExternalService',
        url: `${ctx.service}/depends-ready/gate`,
        insecure: true,
      }),
      resourceSet(ctx, 'app', {
        dependsOn: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'prerequisite',
            namespace: ctx.namespace,
            ready: true,
          },
          {
            apiVersion: RSET,
            kind: 'ResourceSetInputProvider',
            name: 'gate',
            namespace: ctx.namespace,
            ready: true,
          },
        ],
        inputs: [{ x: 'app' }],
        resources: [configMap('app', { x: '<< inputs.x >>' })],
      }),
    ],
  },
  {
    id: 'depends-not-ready',
    title:
      'dependsOn a provider that failed (the stand-in answers 200 without an inputs field)',
    service: { '/depends-not-ready/broken': { items: [] } },
    objects: ctx => [
      provider(ctx, 'failing', {
        type: 'ExternalService',
        url: `${ctx.service}/depends-not-ready/broken`,
        insecure: true,
      }),
      resourceSet(ctx, 'blocked', {
        dependsOn: [
          {
            apiVersion: RSET,
            kind: 'ResourceSetInputProvider',
            name: 'failing',
            namespace: ctx.namespace,
            ready: true,
          },
        ],
        inputs: [{ x: 'y' }],
        resources: [configMap('blocked', { x: '<< inputs.x >>' })],
      }),
    ],
  },
  {
    id: 'prune',
    title:
      'a resource removed from the set is pruned; one annotated prune: disabled stays',
    objects: ctx => [
      resourceSet(ctx, 'pruned', {
        inputs: [{ v: '1' }],
        resources: PRUNE_RESOURCES,
      }),
    ],
    then: {
      objects: ctx => [
        resourceSet(ctx, 'pruned', {
          inputs: [{ v: '1' }],
          resources: [PRUNE_RESOURCES[0]],
        }),
      ],
    },
  },
  {
    id: 'steps',
    title:
      'spec.steps: a step with resources, then one with a resourcesTemplate',
    objects: ctx => [
      resourceSet(ctx, 'staged', {
        inputs: [{ env: 'staging' }, { env: 'production' }],
        steps: [
          {
            name: 'config',
            resources: [configMap('config-<< inputs.env >>', { step: '1' })],
          },
          {
            name: 'apps',
            timeout: '1m',
            resourcesTemplate: `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-<< inputs.env >>
  namespace: << inputs.provider.namespace >>
data:
  step: "2"
`,
          },
        ],
      }),
    ],
  },
  // --- errors ---------------------------------------------------------------------------------
  {
    id: 'error-template',
    title: 'a template that reads a key one input does not have',
    objects: ctx => [
      resourceSet(ctx, 'broken', {
        inputs: [{ tenant: 'team1', semver: '1.x' }, { tenant: 'team2' }],
        resources: [
          configMap('<< inputs.tenant >>', { semver: '<< inputs.semver >>' }),
        ],
      }),
    ],
  },
  {
    id: 'error-invalid-output',
    title: 'a template whose output is not valid YAML',
    objects: ctx => [
      resourceSet(ctx, 'invalid', {
        inputs: [{ value: 'a: b: c' }],
        resourcesTemplate: `apiVersion: v1
kind: ConfigMap
metadata:
  name: invalid
  namespace: << inputs.provider.namespace >>
data:
  value: << inputs.value >>
`,
      }),
    ],
  },
  {
    id: 'error-missing-provider',
    title: 'inputsFrom names a provider that does not exist',
    objects: ctx => [
      resourceSet(ctx, 'orphan', {
        inputsFrom: [{ kind: 'ResourceSetInputProvider', name: 'nowhere' }],
        resources: [configMap('never', { x: 'y' })],
      }),
    ],
  },
  {
    id: 'error-invalid-schedule',
    title: 'a provider with a cron schedule that does not parse',
    objects: ctx => [
      provider(ctx, 'badly-scheduled', {
        type: 'Static',
        defaultValues: { a: 'b' },
        schedule: [{ cron: 'every day' }],
      }),
    ],
  },
];

/**
 * The documented differences, by scenario id (the long form is in docs/differences.md, "Compared
 * with the real Flux Operator"). Recorded from a run and asserted exactly.
 */
const DIFFERENCES: Record<string, DocumentedDifference> = {
  'permute-inline-service': {
    reason:
      'our ResourceSet records promotion events (PromotionApplied), a feature the Flux Operator does not have',
    fields: {
      'ResourceSet/matrix.events': [
        [
          'Normal ApplySucceeded: ConfigMap/rs-permute-inline-service/production-eu created\nConfigMap/rs-permute-inline-service/production-us created\nConfigMap/rs-permute-inline-service/staging-eu created\nConfigMap/rs-permute-inline-service/staging-us created',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
        [
          'Normal ApplySucceeded: ConfigMap/rs-permute-inline-service/production-eu created\nConfigMap/rs-permute-inline-service/production-us created\nConfigMap/rs-permute-inline-service/staging-eu created\nConfigMap/rs-permute-inline-service/staging-us created',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-permute-inline-service/regions on cluster:ResourceSet/rs-permute-inline-service/matrix@testbed: (nothing) → revision c114ab74d0c9',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
      ],
    },
  },
  'inputs-by-selector': {
    reason: 'promotion events on the ResourceSet',
    fields: {
      'ResourceSet/selected.events': [
        [
          'Normal ApplySucceeded: ConfigMap/rs-inputs-by-selector/input-a1 created\nConfigMap/rs-inputs-by-selector/input-b1 created\nConfigMap/rs-inputs-by-selector/input-b2 created',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
        [
          'Normal ApplySucceeded: ConfigMap/rs-inputs-by-selector/input-a1 created\nConfigMap/rs-inputs-by-selector/input-b1 created\nConfigMap/rs-inputs-by-selector/input-b2 created',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-inputs-by-selector/source-a on cluster:ResourceSet/rs-inputs-by-selector/selected@testbed: (nothing) → revision f55e48111d50',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-inputs-by-selector/source-b on cluster:ResourceSet/rs-inputs-by-selector/selected@testbed: (nothing) → revision efc817b8ace9',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
      ],
    },
  },
  'static-provider': {
    reason:
      'a Static provider id is the Adler-32 of <namespace>/<name>, not of the UID (so its revision, also in the success event, differs too); promotion events on the ResourceSet',
    fields: {
      'ResourceSetInputProvider/settings.exportedInputs': [
        [{ env: 'production', flags: ['a', 'b'], id: '{digits}', replicas: 3 }],
        [
          {
            env: 'production',
            flags: ['a', 'b'],
            id: '2507868883',
            replicas: 3,
          },
        ],
      ],
      'ResourceSetInputProvider/settings.lastExportedRevision': [
        '{sha256}',
        'sha256:db03fe230fd0e3c21ea0840b20bae8f4165f8091ac673a5e02d42a3fda60a87d',
      ],
      'ResourceSetInputProvider/settings.events': [
        [
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>, revision {sha256}',
        ],
        [
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>, revision sha256:db03fe230fd0e3c21ea0840b20bae8f4165f8091ac673a5e02d42a3fda60a87d',
        ],
      ],
      'ResourceSet/from-static.events': [
        [
          'Normal ApplySucceeded: ConfigMap/rs-static-provider/settings-production created',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
        [
          'Normal ApplySucceeded: ConfigMap/rs-static-provider/settings-production created',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-static-provider/settings on cluster:ResourceSet/rs-static-provider/from-static@testbed: (nothing) → revision db03fe230fd0',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
      ],
    },
  },
  'external-service': {
    reason: 'promotion events on the ResourceSet',
    fields: {
      'ResourceSet/tenants.events': [
        [
          'Normal ApplySucceeded: ConfigMap/rs-external-service/tenant-acme created\nConfigMap/rs-external-service/tenant-globex created',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
        [
          'Normal ApplySucceeded: ConfigMap/rs-external-service/tenant-acme created\nConfigMap/rs-external-service/tenant-globex created',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-external-service/tenants on cluster:ResourceSet/rs-external-service/tenants@testbed: (nothing) → revision 4e2db6e3a3e6',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
      ],
    },
  },
  'oci-semver-limit': {
    reason:
      'promotion events (PromotionCreated, PromotionApproved, PromotionApplied) on the ResourceSet',
    fields: {
      'before.ResourceSet/versions.events': [
        [
          'Normal ApplySucceeded: ConfigMap/rs-oci-semver-limit/app-1-1-0 created\nConfigMap/rs-oci-semver-limit/app-1-2-0 created',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
        [
          'Normal ApplySucceeded: ConfigMap/rs-oci-semver-limit/app-1-1-0 created\nConfigMap/rs-oci-semver-limit/app-1-2-0 created',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-oci-semver-limit/app on cluster:ResourceSet/rs-oci-semver-limit/versions@testbed: (nothing) → 1.2.0, 1.1.0',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
      ],
      'ResourceSet/versions.events': [
        [
          'Normal ApplySucceeded: ConfigMap/rs-oci-semver-limit/app-1-1-0 created\nConfigMap/rs-oci-semver-limit/app-1-2-0 created',
          'Normal ApplySucceeded: ConfigMap/rs-oci-semver-limit/app-1-3-0 created\nConfigMap/rs-oci-semver-limit/app-1-1-0 deleted',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
        [
          'Normal ApplySucceeded: ConfigMap/rs-oci-semver-limit/app-1-1-0 created\nConfigMap/rs-oci-semver-limit/app-1-2-0 created',
          'Normal ApplySucceeded: ConfigMap/rs-oci-semver-limit/app-1-3-0 created\nConfigMap/rs-oci-semver-limit/app-1-1-0 deleted',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-oci-semver-limit/app on cluster:ResourceSet/rs-oci-semver-limit/versions@testbed: (nothing) → 1.2.0, 1.1.0',
          'Normal PromotionApplied: ResourceSetInputProvider/rs-oci-semver-limit/app on cluster:ResourceSet/rs-oci-semver-limit/versions@testbed: 1.2.0, 1.1.0 → 1.3.0, 1.2.0',
          'Normal PromotionApproved: ResourceSetInputProvider/rs-oci-semver-limit/app on cluster:ResourceSet/rs-oci-semver-limit/versions@testbed: 1.2.0, 1.1.0 → 1.3.0, 1.2.0: no gates: carried out on the next pass, as Flux does',
          'Normal PromotionCreated: ResourceSetInputProvider/rs-oci-semver-limit/app on cluster:ResourceSet/rs-oci-semver-limit/versions@testbed: 1.2.0, 1.1.0 → 1.3.0, 1.2.0',
          'Normal ReconciliationSucceeded: Reconciliation finished in <d>',
        ],
      ],
    },
  },
};

for (const scenario of SCENARIOS)
  scenario.difference = DIFFERENCES[scenario.id];
