/**
 * A full ResourceSet cycle against a real kube-apiserver: 100 ResourceSets × 10 permutations (Permute of
 * 10 inline inputs) × 2 objects (a ConfigMap and a Secret) = 2,000 objects, reconciled by the real engine,
 * ResourceSetReconciler and InventoryApplier with the object and inventory stores in SQLite (or, with
 * `--postgres`, in the test bed's PostgreSQL, as production runs). Measures the
 * first cycle (everything created), five unchanged cycles (the median reported; target: zero API writes, counted in the API
 * server's audit log), and, as the peer, the same objects applied by `kubectl apply --server-side`
 * (one process per ResourceSet, as many at once as the engine runs reconciles) in the same run.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/resourceset-cycle.ts [--postgres]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LoggerService } from '@backstage/backend-plugin-api';
import knexFactory from 'knex';
import { Engine } from '../plugins/image-automation-backend/src/engine/Engine';
import {
  CLUSTERS_ANNOTATION,
  ResourceSetReconciler,
} from '../plugins/image-automation-backend/src/engine/ResourceSetReconciler';
import {
  ClusterDetails,
  InventoryApplier,
  KubernetesObject,
} from '../plugins/image-automation-backend/src/kubernetes';
import {
  buildResourceSet,
  resourceSetFromManifest,
} from '../plugins/image-automation-backend/src/resourceset';
import { DatabaseInventoryStore } from '../plugins/image-automation-backend/src/store/DatabaseInventoryStore';
import { DatabaseObjectStore } from '../plugins/image-automation-backend/src/store/DatabaseObjectStore';
import {
  marshalJson,
  parseJson,
} from '../plugins/image-automation-backend/src/golib/json';
import { startPostgres, TestPostgres } from '../test/testbed';
import {
  readAuditLog,
  startKubernetes,
  TestKubernetes,
} from '../test/testbed/kube/kubernetes';

const RESOURCE_SETS = 100;
const PERMUTATIONS = 10;
/** The engine's default: reconciles running at once; kubectl gets as many processes at once. */
const CONCURRENCY = 4;
/** Unchanged cycles measured (the median is reported). */
const UNCHANGED_ROUNDS = 5;
const OURS = 'bench-ours';
const KUBECTL = 'bench-kubectl';
const OWNER = 'resourceset.fluxcd.controlplane.io';

function resourceSet(index: number, target: string) {
  const name = `app-${String(index).padStart(3, '0')}`;
  // Permute keys each input by its provider's normalised name; inline inputs come from the set itself.
  const inputs = `inputs.${name.replace('-', '_')}`;
  return {
    apiVersion: 'fluxcd.controlplane.io/v1',
    kind: 'ResourceSet',
    metadata: {
      name,
      namespace: 'bench',
      annotations: { [CLUSTERS_ANNOTATION]: 'bench' },
    },
    spec: {
      inputStrategy: { name: 'Permute' },
      inputs: Array.from({ length: PERMUTATIONS }, (_, i) => ({
        tenant: `tenant-${i}`,
        replicas: i + 1,
      })),
      resources: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: `${name}-<< ${inputs}.tenant >>`,
            namespace: target,
          },
          data: {
            tenant: `<< ${inputs}.tenant >>`,
            replicas: `<< ${inputs}.replicas | quote >>`,
            image: `ghcr.io/acme/${name}:1.<< ${inputs}.replicas >>.0`,
            permutation: '<< inputs.id | quote >>',
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: `${name}-<< ${inputs}.tenant >>-token`,
            namespace: target,
          },
          stringData: {
            token: `${name}-<< ${inputs}.tenant >>-<< inputs.id >>`,
          },
        },
      ],
    },
  };
}

/** What the reconciler applies for a ResourceSet, owner labels included, for kubectl to apply. */
function rendered(index: number): KubernetesObject[] {
  const manifest = resourceSet(index, KUBECTL);
  const built = buildResourceSet({
    resourceSet: resourceSetFromManifest(
      parseJson(JSON.stringify(manifest), 'preserve'),
      'bench',
    ),
    providers: [],
  });
  if (!built.ok) throw new Error(built.error);
  return built.objects.map(o => {
    const object = JSON.parse(
      marshalJson(o, { escapeHtml: false }),
    ) as KubernetesObject;
    object.metadata.labels = {
      ...object.metadata.labels,
      [`${OWNER}/name`]: manifest.metadata.name,
      [`${OWNER}/namespace`]: 'bench',
    };
    return object;
  });
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

/** Writes (not dry runs) the API server received into one namespace since `from` audit events. */
async function writesSince(
  kube: TestKubernetes,
  from: number,
  namespace: string,
): Promise<{ count: number; next: number }> {
  const events = await readAuditLog(kube);
  const count = events
    .slice(from)
    .filter(
      e =>
        e.objectRef?.namespace === namespace &&
        !/[?&]dryRun=/.test(e.requestURI),
    ).length;
  return { count, next: events.length };
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', chunk => (stderr += chunk));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

async function inParallel(tasks: Array<() => Promise<void>>, limit: number) {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let task = queue.shift(); task; task = queue.shift()) await task();
    }),
  );
}

const silent = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  child: () => silent,
} as unknown as LoggerService;

async function main() {
  const kube = await startKubernetes();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'bench-rset-'));
  // SQLite commits synchronously on the event loop (two writes per unchanged reconcile: the lease
  // and the status); PostgreSQL's round trips overlap with the rest, as in production.
  const postgres: TestPostgres | undefined = process.argv.includes('--postgres')
    ? await startPostgres()
    : undefined;
  const knex = postgres
    ? knexFactory({
        client: 'pg',
        connection: postgres.connectionString,
        pool: { min: 0, max: 8 },
      })
    : knexFactory({
        client: 'better-sqlite3',
        connection: { filename: path.join(dir, 'bench.sqlite') },
        useNullAsDefault: true,
      });
  try {
    await kube.kubectl(['create', 'namespace', OURS]);
    await kube.kubectl(['create', 'namespace', KUBECTL]);
    const objects = await DatabaseObjectStore.create({ knex });
    const inventories = await DatabaseInventoryStore.create({
      knex,
      skipMigrations: true,
    });
    const cluster: ClusterDetails = {
      name: 'bench',
      url: kube.url,
      source: 'config',
      auth: { type: 'serviceAccount', token: kube.admin.token },
      caData: kube.caData,
      // Everything, explicitly: empty or missing policy lists allow nothing.
      writePolicy: {
        allowedNamespaces: ['*'],
        allowedKinds: ['*'],
        allowedClusterScopedKinds: ['*'],
        allowedEntities: ['*'],
      },
    };
    const engine = new Engine({
      objects,
      logger: silent,
      batchSize: RESOURCE_SETS,
      leaseMs: 60_000,
      concurrency: CONCURRENCY,
      reconcilers: [
        new ResourceSetReconciler({
          objects,
          inventories,
          applier: new InventoryApplier(inventories, {
            fieldManager: 'image-automation',
            force: false,
            concurrency: 8,
            clusters: [],
          }),
          cluster: async () => cluster,
        }),
      ],
    });
    const ids = Array.from(
      { length: RESOURCE_SETS },
      (_, i) => `ResourceSet/bench/${resourceSet(i, OURS).metadata.name}`,
    );
    await objects.syncSource(
      'bench',
      Array.from({ length: RESOURCE_SETS }, (_, i) => ({
        manifest: resourceSet(i, OURS) as any,
        source: { type: 'config', location: 'bench' },
      })),
    );
    const cycle = async () => {
      await objects.markDue(ids, new Date());
      while ((await engine.runPass()) > 0) {
        // every ResourceSet is due once; a pass takes them all
      }
      const stored = await Promise.all(ids.map(id => objects.get(id)));
      const notReady = stored.filter(
        o =>
          o?.status.conditions?.find(c => c.type === 'Ready')?.status !==
          'True',
      );
      if (notReady.length > 0) {
        throw new Error(
          `${notReady.length} ResourceSets not ready: ${JSON.stringify(
            notReady[0]?.status.conditions,
          )}`,
        );
      }
      return stored.reduce(
        (n, o) => n + (o?.status.inventory?.entries.length ?? 0),
        0,
      );
    };

    const files = await Promise.all(
      Array.from({ length: RESOURCE_SETS }, async (_, i) => {
        const file = path.join(dir, `rset-${i}.json`);
        await fs.promises.writeFile(
          file,
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'List',
            items: rendered(i),
          }),
        );
        return file;
      }),
    );
    const kubectlBinary = kube.binaries.kubectl;
    const kubectl = () =>
      inParallel(
        files.map(
          file => () =>
            run(kubectlBinary, [
              '--kubeconfig',
              kube.kubeconfig,
              'apply',
              '--server-side',
              '--field-manager=kubectl-bench',
              '-f',
              file,
            ]),
        ),
        CONCURRENCY,
      );

    let audit = (await readAuditLog(kube)).length;
    const [oursFirst, applied] = await time(cycle);
    const firstWrites = await writesSince(kube, audit, OURS);
    audit = firstWrites.next;
    const [kubectlFirst] = await time(kubectl);
    const kubectlFirstWrites = await writesSince(kube, audit, KUBECTL);
    audit = kubectlFirstWrites.next;
    // The unchanged cycle is short, so one sample is at the mercy of the machine's other load: the
    // median of UNCHANGED_ROUNDS, with the writes of all of them counted.
    const unchangedTimes: number[] = [];
    let reapplied = 0;
    for (let round = 0; round < UNCHANGED_ROUNDS; round++) {
      const [ms, count] = await time(cycle);
      unchangedTimes.push(ms);
      reapplied = count;
    }
    const oursUnchanged = [...unchangedTimes].sort((a, b) => a - b)[
      Math.floor(UNCHANGED_ROUNDS / 2)
    ];
    const unchangedWrites = await writesSince(kube, audit, OURS);
    audit = unchangedWrites.next;
    const [kubectlUnchanged] = await time(kubectl);
    const kubectlUnchangedWrites = await writesSince(kube, audit, KUBECTL);
    const expected = RESOURCE_SETS * PERMUTATIONS * 2;
    if (applied !== expected || reapplied !== expected) {
      throw new Error(
        `inventories hold ${applied} then ${reapplied} objects, expected ${expected}`,
      );
    }

    const ms = (n: number) => `${n.toFixed(0)} ms`;
    console.log(
      `resourceset-cycle: ${RESOURCE_SETS} ResourceSets × ${PERMUTATIONS} permutations × 2 objects (ConfigMap, Secret) = ${expected} objects, kube-apiserver ${
        kube.binaries.buildInfo
      }, ${CONCURRENCY} at once, stores in ${
        postgres ? 'PostgreSQL' : 'SQLite'
      }`,
    );
    console.log(
      `  first cycle:     image-automation ${ms(oursFirst)} (${
        firstWrites.count
      } writes), kubectl apply --server-side ${ms(kubectlFirst)} (${
        kubectlFirstWrites.count
      } writes), ratio ours/kubectl ${(oursFirst / kubectlFirst).toFixed(2)}`,
    );
    console.log(
      `  unchanged cycle: image-automation ${ms(
        oursUnchanged,
      )} (median of ${UNCHANGED_ROUNDS}: ${unchangedTimes
        .map(t => t.toFixed(0))
        .join(', ')}; ${
        unchangedWrites.count
      } writes, target 0), kubectl apply --server-side ${ms(
        kubectlUnchanged,
      )} (${kubectlUnchangedWrites.count} writes), ratio ours/kubectl ${(
        oursUnchanged / kubectlUnchanged
      ).toFixed(2)}`,
    );
    console.log(
      `  unchanged / first cycle (ours): ${(oursUnchanged / oursFirst).toFixed(
        2,
      )} (issue #16 target ≤ 0.2: an unchanged render whose objects kept their recorded resourceVersions is not dry-run)`,
    );
    console.log(
      '  (ours: the whole reconcile — build, dry-run diff, apply, inventory and status in the database; writes = non-dry-run create/update/patch/delete in the audit log)',
    );
    if (unchangedWrites.count !== 0) {
      process.exitCode = 1;
      console.error(
        `  FAIL: the unchanged cycle wrote ${unchangedWrites.count} times`,
      );
    }
  } finally {
    await knex.destroy();
    await postgres?.stop();
    await kube.stop();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
