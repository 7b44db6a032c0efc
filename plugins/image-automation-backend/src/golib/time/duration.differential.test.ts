import { seededRandom } from '../__testUtils__/seededRandom';
import { runSemverOracle } from '../__testUtils__/semverOracle';
import { durationString } from './duration';
import { parseDuration } from './time';

// Replay a failure with DURATION_DIFF_SEED=<seed from the test name>.
const SEED = Number(process.env.DURATION_DIFF_SEED ?? 20261204);
const CASES = 3_000;

const PINNED = [
  '',
  '0',
  '-0',
  '+0',
  '5',
  '5x',
  '3d',
  '1h 5m',
  '.s',
  '.5s',
  '5.s',
  '1.5.5s',
  '1µs',
  '1μs',
  '1us',
  '0.0000000001s',
  '2562047h47m16.854775807s',
  '2562047h47m16.854775808s',
  '-2562047h47m16.854775808s',
  '9223372036854775807ns',
  '9223372036854775808ns',
  '1.00000000000000000000001h',
  '3000000h',
];

function randomCase(rnd: () => number): { text: string; ns: string } {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const units = [
    'ns',
    'us',
    'µs',
    'μs',
    'ms',
    's',
    'm',
    'h',
    'd',
    'x',
    '',
    ' ',
  ];
  const number = () =>
    pick([
      () => String(int(100)),
      () => `${int(100)}.${int(1000)}`,
      () => `.${int(100)}`,
      () => `${int(10)}.`,
      () => String(int(1e9) * 1e6 + int(1e6)),
      () => '.',
    ])();
  let text = pick(['', '', '', '-', '+']);
  const parts = 1 + int(3);
  for (let i = 0; i < parts; i++) text += number() + pick(units);
  let ns = BigInt(int(2 ** 31)) * BigInt(int(2 ** 31)) * BigInt(int(4) + 1);
  ns = pick([ns, BigInt(int(1e6)), BigInt(int(1e12)), -ns]);
  return { text, ns: BigInt.asIntN(64, ns).toString() };
}

interface GoAnswer {
  id: number;
  ns?: string;
  error?: string;
  string: string;
}

describe('Go time.ParseDuration and Duration.String, differential against Go (test/oracles/semver)', () => {
  it(`agrees on the pinned cases and ${CASES} random ones (seed ${SEED})`, async () => {
    const rnd = seededRandom(SEED);
    const cases = [
      ...PINNED.map((text, i) => ({ text, ns: String(BigInt(i) ** 9n) })),
      ...Array.from({ length: CASES }, () => randomCase(rnd)),
    ];
    const input = cases
      .map((c, id) => JSON.stringify({ id, text: c.text, ns: c.ns }))
      .join('\n');
    const answers: GoAnswer[] = (
      await runSemverOracle('duration', `${input}\n`)
    )
      .trim()
      .split('\n')
      .map(line => JSON.parse(line));
    expect(answers).toHaveLength(cases.length);
    const differences = [];
    for (const go of answers) {
      const c = cases[go.id];
      let ours: Omit<GoAnswer, 'id'>;
      try {
        ours = { ns: String(parseDuration(c.text)), string: '' };
      } catch (e) {
        ours = { error: (e as Error).message, string: '' };
      }
      ours.string = durationString(BigInt(c.ns));
      const goResult = JSON.stringify({
        ns: go.ns,
        error: go.error,
        string: go.string,
      });
      const tsResult = JSON.stringify({
        ns: ours.ns,
        error: ours.error,
        string: ours.string,
      });
      if (goResult !== tsResult)
        differences.push({ ...c, go: goResult, ts: tsResult });
    }
    expect(differences.slice(0, 5)).toEqual([]);
  }, 600_000);
});
