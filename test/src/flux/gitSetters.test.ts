import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageRef } from '@imageops/backstage-plugin-image-automation-common';
import { applyPoliciesToTree } from '@imageops/backstage-plugin-image-automation-backend/src/git/applyPoliciesToTree';
import { SCENARIOS, SetterScenario } from './gitSettersCorpus';

// Issue #18, Git automation: image-automation-controller is served by the Go module proxy in no
// version, so its update step cannot be built. test/oracles/kyaml-setters is a harness on the
// library it uses, sigs.k8s.io/kustomize/kyaml v0.21.1 (kio.ByteReader/ByteWriter, fieldmeta's
// marker reading with the "$imagepolicy" short hand, FormatNonStringStyle), written from the
// behaviour the controller documents. Every scenario of gitSettersCorpus.ts runs through it and
// through our applyPoliciesToTree; the files after the run (byte for byte), the files written and
// the changes (file, setter, old and new value, object) must be identical, or the scenario's
// `difference` (listed in docs/differences.md) is asserted exactly.

jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, '../../..');
const HARNESS =
  "kyaml's setters (harness; image-automation-controller is not served)";

interface Change {
  file: string;
  setter: string;
  oldValue: string;
  newValue: string;
  object: { apiVersion: string; kind: string; name: string; namespace: string };
}

interface Run {
  /** Every file of the tree after the run. */
  tree: Record<string, string>;
  written: string[];
  changes: Change[];
}

function writeTree(dir: string, files: Record<string, string>) {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
}

function readTree(
  dir: string,
  files: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.keys(files).map(f => [
      f,
      fs.readFileSync(path.join(dir, f), 'utf8'),
    ]),
  );
}

let harness: string;
let workDir: string;

beforeAll(() => {
  // Built once per source version into ~/.cache/image-automation (about 1.5 minutes cold).
  harness = execFileSync(
    'bash',
    [path.join(ROOT, 'test/oracles/kyaml-setters/build.sh')],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).trim();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-setters-'));
});

afterAll(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

function runKyaml(scenario: SetterScenario): Run {
  const dir = path.join(workDir, scenario.id, 'kyaml');
  writeTree(dir, scenario.files);
  const policies = Object.fromEntries(
    Object.entries(scenario.policies)
      .filter(([, ref]) => ref !== undefined)
      .map(([name, ref]) => [
        name,
        { name: ref!.name, tag: ref!.tag, digest: ref!.digest ?? '' },
      ]),
  );
  const result = spawnSync(harness, [dir], {
    input: JSON.stringify({
      namespace: scenario.namespace ?? 'flux-system',
      policies,
    }),
    encoding: 'utf8',
  });
  if (result.status !== 0)
    throw new Error(`kyaml-setters failed: ${result.stderr}`);
  const answer = JSON.parse(result.stdout) as {
    files: string[];
    changes: Change[];
  };
  return {
    tree: readTree(dir, scenario.files),
    written: answer.files,
    changes: answer.changes,
  };
}

async function runOurs(scenario: SetterScenario): Promise<Run> {
  const dir = path.join(workDir, scenario.id, 'ours');
  writeTree(dir, scenario.files);
  const result = await applyPoliciesToTree({
    repoRoot: dir,
    updatePath: dir,
    namespace: scenario.namespace ?? 'flux-system',
    policies: new Map<string, ImageRef | undefined>(
      Object.entries(scenario.policies),
    ),
  });
  const changes: Change[] = [];
  for (const [file, list] of result.fileChanges) {
    for (const c of list) {
      changes.push({
        file,
        setter: c.setter,
        oldValue: c.oldValue,
        newValue: c.newValue,
        object: c.object,
      });
    }
  }
  return {
    tree: readTree(dir, scenario.files),
    written: [...result.written].sort(),
    changes,
  };
}

const verdicts = new Map<string, 'identical' | 'documented'>();

describe(`our setters against ${HARNESS}`, () => {
  afterAll(() => {
    const identical = [...verdicts.values()].filter(
      v => v === 'identical',
    ).length;
    const documented = [...verdicts.values()].filter(
      v => v === 'documented',
    ).length;
    // eslint-disable-next-line no-console
    console.log(
      `kyaml v0.21.1 setters harness: ${SCENARIOS.length} scenarios, ${identical} identical, ${documented} documented differences` +
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
      "### Git automation: compared with kyaml's setters",
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
        doc.includes(`**${scenario.difference!.reason}`) ||
          section.includes(scenario.difference!.reason),
      ]).toEqual([scenario.id, true]);
    }
  });

  it.each(SCENARIOS.map(s => [s.id, s] as const))(
    `%s against ${HARNESS}`,
    async (_id, scenario) => {
      const kyaml = runKyaml(scenario);
      const ours = await runOurs(scenario);
      expect(kyaml.changes).toHaveLength(scenario.changes);
      // The change lists and the files written are compared in every scenario; a difference may
      // only drop the changes and files it names.
      const onlyKyaml = scenario.difference?.onlyKyaml ?? [];
      const notWritten = scenario.difference?.notWritten ?? [];
      const dropped = (c: Change) =>
        onlyKyaml.some(
          o =>
            o.file === c.file &&
            o.setter === c.setter &&
            o.oldValue === c.oldValue,
        );
      expect(
        kyaml.changes.filter(dropped).map(({ object: _, ...c }) => c),
      ).toEqual(onlyKyaml);
      expect(ours.changes).toEqual(kyaml.changes.filter(c => !dropped(c)));
      expect(ours.written).toEqual(
        kyaml.written.filter(f => !notWritten.includes(f)),
      );
      expect(kyaml.written).toEqual(expect.arrayContaining(notWritten));
      if (!scenario.difference) {
        expect(ours.tree).toEqual(kyaml.tree);
        verdicts.set(scenario.id, 'identical');
        return;
      }
      // A documented difference: exactly these files differ, with exactly these contents.
      const { kyaml: theirs, ours: mine } = scenario.difference;
      expect(Object.keys(mine).sort()).toEqual(Object.keys(theirs).sort());
      for (const file of Object.keys(scenario.files)) {
        if (file in theirs) {
          expect([file, kyaml.tree[file]]).toEqual([file, theirs[file]]);
          expect([file, ours.tree[file]]).toEqual([file, mine[file]]);
          expect(ours.tree[file]).not.toEqual(kyaml.tree[file]);
        } else {
          expect([file, ours.tree[file]]).toEqual([file, kyaml.tree[file]]);
        }
      }
      verdicts.set(scenario.id, 'documented');
    },
  );
});
