/**
 * A `GiteaPullRequest` provider over 500 open pull requests on a real Gitea (test bed, built from
 * the Go module proxy by test/testbed/build-gitea.sh) vs the same listing paged with `curl`, in
 * the same run. Gitea cuts `limit=100` to its `[api] MAX_RESPONSE_ITEMS` (default 50), so both
 * read 10 pages and follow `Link: rel="next"` to the end.
 *
 * Ours: the plugin's `giteaPullRequestSource` in-process (host allow-list, named credential,
 * paging, JSON parsing, filters, inputs), `filter.limit: 1000` so that every pull request is
 * exported. The peer: a bash loop of `curl` (a new process per page, headers to a file, the
 * body kept, stop when there is no next page), what a shell script would do. Rounds are
 * interleaved; medians are compared. `PULLS` (500) and `ROUNDS` (7) size it.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/gitea-pull-requests.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { NamedCredentials } from '../plugins/image-automation-backend/src/credentials/NamedCredentials';
import { giteaPullRequestSource } from '../plugins/image-automation-backend/src/inputs/sources/gitea';
import { startGitea } from '../test/testbed';

const PULLS = Number(process.env.PULLS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const CURL_SCRIPT = `
set -euo pipefail
url="$1"; token="$2"; dir="$3"; page=1; total=0
while :; do
  curl -sS --fail -H "Authorization: token $token" -H 'Accept: application/json' \\
    -D "$dir/headers" -o "$dir/page-$page.json" "$url?state=open&page=$page&limit=100"
  count=$(grep -o '"number":' "$dir/page-$page.json" | wc -l)
  total=$((total + count))
  grep -qi '^link:.*rel="next"' "$dir/headers" || break
  page=$((page + 1))
done
echo "$total $page"
`;

async function main() {
  const setupStarted = Date.now();
  const gitea = await startGitea();
  try {
    const repo = await gitea.createRepository('bench');
    const branches = Array.from(
      { length: PULLS },
      (_, i) => `pr-${String(i).padStart(4, '0')}`,
    );
    await gitea.pushBranches(repo, branches);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < branches.length) {
          const head = branches[next++];
          await gitea.createPullRequest(repo, {
            head,
            title: `Bench ${head}`,
            labels: next % 2 ? ['preview'] : [],
          });
        }
      }),
    );
    console.log(
      `Gitea ${gitea.version}: ${PULLS} open pull requests created in ${(
        (Date.now() - setupStarted) /
        1000
      ).toFixed(1)} s`,
    );

    const config = new ConfigReader({
      imageAutomation: {
        inputProviders: {
          allowedHosts: [gitea.host],
          insecureHosts: [gitea.host],
        },
        credentials: {
          gitea: {
            type: 'token',
            token: gitea.adminToken,
            hosts: [gitea.host],
            allowedEntities: ['component:default/bench'],
          },
        },
      },
    });
    const credentials = NamedCredentials.fromConfig(config);
    const ours = async () => {
      const started = process.hrtime.bigint();
      const result = await giteaPullRequestSource({
        provider: {
          namespace: 'bench',
          name: 'pulls',
          entityRef: 'component:default/bench',
        },
        spec: {
          type: 'GiteaPullRequest',
          url: repo.url,
          secretRef: { name: 'gitea' },
          filter: { limit: 1000 },
        },
        previous: undefined,
        credentials,
        config,
        deadline: Date.now() + 120_000,
        now: new Date(),
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (!result.ok) throw new Error(`ours failed: ${result.message}`);
      if (result.inputs.length !== PULLS)
        throw new Error(
          `ours exported ${result.inputs.length}, expected ${PULLS}`,
        );
      return ms;
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gitea-curl-'));
    const script = path.join(dir, 'list.sh');
    fs.writeFileSync(script, CURL_SCRIPT);
    let pages = 0;
    const curl = () => {
      const started = process.hrtime.bigint();
      const run = spawnSync(
        'bash',
        [
          script,
          `${gitea.url}/api/v1/repos/${repo.fullName}/pulls`,
          gitea.adminToken,
          dir,
        ],
        { encoding: 'utf8' },
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (run.status !== 0) throw new Error(`curl loop failed: ${run.stderr}`);
      const [count, pageCount] = run.stdout.trim().split(' ').map(Number);
      if (count !== PULLS)
        throw new Error(`curl listed ${count}, expected ${PULLS}`);
      pages = pageCount;
      return ms;
    };

    // One warm-up each (Gitea's caches, the TS transform's first compile of the source).
    await ours();
    curl();
    const oursMs: number[] = [];
    const curlMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      oursMs.push(await ours());
      curlMs.push(curl());
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const o = median(oursMs);
    const c = median(curlMs);
    console.log(`pages per listing: ${pages} (Gitea's MAX_RESPONSE_ITEMS 50)`);
    console.log(
      `ours (GiteaPullRequest source): median ${o.toFixed(0)} ms  [${oursMs
        .map(v => v.toFixed(0))
        .join(', ')}]`,
    );
    console.log(
      `curl (bash loop, a process per page): median ${c.toFixed(
        0,
      )} ms  [${curlMs.map(v => v.toFixed(0)).join(', ')}]`,
    );
    console.log(`ratio ours/curl: ${(o / c).toFixed(2)}`);
  } finally {
    await gitea.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
