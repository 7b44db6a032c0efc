#!/usr/bin/env bash
# Installs everything, then runs every test suite: type check, unit, store (SQLite and a real
# PostgreSQL), integration against real registries and servers (their backends on SQLite, then
# again on PostgreSQL), the browser test, and the adopter test (the packed packages installed
# into a minimal Backstage app outside the workspace: test/adopter/run.sh).
# Ends with one line: "N passed, N failed[, N skipped]", summed over every runner.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

RESULTS="$ROOT/.testbed/results"
PGDIR="$(mktemp -d /tmp/image-automation-pg.XXXXXX)"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
cleanup() { bash test/testbed/postgres.sh stop "$PGDIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT

export BACKSTAGE_TEST_DISABLE_DOCKER=1
# Undocumented members are allowed; the frontend re-exports the common package's types, which
# api-extractor reaches as sources, not declarations (ae-wrong-input-file-type).
API_REPORT_OMIT=ae-undocumented,ae-wrong-input-file-type
API_REPORT_PACKAGES="plugins/image-automation-common plugins/image-automation-backend plugins/image-automation"

# Every step that fails is named in the closing line and counted as a failure there, so the line
# never says "0 failed" after a failed type check, a server that did not start or a build error.
status=0
broken=()
step_failed() { status=1; broken+=("$1"); }

# Assigned apart from `export`, whose own status would hide a failed start: without PostgreSQL the
# store suites would run on SQLite alone, so a missing server fails the run.
if PG_URL="$(bash test/testbed/postgres.sh start "$PGDIR")" && [ -n "$PG_URL" ]; then
  export BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING="$PG_URL"
else
  echo "PostgreSQL did not start (test/testbed/postgres.sh start)" >&2
  step_failed "PostgreSQL did not start"
fi

echo "== type check, and the public API reports of the three packages"
# tsc writes the declarations (dist-types/) that api-extractor reads. The reports (report*.api.md
# beside each package.json) are checked in: a change to the public API fails here until
# `npm run build:api-reports` is run and the reports are committed with it.
if tsc --pretty false; then
  backstage-repo-tools api-reports --ci -o "$API_REPORT_OMIT" $API_REPORT_PACKAGES \
    || step_failed "API reports out of date (npm run build:api-reports)"
else
  step_failed "type check failed"
fi

echo "== lint (ESLint in every package, with the backend's layering rules)"
backstage-cli repo lint || step_failed "lint failed"
# No import cycles between the backend's modules (nor in the frontend and common packages): a
# cycle is a layering back-edge (issue #17).
madge --circular --no-spinner --extensions ts,tsx plugins/image-automation-backend/src plugins/image-automation/src plugins/image-automation-common/src \
  >"$RESULTS/madge.log" 2>&1 || { tail -20 "$RESULTS/madge.log"; step_failed "import cycles (npx madge --circular --extensions ts,tsx plugins/*/src)"; }

echo "== formatting (prettier, Backstage's config; .prettierignore lists what is recorded byte for byte)"
prettier --check . >"$RESULTS/prettier.log" 2>&1 || { grep -v '^Checking' "$RESULTS/prettier.log" | head -20; step_failed "formatting differs (npx prettier --write .)"; }

echo "== building the real peers the suites run (cached in ~/.cache/image-automation; no-ops when built)"
# Built here, one after the other with both cores, rather than inside the suites' beforeAll. A
# cold build is long (first run: about 17 minutes in all), so it says what it builds and how long
# it has been at it, once a minute; the full output is in the log.
build_peer() {
  local name="$1" log="$RESULTS/build-$2.log" started=$SECONDS pid
  shift 2
  "$@" >"$log" 2>&1 &
  pid=$!
  while ! wait_for "$pid" 60; do echo "   $name: building, $(( (SECONDS - started) / 60 )) min so far (log: $log)"; done
  if wait "$pid"; then
    echo "   $name: ready ($(( SECONDS - started )) s)"
  else
    tail -20 "$log"
    step_failed "$name build failed"
  fi
}
# True once the process has ended, false after the timeout while it still runs.
wait_for() {
  local end=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do [ $SECONDS -ge $end ] && return 1; sleep 1; done
}
build_peer "kube-apiserver/etcd" kube env KUBE_BUILD_PARALLEL=1 bash test/testbed/kube/build.sh
build_peer "registry v3" registry bash test/testbed/build-registry-v3.sh
# The Flux Operator v0.59.0 (operator and CLI in one `go build`, with Go 1.27.3 fetched from the module proxy):
# the CLI is the oracle for ResourceSet rendering, the operator runs the ResourceSet comparison corpus
# (test/src/flux/fluxOperator.test.ts). About 17 minutes cold on two busy cores (nothing of the Go 1.26 build
# cache is reused by the newer compiler).
build_peer "flux-operator" flux-operator bash test/testbed/build-flux-operator.sh
# The real image-reflector-controller for the comparison corpus (test/src/flux, issue #18).
build_peer "image-reflector-controller" image-reflector bash test/testbed/build-image-reflector.sh
build_peer "notification-controller" notification-controller bash test/testbed/build-notification-controller.sh
# kyaml v0.21.1 setters harness for the Git automation comparison (test/src/flux/gitSetters.test.ts),
# with go-git v5.19.1 and sprig v3.3.0 for its automate mode (test/src/flux/gitAutomation.test.ts):
# image-automation-controller is not served by the module proxy. About 1.5 minutes cold (go-git and
# sprig added about 12 s to a build with a warm module cache).
build_peer "kyaml setters harness" kyaml-setters bash test/oracles/kyaml-setters/build.sh
# Gitea (SQLite, CGO) for the Gitea input providers: about 8 minutes cold.
build_peer "gitea" gitea bash test/testbed/build-gitea.sh

echo "== building the app (the browser test serves it from the backend)"
(cd packages/app && backstage-cli package build) >"$RESULTS/app-build.log" 2>&1 || { cat "$RESULTS/app-build.log"; step_failed "app build failed"; }

echo "== jest: every package and the cross-package suites"
# Without CI set, `backstage-cli repo test` watches for changes instead of running once.
CI=true backstage-cli repo test --ci --json --outputFile="$RESULTS/jest.json" || status=1

echo "== jest: the suites that start a real backend, again on PostgreSQL"
# The first pass ran their backends on SQLite; production runs on PostgreSQL (backendHarness.ts
# and the browser suites' startApp.ts).
IMAGE_AUTOMATION_IT_DATABASE=postgres CI=true backstage-cli repo test --ci --json \
  --outputFile="$RESULTS/jest-postgres.json" test/src/integration test/src/git test/src/resourceset test/src/inputs \
  test/src/browser || status=1

echo "== adopter test: the packed packages in a minimal Backstage app outside the workspace (about 5 min)"
# test/adopter/run.sh: npm pack, install the tarballs into a fresh app in a temporary directory,
# start it, check the API, the "Image updates" tab in Chromium and the packaged CLI. One test.
bash test/adopter/run.sh --results "$RESULTS/adopter.json" >"$RESULTS/adopter.log" 2>&1 ||
  { tail -40 "$RESULTS/adopter.log"; step_failed "adopter test failed (log: .testbed/results/adopter.log)"; }

BROKEN_STEPS="$(printf '%s\n' "${broken[@]+"${broken[@]}"}")" node scripts/summarise-results.js "$RESULTS"/*.json
exit $status
