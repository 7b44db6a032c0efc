import { regexpCaseGenerator, RegexpCase } from './__testUtils__/randomRegexps';
import { runSemverOracle } from '../__testUtils__/semverOracle';
import { compileGoRegexp } from './goRegexp';
import { expandGoTemplate } from './expand';
import { GoProgramRegExp, matchProgram, runProgram } from './goRegexpVm';

// Replay a failure with REGEXP_DIFF_SEED=<seed from the test name>.
const SEED = Number(process.env.REGEXP_DIFF_SEED ?? 20261122);
const CASES = 5_000;

// Cases where two earlier copies of `Expand` disagreed: a reference name is the longest run
// of Unicode letters, digits and `_`, and a number with a leading zero is a name (`$01` is the
// group named "01", never group 1).
const PINNED: RegexpCase[] = [
  {
    pattern: 'a(x*)b',
    template: '[$01][${01}][$1][${1}][$1é][$é][$١]',
    inputs: ['-axxb-', 'ab'],
    capturesInRepeat: false,
  },
  {
    pattern: 'a(?P<01>x*)(?P<1x>y?)b',
    template: '[$01][${01}][$1][$2][$1x][${1x}]',
    inputs: ['-axxyb-', 'ab'],
    capturesInRepeat: false,
  },
  {
    pattern: '(?P<n>a)|(?P<n>b)',
    template: '<$n>',
    inputs: ['a', 'b', 'c'],
    capturesInRepeat: false,
  },
];

interface GoAnswer {
  id: number;
  error?: string;
  matches?: Array<{ groups: Array<string | null>; expanded: string } | null>;
}

function ours(c: RegexpCase): Omit<GoAnswer, 'id'> {
  const compiled = compileGoRegexp(c.pattern);
  if (!compiled.ok) return { error: compiled.message };
  const program = (compiled.regexp.regexp as GoProgramRegExp).program!;
  return {
    matches: c.inputs.map(input => {
      const m = compiled.regexp.regexp.exec(input);
      // Matching uses the backtracker on short inputs; the Pike VM (used on long ones) must
      // find the very same positions.
      const viaVm = JSON.stringify(runProgram(program, input));
      const viaBacktracker = JSON.stringify(matchProgram(program, input));
      if (viaVm !== viaBacktracker) {
        return {
          groups: [`pike vm ${viaVm} != backtracker ${viaBacktracker}`],
          expanded: '',
        };
      }
      if (!m) return null;
      return {
        groups: Array.from(
          { length: compiled.regexp.captureCount + 1 },
          (_, i) => m[i] ?? null,
        ),
        expanded: expandGoTemplate(compiled.regexp, c.template, m),
      };
    }),
  };
}

describe('Go regexp translation, differential against Go regexp (test/oracles/semver)', () => {
  it(`agrees on ${CASES} random patterns × 6 inputs (seed ${SEED}) and the pinned Expand cases`, async () => {
    const next = regexpCaseGenerator(SEED);
    const cases = [...Array.from({ length: CASES }, next), ...PINNED];
    const input = cases
      .map((c, id) =>
        JSON.stringify({
          id,
          pattern: c.pattern,
          template: c.template,
          inputs: c.inputs,
        }),
      )
      .join('\n');
    const answers: GoAnswer[] = (await runSemverOracle('regexp', `${input}\n`))
      .trim()
      .split('\n')
      .map(line => JSON.parse(line));
    expect(answers).toHaveLength(cases.length);
    const differences = [];
    for (const go of answers) {
      const c = cases[go.id];
      const ts = ours(c);
      const goResult = JSON.stringify({ error: go.error, matches: go.matches });
      const tsResult = JSON.stringify({ error: ts.error, matches: ts.matches });
      if (goResult === tsResult) continue;
      differences.push({
        pattern: c.pattern,
        template: c.template,
        inputs: c.inputs,
        go: goResult,
        ts: tsResult,
      });
    }
    expect(differences.slice(0, 5)).toEqual([]);
    expect(differences).toHaveLength(0);
  }, 600_000);
});
