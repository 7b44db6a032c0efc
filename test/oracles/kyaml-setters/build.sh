#!/usr/bin/env bash
# Builds the kyaml setters harness (main.go, automate.go and its packages: sigs.k8s.io/kustomize/kyaml v0.21.1, go-git
# v5.19.1 and sprig v3.3.0 from the Go module
# proxy, pinned by go.sum) once per source version and prints the path of the binary.
# image-automation-controller is served by the proxy in no version, so test/src/flux/gitSetters.test.ts
# compares our setters with this harness on the library the controller uses. Only the binary is
# kept, outside the repository.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KEY="$(cd "${DIR}" && find . -name "*.go" | LC_ALL=C sort | xargs cat go.mod go.sum | sha256sum | cut -c1-12)"
BIN_DIR="${IMAGE_AUTOMATION_CACHE:-${HOME}/.cache/image-automation}/kyaml-setters-v0.21.1-gogit-v5.19.1-${KEY}"
BIN="${BIN_DIR}/kyaml-setters"
mkdir -p "${BIN_DIR}"
# Concurrent callers wait for one build instead of racing.
exec 9> "${BIN_DIR}/.lock"
flock 9
if [ ! -x "${BIN}" ]; then
  tmp="$(mktemp "${BIN_DIR}/build.XXXXXX")"
  (cd "${DIR}" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 nice -n 10 go build -o "${tmp}" .) >&2
  chmod +x "${tmp}"
  mv "${tmp}" "${BIN}"
fi
echo "${BIN}"
