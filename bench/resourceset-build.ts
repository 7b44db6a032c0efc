/**
 * ResourceSet build: 1,000 permutations × 3 resources (3,000 objects), rendered by
 *  - our builder in-process (`buildResourceSet` + `printObjects`),
 *  - our CLI (`image-automation build rset`, a new Node process each run),
 *  - the real `flux-operator build rset` (built by test/oracles/flux-operator/build.sh),
 * on the same files in the same run. Checks that all three print the same bytes, then
 * prints the median of interleaved runs and the ratios flux-operator / ours.
 *
 * Run from the repository root with scripts/setup.sh sourced:
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/resourceset-build.ts
 */

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildResourceSet,
  printObjects,
  resourceSetFromManifest,
  selectProviders,
  staticProviderFromManifest,
} from '../plugins/image-automation-backend/src/resourceset';
import {
  parseYaml,
  parseYamlDocuments,
} from '../plugins/image-automation-backend/src/golib/yaml';

const ROUNDS = Number(process.env.RSET_BENCH_ROUNDS ?? 5);
const PERMUTATIONS = 1000;
const root = path.resolve(__dirname, '..');

/** Writes the benchmark's ResourceSet and provider manifests into `dir`. */
export function writeFixture(dir: string) {
  const inputs = Array.from(
    { length: PERMUTATIONS },
    (_, i) =>
      `    - tenant: team-${i}\n      replicas: ${
        (i % 5) + 1
      }\n      version: "1.${i}.0"\n`,
  ).join('');
  fs.writeFileSync(
    path.join(dir, 'rset.yaml'),
    `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: tenants
  namespace: apps
spec:
  inputStrategy:
    name: Permute
  inputsFrom:
    - name: podinfo-image
  inputs:
${inputs}  resources:
    - apiVersion: v1
      kind: Namespace
      metadata:
        name: << inputs.tenants.tenant >>
        labels:
          version: << inputs.tenants.version | slugify >>
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: OCIRepository
      metadata:
        name: podinfo
        namespace: << inputs.tenants.tenant >>
      spec:
        interval: 10m
        url: oci://ghcr.io/stefanprodan/charts/podinfo
        ref:
          semver: << inputs.tenants.version | quote >>
    - apiVersion: helm.toolkit.fluxcd.io/v2
      kind: HelmRelease
      metadata:
        name: podinfo
        namespace: << inputs.tenants.tenant >>
        annotations:
          id: << inputs.id | quote >>
      spec:
        interval: 30m
        chartRef:
          kind: OCIRepository
          name: podinfo
        values:
          replicaCount: << inputs.tenants.replicas | int >>
          image:
            tag: "<< inputs.podinfo_image.tag >>@<< inputs.podinfo_image.digest >>"
`,
  );
  fs.writeFileSync(
    path.join(dir, 'providers.yaml'),
    `apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata:
  name: podinfo-image
  namespace: apps
spec:
  type: Static
  defaultValues:
    tag: 6.9.2
    digest: sha256:0b7fa8d4ce14dd3b2c59ec4b1d5a9a2a0bfea0fd6b1c7b54c8bba1b5c2b5b7f1
`,
  );
}

function inProcess(dir: string): string {
  const rset = resourceSetFromManifest(
    parseYaml(fs.readFileSync(path.join(dir, 'rset.yaml'), 'utf8')),
    'default',
  );
  const candidates = parseYamlDocuments(
    fs.readFileSync(path.join(dir, 'providers.yaml'), 'utf8'),
  ).map(d => staticProviderFromManifest(d, rset.metadata.namespace)!);
  const providers = selectProviders(
    rset.metadata.namespace,
    rset.spec.inputsFrom ?? [],
    candidates,
  );
  const result = buildResourceSet({
    resourceSet: rset,
    providers,
    emptyInputsFrom: 'render-without-inputs',
  });
  if (!result.ok) throw new Error(result.error);
  return printObjects(result.steps);
}

function run(cmd: string, args: string[], dir: string): string {
  const r = spawnSync(cmd, args, {
    cwd: dir,
    maxBuffer: 1 << 28,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

function time<T>(f: () => T): { ms: number; value: T } {
  const start = process.hrtime.bigint();
  const value = f();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main() {
  const fluxOperator = execFileSync(
    'bash',
    [path.join(root, 'test/oracles/flux-operator/build.sh')],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).trim();
  const bin = path.join(
    root,
    'plugins/image-automation-backend/bin/image-automation',
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rset-bench-'));
  try {
    writeFixture(dir);
    const args = [
      'build',
      'rset',
      '-f',
      'rset.yaml',
      '--inputs-from-provider',
      'providers.yaml',
    ];
    const times = {
      inProcess: [] as number[],
      cli: [] as number[],
      go: [] as number[],
    };
    let reference: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const go = time(() => run(fluxOperator, args, dir));
      const ours = time(() => inProcess(dir));
      const cli = time(() => run(process.execPath, [bin, ...args], dir));
      reference ??= go.value;
      if (ours.value !== reference || cli.value !== reference) {
        throw new Error('outputs differ from flux-operator build rset');
      }
      times.go.push(go.ms);
      times.inProcess.push(ours.ms);
      times.cli.push(cli.ms);
    }
    const objects = (reference!.match(/^---$/gm) ?? []).length;
    const go = median(times.go);
    const ip = median(times.inProcess);
    const cli = median(times.cli);
    console.log(
      `resourceset-build: ${PERMUTATIONS} permutations × 3 resources = ${objects} objects, identical output, median of ${ROUNDS}`,
    );
    console.log(`  flux-operator build rset   ${go.toFixed(0)} ms`);
    console.log(
      `  ours in-process            ${ip.toFixed(
        0,
      )} ms   ratio flux-operator/ours ${(go / ip).toFixed(2)}`,
    );
    console.log(
      `  ours CLI (new process)     ${cli.toFixed(
        0,
      )} ms   ratio flux-operator/ours ${(go / cli).toFixed(2)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) main();
