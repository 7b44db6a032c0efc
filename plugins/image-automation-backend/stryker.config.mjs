// @ts-check
import fs from 'node:fs';
// Mutation testing (StrykerJS) of the modules that decide who may do what and what may run.
// Run it with scripts/mutation.sh [module...]; docs/testing.md explains the modules, the scores and
// the mutants that survive. One module per run: STRYKER_MODULE picks it, and each module keeps its
// own incremental file in stryker/, so a re-run only mutates (and tests) what changed since.

/** A test file named from the repository root (the cross-package suites under test/src). */
const repo = (/** @type {string} */ file) => `../../../${file}`;

/** The files of service/ that decide who may do what: module serviceAuthorization; `service` is the rest. */
const serviceAuthorization = [
  'src/service/AuthorizedObjectService.ts',
  'src/service/AuthorizedPromotionService.ts',
  'src/service/objectActions.ts',
  'src/service/PromotionOperations.ts',
  'src/service/requireEntityRead.ts',
  'src/service/router.ts',
];

/**
 * mutate: the files (or `file:start-end` line ranges) to mutate, relative to this package.
 * tests: the test files (relative to src/) whose tests may kill them: unit and store tests of this
 * package, and for code only they reach, cross-package suites of test/src (`repo(...)`).
 * ignoreStatic: skip static mutants (code run when a module is loaded, such as route tables and
 * constants), which every test covers, so each one reruns every suite of the module: in service/
 * and engine/ they would take most of the run (docs/testing.md).
 * @type {Record<string, { mutate: string[]; tests: string[]; ignoreStatic?: boolean }>}
 */
export const modules = {
  secureJoin: {
    mutate: ['src/git/secureJoin.ts'],
    tests: ['git/secureJoin.test.ts', 'git/applyPoliciesToTree.test.ts'],
  },
  clusterWritePolicy: {
    mutate: ['src/kubernetes/clusterWritePolicy.ts'],
    tests: [
      'kubernetes/clusterWritePolicy.test.ts',
      'kubernetes/clusterAccess.test.ts',
    ],
  },
  tenancy: {
    mutate: ['src/objects/tenancy.ts'],
    tests: ['objects/tenancy.test.ts', 'objects/tenancyGrants.test.ts'],
  },
  manifestReader: {
    mutate: ['src/objects/ManifestReader.ts'],
    tests: [
      'objects/ManifestReader.test.ts',
      'objects/manifestFileRoots.test.ts',
      'objects/fieldLimits.test.ts',
    ],
  },
  // imageAutomation.allowedRegistries (and the credential host bindings, insecureHosts): the host
  // matcher. Where RegistryClient applies it (registry host, token realm hosts, page links) is
  // tested by registry/RegistryClient.test.ts against real registries, whose start per mutant is
  // too slow for this run (docs/testing.md).
  allowedRegistries: {
    mutate: ['src/registry/allowedHosts.ts'],
    tests: [
      'registry/allowedHosts.test.ts',
      'registry/allowedHostPatterns.test.ts',
    ],
  },
  credentials: {
    mutate: ['src/credentials/**/*.ts', '!src/credentials/**/*.test.ts'],
    tests: ['credentials/**/*.test.ts'],
  },
  // service/ in two modules. The part that decides who may do what (permission checks in front of
  // the object and promotion services, entity read checks, the routes):
  serviceAuthorization: {
    mutate: serviceAuthorization,
    tests: [
      'service/authorizationMatrix.test.ts',
      'service/objectActions.test.ts',
      'service/routeDecisions.test.ts',
      'service/tagsRoute.test.ts',
      'service/resourceSetInventory.test.ts',
      'service/FleetService.test.ts',
      'service/TimelineService.test.ts',
    ],
    ignoreStatic: true,
  },
  // and the rest (what the views show, timelines, fleet, versions, health, change notices).
  service: {
    mutate: [
      'src/service/**/*.ts',
      '!src/service/**/*.test.ts',
      ...serviceAuthorization.map(file => `!${file}`),
    ],
    tests: ['service/**/*.test.ts'],
    ignoreStatic: true,
  },
  // The reconcile loop (leases, per-object isolation, deadlines, stops, the objects it decides about
  // itself) and the small helpers every reconciler uses, killed by fast package tests over the real
  // stores with fake reconcilers. The in-cluster half of resourceSetDependencies.ts (reading
  // dependencies through a kube-apiserver: `notFound`'s message, lines 97-104, `redacted`, lines
  // 113-117, and from line 154) is in resourceSetReconciler; keep the line ranges in step when that
  // file changes.
  engine: {
    mutate: [
      'src/engine/Engine.ts',
      'src/engine/Reconciler.ts',
      'src/engine/conditions.ts',
      'src/engine/outcome.ts',
      'src/engine/dependents.ts',
      'src/engine/readyEvent.ts',
      'src/engine/reconcileHistory.ts',
      'src/engine/registryCallOptions.ts',
      'src/engine/resourceSetDependencies.ts:1-96',
      'src/engine/resourceSetDependencies.ts:105-112',
      'src/engine/resourceSetDependencies.ts:118-153',
    ],
    tests: [
      'engine/Engine.test.ts',
      'engine/Reconciler.test.ts',
      'engine/conditions.test.ts',
      'engine/outcome.test.ts',
      'engine/dependents.test.ts',
      'engine/readyEvent.test.ts',
      'engine/reconcileHistory.test.ts',
      'engine/registryCallOptions.test.ts',
      'engine/resourceSetDependencies.test.ts',
    ],
    ignoreStatic: true,
  },
  // The reconcilers of each kind, one module each so that each fits in a run: their tests start a
  // real registry, Git server or kube-apiserver in beforeAll, so a mutant costs seconds to tens of
  // seconds. Those of GitRepository and ImageUpdateAutomation are the cross-package suites of
  // test/src/git, run against the mutated copy (stryker.jest.config.js).
  gitRepositoryReconciler: {
    mutate: ['src/engine/GitRepositoryReconciler.ts'],
    tests: [
      repo('test/src/git/gitRepository.test.ts'),
      repo('test/src/git/ssh.test.ts'),
    ],
    ignoreStatic: true,
  },
  imagePolicyReconciler: {
    mutate: ['src/engine/ImagePolicyReconciler.ts'],
    tests: [
      'engine/ImagePolicyReconciler.test.ts',
      'engine/insecureRegistryName.test.ts',
      'cloud/cloudRegistries.test.ts',
    ],
    ignoreStatic: true,
  },
  imageRepositoryReconciler: {
    mutate: ['src/engine/ImageRepositoryReconciler.ts'],
    tests: [
      'engine/ImageRepositoryReconciler.test.ts',
      'engine/shouldScan.test.ts',
      'engine/insecureRegistryName.test.ts',
      'engine/resourceLimits.test.ts',
      'engine/sharedListings.test.ts',
      'cloud/cloudRegistries.test.ts',
    ],
    ignoreStatic: true,
  },
  // What every reconciler does before it starts: validation, suspension, fields it must not ignore,
  // interval limits, reconcile requests; the retry wait and Flux's progress message.
  preamble: {
    mutate: ['src/engine/preamble.ts'],
    tests: ['engine/preamble.test.ts', 'engine/resourceLimits.test.ts'],
  },
  inputProviderReconciler: {
    mutate: ['src/engine/ResourceSetInputProviderReconciler.ts'],
    tests: [
      'engine/ResourceSetInputProviderReconciler.test.ts',
      'engine/inputProviderRuns.test.ts',
      'engine/resourceLimits.test.ts',
      'engine/sharedListings.test.ts',
      'cloud/cloudRegistries.test.ts',
    ],
    ignoreStatic: true,
  },
  resourceSetReconciler: {
    mutate: [
      'src/engine/ResourceSetReconciler.ts',
      'src/engine/resourceSetDependencies.ts:97-104',
      'src/engine/resourceSetDependencies.ts:113-117',
      'src/engine/resourceSetDependencies.ts:154-207',
    ],
    tests: [
      'engine/ResourceSetReconciler.test.ts',
      'engine/ResourceSetPromotions.test.ts',
      'engine/resourceSetUnchanged.test.ts',
      'engine/resourceSetRuns.test.ts',
      'engine/resourceSetRunDetails.test.ts',
    ],
    ignoreStatic: true,
  },
  automationReconciler: {
    mutate: ['src/engine/ImageUpdateAutomationReconciler.ts'],
    tests: [
      repo('test/src/git/automationEdges.test.ts'),
      repo('test/src/git/automationGates.test.ts'),
      repo('test/src/git/automation.test.ts'),
      repo('test/src/git/golden.test.ts'),
      repo('test/src/git/legacyMarker.test.ts'),
      repo('test/src/git/signing.test.ts'),
      repo('test/src/git/promotions.test.ts'),
      repo('test/src/git/warmClones.test.ts'),
      repo('test/src/git/pullRequests.test.ts'),
      // Pull-request mode with promotions against the GitHub and GitLab API stand-ins (mocked:
      // neither service runs here): held versions, review approvals, merges.
      repo('test/src/git/pullRequestsGitHub.test.ts'),
      repo('test/src/git/pullRequestsGitLab.test.ts'),
    ],
    ignoreStatic: true,
  },
};

const name = process.env.STRYKER_MODULE ?? '';
const selected = modules[name];
if (!selected) {
  throw new Error(
    `STRYKER_MODULE must name a module (${Object.keys(modules).join(
      ', ',
    )}); got "${name}". Run scripts/mutation.sh.`,
  );
}

// The TypeScript checker (mutants that do not compile are not run) checks the module and its tests,
// with what they import, rather than the whole package: several times faster per mutant. A mutant
// that breaks only a caller elsewhere is then run against the tests instead.
const tsconfigFile = `tsconfig.stryker-${name}.json`;
fs.writeFileSync(
  tsconfigFile,
  `${JSON.stringify(
    {
      extends: '../../tsconfig.json',
      include: [
        ...selected.mutate
          .filter(m => !m.startsWith('!'))
          .map(m => m.replace(/:\d+-\d+$/, '')),
        ...selected.tests.map(t => `src/${t}`),
        'src/**/*.d.ts',
        'config.d.ts',
      ],
      compilerOptions: { noEmit: true, incremental: false },
    },
    null,
    2,
  )}\n`,
);

// The order the test runners run the module's test files in (stryker.sequencer.js): as listed.
process.env.STRYKER_TEST_ORDER = JSON.stringify(selected.tests);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const options = {
  packageManager: 'npm',
  testRunner: 'jest',
  checkers: ['typescript'],
  tsconfigFile,
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  jest: {
    projectType: 'custom',
    configFile: 'stryker.jest.config.js',
    // Only the tests that can kill this module's mutants; a dry run covers them all once.
    config: { testMatch: selected.tests.map(t => `<rootDir>/${t}`) },
    enableFindRelatedTests: false,
  },
  mutate: selected.mutate,
  coverageAnalysis: 'perTest',
  ignoreStatic: selected.ignoreStatic ?? false,
  incremental: true,
  incrementalFile: `stryker/${name}.incremental.json`,
  // The machine is shared: one test process. Raise it with --concurrency when it is yours.
  concurrency: 1,
  timeoutMS: 20000,
  timeoutFactor: 2,
  // The Git suites of automationReconciler (Gitea for pull requests) take longer than the default
  // five minutes to run once on a busy machine.
  dryRunTimeoutMinutes: 30,
  // Two levels below the repository root, like this package, so the tests' relative imports of
  // test/testbed (the real registry, git server, PostgreSQL) resolve from the sandbox too.
  tempDirName: '../../.stryker-tmp',
  ignorePatterns: ['stryker', 'reports', 'node_modules', 'dist'],
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: {
    allowColor: false,
    logTests: false,
    reportScoreTable: true,
  },
  thresholds: { high: 90, low: 85, break: null },
  cleanTempDir: true,
};

// Two variants for the modules whose tests live outside this package, where Stryker's own
// incremental mode reuses nothing (docs/testing.md, "Incremental"); scripts/mutation.sh runs them.
// STRYKER_LIST=1: only list the module's mutants (a test runner that runs nothing, no checker; a
// few seconds), into reports/mutation/<module>.mutants.json.
// STRYKER_TARGETS=<file>: mutate only the ranges listed in that file (those of the mutants whose
// last result cannot be reused, from scripts/mutation-targets.js), with results of their own that
// the script then merges into the module's incremental file.
/** @returns {import('@stryker-mutator/api/core').PartialStrykerOptions} */
function variant() {
  if (process.env.STRYKER_LIST === '1') {
    return {
      ...options,
      testRunner: 'command',
      commandRunner: { command: 'true' },
      checkers: [],
      coverageAnalysis: 'off',
      ignoreStatic: false,
      incremental: false,
      concurrency: 1,
      reporters: ['json'],
      jsonReporter: { fileName: `reports/mutation/${name}.mutants.json` },
    };
  }
  const targets = process.env.STRYKER_TARGETS;
  if (targets) {
    return {
      ...options,
      mutate: JSON.parse(fs.readFileSync(targets, 'utf8')),
      incrementalFile: `reports/mutation/${name}.targeted.incremental.json`,
      htmlReporter: { fileName: `reports/mutation/${name}.targeted.html` },
      jsonReporter: { fileName: `reports/mutation/${name}.targeted.json` },
    };
  }
  return options;
}

export default variant();
