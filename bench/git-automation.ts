/**
 * One ImageUpdateAutomation over a repository of 1,000 YAML files with 50 markers (clone,
 * apply setters, commit, push to the test bed's Git server over smart HTTP with Basic auth)
 * vs a shell script doing the same edits with the git CLI (`git clone --depth 1`, `sed -i` on
 * the 50 marked files, `git commit -a`, `git push`), in the same run. Cold: each round gets fresh
 * copies of the repository for both and the automation clones (no warm clones); warm (issue #16):
 * one repository each, the automation keeps its warm clone between rounds (fetch + reset) while the
 * script still clones every round; each round moves the image one version on. 5 interleaved
 * rounds of each, medians compared.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/git-automation.ts
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WarmClones } from '../plugins/image-automation-backend/src/git/warmClones';
import { startGitServer } from '../test/testbed';
import {
  automation,
  GIT_PASSWORD,
  ready,
  startAutomationHarness,
} from '../test/src/git/automationHarness';

const execFileAsync = promisify(execFile);
const FILES = 1000;
const MARKERS = 50;
const ROUNDS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function repositoryFiles(): {
  files: Record<string, string>;
  marked: string[];
} {
  const files: Record<string, string> = {};
  const marked: string[] = [];
  const every = FILES / MARKERS;
  for (let i = 0; i < FILES; i++) {
    const name = `clusters/prod/app-${String(i).padStart(4, '0')}.yaml`;
    if (i % every === 0) {
      marked.push(name);
      files[name] = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "apps:web"}
          ports:
            - containerPort: 8080
`;
    } else {
      files[name] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-${i}
  namespace: apps
data:
  index: "${i}"
  note: plain configuration without markers
`;
    }
  }
  return { files, marked };
}

const CLI_SCRIPT = `set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone --quiet --depth 1 --branch main "$URL" "$dir/repo"
cd "$dir/repo"
while read -r file; do
  sed -i "s|ghcr.io/acme/web:$FROM #|ghcr.io/acme/web:$TO #|" "$file"
done < "$MARKED"
git -c user.name=bench -c user.email=bench@example.com commit --quiet -a -m "Update from image update automation"
git push --quiet origin HEAD:refs/heads/main
`;

async function main() {
  const git = await startGitServer({ users: { git: GIT_PASSWORD } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-git-'));
  try {
    const { files, marked } = repositoryFiles();
    const markedList = path.join(work, 'marked.txt');
    fs.writeFileSync(markedList, `${marked.join('\n')}\n`);
    const auth = `Authorization: Basic ${Buffer.from(
      `git:${GIT_PASSWORD}`,
    ).toString('base64')}`;
    const ours: number[] = [];
    const cli: number[] = [];
    /** The script over one repository; returns its time in ms. */
    const script = async (repo: string, from: string, to: string) => {
      const started = process.hrtime.bigint();
      // Asynchronously: the Git server runs in this process and must keep answering.
      await execFileAsync('bash', ['-c', CLI_SCRIPT], {
        env: {
          ...process.env,
          URL: git.url(repo),
          MARKED: markedList,
          FROM: from,
          TO: to,
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_COUNT: '1',
          GIT_CONFIG_KEY_0: 'http.extraHeader',
          GIT_CONFIG_VALUE_0: auth,
        },
      });
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const sameTrees = async (a: string, b: string, round: string) => {
      const ta = (await git.git(a, ['rev-parse', 'main^{tree}'])).trim();
      const tb = (await git.git(b, ['rev-parse', 'main^{tree}'])).trim();
      if (ta !== tb)
        throw new Error(
          `round ${round}: the automation and the script produced different trees`,
        );
      const changed = (
        await git.git(a, ['diff', '--name-only', 'main~1', 'main'])
      )
        .trim()
        .split('\n');
      if (changed.length !== MARKERS)
        throw new Error(
          `round ${round}: ${changed.length} files changed, expected ${MARKERS}`,
        );
    };
    for (let round = 0; round < ROUNDS; round++) {
      await git.createRepository(`ours-${round}`, files);
      await git.createRepository(`cli-${round}`, files);

      // Cold: no warm clones, every run clones.
      const harness = await startAutomationHarness({
        git,
        repo: `ours-${round}`,
      });
      try {
        await harness.declare({
          web: { name: 'ghcr.io/acme/web', tag: '1.1.0' },
        });
        const started = process.hrtime.bigint();
        const result = await harness.run(automation('bench'));
        ours.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (ready(result)?.status !== 'True')
          throw new Error(`automation failed: ${ready(result)?.message}`);
      } finally {
        await harness.stop();
      }

      cli.push(await script(`cli-${round}`, '1.0.0', '1.1.0'));

      // Both must have produced the same tree.
      await sameTrees(`ours-${round}`, `cli-${round}`, String(round));
    }

    // Warm: one repository each; the automation's first run clones (not timed), later ones fetch.
    await git.createRepository('ours-warm', files);
    await git.createRepository('cli-warm', files);
    const cacheDir = fs.mkdtempSync(path.join(work, 'clones-'));
    const clones = new WarmClones({ directory: cacheDir });
    const warm: number[] = [];
    const warmCli: number[] = [];
    const harness = await startAutomationHarness({
      git,
      repo: 'ours-warm',
      clones,
    });
    try {
      const tag = (round: number) => `1.${round + 1}.0`;
      await harness.declare({ web: { name: 'ghcr.io/acme/web', tag: tag(0) } });
      const first = await harness.run(automation('bench'));
      if (ready(first)?.status !== 'True')
        throw new Error(`automation failed: ${ready(first)?.message}`);
      await script('cli-warm', '1.0.0', tag(0));
      await sameTrees('ours-warm', 'cli-warm', 'warm-up');
      for (let round = 1; round <= ROUNDS; round++) {
        await harness.declare({
          web: { name: 'ghcr.io/acme/web', tag: tag(round) },
        });
        const started = process.hrtime.bigint();
        const result = await harness.run(automation('bench'));
        warm.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (ready(result)?.status !== 'True')
          throw new Error(`automation failed: ${ready(result)?.message}`);
        warmCli.push(await script('cli-warm', tag(round - 1), tag(round)));
        await sameTrees('ours-warm', 'cli-warm', `warm ${round}`);
      }
      if (clones.cloned !== 1 || clones.reused !== ROUNDS) {
        throw new Error(
          `warm clones: ${clones.cloned} clones and ${clones.reused} reuses, expected 1 and ${ROUNDS}`,
        );
      }
    } finally {
      await harness.stop();
      await clones.close();
    }
    const o = median(ours);
    const c = median(cli);
    console.log(
      `repository: ${FILES} YAML files, ${MARKERS} markers; ${ROUNDS} interleaved rounds, identical trees`,
    );
    console.log(
      `automation (clone, setters, commit, push): median ${o.toFixed(
        0,
      )} ms  [${ours.map(x => x.toFixed(0)).join(', ')}]`,
    );
    console.log(
      `git CLI script (clone, sed, commit, push):  median ${c.toFixed(
        0,
      )} ms  [${cli.map(x => x.toFixed(0)).join(', ')}]`,
    );
    console.log(`ratio automation / git CLI: ${(o / c).toFixed(2)}`);
    const w = median(warm);
    const wc = median(warmCli);
    console.log(
      `warm clone (fetch, reset, setters, commit, push): median ${w.toFixed(
        0,
      )} ms  [${warm.map(x => x.toFixed(0)).join(', ')}]`,
    );
    console.log(
      `git CLI script, same rounds (clone each time):     median ${wc.toFixed(
        0,
      )} ms  [${warmCli.map(x => x.toFixed(0)).join(', ')}]`,
    );
    console.log(
      `ratio warm automation / git CLI: ${(w / wc).toFixed(
        2,
      )} (issue #16 target ≤ 0.5)`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    await git.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
