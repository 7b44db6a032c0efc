#!/usr/bin/env bash
# Installs everything, then starts Backstage (frontend on http://127.0.0.1:3000, backend on
# :7007) with the embedded defaults: SQLite and the demo catalog in examples/.
#   --sandbox   also start the local sandbox (test/testbed/sandboxWorld.ts): an OCI registry seeded
#               with podinfo, its Helm chart and redis, a Git server with a repository carrying
#               $imagepolicy markers, and kube-apiserver + etcd with Flux's CRDs, plus demo
#               services for the Git and the Gitless workflow. Push a new version with
#               scripts/sandbox-push.sh podinfo 6.9.0. Ctrl-C stops everything and removes
#               .data/sandbox.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
mkdir -p .data/sqlite

configs=()
if [ "${1:-}" = "--sandbox" ]; then
  shift
  sandbox="$ROOT/.data/sandbox"
  if [ -f "$sandbox/state.json" ]; then
    old_pid="$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$sandbox/state.json")"
    if [ -n "$old_pid" ] && kill -0 "$old_pid" 2>/dev/null; then
      echo "a sandbox is already running (pid $old_pid); stop it first" >&2
      exit 1
    fi
  fi
  rm -rf "$sandbox"
  # In a process group of its own, which stop_sandbox ends as a whole (registry, Git server,
  # kube-apiserver, etcd, and a build still running) once the backend has stopped.
  setsid node --require @backstage/cli-node/config/nodeTransform.cjs test/testbed/sandbox.ts "$sandbox" &
  sandbox_pid=$!
  stop_sandbox() {
    trap - EXIT INT TERM HUP
    # The whole group: the sandbox's servers, and a kube-apiserver build if it is still building.
    kill -TERM -- "-$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    kill -KILL -- "-$sandbox_pid" 2>/dev/null || true
    rm -rf "$sandbox"
  }
  trap stop_sandbox EXIT
  trap 'stop_sandbox; exit 130' INT
  trap 'stop_sandbox; exit 143' TERM HUP
  # Cold, the sandbox first builds kube-apiserver and etcd (8-15 min, once per machine; it says so).
  until [ -f "$sandbox/app-config.sandbox.yaml" ]; do
    kill -0 "$sandbox_pid" 2>/dev/null || { echo "the sandbox failed to start" >&2; exit 1; }
    sleep 0.5
  done
  # Absolute paths: each package resolves --config from its own directory.
  configs=(--config "$ROOT/app-config.yaml" --config "$sandbox/app-config.sandbox.yaml")
fi
backstage-cli repo start ${configs[@]+"${configs[@]}"} "$@"
