/**
 * A fleet scan: 200 repositories of 500 tags each on one real distribution v3 registry, scanned
 * by one shared RegistryClient with 16 scans in flight (the client keeps to its own per-registry
 * limit of 8 requests). Prints repositories per second and the process's peak RSS, and the same
 * scan by `crane ls` processes (16 at a time) in the same run for reference.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/fleet-scan.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  parseImageReference,
  RegistryClient,
} from '../plugins/image-automation-backend/src/registry';
import { addTags, pushImage, startRegistry } from '../test/testbed';

const REPOSITORIES = Number(process.env.FLEET_REPOSITORIES ?? 200);
const TAGS = 500;
const PARALLEL = 16;

async function pool<T>(
  items: T[],
  limit: number,
  run: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        await run(items[next++]);
      }
    }),
  );
}

function craneLs(crane: string, image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(crane, ['ls', '--insecure', image], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.on('close', code =>
      code === 0
        ? resolve(out.trim().split('\n').length)
        : reject(new Error(`crane ls ${image} failed`)),
    );
  });
}

async function main() {
  const crane = execFileSync(
    path.join(__dirname, '../test/testbed/build-crane.sh'),
    { encoding: 'utf8' },
  ).trim();
  const registry = await startRegistry({ version: 'v3' });
  try {
    const seedStarted = Date.now();
    const names = Array.from(
      { length: REPOSITORIES },
      (_, i) => `fleet/app-${String(i).padStart(3, '0')}`,
    );
    const image = await pushImage(registry, names[0], ['seed']);
    await addTags(
      registry,
      names[0],
      image.digest,
      Array.from({ length: TAGS - 1 }, (_, i) => `1.0.${i}`),
    );
    // The other repositories are symbolic links to the first one's storage: the registry reads
    // them as separate repositories, and seeding takes no time (copying 200 x 2,000 tiny
    // directories takes minutes).
    const repositories = path.join(
      registry.storageDir,
      'docker/registry/v2/repositories',
    );
    for (const name of names.slice(1)) {
      await fs.promises.symlink(
        path.join(repositories, names[0]),
        path.join(repositories, name),
      );
    }
    console.log(
      `fleet-scan: seeded ${REPOSITORIES} repositories x ${TAGS} tags in ${(
        (Date.now() - seedStarted) /
        1000
      ).toFixed(1)} s`,
    );

    const rssBefore = process.memoryUsage().rss;
    const client = new RegistryClient();
    let tags = 0;
    let requests = 0;
    const started = Date.now();
    await pool(names, PARALLEL, async name => {
      const result = await client.listTags(
        parseImageReference(`${registry.host}/${name}`),
      );
      if (result.tags.length !== TAGS) {
        throw new Error(`${name}: ${result.tags.length} tags`);
      }
      tags += result.tags.length;
      requests += result.requests;
    });
    const seconds = (Date.now() - started) / 1000;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;

    const craneStarted = Date.now();
    await pool(names, PARALLEL, async name => {
      const count = await craneLs(crane, `${registry.host}/${name}`);
      if (count !== TAGS) {
        throw new Error(`crane ls ${name}: ${count} tags`);
      }
    });
    const craneSeconds = (Date.now() - craneStarted) / 1000;

    console.log(
      `  ours: ${REPOSITORIES} repositories (${tags} tags, ${requests} requests) in ${seconds.toFixed(
        2,
      )} s = ${(REPOSITORIES / seconds).toFixed(0)} repositories/s`,
    );
    console.log(
      `  peak RSS ${peakRssMb.toFixed(0)} MiB (RSS before the scan ${(
        rssBefore /
        1024 /
        1024
      ).toFixed(0)} MiB)`,
    );
    console.log(
      `  crane ls x ${PARALLEL} processes: ${craneSeconds.toFixed(2)} s = ${(
        REPOSITORIES / craneSeconds
      ).toFixed(0)} repositories/s`,
    );
    console.log(
      `  ratio ours/crane (time) ${(seconds / craneSeconds).toFixed(2)}`,
    );
  } finally {
    await registry.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
