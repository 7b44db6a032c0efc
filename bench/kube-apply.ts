/**
 * Applying 1,000 objects to a real kube-apiserver: the plugin's InventoryApplier (server-side apply,
 * dry-run diff, inventory in SQLite) against `kubectl apply --server-side` on the same objects, in the
 * same run, on the same API server: first the create, then an unchanged re-apply.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/kube-apply.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import {
  InventoryApplier,
  KubernetesObject,
} from '../plugins/image-automation-backend/src/kubernetes';
import { DatabaseInventoryStore } from '../plugins/image-automation-backend/src/store/DatabaseInventoryStore';
import { startKubernetes } from '../test/testbed/kube/kubernetes';

const COUNT = 1000;

/** 1 Namespace, 99 Deployments, 200 Secrets, 700 ConfigMaps. */
function objects(namespace: string): KubernetesObject[] {
  const list: KubernetesObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
  ];
  for (let i = 0; list.length < COUNT; i++) {
    const name = `obj-${String(i).padStart(4, '0')}`;
    if (i < 99) {
      list.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace, labels: { app: name } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              containers: [
                { name: 'app', image: `ghcr.io/acme/${name}:1.0.${i}` },
              ],
            },
          },
        },
      });
    } else if (i < 299) {
      list.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace },
        stringData: { token: `secret-${i}` },
      });
    } else {
      list.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace },
        data: { index: String(i), text: 'x'.repeat(200) },
      });
    }
  }
  return list;
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

async function main() {
  const kube = await startKubernetes();
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'bench-kube-'));
  try {
    const store = await DatabaseInventoryStore.create({ knex });
    const applier = new InventoryApplier(store, {
      fieldManager: 'image-automation',
      force: false,
      concurrency: 8,
      clusters: [],
    });
    const cluster = {
      name: 'bench',
      url: kube.url,
      source: 'config' as const,
      auth: { type: 'serviceAccount' as const, token: kube.admin.token },
      caData: kube.caData,
      // Everything, explicitly: empty or missing policy lists allow nothing.
      writePolicy: {
        allowedNamespaces: ['*'],
        allowedKinds: ['*'],
        allowedClusterScopedKinds: ['*'],
        allowedEntities: ['*'],
      },
    };
    const ours = objects('bench-ours');
    const theirs = objects('bench-kubectl');
    const file = path.join(dir, 'objects.json');
    await fs.promises.writeFile(
      file,
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: theirs }),
    );
    const apply = () =>
      applier.apply({
        owner: 'ResourceSet/bench/bench',
        cluster,
        steps: [{ objects: ours }],
        ownerLabels: { 'bench/owner': 'bench' },
      });
    const kubectl = () =>
      kube.kubectl([
        'apply',
        '--server-side',
        '--field-manager=kubectl-bench',
        '-f',
        file,
      ]);

    const [oursCreate, created] = await time(apply);
    const [kubectlCreate] = await time(kubectl);
    const [oursUnchanged, unchanged] = await time(apply);
    const [kubectlUnchanged] = await time(kubectl);
    const count = (r: typeof created, action: string) =>
      r.changes.filter(c => c.action === action).length;
    if (
      count(created, 'created') !== COUNT ||
      count(unchanged, 'unchanged') !== COUNT
    ) {
      throw new Error(
        `unexpected change sets: ${count(created, 'created')} created, ${count(
          unchanged,
          'unchanged',
        )} unchanged`,
      );
    }
    console.log(
      `kube-apply: ${COUNT} objects (1 Namespace, 99 Deployments, 200 Secrets, 700 ConfigMaps), kube-apiserver ${kube.binaries.buildInfo}`,
    );
    console.log(
      `  create:     image-automation ${oursCreate.toFixed(
        0,
      )} ms, kubectl apply --server-side ${kubectlCreate.toFixed(
        0,
      )} ms, ratio ours/kubectl ${(oursCreate / kubectlCreate).toFixed(2)}`,
    );
    console.log(
      `  unchanged:  image-automation ${oursUnchanged.toFixed(
        0,
      )} ms, kubectl apply --server-side ${kubectlUnchanged.toFixed(
        0,
      )} ms, ratio ours/kubectl ${(oursUnchanged / kubectlUnchanged).toFixed(
        2,
      )}`,
    );
    console.log(
      '  (ratio < 1: the plugin is faster; the unchanged re-apply writes nothing on our side, only dry runs)',
    );
  } finally {
    await knex.destroy();
    await fs.promises.rm(dir, { recursive: true, force: true });
    await kube.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
