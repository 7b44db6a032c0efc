// The jest configuration StrykerJS runs the mutation tests with: the one `backstage-cli package
// test` uses for this package (transforms, rootDir src, the root package.json's jest options).
// Deliberately not named jest.config.js, which backstage-cli would pick up instead of its own.
//
// Two additions let a module name cross-package suites (test/src) among its tests: jest also looks
// for tests there, and their imports of this package by name resolve to the copy being mutated
// (Stryker's sandbox), not to the working tree. Suites of this package never import it by name.
const path = require('node:path');

const PACKAGE = '@imageops/backstage-plugin-image-automation-backend';

module.exports = async () => {
  const config = await require('@backstage/cli/config/jest.js');
  return {
    ...config,
    roots: [config.rootDir, path.resolve(config.rootDir, '../../../test/src')],
    // Mutation runs stop at a mutant's first failing test, with the module's fast tests first.
    testEnvironment: path.join(__dirname, 'stryker.failfast.env.js'),
    testSequencer: path.join(__dirname, 'stryker.sequencer.js'),
    moduleNameMapper: {
      ...config.moduleNameMapper,
      [`^${PACKAGE}$`]: '<rootDir>/index.ts',
      [`^${PACKAGE}/src/(.*)$`]: '<rootDir>/$1',
    },
  };
};
