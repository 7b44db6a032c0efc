// Sums the results of every runner (jest JSON reports) into the one closing line CI reads.
const fs = require('node:fs');

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!fs.existsSync(file)) {
    console.error(`no results in ${file}: counting the run as one failure`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A suite that failed to run (syntax error, crash) has no failed tests but must count.
  failed += report.numRuntimeErrorTestSuites ?? 0;
}
// Steps of the test command that failed outside the runners (type check, a server that did not
// start, a build): each counts as one failure and is named, so the line cannot read as a pass.
const broken = (process.env.BROKEN_STEPS ?? '').split('\n').filter(Boolean);
failed += broken.length;
console.log(
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${
    broken.length ? ` (${broken.join('; ')})` : ''
  }`,
);
