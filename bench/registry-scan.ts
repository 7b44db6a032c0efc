/**
 * Listing the tags of a 10,000-tag repository on a real distribution v3 registry: the plugin's
 * RegistryClient against `crane ls` (go-containerregistry, what Flux uses) and `skopeo list-tags`,
 * in the same run, on the same registry. Each tool runs 7 times; the medians are compared.
 * Ours is timed in-process with a fresh client per run (new connections, nothing cached); the
 * peers are timed as processes, which includes their start-up (a few ms for Go binaries; printed).
 * The tools differ in how they page: crane (like Flux) asks for `n=1000`, and distribution v3
 * then walks its tag directory once per page; skopeo sends no `n` and gets every tag in one
 * answer. Ours runs both ways: the default (`n=1000`, as Flux) and `pageSize: null`.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/registry-scan.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  parseImageReference,
  RegistryClient,
} from '../plugins/image-automation-backend/src/registry';
import { addTags, pushImage, startRegistry } from '../test/testbed';

const TAGS = 10_000;
const RUNS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeProcess(
  command: string,
  args: string[],
  expectTags: number,
): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} failed: ${result.stderr}`);
  }
  const count = command.endsWith('skopeo')
    ? JSON.parse(result.stdout).Tags.length
    : result.stdout.trim().split('\n').length;
  if (count !== expectTags) {
    throw new Error(`${command} listed ${count} tags, expected ${expectTags}`);
  }
  return ms;
}

async function main() {
  const crane = execFileSync(
    path.join(__dirname, '../test/testbed/build-crane.sh'),
    { encoding: 'utf8' },
  ).trim();
  const registry = await startRegistry({ version: 'v3' });
  try {
    const image = await pushImage(registry, 'bench/app', ['seed']);
    await addTags(
      registry,
      'bench/app',
      image.digest,
      Array.from(
        { length: TAGS - 1 },
        (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`,
      ),
    );
    const ref = parseImageReference(`${registry.host}/bench/app`);

    const ours: number[] = [];
    const oursWhole: number[] = [];
    let requests = 0;
    const craneTimes: number[] = [];
    const skopeoTimes: number[] = [];
    const craneVersion: number[] = [];
    // Warm the registry's file cache and each tool once, then interleave the runs.
    await new RegistryClient().listTags(ref);
    timeProcess(
      crane,
      ['ls', '--insecure', `${registry.host}/bench/app`],
      TAGS,
    );
    timeProcess(
      'skopeo',
      [
        'list-tags',
        '--tls-verify=false',
        `docker://${registry.host}/bench/app`,
      ],
      TAGS,
    );
    for (let run = 0; run < RUNS; run++) {
      const started = process.hrtime.bigint();
      const result = await new RegistryClient().listTags(ref);
      ours.push(Number(process.hrtime.bigint() - started) / 1e6);
      requests = result.requests;
      if (result.tags.length !== TAGS) {
        throw new Error(`RegistryClient listed ${result.tags.length} tags`);
      }
      const whole = process.hrtime.bigint();
      const all = await new RegistryClient({ pageSize: null }).listTags(ref);
      oursWhole.push(Number(process.hrtime.bigint() - whole) / 1e6);
      if (all.tags.length !== TAGS || all.requests !== 1) {
        throw new Error(
          `RegistryClient (pageSize null) listed ${all.tags.length} tags in ${all.requests} requests`,
        );
      }
      craneTimes.push(
        timeProcess(
          crane,
          ['ls', '--insecure', `${registry.host}/bench/app`],
          TAGS,
        ),
      );
      skopeoTimes.push(
        timeProcess(
          'skopeo',
          [
            'list-tags',
            '--tls-verify=false',
            `docker://${registry.host}/bench/app`,
          ],
          TAGS,
        ),
      );
      const s = process.hrtime.bigint();
      spawnSync(crane, ['version']);
      craneVersion.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    const [o, w, c, k] = [
      median(ours),
      median(oursWhole),
      median(craneTimes),
      median(skopeoTimes),
    ];
    const fastest = Math.min(c, k);
    console.log(
      `registry-scan: ${TAGS} tags, distribution v3 at ${registry.host}, median of ${RUNS} runs`,
    );
    console.log(
      `  ours (RegistryClient, n=1000, ${requests} requests): ${o.toFixed(
        1,
      )} ms`,
    );
    console.log(`  ours (pageSize: null, 1 request):      ${w.toFixed(1)} ms`);
    console.log(
      `  crane ls:                ${c.toFixed(
        1,
      )} ms (of which process start-up ~${median(craneVersion).toFixed(1)} ms)`,
    );
    console.log(`  skopeo list-tags:        ${k.toFixed(1)} ms`);
    console.log(
      `  same paging: ours(n=1000)/crane ${(o / c).toFixed(
        2,
      )}, ours(no n)/skopeo ${(w / k).toFixed(2)}`,
    );
    console.log(
      `  ours default/faster peer ${(o / fastest).toFixed(
        2,
      )}, ours best/faster peer ${(Math.min(o, w) / fastest).toFixed(
        2,
      )} (target <= 1.20)`,
    );
  } finally {
    await registry.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
