import { corpusCases, goldenResult, runOurs } from './__testUtils__/corpus';

// Golden outputs come from the real `flux-operator build rset` (test/resourceset-corpus/regenerate.sh);
// this suite needs no Go toolchain. The differential test re-runs the real CLI.
describe('ResourceSet corpus: image-automation build rset matches the golden flux-operator output', () => {
  const cases = corpusCases();

  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map(c => [c.name, c] as const))('%s', async (_name, c) => {
    const ours = await runOurs(c);
    expect(ours).toEqual(goldenResult(c));
  });
});
