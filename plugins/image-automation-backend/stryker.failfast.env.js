// The jest test environment of mutation runs (stryker.jest.config.js): Node's, made to stop a
// mutant's run at its first failure. One failing test kills a mutant, but jest has no bail that
// Stryker's jest runner can use, so every covering suite would still run (the Git suites start a
// Git server or Gitea each). Once a test or hook fails while a mutant is active, the rest of that
// mutant's tests are skipped, their suites' beforeAll hooks too. The dry run (no active mutant)
// runs everything, and a mutant that survives has run every test that covers it.
const { TestEnvironment } = require('jest-environment-node');

/** The mutant (Stryker's __STRYKER_ACTIVE_MUTANT__) a test failed for in this worker, if any. */
let failedFor;

function skipAll(block) {
  block.mode = 'skip';
  for (const child of block.children) {
    if (child.type === 'describeBlock') skipAll(child);
    else child.mode = 'skip';
  }
}

class FailFastEnvironment extends TestEnvironment {
  async handleTestEvent(event, state) {
    await super.handleTestEvent?.(event, state);
    const mutant = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (mutant === undefined) return;
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') {
      failedFor = mutant;
    } else if (failedFor === mutant) {
      if (event.name === 'run_describe_start') skipAll(event.describeBlock);
      else if (event.name === 'test_start') event.test.mode = 'skip';
    }
  }
}

module.exports = FailFastEnvironment;
