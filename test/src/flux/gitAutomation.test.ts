import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, TestGitServer } from '../../testbed';
import {
  automation,
  GIT_PASSWORD,
  ready,
  startAutomationHarness,
} from '../git/automationHarness';
import { AutomationScenario, Outcome, SCENARIOS } from './gitAutomationCorpus';

// Issue #18, Git automation: commit templates, push branches and refspecs. image-automation-
// controller is served by the Go module proxy in no version, so test/oracles/kyaml-setters
// (`automate` mode) restates its run on the libraries it uses: kyaml v0.21.1 for the setters,
// text/template with sprig v3.3.0's hermetic function map over the controller's template data,
// go-git v5.19.1 to clone, switch to the push branch, commit and push (branch, then refspec).
// Every scenario of gitAutomationCorpus.ts is run by that harness and by our reconciler against
// two copies of one repository on the test bed's Git server; the commit message (byte for byte),
// the author, the files the commit changed, every ref and where it points (the new commit's
// parent), the push options received and the error text must be identical, or the scenario's
// `difference` (listed in docs/differences.md) is asserted exactly.

jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, '../../..');
const HARNESS =
  'the kyaml + text/template + sprig + go-git harness (image-automation-controller is not served)';
const DEFAULT_AUTHOR = { name: 'Flux Bot', email: 'bot@example.com' };

let harness: string;
let git: TestGitServer;

beforeAll(async () => {
  // Built once per source version into ~/.cache/image-automation.
  harness = execFileSync(
    'bash',
    [path.join(ROOT, 'test/oracles/kyaml-setters/build.sh')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  git = await startGitServer({ users: { git: GIT_PASSWORD } });
});

afterAll(async () => {
  await git?.stop();
});

async function refs(repo: string): Promise<Record<string, string>> {
  const out = await git.git(repo, [
    'for-each-ref',
    '--format=%(refname) %(objectname)',
  ]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(l => l.split(' ') as [string, string]),
  );
}

/** The remote after a run, described without commit hashes (they differ in time). */
async function outcome(
  repo: string,
  before: Record<string, string>,
  error: string | undefined,
): Promise<Outcome & { pushOptions: string[][] }> {
  const label = (sha: string) => {
    const ref = Object.keys(before).find(r => before[r] === sha);
    return ref ? `before:${ref}` : undefined;
  };
  const after = await refs(repo);
  const result: Outcome & { pushOptions: string[][] } = {
    refs: {},
    pushOptions: await git.pushOptions(repo),
  };
  if (error !== undefined) result.error = error;
  const fresh = new Set<string>();
  for (const [ref, sha] of Object.entries(after)) {
    const known = label(sha);
    if (known) {
      result.refs[ref] = known;
      continue;
    }
    fresh.add(sha);
    const parent = (await git.git(repo, ['rev-parse', `${sha}^`])).trim();
    result.refs[ref] = `new commit, parent ${label(parent) ?? parent}`;
  }
  // Every new ref points at the one new commit.
  if (fresh.size > 1) result.refs.fresh = `${fresh.size} new commits`;
  const [sha] = [...fresh];
  if (sha) {
    const raw = await git.git(repo, ['cat-file', 'commit', sha]);
    result.message = raw.slice(raw.indexOf('\n\n') + 2);
    result.author = /^author (.*) \d+ [+-]\d{4}$/m.exec(raw)![1];
    const files = (
      await git.git(repo, [
        'diff-tree',
        '-r',
        '--no-commit-id',
        '--name-only',
        `${sha}^`,
        sha,
      ])
    )
      .trim()
      .split('\n');
    result.diff = {};
    for (const f of files) result.diff[f] = (await git.readFile(repo, sha, f))!;
  }
  return result;
}

async function seed(scenario: AutomationScenario) {
  const base = `${scenario.id}-seed`;
  await git.createRepository(base, scenario.files);
  for (const [branch, files] of Object.entries(scenario.branches ?? {})) {
    await git.git(base, ['branch', branch, 'main']);
    await git.commitFiles(base, branch, files, `work on ${branch}`);
  }
  for (const side of ['theirs', 'ours']) {
    fs.cpSync(
      path.join(git.root, `${base}.git`),
      path.join(git.root, `${scenario.id}-${side}.git`),
      { recursive: true },
    );
  }
  return refs(base);
}

/** Runs the harness without blocking: the test bed's Git server answers from this process. */
async function runHarness(scenario: AutomationScenario) {
  const repo = `${scenario.id}-theirs`;
  const child = spawn(harness, ['automate'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', d => (stdout += d));
  child.stderr.on('data', d => (stderr += d));
  const status = new Promise<number | null>(resolve =>
    child.on('close', code => resolve(code)),
  );
  child.stdin.end(
    JSON.stringify({
      url: git.url(repo),
      username: 'git',
      password: GIT_PASSWORD,
      namespace: 'apps',
      name: 'images',
      policies: scenario.policies,
      checkoutBranch: 'main',
      pushBranch: scenario.push?.branch ?? '',
      refspec: scenario.push?.refspec ?? '',
      pushOptions: scenario.push?.options ?? {},
      messageTemplate: scenario.commit?.messageTemplate ?? '',
      messageTemplateValues: scenario.commit?.messageTemplateValues ?? {},
      author: scenario.commit?.author ?? DEFAULT_AUTHOR,
    }),
  );
  if ((await status) !== 0)
    throw new Error(`kyaml-setters automate failed: ${stderr}`);
  const answer = JSON.parse(stdout) as { error: string };
  return answer.error || undefined;
}

async function runOurs(scenario: AutomationScenario) {
  const h = await startAutomationHarness({
    git,
    repo: `${scenario.id}-ours`,
  });
  try {
    await h.declare(scenario.policies);
    const result = await h.run(
      automation('images', {
        commit: {
          ...(scenario.commit ?? {}),
          author: scenario.commit?.author ?? DEFAULT_AUTHOR,
        },
        ...(scenario.push ? { push: scenario.push } : {}),
      }),
    );
    const r = ready(result);
    return r?.status === 'True' ? undefined : r?.message;
  } finally {
    await h.stop();
  }
}

const verdicts = new Map<string, 'identical' | 'documented'>();

describe(`our Git automation against ${HARNESS}`, () => {
  afterAll(() => {
    const count = (v: string) =>
      [...verdicts.values()].filter(x => x === v).length;
    // eslint-disable-next-line no-console
    console.log(
      `image-automation harness (kyaml + text/template + sprig + go-git): ${
        SCENARIOS.length
      } scenarios, ${count('identical')} identical, ${count(
        'documented',
      )} documented differences` +
        (verdicts.size < SCENARIOS.length
          ? ` (${SCENARIOS.length - verdicts.size} failed)`
          : ''),
    );
  });

  it('has at least 15 scenarios with distinct ids', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(15);
    expect(new Set(SCENARIOS.map(s => s.id)).size).toBe(SCENARIOS.length);
  });

  it('lists every documented difference in docs/differences.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/differences.md'), 'utf8');
    const start = doc.indexOf(
      '### Git automation: commit templates, push branches and refspecs',
    );
    expect(start).toBeGreaterThan(0);
    const section = doc.slice(start, doc.indexOf('\n## ', start));
    for (const scenario of SCENARIOS.filter(s => s.difference)) {
      expect([scenario.id, section.includes(`\`${scenario.id}\``)]).toEqual([
        scenario.id,
        true,
      ]);
      expect([
        scenario.id,
        section.includes(scenario.difference!.reason),
      ]).toEqual([scenario.id, true]);
    }
  });

  it.each(SCENARIOS.map(s => [s.id, s] as const))(
    `%s against ${HARNESS}`,
    async (_id, scenario) => {
      const before = await seed(scenario);
      const theirsError = await runHarness(scenario);
      const oursError = await runOurs(scenario);
      const theirs = await outcome(
        `${scenario.id}-theirs`,
        before,
        theirsError,
      );
      const ours = await outcome(`${scenario.id}-ours`, before, oursError);
      // The harness's own run is checked against what the scenario asks for.
      if (!theirs.error) {
        expect(theirs.refs.fresh).toBeUndefined();
        expect(theirs.author).toBe(
          `${(scenario.commit?.author ?? DEFAULT_AUTHOR).name} <${
            (scenario.commit?.author ?? DEFAULT_AUTHOR).email
          }>`,
        );
      }
      if (!scenario.difference) {
        expect(ours).toEqual(theirs);
        verdicts.set(scenario.id, 'identical');
        return;
      }
      const { theirs: t, ours: o } = scenario.difference;
      const keys = Object.keys(t) as (keyof Outcome)[];
      expect(Object.keys(o).sort()).toEqual([...keys].sort());
      for (const key of keys) {
        expect([key, theirs[key]]).toEqual([key, t[key]]);
        expect([key, ours[key]]).toEqual([key, o[key]]);
        expect(ours[key]).not.toEqual(theirs[key]);
      }
      const rest = (x: typeof ours) =>
        Object.fromEntries(
          Object.entries(x).filter(([k]) => !keys.includes(k as keyof Outcome)),
        );
      expect(rest(ours)).toEqual(rest(theirs));
      verdicts.set(scenario.id, 'documented');
    },
  );
});
