#!/usr/bin/env node
/*
 * Checks the packed tarballs in DIR are what a registry would serve: package.json pointing at
 * dist (never src), every entry point present, types, the compiled config schema, the backend's
 * migrations, bin and CLI bundle, and dependencies on each other as semver ranges (no workspace,
 * file or link specs). Exits 1 naming every problem.
 *   node verify-tarballs.js DIR
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const dir = path.resolve(process.argv[2] ?? '');
const problems = [];

const expected = {
  '@imageops/backstage-plugin-image-automation-common': {
    files: ['dist/index.cjs.js', 'dist/index.esm.js', 'dist/index.d.ts'],
  },
  '@imageops/backstage-plugin-image-automation-backend': {
    files: [
      'dist/index.cjs.js',
      'dist/index.d.ts',
      'dist/cli.cjs.js',
      'bin/image-automation',
      'config.schema.json',
    ],
    dirs: ['migrations/'],
    configKey: 'imageAutomation',
    feature: ['.', '@backstage/BackendFeature'],
  },
  '@imageops/backstage-plugin-image-automation': {
    files: [
      'dist/index.esm.js',
      'dist/index.d.ts',
      'dist/alpha.esm.js',
      'dist/alpha.d.ts',
      'config.schema.json',
    ],
    configKey: 'imageAutomation',
    feature: ['./alpha', '@backstage/FrontendPlugin'],
  },
};

for (const [name, want] of Object.entries(expected)) {
  const prefix = `${name.slice(1).replace('/', '-')}-`;
  const tarballs = fs
    .readdirSync(dir)
    .filter(f => f.startsWith(prefix) && /^\d/.test(f.slice(prefix.length)));
  if (tarballs.length !== 1) {
    problems.push(
      `${name}: expected one tarball in ${dir}, found ${tarballs.length}`,
    );
    continue;
  }
  const tarball = path.join(dir, tarballs[0]);
  const entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(e => e.replace(/^package\//, ''));
  const pkg = JSON.parse(
    execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], {
      encoding: 'utf8',
    }),
  );
  const has = file => entries.includes(file.replace(/^\.\//, ''));

  for (const file of want.files)
    if (!has(file))
      problems.push(`${name}: ${file} is missing from the tarball`);
  for (const d of want.dirs ?? []) {
    if (!entries.some(e => e.startsWith(d) && e.endsWith('.js')))
      problems.push(`${name}: no ${d}*.js in the tarball`);
  }
  if (entries.some(e => e.startsWith('src/')))
    problems.push(`${name}: the tarball contains src/`);
  if (entries.some(e => /(^|\/)[^/]+\.test\.[jt]sx?$/.test(e)))
    problems.push(`${name}: the tarball contains tests`);

  // Entry points: main, module, types and every exports target exist in the tarball.
  const targets = [pkg.main, pkg.module, pkg.types];
  const walk = v =>
    typeof v === 'string'
      ? targets.push(v)
      : v && Object.values(v).forEach(walk);
  walk(pkg.exports);
  for (const t of targets.filter(Boolean)) {
    if (t.includes('@backstage/')) continue; // the `backstage` feature marker, not a file
    if (/(^|\/)src\//.test(t))
      problems.push(`${name}: package.json points at sources (${t})`);
    else if (!has(t))
      problems.push(
        `${name}: package.json names ${t}, which is not in the tarball`,
      );
  }
  for (const [bin, file] of Object.entries(pkg.bin ?? {})) {
    if (!has(file))
      problems.push(`${name}: bin ${bin} (${file}) is not in the tarball`);
  }
  if (want.feature) {
    const [mount, type] = want.feature;
    if (pkg.backstage?.features?.[mount] !== type) {
      problems.push(
        `${name}: backstage.features["${mount}"] is ${pkg.backstage?.features?.[mount]}, expected ${type}`,
      );
    }
  }
  if (want.configKey) {
    if (pkg.configSchema !== 'config.schema.json')
      problems.push(`${name}: configSchema is ${pkg.configSchema}`);
    else {
      const schema = JSON.parse(
        execFileSync('tar', ['-xzOf', tarball, 'package/config.schema.json'], {
          encoding: 'utf8',
        }),
      );
      if (!schema.properties?.[want.configKey])
        problems.push(`${name}: config.schema.json has no ${want.configKey}`);
    }
  }
  for (const section of [
    'dependencies',
    'peerDependencies',
    'optionalDependencies',
  ]) {
    for (const [dep, spec] of Object.entries(pkg[section] ?? {})) {
      if (
        /^(workspace|file|link|portal|git\+|github):/.test(spec) ||
        spec === '*'
      ) {
        problems.push(
          `${name}: ${section}.${dep} is "${spec}", which a registry install cannot resolve`,
        );
      }
      if (dep.startsWith('@imageops/') && spec !== `^${pkg.version}`) {
        problems.push(
          `${name}: ${section}.${dep} is "${spec}", expected "^${pkg.version}"`,
        );
      }
    }
  }
  if (pkg.private) problems.push(`${name}: package.json says private`);
  console.log(
    `${name}@${pkg.version}: ${entries.length} files, main ${pkg.main}`,
  );
}

if (problems.length) {
  console.error(
    `the tarballs are not publishable:\n  ${problems.join('\n  ')}`,
  );
  process.exit(1);
}
console.log('the tarballs are complete');
