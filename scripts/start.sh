#!/usr/bin/env bash
# Installs everything, then starts Backstage (frontend on http://127.0.0.1:3000, backend on
# :7007) with the embedded defaults: SQLite and the demo catalog in examples/.
#   --sandbox   also start a local OCI registry seeded with images, and demo services that scan
#               it, so real scans and selections work without internet access.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
mkdir -p .data/sqlite

configs=()
if [ "${1:-}" = "--sandbox" ]; then
  shift
  sandbox="$ROOT/.data/sandbox"
  rm -f "$sandbox/app-config.sandbox.yaml"
  node --require @backstage/cli-node/config/nodeTransform.cjs test/testbed/sandbox.ts "$sandbox" &
  sandbox_pid=$!
  trap 'kill $sandbox_pid 2>/dev/null; wait $sandbox_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    [ -f "$sandbox/app-config.sandbox.yaml" ] && break
    kill -0 $sandbox_pid 2>/dev/null || { echo "the sandbox failed to start" >&2; exit 1; }
    sleep 0.5
  done
  # Absolute paths: each package resolves --config from its own directory.
  configs=(--config "$ROOT/app-config.yaml" --config "$sandbox/app-config.sandbox.yaml")
fi
backstage-cli repo start ${configs[@]+"${configs[@]}"} "$@"
