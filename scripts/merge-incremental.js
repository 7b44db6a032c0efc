#!/usr/bin/env node
// Usage: node scripts/merge-incremental.js OLD.json NEW.json OUT.json
//
// A StrykerJS run stopped with Ctrl-C writes an incremental report holding only the mutants that
// run tested. This puts the results of OLD (the committed file) back under those of NEW: a mutant
// NEW has (same mutator, replacement and location) keeps NEW's result; the others keep OLD's, with
// their test ids mapped to NEW's tests (by file and name; tests only OLD has are added).
// scripts/mutation-targets.js merges its targeted runs with it too. docs/testing.md, "Mutation testing".
const fs = require('fs');

/** A mutant's identity from one report to the next (ids are unique within one report only). */
const mutantKey = m =>
  [
    m.mutatorName,
    m.replacement,
    m.location.start.line,
    m.location.start.column,
    m.location.end.line,
    m.location.end.column,
  ].join('|');

function mergeIncremental(oldFile, newFile, outFile) {
  const older = JSON.parse(fs.readFileSync(oldFile, 'utf8'));
  const newer = JSON.parse(fs.readFileSync(newFile, 'utf8'));

  const idOf = new Map();
  let maxId = -1;
  for (const [file, { tests }] of Object.entries(newer.testFiles ?? {})) {
    for (const test of tests) {
      idOf.set(`${file}\n${test.name}`, test.id);
      maxId = Math.max(maxId, Number(test.id));
    }
  }
  const newIdOf = new Map();
  for (const [file, { tests }] of Object.entries(older.testFiles ?? {})) {
    for (const test of tests) {
      const key = `${file}\n${test.name}`;
      let id = idOf.get(key);
      if (id === undefined) {
        id = String(++maxId);
        idOf.set(key, id);
        newer.testFiles ??= {};
        (newer.testFiles[file] ??= { tests: [] }).tests.push({ ...test, id });
      }
      newIdOf.set(test.id, id);
    }
  }

  let kept = 0;
  for (const [file, result] of Object.entries(older.files)) {
    const target = (newer.files[file] ??= { ...result, mutants: [] });
    const present = new Set(target.mutants.map(mutantKey));
    for (const mutant of result.mutants) {
      if (present.has(mutantKey(mutant))) continue;
      const copy = { ...mutant };
      for (const field of ['coveredBy', 'killedBy']) {
        if (copy[field]) copy[field] = copy[field].map(id => newIdOf.get(id));
      }
      target.mutants.push(copy);
      kept++;
    }
  }
  // Indented as Stryker writes it, so that the committed file diffs line by line.
  fs.writeFileSync(outFile, JSON.stringify(newer, null, 2));
  console.log(
    `${kept} older results kept beside ${
      Object.values(newer.files).reduce((n, f) => n + f.mutants.length, 0) -
      kept
    } newer ones`,
  );
}

module.exports = { mergeIncremental, mutantKey };

if (require.main === module) {
  const [oldFile, newFile, outFile] = process.argv.slice(2);
  if (!outFile) {
    console.error('usage: merge-incremental.js OLD.json NEW.json OUT.json');
    process.exit(2);
  }
  mergeIncremental(oldFile, newFile, outFile);
}
