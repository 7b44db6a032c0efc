// The backend's layers, bottom up: src/golib (faithful copies of Go packages) ← src/policy and
// src/template ← src/resourceset, src/inputs, src/git, src/kubernetes ← src/engine ←
// src/service ← the plugin. A layer imports only from the layers below it; the two lowest are
// checked here, and src/store, which the layers above use and which itself uses only src/util.
const golibMessage =
  'src/golib mirrors Go packages and is the bottom layer: it imports only Node built-ins, npm packages and other src/golib folders.';
const storeMessage =
  'src/store is persistence below the layers that use it (kubernetes, registry, engine, service…): it imports only src/util; a type it stores is defined in src/store or in the common package.';
const pureMessage =
  'src/policy and src/template are pure engines below resourceset, inputs, git, kubernetes, engine and service: they may import only src/golib (and each other).';

module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  settings: {
    // Resolve TypeScript sources, so import/no-restricted-paths sees where an import lands.
    'import/resolver': {
      node: { extensions: ['.ts', '.tsx', '.js', '.json'] },
    },
  },
  rules: {
    'import/no-restricted-paths': [
      'error',
      {
        zones: [
          {
            target: './src/golib',
            from: './',
            except: ['./src/golib', './node_modules'],
            message: golibMessage,
          },
          {
            target: ['./src/policy', './src/template'],
            from: [
              './src/resourceset',
              './src/inputs',
              './src/git',
              './src/kubernetes',
              './src/engine',
              './src/service',
            ],
            message: pureMessage,
          },
          {
            target: './src/store',
            from: './src',
            except: ['./store', './util'],
            message: storeMessage,
          },
        ],
      },
    ],
  },
  overrides: [
    {
      // The workspace's own packages resolve outside this folder; golib needs none of them.
      files: ['src/golib/**'],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: [{ group: ['@imageops/*'], message: golibMessage }] },
        ],
      },
    },
    {
      // The same for golib's sources, with Backstage's rule that sources import no tests.
      files: ['src/golib/**'],
      excludedFiles: ['**/*.test.*', '**/__testUtils__/**'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              { group: ['@imageops/*'], message: golibMessage },
              {
                group: [
                  '*.stories*',
                  '*.test*',
                  '**/__testUtils__/**',
                  '**/__mocks__/**',
                ],
              },
            ],
          },
        ],
      },
    },
  ],
});
