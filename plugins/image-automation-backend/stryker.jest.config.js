// The jest configuration StrykerJS runs the mutation tests with: the one `backstage-cli package
// test` uses for this package (transforms, rootDir src, the root package.json's jest options).
// Deliberately not named jest.config.js, which backstage-cli would pick up instead of its own.
module.exports = async () => {
  const config = await require('@backstage/cli/config/jest.js');
  return { ...config };
};
