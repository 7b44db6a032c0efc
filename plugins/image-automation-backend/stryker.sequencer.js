// The order of test files in mutation runs (stryker.jest.config.js): the order the module lists
// them in stryker.config.mjs (STRYKER_TEST_ORDER), fast direct tests first, so that with
// stryker.failfast.env.js a mutant they kill is not also run through the slow suites.
const Sequencer = require('@jest/test-sequencer').default;

class ModuleOrderSequencer extends Sequencer {
  sort(tests) {
    const order = JSON.parse(process.env.STRYKER_TEST_ORDER ?? '[]').map(
      file => `/${file.replace(/^(\.\.\/)+/, '')}`,
    );
    const rank = test => {
      const index = order.findIndex(file => test.path.endsWith(file));
      return index < 0 ? order.length : index;
    };
    return [...tests].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = ModuleOrderSequencer;
