#!/usr/bin/env bash
# Builds go-containerregistry's `crane` from the Go module proxy into
# ~/.cache/image-automation/crane-<version>/crane (only when missing) and prints its path.
# The registry benchmark compares our tag listing with it.
set -euo pipefail
VERSION="${CRANE_VERSION:-v0.22.1}"
DEST="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}/crane-$VERSION"
if [ ! -x "$DEST/crane" ]; then
  command -v go >/dev/null 2>&1 || { echo "Go is needed to build crane $VERSION" >&2; exit 1; }
  mkdir -p "$DEST"
  echo "building crane $VERSION into $DEST (first run only)" >&2
  GOBIN="$DEST" CGO_ENABLED=0 GOFLAGS=-trimpath nice -n 10 \
    go install "github.com/google/go-containerregistry/cmd/crane@$VERSION" >&2
fi
echo "$DEST/crane"
