import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { pushImage, startRegistry, TestRegistry } from '../../testbed';
import {
  ExternalServiceStandIn,
  startExternalServiceStandIn,
} from '../../testbed/externalService';
import { startKubernetes, TestKubernetes } from '../../testbed/kube/kubernetes';
import {
  FLUX_OPERATOR_VERSION,
  FluxController,
  kubeGet,
  kubeList,
  settled,
  startFluxOperator,
} from '../../testbed/fluxControllers';
import { startBackend } from '../integration/backendHarness';
import { Scenario, SCENARIOS, ScenarioContext } from './fluxOperatorCorpus';
import { recordScenario, summaryLine, Verdict } from './corpusReport';

// Issue #18: every scenario of the corpus runs through the real Flux Operator (built from the Go
// module proxy by test/testbed/build-flux-operator.sh) against one kube-apiserver of the test bed,
// and through our backend (a real Backstage backend reading the same objects from the catalog)
// applying into a second kube-apiserver, so the two never touch each other's objects and the
// namespaces have the same names on both sides. Compared field by field: the conditions of every
// ResourceSet and ResourceSetInputProvider, the providers' exported inputs, revision and next
// schedule, the ResourceSets' inventories, their events, and the ConfigMaps in the scenario's
// namespace as the API server stores them. A difference must be listed in the scenario
// (`difference`) and in docs/differences.md; anything else fails.
// The ExternalService providers call a stand-in on 127.0.0.1 (test/testbed/externalService.ts).
// FLUX_CORPUS_OUT=<file> writes each scenario's outcomes and differences there (one JSON line each).

jest.setTimeout(900_000);

const FO = `flux-operator ${FLUX_OPERATOR_VERSION}`;
const ENTITY = 'component:default/fo-corpus';
const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
const KINDS = ['ResourceSet', 'ResourceSetInputProvider'] as const;
const API = '/apis/fluxcd.controlplane.io/v1';

const namespaceOf = (s: Scenario) => `rs-${s.id}`;

/** The compared fields of one scenario: flat `path -> value` (undefined when absent). */
type Outcome = Record<string, unknown>;

/** Durations in messages (`Reconciliation finished in 12.3ms`) vary from run to run. */
function normalise(text: unknown): unknown {
  return typeof text === 'string'
    ? text.replace(
        /(finished in )[0-9][0-9.]*(ns|µs|us|ms|s|m|h)[0-9a-zµ.]*/g,
        '$1<d>',
      )
    : text;
}

function conditions(object: any): unknown {
  const list = (object?.status?.conditions ?? []) as Array<
    Record<string, unknown>
  >;
  return list
    .map(c => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: normalise(c.message),
    }))
    .sort((a, b) => String(a.type).localeCompare(String(b.type)));
}

/** The fields compared of one ResourceSet or ResourceSetInputProvider. */
function statusFields(kind: string, object: any): Outcome {
  const status = object?.status;
  if (kind === 'ResourceSet') {
    return {
      conditions: conditions(object),
      inventory: status?.inventory?.entries,
    };
  }
  return {
    conditions: conditions(object),
    exportedInputs: status?.exportedInputs,
    lastExportedRevision: status?.lastExportedRevision,
    nextSchedule: status?.nextSchedule,
  };
}

/** What the API server stores, without what it assigns (listed in docs/differences.md). */
function stored(object: any): unknown {
  const {
    managedFields: _m,
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    ...metadata
  } = object.metadata ?? {};
  return { ...object, metadata };
}

/** JSON with object keys sorted, so that field order does not count as a difference. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map(k => [k, v[k]]),
        )
      : v,
  );
}

function differences(
  flux: Outcome,
  ours: Outcome,
): Record<string, [unknown, unknown]> {
  const diff: Record<string, [unknown, unknown]> = {};
  for (const key of new Set([...Object.keys(flux), ...Object.keys(ours)])) {
    if (canonical(flux[key]) !== canonical(ours[key]))
      diff[key] = [flux[key], ours[key]];
  }
  return diff;
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** The same object with every `metadata.namespace` set. */
function inNamespace(objects: any[], namespace: string): any[] {
  return objects.map(o => ({
    ...o,
    metadata: { ...o.metadata, namespace: o.metadata.namespace ?? namespace },
  }));
}

/**
 * Polls `snapshot` until `isSettled` says so and two snapshots `quietMs` apart are equal.
 */
async function untilStable(
  what: string,
  snapshot: () => Promise<unknown>,
  isSettled: () => Promise<boolean>,
  options: {
    timeoutMs: number;
    quietMs: number;
    step?: () => Promise<void>;
    describe?: () => Promise<string>;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let previous: string | undefined;
  for (;;) {
    await options.step?.();
    if (await isSettled()) {
      const text = canonical(await snapshot());
      if (text === previous) return;
      previous = text;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not settled after ${options.timeoutMs} ms: ${
          (await options.describe?.()) ?? ''
        }`,
      );
    }
    await sleep(options.quietMs);
  }
}

describe(`the ResourceSet corpus through ${FO} and through our backend`, () => {
  let kubeFlux: TestKubernetes;
  let kubeOurs: TestKubernetes;
  let registry: TestRegistry;
  let service: ExternalServiceStandIn;
  let operator: FluxController | undefined;
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
  const flux = new Map<string, Outcome>();
  const ours = new Map<string, Outcome>();
  const verdicts = new Map<string, Verdict>();
  const timings: Record<string, number> = {};
  const hostNames: Record<string, string> = {};

  beforeAll(async () => {
    let t = Date.now();
    [kubeFlux, kubeOurs, registry, service] = await Promise.all([
      startKubernetes(),
      startKubernetes(),
      startRegistry(),
      startExternalServiceStandIn(),
    ]);
    hostNames.registry = registry.host;
    hostNames.service = service.host;
    const ctxOf = (s: Scenario): ScenarioContext => ({
      namespace: namespaceOf(s),
      registry: registry.host,
      service: service.baseUrl,
    });
    for (const s of SCENARIOS) {
      if (s.tags?.length)
        await pushImage(registry, `corpus/${s.id}`, s.tags, { seed: s.id });
      for (const [servicePath, body] of Object.entries(s.service ?? {}))
        service.answer(servicePath, {
          body: Array.isArray(body) ? { inputs: body } : body,
        });
    }
    const objectsOf = (s: Scenario, step: 'first' | 'then' = 'first') =>
      inNamespace(
        step === 'then' && s.then?.objects
          ? s.then.objects(ctxOf(s))
          : s.objects(ctxOf(s)),
        namespaceOf(s),
      );
    const prerequisites = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        ...SCENARIOS.map(s => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespaceOf(s) },
        })),
        ...SCENARIOS.flatMap(s =>
          inNamespace(s.existing?.(ctxOf(s)) ?? [], namespaceOf(s)),
        ),
      ],
    };
    for (const kube of [kubeFlux, kubeOurs]) {
      await kube.kubectl(
        ['apply', '--server-side', '-f', '-'],
        JSON.stringify(prerequisites),
      );
    }
    timings.setupMs = Date.now() - t;

    // The Flux Operator: the providers of every scenario in one server-side apply, then, once each
    // has reconciled, the ResourceSets. Created together, a ResourceSet may run before its
    // providers exported anything (a transient BuildFailed, or one apply event per provider),
    // depending on timing; our backend reconciles providers before the sets that read them.
    t = Date.now();
    operator = await startFluxOperator(kubeFlux);
    const applyFlux = (kind: string) =>
      kubeFlux.kubectl(
        ['apply', '--server-side', '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: SCENARIOS.flatMap(s => objectsOf(s)).filter(
            o => o.kind === kind,
          ),
        }),
      );
    await applyFlux('ResourceSetInputProvider');
    const providerCount = SCENARIOS.flatMap(s => objectsOf(s)).filter(
      o => o.kind === 'ResourceSetInputProvider',
    ).length;
    await untilStable(
      `${FO} providers`,
      async () => kubeList(kubeFlux, `${API}/resourcesetinputproviders`),
      async () => {
        const providers = await kubeList(
          kubeFlux,
          `${API}/resourcesetinputproviders`,
        );
        return providers.length === providerCount && providers.every(settled);
      },
      { timeoutMs: 120_000, quietMs: 1_000 },
    );
    await applyFlux('ResourceSet');

    // Ours: the same objects declared by one entity, applied into the second cluster.
    const catalog = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fo-corpus
  annotations:
    image-automation.io/manifests: ./corpus.yaml
    image-automation.io/clusters: testbed
spec: { type: service, lifecycle: production, owner: group:default/team }
`;
    const corpusFile = (step: 'first' | 'then') =>
      SCENARIOS.flatMap(s => objectsOf(s, step))
        .map(o => JSON.stringify(o))
        .join('\n---\n');
    const namespaces = SCENARIOS.map(namespaceOf);
    backend = await startBackend({
      files: { 'catalog.yaml': catalog, 'corpus.yaml': corpusFile('first') },
      config: {
        tenancy: { namespaces: [{ entity: ENTITY, namespaces }] },
        inputProviders: {
          allowedHosts: [service.host],
          insecureHosts: [service.host],
        },
        kubernetes: {
          clusters: [
            {
              name: 'testbed',
              allowedNamespaces: namespaces,
              allowedKinds: ['*'],
              allowedEntities: [ENTITY],
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
                  name: 'testbed',
                  url: kubeOurs.url,
                  serviceAccountToken: kubeOurs.admin.token,
                  caData: kubeOurs.caData,
                },
              ],
            },
          ],
        },
      },
    });
    const user = mockCredentials.user.header();
    const ourObjects = async () => {
      const res = await request(backend!.server)
        .get(
          '/api/image-automation/entities/component/default/fo-corpus/objects',
        )
        .set('Authorization', user);
      if (res.status !== 200) throw new Error(`objects: ${res.status}`);
      return (res.body.items as any[]).filter(o =>
        (KINDS as readonly string[]).includes(o.kind),
      );
    };
    const expectedObjects = (step: 'first' | 'then') =>
      SCENARIOS.flatMap(s => objectsOf(s, step)).length;
    const fluxObjects = async () =>
      (
        await Promise.all([
          kubeList(kubeFlux, `${API}/resourcesets`),
          kubeList(kubeFlux, `${API}/resourcesetinputproviders`),
        ])
      ).flat();

    /** The statuses of both kinds, by `<ns>/<Kind>/<name>`, of one side. */
    const statusesOf = (objects: any[], flat: (o: any) => any) =>
      new Map(
        objects.map(o => {
          const f = flat(o);
          return [`${f.namespace}/${f.kind}/${f.name}`, f.object] as const;
        }),
      );
    const ourStatuses = async () =>
      statusesOf(await ourObjects(), o => ({
        namespace: o.namespace,
        kind: o.kind,
        name: o.name,
        object: o,
      }));
    const fluxStatuses = async () =>
      statusesOf(await fluxObjects(), o => ({
        namespace: o.metadata.namespace,
        kind: o.kind,
        name: o.metadata.name,
        object: o,
      }));
    const appliedIn = async (kube: TestKubernetes, s: Scenario) =>
      (await kubeList(kube, `/api/v1/namespaces/${namespaceOf(s)}/configmaps`))
        .map(stored)
        .sort((a: any, b: any) =>
          a.metadata.name.localeCompare(b.metadata.name),
        );

    const eventLine = (e: { type: string; reason: string; message: string }) =>
      `${e.type} ${e.reason}: ${normalise(e.message)}`;
    const distinct = (lines: string[]) => [...new Set(lines)].sort();

    /** One side's outcome of every scenario. */
    const outcomes = async (
      side: 'flux' | 'ours',
      step: 'first' | 'then',
    ): Promise<Map<string, Outcome>> => {
      const statuses =
        side === 'flux' ? await fluxStatuses() : await ourStatuses();
      const fluxEvents =
        side === 'flux' ? await kubeList(kubeFlux, '/api/v1/events') : [];
      const result = new Map<string, Outcome>();
      for (const s of SCENARIOS) {
        const outcome: Outcome = {};
        for (const o of objectsOf(s, step)) {
          const key = `${o.kind}/${o.metadata.name}`;
          const object = statuses.get(
            `${namespaceOf(s)}/${o.kind}/${o.metadata.name}`,
          );
          for (const [field, value] of Object.entries(
            statusFields(o.kind, object),
          ))
            outcome[`${key}.${field}`] = value;
          let events: string[];
          if (side === 'flux') {
            events = fluxEvents
              .filter(
                e =>
                  e.involvedObject?.kind === o.kind &&
                  e.involvedObject?.namespace === namespaceOf(s) &&
                  e.involvedObject?.name === o.metadata.name,
              )
              .map(eventLine);
          } else {
            const res = await request(backend!.server)
              .get(
                `/api/image-automation/objects/${o.kind}/${namespaceOf(s)}/${
                  o.metadata.name
                }/events`,
              )
              .set('Authorization', user);
            events = ((res.body.items ?? []) as any[]).map(eventLine);
          }
          outcome[`${key}.events`] = distinct(events);
        }
        outcome.applied = await appliedIn(
          side === 'flux' ? kubeFlux : kubeOurs,
          s,
        );
        result.set(s.id, outcome);
      }
      return result;
    };

    const describeUnsettled = (objects: any[]) =>
      JSON.stringify(
        objects
          .filter(o => !settled(o))
          .map(o => [o.kind, o.metadata.namespace, o.metadata.name, o.status]),
      ).slice(0, 4000);
    const oursSettled = (step: 'first' | 'then') =>
      untilStable(
        'our backend',
        () => outcomes('ours', step),
        async () => {
          const objects = (await ourObjects()).map(o => ({
            kind: o.kind,
            metadata: {
              namespace: o.namespace,
              name: o.name,
              generation: o.generation,
            },
            status: o.status,
          }));
          return (
            objects.length === expectedObjects(step) && objects.every(settled)
          );
        },
        {
          timeoutMs: 120_000,
          // Longer than the dependency retry (5 s), so a set waiting for one has run again.
          quietMs: 5_500,
          step: async () => {
            await backend!.sync();
            await backend!.reconcile();
          },
          describe: async () => {
            const objects = (await ourObjects()).map(o => ({
              kind: o.kind,
              metadata: {
                namespace: o.namespace,
                name: o.name,
                generation: o.generation,
              },
              status: o.status,
            }));
            return `${objects.length} of ${expectedObjects(
              step,
            )} objects; not settled: ${describeUnsettled(objects)}`;
          },
        },
      );
    const fluxSettled = (step: 'first' | 'then', requested?: string) =>
      untilStable(
        FO,
        () => outcomes('flux', step),
        async () => {
          const objects = await fluxObjects();
          const handled = objects.every(
            o =>
              !requested ||
              o.metadata.annotations?.[REQUESTED_AT] !== requested ||
              o.status?.lastHandledReconcileAt === requested,
          );
          return (
            objects.length === expectedObjects(step) &&
            objects.every(settled) &&
            handled
          );
        },
        {
          timeoutMs: 240_000,
          quietMs: 3_000,
          describe: async () => {
            const objects = await fluxObjects();
            return `${objects.length} of ${expectedObjects(
              step,
            )} objects; not settled: ${describeUnsettled(objects)}\n${operator
              ?.output()
              .slice(-3000)}`;
          },
        },
      );

    await oursSettled('first');
    const firstOurs = await outcomes('ours', 'first');
    await fluxSettled('first');
    const firstFlux = await outcomes('flux', 'first');
    timings.firstStepMs = Date.now() - t;

    // The second step of the scenarios that have one.
    t = Date.now();
    const changing = SCENARIOS.filter(s => s.then);
    for (const s of changing) {
      if (s.then!.tags?.length) {
        await pushImage(registry, `corpus/${s.id}`, s.then!.tags, {
          seed: `${s.id} then`,
        });
      }
    }
    const requestedAt = new Date().toISOString();
    const requested = (s: Scenario, o: any) =>
      (s.then?.reconcile ?? []).some(
        r => r.kind === o.kind && r.name === o.metadata.name,
      );
    await kubeFlux.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: changing.flatMap(s =>
          objectsOf(s, 'then').map(o =>
            requested(s, o)
              ? {
                  ...o,
                  metadata: {
                    ...o.metadata,
                    annotations: {
                      ...(o.metadata.annotations ?? {}),
                      [REQUESTED_AT]: requestedAt,
                    },
                  },
                }
              : o,
          ),
        ),
      }),
    );
    await fs.promises.writeFile(
      path.join(backend.dir, 'corpus.yaml'),
      corpusFile('then'),
    );
    await backend.sync();
    for (const s of changing) {
      for (const r of s.then!.reconcile ?? []) {
        await request(backend.server)
          .post(
            `/api/image-automation/objects/${r.kind}/${namespaceOf(s)}/${
              r.name
            }/reconcile`,
          )
          .set('Authorization', user)
          .expect(200);
      }
    }
    await oursSettled('then');
    const secondOurs = await outcomes('ours', 'then');
    await fluxSettled('then', requestedAt);
    const secondFlux = await outcomes('flux', 'then');
    timings.secondStepMs = Date.now() - t;

    const merge = (
      first: Map<string, Outcome>,
      second: Map<string, Outcome>,
      into: Map<string, Outcome>,
    ) => {
      for (const s of SCENARIOS) {
        const before = first.get(s.id)!;
        into.set(
          s.id,
          s.then
            ? {
                ...Object.fromEntries(
                  Object.entries(before).map(([k, v]) => [`before.${k}`, v]),
                ),
                ...second.get(s.id)!,
              }
            : before,
        );
      }
    };
    merge(firstOurs, secondOurs, ours);
    merge(firstFlux, secondFlux, flux);
  });

  afterAll(async () => {
    await backend?.stop();
    await operator?.stop();
    await Promise.all([
      kubeFlux?.stop(),
      kubeOurs?.stop(),
      registry?.stop(),
      service?.stop(),
    ]);
    // eslint-disable-next-line no-console
    console.log(
      summaryLine(
        FO,
        SCENARIOS.length,
        verdicts.values(),
        `setup ${timings.setupMs} ms, first step settled ${timings.firstStepMs} ms, second ${timings.secondStepMs} ms`,
      ),
    );
  });

  const differencesDoc = fs.readFileSync(
    path.resolve(__dirname, '../../../docs/differences.md'),
    'utf8',
  );

  it.each(SCENARIOS.map(s => [s.id, s] as const))(
    `%s against ${FO}`,
    (_id, scenario) => {
      verdicts.set(scenario.id, 'failed');
      const found = differences(flux.get(scenario.id)!, ours.get(scenario.id)!);
      recordScenario({
        id: scenario.id,
        flux: flux.get(scenario.id),
        ours: ours.get(scenario.id),
        found,
      });
      const withHosts = (value: unknown): unknown => {
        if (typeof value === 'string') {
          const text = value.replace(
            /\{(registry|service)\}/g,
            (_m, kind) => hostNames[kind],
          );
          if (!/\{(digits|sha256)\}/.test(text)) return text;
          const pattern = text
            .split(/(\{digits\}|\{sha256\})/)
            .map(part => {
              if (part === '{digits}') return '[0-9]+';
              if (part === '{sha256}') return 'sha256:[0-9a-f]{64}';
              return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            })
            .join('');
          return expect.stringMatching(new RegExp(`^${pattern}$`));
        }
        if (Array.isArray(value)) return value.map(withHosts);
        if (value && typeof value === 'object') {
          return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, withHosts(v)]),
          );
        }
        return value;
      };
      expect(found).toEqual(withHosts(scenario.difference?.fields ?? {}));
      if (scenario.difference) {
        expect(differencesDoc).toContain(`\`${scenario.id}\``);
        verdicts.set(scenario.id, 'documented');
      } else {
        verdicts.set(scenario.id, 'identical');
      }
    },
  );

  it('the Flux Operator applied what the corpus declares (the comparison is not empty)', async () => {
    const outcome = flux.get('flatten-inline')!;
    expect((outcome.applied as any[]).map(o => o.metadata.name).sort()).toEqual(
      ['tenant-team-a', 'tenant-team-b'],
    );
    expect(
      (
        await kubeGet(
          kubeFlux,
          `/api/v1/namespaces/rs-prune/configmaps/removed`,
        )
      )?.metadata?.name,
    ).toBeUndefined();
  });
});
