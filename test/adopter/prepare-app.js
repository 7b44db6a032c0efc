#!/usr/bin/env node
/*
 * Copies the adopter app template to DEST and writes its dependency versions: every "WORKSPACE"
 * becomes the exact version the workspace has installed for that package (package-lock.json, as
 * seen from the workspace package of the same role: packages/app or packages/backend), every
 * "TARBALL" the packed tarball of that package in TARBALLS.
 *   node prepare-app.js WORKSPACE_ROOT TEMPLATE DEST TARBALLS
 */
const fs = require('node:fs');
const path = require('node:path');

const [root, template, dest, tarballs] = process.argv
  .slice(2)
  .map(p => path.resolve(p));
if (!tarballs) {
  console.error('usage: prepare-app.js WORKSPACE_ROOT TEMPLATE DEST TARBALLS');
  process.exit(2);
}
const lock = JSON.parse(
  fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'),
);

/** The version npm resolves for `name` from the workspace directory `from` ('' for the root). */
function workspaceVersion(name, from) {
  for (let dir = from; ; dir = path.posix.dirname(dir)) {
    const key = `${
      dir === '.' || dir === '' ? '' : `${dir}/`
    }node_modules/${name}`;
    const entry = lock.packages[key];
    if (entry?.version) return entry.version;
    if (dir === '.' || dir === '' || dir === '/') break;
  }
  throw new Error(
    `${name} is not installed in the workspace (package-lock.json); add it there first`,
  );
}

function tarball(name) {
  const file = `${name.replace(/^@/, '').replace('/', '-')}-`;
  const found = fs
    .readdirSync(tarballs)
    .filter(f => f.startsWith(file) && /^\d/.test(f.slice(file.length)));
  if (found.length !== 1)
    throw new Error(
      `expected one tarball of ${name} in ${tarballs}, found ${found.length}`,
    );
  return `file:${path.join(tarballs, found[0])}`;
}

const sections = ['dependencies', 'devDependencies', 'overrides'];
// Template package → the workspace package whose resolution it copies.
const counterparts = {
  '': '',
  'packages/app': 'packages/app',
  'packages/backend': 'packages/backend',
};

fs.cpSync(template, dest, { recursive: true });
for (const [rel, from] of Object.entries(counterparts)) {
  const file = path.join(dest, rel, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const section of sections) {
    for (const [name, spec] of Object.entries(pkg[section] ?? {})) {
      if (spec === 'WORKSPACE')
        pkg[section][name] = workspaceVersion(name, from);
      else if (spec === 'TARBALL') pkg[section][name] = tarball(name);
    }
  }
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  console.log(
    `${rel || '.'}: ${sections
      .flatMap(s => Object.entries(pkg[s] ?? {}).map(([n, v]) => `${n}@${v}`))
      .join(' ')}`,
  );
}
