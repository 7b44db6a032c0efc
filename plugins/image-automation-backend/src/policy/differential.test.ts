import { caseGenerator, otherCaseGenerator } from './__testUtils__/randomCases';
import { runSemverOracle } from '../golib/__testUtils__/semverOracle';
import { selectLatestTag } from './selectLatestTag';
import { SelectLatestTagArgs } from './types';

// Replay a failure with SEMVER_DIFF_SEED=<seed from the test name>.
const SEED = Number(process.env.SEMVER_DIFF_SEED ?? 20261122);
const SEMVER_CASES = 12_000;
const OTHER_CASES = 3_000;

const semverCases = Array.from({ length: SEMVER_CASES }, caseGenerator(SEED));
const otherCases = Array.from(
  { length: OTHER_CASES },
  otherCaseGenerator(SEED),
);

function ours(args: SelectLatestTagArgs): string {
  const selection = selectLatestTag(args);
  return selection.ok ? `tag: ${selection.tag}` : `error: ${selection.message}`;
}

describe('differential test against Masterminds/semver and Go (test/oracles/semver)', () => {
  let goAnswers: string[] = [];

  // One `go run` for the whole file, all cases in one batch. The first run on a fresh machine
  // downloads the module and builds, hence the timeout.
  beforeAll(async () => {
    const all = [...semverCases, ...otherCases];
    const input = all.map((c, id) => JSON.stringify({ id, ...c })).join('\n');
    const output = await runSemverOracle('select', `${input}\n`);
    goAnswers = [];
    for (const line of output.trim().split('\n')) {
      const answer = JSON.parse(line);
      goAnswers[answer.id] =
        answer.tag !== undefined
          ? `tag: ${answer.tag}`
          : `error: ${answer.error}`;
    }
    const answered = goAnswers.filter(a => a !== undefined).length;
    if (answered !== all.length) {
      throw new Error(`the oracle answered ${answered} of ${all.length} cases`);
    }
  }, 600_000);

  function differences(cases: SelectLatestTagArgs[], offset: number) {
    const found = [];
    for (let i = 0; i < cases.length; i++) {
      const go = goAnswers[offset + i];
      const ts = ours(cases[i]);
      if (go !== ts) found.push({ case: cases[i], go, ts });
    }
    return found;
  }

  it(`agrees on ${SEMVER_CASES} random semver cases (seed ${SEED})`, () => {
    const found = differences(semverCases, 0);
    expect(found.slice(0, 5)).toEqual([]);
    expect(found).toHaveLength(0);
  });

  it(`agrees on ${OTHER_CASES} random numerical/alphabetical/filterTags cases (seed ${SEED})`, () => {
    const found = differences(otherCases, SEMVER_CASES);
    expect(found.slice(0, 5)).toEqual([]);
    expect(found).toHaveLength(0);
  });
});
