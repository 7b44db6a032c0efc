#!/usr/bin/env node
// The incremental step of scripts/mutation.sh for a module whose tests live outside the backend
// package (test/src): StrykerJS diffs only test files inside the package, so for such a module it
// takes every test for new and reuses nothing (docs/testing.md, "Incremental"). This script
// decides instead, from the module's committed incremental file and Git:
//
//   node scripts/mutation-targets.js plan <module>
//     reads reports/mutation/<module>.mutants.json (every mutant of the module now, listed by
//     STRYKER_LIST=1) and stryker/<module>.incremental.json (the last results), and writes
//       reports/mutation/<module>.reused.json    the results that still hold, in the same format;
//       reports/mutation/<module>.targets.json   the line ranges of the other mutants (for
//                                                STRYKER_TARGETS, stryker.config.mjs).
//     A result still holds when the mutant is the same (mutator, replacement, place in the file)
//     and either it did not compile, or it was killed by a test whose file has not changed since
//     the incremental file was last committed while nothing else the tests run changed (the rest of
//     the package, the test bed, the suites' helpers; changed test files are fine). Everything
//     else runs again: survivors and mutants without coverage (a new test may kill them), timeouts,
//     new or moved mutants. A range can hold other mutants too (a block's own mutant holds all of
//     its body's): those run again as well.
//   node scripts/mutation-targets.js merge <module>
//     puts the reused results under those of the targeted run into stryker/<module>.incremental.json
//     (scripts/merge-incremental.js) and copies it to reports/mutation/<module>.json, the report
//     the closing score lines read.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { mergeIncremental, mutantKey } = require('./merge-incremental');

const ROOT = path.resolve(__dirname, '..');
const PKG = path.join(ROOT, 'plugins/image-automation-backend');
const [command, moduleName] = process.argv.slice(2);
if (!['plan', 'merge'].includes(command) || !moduleName) {
  console.error('usage: mutation-targets.js plan|merge <module>');
  process.exit(2);
}
const reports = path.join(PKG, 'reports/mutation');
const incrementalFile = path.join(
  PKG,
  `stryker/${moduleName}.incremental.json`,
);
const reusedFile = path.join(reports, `${moduleName}.reused.json`);
const readJson = file => JSON.parse(fs.readFileSync(file, 'utf8'));

const targeted = path.join(reports, `${moduleName}.targeted.incremental.json`);
if (command === 'merge') {
  if (!fs.existsSync(targeted)) {
    // Nothing had to run again.
    fs.copyFileSync(reusedFile, incrementalFile);
  } else {
    mergeIncremental(reusedFile, targeted, incrementalFile);
  }
  fs.copyFileSync(incrementalFile, path.join(reports, `${moduleName}.json`));
  process.exit(0);
}

const git = (...args) =>
  execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
/** Repository-relative names of the files changed since the incremental file was committed. */
function changedFiles() {
  const [base] = git(
    'log',
    '-1',
    '--format=%H',
    '--',
    path.relative(ROOT, incrementalFile),
  );
  if (!base) return undefined;
  return new Set([
    ...git('diff', '--name-only', base),
    ...git('ls-files', '--others', '--exclude-standard'),
  ]);
}

const current = Object.entries(
  readJson(path.join(reports, `${moduleName}.mutants.json`)).files,
);
const last = fs.existsSync(incrementalFile)
  ? readJson(incrementalFile)
  : { files: {}, testFiles: {} };
const changed = changedFiles();
/** Test files (package-relative, as Stryker names them) and whether each is unchanged. */
const unchangedTest = new Map();
const lastTests = new Map();
// Code the tests run besides the mutated files (the rest of the package, the test bed and the
// suites' helpers): when any of it changed, a kill may not hold, so none is reused.
const mutated = new Set(
  current.map(([file]) => path.relative(ROOT, path.resolve(PKG, file))),
);
const helperChanged =
  !changed ||
  [...changed].some(
    file =>
      !mutated.has(file) &&
      !/\.test\.tsx?$/.test(file) &&
      (file.startsWith('test/') ||
        file.startsWith('plugins/image-automation-backend/src/')),
  );
for (const [file, { tests }] of Object.entries(last.testFiles ?? {})) {
  const fromRoot = path.relative(ROOT, path.resolve(PKG, file));
  unchangedTest.set(file, !helperChanged && !changed.has(fromRoot));
  for (const test of tests) lastTests.set(test.id, file);
}

const reused = { ...last, files: {} };
const ranges = new Set();
const counts = { reused: 0, target: 0 };
for (const [file, entry] of current) {
  const { mutants } = entry;
  const before = new Map(
    (last.files[file]?.mutants ?? []).map(m => [mutantKey(m), m]),
  );
  for (const mutant of mutants) {
    const result = before.get(mutantKey(mutant));
    const holds =
      result?.status === 'CompileError' ||
      (result?.status === 'Killed' &&
        (result.killedBy ?? []).some(id =>
          unchangedTest.get(lastTests.get(id)),
        ));
    if (holds) {
      (reused.files[file] ??= { ...entry, mutants: [] }).mutants.push(result);
      counts.reused++;
    } else {
      // Stryker's ranges: lines from 1, columns from 0 (a report's columns start at 1).
      const { start, end } = mutant.location;
      ranges.add(
        `${file}:${start.line}:${start.column - 1}-${end.line}:${
          end.column - 1
        }`,
      );
      counts.target++;
    }
  }
}
fs.rmSync(targeted, { force: true });
fs.writeFileSync(reusedFile, JSON.stringify(reused));
fs.writeFileSync(
  path.join(reports, `${moduleName}.targets.json`),
  JSON.stringify([...ranges]),
);
console.log(
  `${moduleName}: ${counts.reused} results reused, ${
    counts.target
  } mutants to run${
    helperChanged
      ? ' (code the tests run changed since the last results: no kill reused)'
      : ''
  }`,
);
