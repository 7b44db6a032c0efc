#!/usr/bin/env bash
# Pushes new tags into the registry of the running sandbox (scripts/start.sh --sandbox), so its
# scans, selections, promotions, commits and applies can be watched on the Image updates tab.
#   scripts/sandbox-push.sh podinfo 6.9.0     # also: chart (the podinfo Helm chart), redis
# The sandbox is found through .data/sandbox/state.json (SANDBOX_DIR overrides the directory).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SANDBOX_DIR="$(realpath -m "${SANDBOX_DIR:-$ROOT/.data/sandbox}")"
[ -x "$ROOT/.tools/node/bin/node" ] && PATH="$ROOT/.tools/node/bin:$PATH"
cd "$ROOT"
exec node --require @backstage/cli-node/config/nodeTransform.cjs test/testbed/sandboxPush.ts "$@"
