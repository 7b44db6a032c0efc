#!/usr/bin/env bash
# Copies the screenshots the guides use from the browser tests' results (.testbed/results) into
# docs/images/ under stable names, cropped to the part each guide talks about
# (scripts/docs-screenshots.ts lists them).
#
# Produce the screenshots first (the app must be built):
#   (cd packages/app && npx backstage-cli package build)
#   CI=true BACKSTAGE_TEST_DISABLE_DOCKER=1 npx backstage-cli repo test \
#     test/src/browser/entityTab.test.ts test/src/browser/promotionsTab.test.ts \
#     test/src/browser/fleetPage.test.ts --watchAll=false
# then: scripts/docs-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null 2>&1 || true
exec node --require @backstage/cli-node/config/nodeTransform.cjs scripts/docs-screenshots.ts
