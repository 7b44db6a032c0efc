/*
 * The local sandbox behind `scripts/start.sh --sandbox` (see sandboxWorld.ts for what it holds):
 * starts it, writes the catalog, manifests, an app-config overlay and state.json into OUT_DIR,
 * and runs until interrupted; then stops the registry, Git server, kube-apiserver and etcd and
 * removes OUT_DIR.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs test/testbed/sandbox.ts OUT_DIR
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startSandbox, writeSandboxState } from './sandboxWorld';

/** The demo's public registries (app-config.yaml), kept next to the sandbox's. */
const DEMO_REGISTRIES = ['ghcr.io', 'docker.io', 'auth.docker.io'];

async function main(outDir: string) {
  const say = (line: string) => process.stdout.write(`[sandbox] ${line}\n`);
  // Whatever happens from here on, the written data goes with this process.
  process.on('exit', () => fs.rmSync(outDir, { recursive: true, force: true }));
  const sandbox = await startSandbox({ log: say });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(
      `${signal}: stopping the registry, the Git server, kube-apiserver and etcd…`,
    );
    await sandbox.stop().catch(() => {});
    fs.rmSync(outDir, { recursive: true, force: true });
    say('stopped; temporary data removed');
    process.exit(0);
  };
  // Before the test bed's own handlers act (they kill synchronously and re-raise the signal).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependListener(signal, () => void stop(signal));
  }

  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, content] of Object.entries(sandbox.files)) {
    fs.writeFileSync(path.join(outDir, name), content);
  }
  const config = sandbox.imageAutomationConfig;
  const overlay = {
    // A database of its own, removed with the sandbox: its registry, Git server and cluster get
    // new ports every start, and nothing of them should outlive it in .data/sqlite.
    backend: {
      database: {
        client: 'better-sqlite3',
        connection: { directory: path.join(outDir, 'sqlite') },
      },
    },
    catalog: {
      // Replaces app-config.yaml's list (lists are not merged): the demo catalog and the sandbox's.
      locations: [
        { type: 'file', target: '../../examples/entities.yaml' },
        { type: 'file', target: path.join(outDir, 'catalog.yaml') },
      ],
    },
    imageAutomation: {
      ...config,
      fileRoots: ['../../examples', outDir],
      allowedRegistries: [...DEMO_REGISTRIES, ...config.allowedRegistries],
    },
  };
  const state = writeSandboxState(outDir, sandbox);
  // Written last and renamed into place: start.sh starts the backend as soon as it exists.
  const overlayFile = path.join(outDir, 'app-config.sandbox.yaml');
  fs.writeFileSync(
    `${overlayFile}.tmp`,
    `# Written by the sandbox (test/testbed/sandbox.ts); removed when it stops.\n${YAML.stringify(
      overlay,
    )}`,
    { mode: 0o600 },
  );
  fs.renameSync(`${overlayFile}.tmp`, overlayFile);

  say(
    `registry:   ${state.registryUrl} (stefanprodan/podinfo, stefanprodan/charts/podinfo, library/redis)`,
  );
  say(`git:        git clone ${state.gitUrl}   (the automations push to main)`);
  say(
    `cluster:    ${state.kubeUrl}   (kubectl --kubeconfig ${state.kubeconfig} get helmreleases -A)`,
  );
  say(
    `catalog:    podinfo-staging, podinfo-production (Git) and podinfo-gitless (cluster), in ${outDir}`,
  );
  say(
    'push a new version: scripts/sandbox-push.sh podinfo 6.9.0 (also: chart, redis)',
  );
  setInterval(() => {}, 1 << 30);
}

main(path.resolve(process.argv[2] ?? '.data/sandbox')).catch(error => {
  process.stderr.write(`[sandbox] failed: ${error?.stack ?? error}\n`);
  process.exit(1);
});
