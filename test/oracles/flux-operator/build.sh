#!/usr/bin/env bash
# Builds the real `flux-operator` CLI from the Go module proxy (once per version) and prints
# the path of the binary. The differential test and the benchmark call this; CI runs it on a
# fresh machine. Only the binary is kept, outside the repository.
set -euo pipefail
VERSION="${FLUX_OPERATOR_VERSION:-v0.59.0}"
# v0.59.0 wants Go 1.27: test/testbed/build-flux-operator.sh builds it with go1.27.3 from the module proxy,
# the CLI in the same `go build` as the operator the comparison suite runs (one compile for both).
if [ "${VERSION}" = v0.59.0 ]; then
  out="$(FLUX_OPERATOR_VERSION="${VERSION}" bash "$(dirname "${BASH_SOURCE[0]}")/../../testbed/build-flux-operator.sh")"
  echo "${out}/cli"
  exit 0
fi
BIN_DIR="${IMAGE_AUTOMATION_CACHE:-${HOME}/.cache/image-automation}/flux-operator-${VERSION}"
BIN="${BIN_DIR}/cli"
mkdir -p "${BIN_DIR}"
# Concurrent callers (tests, the benchmark) wait for one build instead of racing.
exec 9> "${BIN_DIR}/.lock"
flock 9
if [ ! -x "${BIN}" ]; then
  # Older releases (v0.58.0 is the newest whose go.mod accepts Go 1.26) with the installed Go.
  # Install into a temporary directory and move, so a half-written binary is never used.
  tmp="$(mktemp -d "${BIN_DIR}/build.XXXXXX")"
  GOBIN="${tmp}" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    nice -n 10 go install "github.com/controlplaneio-fluxcd/flux-operator/cmd/cli@${VERSION}" >&2
  mv "${tmp}/cli" "${BIN}"
  rmdir "${tmp}"
fi
echo "${BIN}"
