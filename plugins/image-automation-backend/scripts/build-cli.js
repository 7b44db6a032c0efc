#!/usr/bin/env node
/*
 * Bundles the `image-automation` command-line tool (src/cli/index.ts and everything it imports)
 * into one CommonJS file, dist/cli.cjs.js, which bin/image-automation loads when it exists: plain
 * JavaScript, no TypeScript transform and no module resolution at start-up.
 *
 *   node scripts/build-cli.js            (npm run build:cli; also part of prepack)
 */
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');

esbuild
  .build({
    entryPoints: [path.join(root, 'src/cli/index.ts')],
    outfile: path.join(root, 'dist/cli.cjs.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    // Names stay readable in stack traces of an unexpected error.
    keepNames: true,
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
    // A dependency of the package (so installed beside it) that loads its transliteration tables
    // one block at a time on demand; bundled, all 300 KiB of them would be parsed at every start.
    external: ['unidecode'],
  })
  .then(result => {
    const out = Object.entries(result.metafile.outputs).find(([file]) =>
      file.endsWith('cli.cjs.js'),
    );
    process.stderr.write(
      `built ${path.relative(process.cwd(), out[0])} (${Math.round(
        out[1].bytes / 1024,
      )} KiB)\n`,
    );
  })
  .catch(() => {
    process.exitCode = 1;
  });
