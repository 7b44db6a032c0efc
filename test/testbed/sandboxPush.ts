/*
 * `scripts/sandbox-push.sh IMAGE TAG…`: pushes new tags into the registry of the running sandbox
 * (`scripts/start.sh --sandbox`), found through `<SANDBOX_DIR or .data/sandbox>/state.json`.
 * IMAGE is `podinfo` (stefanprodan/podinfo), `chart` (the podinfo Helm chart,
 * stefanprodan/charts/podinfo) or `redis` (library/redis).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  pushSandboxTag,
  SANDBOX_REPOSITORIES,
  SandboxImage,
  SandboxState,
} from './sandboxWorld';

const USAGE = `usage: scripts/sandbox-push.sh IMAGE TAG...
  IMAGE: ${Object.entries(SANDBOX_REPOSITORIES)
    .map(([name, r]) => `${name} (${r.repository})`)
    .join(', ')}
  e.g. scripts/sandbox-push.sh podinfo 6.9.0`;

/** OCI distribution's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function fail(message: string): never {
  process.stderr.write(`sandbox-push: ${message}\n`);
  process.exit(2);
}

async function main(args: string[]) {
  const [name, ...tags] = args;
  if (!name || tags.length === 0 || name === '--help' || name === '-h')
    fail(USAGE);
  const image = (name === 'podinfo-chart' ? 'chart' : name) as SandboxImage;
  if (!(image in SANDBOX_REPOSITORIES))
    fail(`unknown image '${name}'\n${USAGE}`);
  for (const tag of tags) {
    if (!TAG.test(tag))
      fail(`'${tag}' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  }
  const dir = path.resolve(process.env.SANDBOX_DIR ?? '.data/sandbox');
  const stateFile = path.join(dir, 'state.json');
  let state: SandboxState;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    fail(
      `no running sandbox: ${stateFile} is missing (start one with scripts/start.sh --sandbox)`,
    );
  }
  try {
    process.kill(state.pid, 0);
  } catch {
    fail(
      `the sandbox of ${stateFile} (pid ${state.pid}) is not running any more`,
    );
  }
  const { repository } = SANDBOX_REPOSITORIES[image];
  for (const tag of tags) {
    const digest = await pushSandboxTag(
      { host: state.registryHost, url: state.registryUrl },
      image,
      tag,
    );
    process.stdout.write(
      `pushed ${state.registryHost}/${repository}:${tag} (${digest})\n`,
    );
  }
  process.stdout.write(
    `The sandbox scans every ${state.scanIntervalSeconds} s; press "Scan now" (Git entities) or "Reconcile all" (podinfo-gitless) on the Image updates tab to scan at once.\n`,
  );
}

main(process.argv.slice(2)).catch(error => {
  process.stderr.write(`sandbox-push: ${error?.message ?? error}\n`);
  process.exit(1);
});
