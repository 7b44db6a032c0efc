import {
  buildFluxOperatorCli,
  corpusCases,
  runOurs,
  runProgram,
} from './__testUtils__/corpus';

// The real CLI is built from the Go module proxy by test/oracles/flux-operator/build.sh
// (cached in ~/.cache/image-automation/); the first build takes several minutes.
describe('differential test against the real flux-operator CLI', () => {
  let cli: string;

  beforeAll(async () => {
    cli = await buildFluxOperatorCli();
  }, 1_800_000);

  it.each(corpusCases().map(c => [c.name, c] as const))(
    '%s: identical stdout, stderr and exit code',
    async (_name, c) => {
      const go = await runProgram(cli, ['build', 'rset', ...c.args], c.dir);
      const ours = await runOurs(c);
      expect(ours).toEqual(go);
    },
    60_000,
  );
});
