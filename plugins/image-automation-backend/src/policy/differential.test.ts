import { caseGenerator, otherCaseGenerator } from './__testUtils__/randomCases';
import { runSemverOracle } from './__testUtils__/semverOracle';
import { selectLatestTag } from './selectLatestTag';
import { SelectLatestTagArgs } from './types';

// Replay a failure with SEMVER_DIFF_SEED=<seed from the test name>.
const SEED = Number(process.env.SEMVER_DIFF_SEED ?? 20261122);
const SEMVER_CASES = 12_000;
const OTHER_CASES = 3_000;

function ours(args: SelectLatestTagArgs): string {
  const selection = selectLatestTag(args);
  return selection.ok ? `tag: ${selection.tag}` : `error: ${selection.message}`;
}

async function compareWithGo(cases: SelectLatestTagArgs[]) {
  const input = cases.map((c, id) => JSON.stringify({ id, ...c })).join('\n');
  const output = await runSemverOracle('select', `${input}\n`);
  const answers = output
    .trim()
    .split('\n')
    .map(line => JSON.parse(line));
  expect(answers).toHaveLength(cases.length);
  const differences = [];
  for (const answer of answers) {
    const go =
      answer.tag !== undefined
        ? `tag: ${answer.tag}`
        : `error: ${answer.error}`;
    const ts = ours(cases[answer.id]);
    if (go !== ts) differences.push({ case: cases[answer.id], go, ts });
  }
  expect(differences.slice(0, 5)).toEqual([]);
  expect(differences).toHaveLength(0);
}

describe('differential test against Masterminds/semver and Go (test/oracles/semver)', () => {
  it(`agrees on ${SEMVER_CASES} random semver cases (seed ${SEED})`, async () => {
    const next = caseGenerator(SEED);
    await compareWithGo(Array.from({ length: SEMVER_CASES }, next));
  }, 600_000); // the first `go run` downloads the module and builds

  it(`agrees on ${OTHER_CASES} random numerical/alphabetical/filterTags cases (seed ${SEED})`, async () => {
    const next = otherCaseGenerator(SEED);
    await compareWithGo(Array.from({ length: OTHER_CASES }, next));
  }, 600_000);
});
