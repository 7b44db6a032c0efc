#!/usr/bin/env bash
# Installs everything, then starts Backstage (frontend on http://localhost:3000, backend on
# :7007) with the embedded defaults: SQLite and the demo catalog in examples/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup.sh
mkdir -p .data/sqlite
exec backstage-cli repo start "$@"
