/**
 * One ImageUpdateAutomation over a repository of 1,000 YAML files with 50 markers (clone,
 * apply setters, commit, push to the test bed's Git server over smart HTTP with Basic auth)
 * vs a shell script doing the same edits with the git CLI (`git clone --depth 1`, `sed -i` on
 * the 50 marked files, `git commit -a`, `git push`), in the same run. Each round gets fresh
 * copies of the repository for both; 5 interleaved rounds, medians compared.
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs bench/git-automation.ts
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGitServer } from '../test/testbed';
import { automation, GIT_PASSWORD, ready, startAutomationHarness } from '../test/src/git/automationHarness';

const execFileAsync = promisify(execFile);
const FILES = 1000;
const MARKERS = 50;
const ROUNDS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function repositoryFiles(): { files: Record<string, string>; marked: string[] } {
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
  sed -i 's|ghcr.io/acme/web:1.0.0 #|ghcr.io/acme/web:1.1.0 #|' "$file"
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
    const auth = `Authorization: Basic ${Buffer.from(`git:${GIT_PASSWORD}`).toString('base64')}`;
    const ours: number[] = [];
    const cli: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await git.createRepository(`ours-${round}`, files);
      await git.createRepository(`cli-${round}`, files);

      const harness = await startAutomationHarness({ git, repo: `ours-${round}` });
      try {
        await harness.declare({ web: { name: 'ghcr.io/acme/web', tag: '1.1.0' } });
        const started = process.hrtime.bigint();
        const result = await harness.run(automation('bench'));
        ours.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (ready(result)?.status !== 'True') throw new Error(`automation failed: ${ready(result)?.message}`);
      } finally {
        await harness.stop();
      }

      const started = process.hrtime.bigint();
      // Asynchronously: the Git server runs in this process and must keep answering.
      await execFileAsync('bash', ['-c', CLI_SCRIPT], {
        env: {
          ...process.env,
          URL: git.url(`cli-${round}`),
          MARKED: markedList,
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_COUNT: '1',
          GIT_CONFIG_KEY_0: 'http.extraHeader',
          GIT_CONFIG_VALUE_0: auth,
        },
      });
      cli.push(Number(process.hrtime.bigint() - started) / 1e6);

      // Both must have produced the same tree.
      const a = (await git.git(`ours-${round}`, ['rev-parse', 'main^{tree}'])).trim();
      const b = (await git.git(`cli-${round}`, ['rev-parse', 'main^{tree}'])).trim();
      if (a !== b) throw new Error(`round ${round}: the automation and the script produced different trees`);
      const changed = (await git.git(`ours-${round}`, ['diff', '--name-only', 'main~1', 'main'])).trim().split('\n');
      if (changed.length !== MARKERS) throw new Error(`round ${round}: ${changed.length} files changed, expected ${MARKERS}`);
    }
    const o = median(ours);
    const c = median(cli);
    console.log(`repository: ${FILES} YAML files, ${MARKERS} markers; ${ROUNDS} interleaved rounds, identical trees`);
    console.log(`automation (clone, setters, commit, push): median ${o.toFixed(0)} ms  [${ours.map(x => x.toFixed(0)).join(', ')}]`);
    console.log(`git CLI script (clone, sed, commit, push):  median ${c.toFixed(0)} ms  [${cli.map(x => x.toFixed(0)).join(', ')}]`);
    console.log(`ratio automation / git CLI: ${(o / c).toFixed(2)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    await git.stop();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
