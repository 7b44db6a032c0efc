import {
  COMMIT_CASES,
  COMMIT_DATA,
  RESOURCESET_CASES,
  RESOURCESET_INPUTS,
} from './__testUtils__/templateCases';
import {
  OracleAnswer,
  OracleCase,
  runGoTemplateOracle,
} from './__testUtils__/goTemplateOracle';
import {
  executeTemplate,
  GoValue,
  parseJson,
  parseTemplate,
  TemplateParseError,
} from './index';

function ours(c: OracleCase): OracleAnswer {
  const inputs = parseJson(c.inputs, 'preserve') as Record<string, GoValue>;
  let tmpl;
  try {
    tmpl = parseTemplate({
      name: c.name,
      text: c.text,
      delims: c.delims,
      funcs: c.funcs,
    });
  } catch (e) {
    if (!(e instanceof TemplateParseError)) throw e;
    return { id: c.id, error: e.message, phase: 'parse' };
  }
  try {
    const output =
      c.funcs === 'resourceset'
        ? executeTemplate(tmpl, { inputs })
        : executeTemplate(tmpl, { data: inputs });
    return { id: c.id, output };
  } catch (e) {
    return { id: c.id, error: (e as Error).message, phase: 'execute' };
  }
}

// Every case is rendered by Go's text/template with the same function sets
// (test/oracles/gotemplate) and by our engine; outputs and error texts must be equal.
describe('template engine: differential test against Go text/template + slim-sprig/sprig', () => {
  const cases: OracleCase[] = [
    ...RESOURCESET_CASES.map((text, i) => ({
      id: i,
      name: 'resourceset',
      text,
      delims: ['<<', '>>'] as [string, string],
      funcs: 'resourceset' as const,
      inputs: RESOURCESET_INPUTS,
    })),
    ...COMMIT_CASES.map((text, i) => ({
      id: RESOURCESET_CASES.length + i,
      name: 'msg',
      text,
      delims: ['{{', '}}'] as [string, string],
      funcs: 'commitMessage' as const,
      inputs: COMMIT_DATA,
    })),
  ];
  let answers: Map<number, OracleAnswer>;

  beforeAll(async () => {
    answers = new Map((await runGoTemplateOracle(cases)).map(a => [a.id, a]));
  }, 900_000);

  it.each(cases.map(c => [c.text, c] as const))('%s', (_text, c) => {
    expect(ours(c)).toEqual(answers.get(c.id));
  });
});
