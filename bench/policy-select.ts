/**
 * ImagePolicy selection over 100,000 tags — semver, semver with filterTags (pattern and
 * extract), numerical — against the Go oracle (real Masterminds/semver, Go regexp/strconv,
 * Flux's selection loops) on the same input in the same run. Prints ms per selection and
 * the ratio TypeScript / Go (target: ≤ 2).
 *
 * Run from the repository root:
 *   source scripts/setup.sh
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/policy-select.ts
 */

import { runSemverOracle } from '../plugins/image-automation-backend/src/golib/__testUtils__/semverOracle';
import { seededRandom } from '../plugins/image-automation-backend/src/golib/__testUtils__/seededRandom';
import {
  selectLatestTag,
  sortTagsAsStored,
} from '../plugins/image-automation-backend/src/policy';
import type { SelectLatestTagArgs } from '../plugins/image-automation-backend/src/policy';

const TAGS = 100_000;
const ROUNDS = 5;
const rnd = seededRandom(42);
const int = (n: number) => Math.floor(rnd() * n);

/**
 * The tags as the engine gets them: decoded from storage in stored order, like the Go oracle
 * decodes them from JSON. (Sorting strings created in random order leaves them scattered in
 * memory, which measures cache misses rather than selection.)
 */
function fromStorage(tags: string[]): string[] {
  return JSON.parse(JSON.stringify(tags));
}

function releaseTags(): string[] {
  const tags = new Set<string>();
  while (tags.size < TAGS) {
    const v = `${int(30)}.${int(60)}.${int(120)}`;
    const roll = rnd();
    if (roll < 0.45) tags.add(`v${v}`);
    else if (roll < 0.65) tags.add(`${v}-rc.${int(9)}`);
    else if (roll < 0.8) tags.add(`main-${v}-${int(1e6).toString(16)}`);
    else if (roll < 0.95)
      tags.add(`sha-${int(2 ** 31).toString(16)}${int(2 ** 31).toString(16)}`);
    else tags.add(`${v}`);
  }
  return fromStorage(sortTagsAsStored([...tags]));
}

function numericTags(): string[] {
  const tags = new Set<string>();
  while (tags.size < TAGS) tags.add(String(1_600_000_000 + int(200_000_000)));
  return fromStorage(sortTagsAsStored([...tags]));
}

function measureTs(
  args: SelectLatestTagArgs,
  iterations: number,
): { ms: number; tag: string } {
  const first = selectLatestTag(args);
  for (let i = 0; i < 3; i++) selectLatestTag(args); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) selectLatestTag(args);
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  return {
    ms: ns / 1e6,
    tag: first.ok ? first.tag : `error: ${first.message}`,
  };
}

async function measureGo(args: SelectLatestTagArgs, iterations: number) {
  const out = await runSemverOracle(
    'bench',
    `${JSON.stringify({ id: 0, ...args, iterations })}\n`,
  );
  const res = JSON.parse(out);
  return { ms: res.nsPerOp / 1e6, tag: res.tag ?? `error: ${res.error}` };
}

async function main() {
  const releases = releaseTags();
  const cases: Array<[string, SelectLatestTagArgs]> = [
    [
      'semver >=1.0.0 <20.0.0',
      { policy: { semver: { range: '>=1.0.0 <20.0.0' } }, tags: releases },
    ],
    [
      'semver ^5.x-0 + filterTags extract',
      {
        policy: { semver: { range: '^5.x-0' } },
        filterTags: {
          pattern: '^main-(?P<version>[0-9.]+)-[0-9a-f]+$',
          extract: '$version',
        },
        tags: releases,
      },
    ],
    [
      'numerical asc',
      { policy: { numerical: { order: 'asc' } }, tags: numericTags() },
    ],
  ];
  const iterations = 20;
  console.log(
    `ImagePolicy selection over ${TAGS} tags: best of ${ROUNDS} rounds of ${iterations} selections per side`,
  );
  let worst = 0;
  for (const [name, args] of cases) {
    // Alternate the two sides and keep each one's best round: the machine is shared, and
    // the best round is the least disturbed one.
    let go = await measureGo(args, iterations);
    let ts = measureTs(args, iterations);
    for (let round = 1; round < ROUNDS; round++) {
      const g = await measureGo(args, iterations);
      const t = measureTs(args, iterations);
      if (g.ms < go.ms) go = g;
      if (t.ms < ts.ms) ts = t;
    }
    if (ts.tag !== go.tag)
      throw new Error(`${name}: TypeScript selected ${ts.tag}, Go ${go.tag}`);
    const ratio = ts.ms / go.ms;
    worst = Math.max(worst, ratio);
    console.log(
      `${name.padEnd(38)} ts ${ts.ms.toFixed(2).padStart(7)} ms   go ${go.ms
        .toFixed(2)
        .padStart(7)} ms   ratio ${ratio.toFixed(2)}   (selected ${ts.tag})`,
    );
  }
  console.log(`worst ratio ${worst.toFixed(2)} (target ≤ 2.00)`);
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
