#!/usr/bin/env bash
# Builds the CNCF distribution v3 registry from the Go module proxy into
# ~/.cache/image-automation/registry-<version>/registry (only when missing) and prints its path.
# The test bed prefers it to Debian's docker-registry 2.8 because v3 paginates tag lists.
set -euo pipefail
VERSION="${REGISTRY_V3_VERSION:-v3.1.2}"
DEST="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}/registry-$VERSION"
if [ ! -x "$DEST/registry" ]; then
  command -v go >/dev/null 2>&1 || { echo "Go is needed to build distribution $VERSION" >&2; exit 1; }
  mkdir -p "$DEST"
  echo "building distribution registry $VERSION into $DEST (first run only)" >&2
  GOBIN="$DEST" CGO_ENABLED=0 GOFLAGS=-trimpath nice -n 10 \
    go install "github.com/distribution/distribution/v3/cmd/registry@$VERSION" >&2
fi
echo "$DEST/registry"
