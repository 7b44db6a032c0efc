import { seededRandom } from '../__testUtils__/seededRandom';
import { runSemverOracle } from '../__testUtils__/semverOracle';
import { goParseFloat } from './parseFloat';

// Replay a failure with FLOAT_DIFF_SEED=<seed from the test name>.
const SEED = Number(process.env.FLOAT_DIFF_SEED ?? 20261204);
const CASES = 5_000;

const PINNED = [
  '1e400',
  '-1e400',
  '1e-400',
  '1e1_0',
  '1_000.5',
  '0x1p-2',
  '0x10',
  '0x1.8p1',
  '0x_1p0',
  '+nan',
  'NaN',
  '-Inf',
  'infinity',
  '1.7976931348623157e308',
  '1.7976931348623159e308',
  '4.9e-324',
  '2.4e-324',
  '9007199254740993',
  '0.1e1_',
];

function randomText(rnd: () => number): string {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const digits = (hex: boolean) => {
    let out = '';
    const n = int(6);
    for (let i = 0; i < n; i++) {
      out += pick(hex ? [...'0123456789abcdefABCDEF_'] : [...'0123456789_']);
    }
    return out;
  };
  const hex = rnd() < 0.2;
  let s = pick(['', '', '+', '-']);
  s += hex ? pick(['0x', '0X']) : '';
  s += digits(hex);
  if (rnd() < 0.5) s += `.${digits(hex)}`;
  if (rnd() < 0.5 || hex) {
    s += hex ? pick(['p', 'P', 'e']) : pick(['e', 'E', 'p']);
    s += pick(['', '+', '-']) + String(int(400)) + pick(['', '', '_1', 'x']);
  }
  if (rnd() < 0.05)
    s =
      pick(['inf', 'Inf', 'nan', 'infinity', 'infin', ' 1', '1 ', '']) +
      s.slice(0, int(2));
  return s;
}

function bits(f: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, f);
  return view.getBigUint64(0).toString(16).padStart(16, '0');
}

interface GoAnswer {
  id: number;
  bits?: string;
  error?: string;
}

describe('Go strconv.ParseFloat, differential against Go (test/oracles/semver)', () => {
  it(`accepts and reads what Go does: the pinned cases and ${CASES} random ones (seed ${SEED})`, async () => {
    const rnd = seededRandom(SEED);
    const texts = [
      ...PINNED,
      ...Array.from({ length: CASES }, () => randomText(rnd)),
    ];
    const input = texts
      .map((text, id) => JSON.stringify({ id, text }))
      .join('\n');
    const answers: GoAnswer[] = (await runSemverOracle('float', `${input}\n`))
      .trim()
      .split('\n')
      .map(line => JSON.parse(line));
    expect(answers).toHaveLength(texts.length);
    const differences = [];
    for (const go of answers) {
      const text = texts[go.id];
      const ours = goParseFloat(text);
      // NaN's payload is not compared: Go returns one NaN, JavaScript has no way to tell.
      let goValue = go.error !== undefined ? 'error' : go.bits!;
      if (goValue.startsWith('7ff8')) goValue = 'NaN';
      let tsValue = ours === undefined ? 'error' : bits(ours);
      if (ours !== undefined && Number.isNaN(ours)) tsValue = 'NaN';
      if (goValue !== tsValue)
        differences.push({ text, go: goValue, ts: tsValue, goError: go.error });
    }
    expect(differences.slice(0, 5)).toEqual([]);
  }, 600_000);
});
