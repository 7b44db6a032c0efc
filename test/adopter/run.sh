#!/usr/bin/env bash
# The adopter test: what an adopter's Backstage does with the published packages.
#   1. builds the three plugin packages (declarations, `npm run build`) and packs them with
#      `npm pack` (Backstage's prepack: dist entry points, compiled config schema);
#   2. checks the tarballs (verify-tarballs.js);
#   3. copies the minimal app in test/adopter/app to a temporary directory outside the workspace
#      (nothing of the workspace's node_modules can resolve from there), pins its Backstage
#      dependencies to the versions the workspace has installed, and installs the tarballs with
#      `npm install --prefer-offline` (the npm cache the workspace install filled);
#   4. builds the app's frontend, starts its backend on 127.0.0.1 and checks the API, the served
#      app, the "Image updates" tab in Chromium and the packaged CLI (check.ts).
# Everything it starts is stopped, and the temporary directory deleted (KEEP_ADOPTER_DIR=1 keeps
# it). Options: --results FILE writes a jest-style result (one passed test) when all passes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/setup.sh

results=""
[ "${1:-}" = "--results" ] && results="$2"

PACKAGES=(image-automation-common image-automation-backend image-automation)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/image-automation-adopter.XXXXXX")"
cleanup() {
  # An interrupted `npm pack` leaves package.json rewritten for publishing: put it back.
  for p in "${PACKAGES[@]}"; do
    if [ -f "plugins/$p/package.json-prepack" ]; then
      mv -f "plugins/$p/package.json-prepack" "plugins/$p/package.json"
      rm -f "plugins/$p/config.schema.json"
    fi
  done
  if [ "${KEEP_ADOPTER_DIR:-}" = 1 ]; then echo "[adopter] kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

timings=()
phase() { timings+=("$1 $(( SECONDS - phase_started ))s"); phase_started=$SECONDS; }
phase_started=$SECONDS

# Nothing above the app may hold a node_modules, or packages would resolve from outside its own.
for d in "$WORK" $(p="$WORK"; while [ "$p" != / ]; do p="$(dirname "$p")"; echo "$p"; done); do
  if [ -e "$d/node_modules" ] && [ "$d" != "$WORK" ]; then
    echo "[adopter] $d/node_modules exists: choose another TMPDIR" >&2
    exit 1
  fi
done

echo "[adopter] building the packages"
tsc -p test/adopter/tsconfig.dist-types.json --pretty false
for p in "${PACKAGES[@]}"; do
  (cd "plugins/$p" && npm run build --silent)
done
phase build

echo "[adopter] packing them"
mkdir -p "$WORK/tarballs"
for p in "${PACKAGES[@]}"; do
  (cd "plugins/$p" && npm pack --silent --pack-destination "$WORK/tarballs" >/dev/null)
done
node test/adopter/verify-tarballs.js "$WORK/tarballs"
phase pack

echo "[adopter] installing the app in $WORK/app"
node test/adopter/prepare-app.js "$ROOT" test/adopter/app "$WORK/app" "$WORK/tarballs"
(cd "$WORK/app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error)
phase install

echo "[adopter] building the app's frontend"
(cd "$WORK/app/packages/app" && "$WORK/app/node_modules/.bin/backstage-cli" package build >"$WORK/app-build.log" 2>&1) ||
  { tail -40 "$WORK/app-build.log"; exit 1; }
phase app-build

node --require "$ROOT/node_modules/@backstage/cli-node/config/nodeTransform.cjs" test/adopter/check.ts "$WORK/app"
phase checks

echo "[adopter] passed in $SECONDS s (${timings[*]})"
if [ -n "$results" ]; then
  printf '{"numPassedTests":1,"numFailedTests":0,"numPendingTests":0,"numTodoTests":0,"numRuntimeErrorTestSuites":0}\n' >"$results"
fi
