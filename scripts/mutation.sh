#!/usr/bin/env bash
# Mutation testing (StrykerJS) of the backend modules that decide who may do what and what may
# run; docs/testing.md lists them, their last scores and the mutants that survive.
#
#   scripts/mutation.sh                  every module, smallest first
#   scripts/mutation.sh engine tenancy   those modules only (the reconciler modules, one per kind,
#                                        take from minutes to hours each)
#   scripts/mutation.sh --force engine   mutate everything again, ignoring the incremental file
#   STRYKER_CONCURRENCY=2 scripts/mutation.sh   more test processes (default 1: the machine is shared)
#
# Incremental: each module keeps the last results in
# plugins/image-automation-backend/stryker/<module>.incremental.json (committed), so a re-run only
# mutates and tests what changed since. For the modules whose tests live outside the package
# (test/src), where Stryker's own diff reuses nothing, scripts/mutation-targets.js picks the mutants
# to run again and merges the results. Not part of scripts/test.sh: a full run takes hours.
# Ends with one line per module, then the overall score.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
PKG="$ROOT/plugins/image-automation-backend"
DEFAULT=(secureJoin clusterWritePolicy tenancy manifestReader allowedRegistries credentials serviceAuthorization service engine
  preamble gitRepositoryReconciler imagePolicyReconciler imageRepositoryReconciler inputProviderReconciler
  resourceSetReconciler automationReconciler)

force=()
selected=()
for arg in "$@"; do
  case "$arg" in
    --force) force=(--force) ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *)
      if [[ " ${DEFAULT[*]} " != *" $arg "* ]]; then
        echo "unknown module '$arg'; modules: ${DEFAULT[*]}" >&2
        exit 2
      fi
      selected+=("$arg")
      ;;
  esac
done
[ ${#selected[@]} -gt 0 ] || selected=("${DEFAULT[@]}")

# Store tests run on SQLite here; the every-commit run covers PostgreSQL.
unset CI BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING
export BACKSTAGE_TEST_DISABLE_DOCKER=1
# Stryker runs a module's suites once per mutant in the same jest worker: the kube-apiserver of the
# resourceSetReconciler suites is started once per worker and reset between runs
# (test/testbed/kube/reuse.ts) instead of started each time.
export TESTBED_KUBE_REUSE=1

# Whether the module's tests include suites outside the package (stryker.config.mjs, `repo(...)`).
tests_outside() {
  STRYKER_MODULE="$1" node --input-type=module -e \
    "const { modules } = await import('./stryker.config.mjs');
     process.exit(modules[process.env.STRYKER_MODULE].tests.some(t => t.startsWith('../')) ? 0 : 1)"
}
# List the module's mutants, keep the results that still hold, run Stryker on the rest, merge.
targeted_run() {
  local module="$1" targets="reports/mutation/$1.targets.json"
  STRYKER_MODULE="$module" STRYKER_LIST=1 npx stryker run stryker.config.mjs \
    >"reports/mutation/$module.list.log" 2>&1 || { tail -20 "reports/mutation/$module.list.log"; return 1; }
  node "$ROOT/scripts/mutation-targets.js" plan "$module" || return 1
  if [ "$(node -p "require('./$targets').length")" -gt 0 ]; then
    STRYKER_MODULE="$module" STRYKER_TARGETS="$targets" npx stryker run stryker.config.mjs \
      --concurrency "${STRYKER_CONCURRENCY:-1}" || return 1
  fi
  node "$ROOT/scripts/mutation-targets.js" merge "$module"
}

status=0
cd "$PKG"
mkdir -p reports/mutation
for module in "${selected[@]}"; do
  echo "== mutation testing: $module"
  started=$SECONDS
  if [ ${#force[@]} -eq 0 ] && tests_outside "$module"; then
    if ! targeted_run "$module"; then
      echo "stryker failed for $module" >&2
      status=1
    fi
  elif ! STRYKER_MODULE="$module" npx stryker run stryker.config.mjs \
    --concurrency "${STRYKER_CONCURRENCY:-1}" "${force[@]+"${force[@]}"}"; then
    echo "stryker failed for $module" >&2
    status=1
  fi
  echo "== $module took $((SECONDS - started)) s"
done

echo "== mutation scores (reports/mutation/<module>.html has every mutant)"
node - "${DEFAULT[@]}" <<'JS'
const fs = require('fs');
const modules = process.argv.slice(2);
const total = { detected: 0, survived: 0, noCoverage: 0, valid: 0 };
for (const m of modules) {
  const file = `reports/mutation/${m}.json`;
  if (!fs.existsSync(file)) { console.log(`${m.padEnd(26)} not run yet`); continue; }
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, CompileError: 0, RuntimeError: 0, Ignored: 0 };
  for (const f of Object.values(report.files)) for (const mu of f.mutants) c[mu.status] = (c[mu.status] ?? 0) + 1;
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  total.detected += detected; total.survived += c.Survived; total.noCoverage += c.NoCoverage; total.valid += valid;
  const when = fs.statSync(file).mtime.toISOString().slice(0, 10);
  const score = valid ? ((100 * detected) / valid).toFixed(2) : 'n/a';
  console.log(`${m.padEnd(26)} ${String(score).padStart(6)} %  killed ${c.Killed}, timeout ${c.Timeout}, survived ${c.Survived}, no coverage ${c.NoCoverage}, compile errors ${c.CompileError}, static ignored ${c.Ignored} (${when})`);
}
const score = total.valid ? ((100 * total.detected) / total.valid).toFixed(2) : 'n/a';
console.log(`${'overall'.padEnd(26)} ${String(score).padStart(6)} %  ${total.detected} of ${total.valid} mutants detected, ${total.survived} survived, ${total.noCoverage} without coverage`);
JS
exit $status
