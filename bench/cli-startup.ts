/**
 * The `image-automation` CLI as an installed package runs it: the bundle dist/cli.cjs.js (built
 * here by `scripts/build-cli.js`), started through bin/image-automation with
 * IMAGE_AUTOMATION_CLI=built, a new Node process per run.
 *
 *  1. Start-up of every offline command on small inputs (`policy select`, `rsip tags`,
 *     `image canonical`, `template render`, `setters apply --dry-run`, `build rset` of one
 *     object, `--help`): median wall time of ROUNDS runs each, against a bare `node -e 0` (the
 *     floor no Node tool goes below) and the same command through the TypeScript transform.
 *     Target: every command < 150 ms. The first run after a build, with an empty compile cache,
 *     is printed too.
 *  2. `build rset` of resourceset-build.ts's fixture (1,000 permutations × 3 resources) by the
 *     bundle vs the real `flux-operator build rset` (v0.58.0, test/oracles/flux-operator/build.sh),
 *     outputs checked byte-identical, interleaved, medians and the ratio flux-operator/ours
 *     (target ≥ 3).
 *
 * Run from the repository root with scripts/setup.sh sourced:
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/cli-startup.ts
 */

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFixture } from './resourceset-build';

const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 15);
const BUILD_ROUNDS = Number(process.env.RSET_BENCH_ROUNDS ?? 5);
const root = path.resolve(__dirname, '..');
const backend = path.join(root, 'plugins/image-automation-backend');
const bin = path.join(backend, 'bin/image-automation');

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string },
) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    ...options,
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`,
    );
  return { ms, stdout: r.stdout };
}

function writeSmallInputs(dir: string) {
  const files: Record<string, string> = {
    'policy.yaml':
      'apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: { name: web, namespace: apps }\nspec:\n  imageRepositoryRef: { name: web }\n  policy: { semver: { range: ">=1.0.0" } }\n',
    'tags.txt': '1.0.0\n1.2.0\n1.10.0\nlatest\n',
    'rsip.yaml': 'filter:\n  semver: ">=1.0.0"\n  limit: 2\n',
    'template.txt': 'name: << inputs.name | slugify >>\n',
    'inputs.json': '{"name":"Hello World"}',
    'refs.yaml': 'web: { name: ghcr.io/org/web, tag: 1.2.0 }\n',
    'deploy/app.yaml':
      'image: ghcr.io/org/web:1.0.0 # {"$imagepolicy": "apps:web"}\n',
    'rset.yaml':
      'apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: { name: one, namespace: apps }\nspec:\n  inputs:\n    - { name: a }\n  resources:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata: { name: << inputs.name >>, namespace: apps }\n',
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}

const COMMANDS: Array<[string, string[]]> = [
  [
    'policy select',
    ['policy', 'select', '--policy', 'policy.yaml', '--tags', 'tags.txt'],
  ],
  [
    'rsip tags',
    ['rsip', 'tags', '--filter', 'rsip.yaml', '--tags', 'tags.txt'],
  ],
  ['image canonical', ['image', 'canonical', 'ghcr.io/org/web']],
  [
    'template render',
    [
      'template',
      'render',
      '--template',
      'template.txt',
      '--inputs',
      'inputs.json',
    ],
  ],
  [
    'setters apply',
    [
      'setters',
      'apply',
      '--refs',
      'refs.yaml',
      '--path',
      'deploy',
      '--namespace',
      'apps',
      '--dry-run',
    ],
  ],
  ['build rset (1 object)', ['build', 'rset', '-f', 'rset.yaml']],
  ['--help', ['--help']],
];

function main() {
  execFileSync(process.execPath, [path.join(backend, 'scripts/build-cli.js')], {
    stdio: 'inherit',
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-bench-'));
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-bench-cache-'));
  const built = {
    ...process.env,
    IMAGE_AUTOMATION_CLI: 'built',
    NODE_COMPILE_CACHE: cacheDir,
  };
  const source = {
    ...process.env,
    IMAGE_AUTOMATION_CLI: 'source',
    NODE_COMPILE_CACHE: cacheDir,
  };
  try {
    writeSmallInputs(dir);
    const load = os
      .loadavg()
      .map(l => l.toFixed(1))
      .join(' ');
    console.log(
      `cli-startup: ${
        os.cpus().length
      } cores, load ${load}, median of ${ROUNDS} runs`,
    );
    const cold = run(process.execPath, [bin, ...COMMANDS[0][1]], {
      cwd: dir,
      env: built,
    }).ms;
    const floor: number[] = [];
    const results = COMMANDS.map(([name]) => ({
      name,
      built: [] as number[],
      source: [] as number[],
    }));
    for (let round = 0; round < ROUNDS; round++) {
      floor.push(run(process.execPath, ['-e', '0'], { cwd: dir }).ms);
      COMMANDS.forEach(([, args], i) => {
        results[i].built.push(
          run(process.execPath, [bin, ...args], { cwd: dir, env: built }).ms,
        );
        if (round < 3)
          results[i].source.push(
            run(process.execPath, [bin, ...args], { cwd: dir, env: source }).ms,
          );
      });
    }
    console.log(
      `  node -e 0 (floor)              ${median(floor).toFixed(0)} ms`,
    );
    console.log(
      `  first run, empty compile cache ${cold.toFixed(0)} ms (policy select)`,
    );
    let worst = 0;
    for (const r of results) {
      const ms = median(r.built);
      worst = Math.max(worst, ms);
      const over = (ms - median(floor)).toFixed(0);
      const ts = median(r.source).toFixed(0);
      console.log(
        `  ${r.name.padEnd(30)} ${ms.toFixed(0).padStart(4)} ms built ` +
          `(floor + ${over.padStart(3)} ms)   ${ts.padStart(
            5,
          )} ms TS transform (median of 3)`,
      );
    }
    console.log(
      `  slowest offline command ${worst.toFixed(0)} ms: ${
        worst < 150 ? 'PASS' : 'FAIL'
      } (< 150 ms)`,
    );

    const fluxOperator = execFileSync(
      'bash',
      [path.join(root, 'test/oracles/flux-operator/build.sh')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ).trim();
    writeFixture(dir);
    const args = [
      'build',
      'rset',
      '-f',
      'rset.yaml',
      '--inputs-from-provider',
      'providers.yaml',
    ];
    const go: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < BUILD_ROUNDS; round++) {
      const a = run(fluxOperator, args, { cwd: dir });
      const b = run(process.execPath, [bin, ...args], { cwd: dir, env: built });
      if (a.stdout !== b.stdout)
        throw new Error(
          'the bundle prints other bytes than flux-operator build rset',
        );
      go.push(a.ms);
      ours.push(b.ms);
    }
    const ratio = median(go) / median(ours);
    console.log(
      `build rset, 1,000 permutations × 3 resources, identical output, median of ${BUILD_ROUNDS}`,
    );
    console.log(`  flux-operator build rset   ${median(go).toFixed(0)} ms`);
    console.log(
      `  image-automation (bundle)  ${median(ours).toFixed(
        0,
      )} ms   ratio flux-operator/ours ${ratio.toFixed(2)}: ${
        ratio >= 3 ? 'PASS' : 'FAIL'
      } (≥ 3)`,
    );
    if (worst >= 150 || ratio < 3) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
