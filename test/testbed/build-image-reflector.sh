#!/usr/bin/env bash
# Builds the real Flux image-reflector-controller from the Go module proxy, for the comparison suite
# in test/src/flux (issue #18), into ~/.cache/image-automation/image-reflector-controller-<version>/
# (override the root with IMAGE_AUTOMATION_CACHE) and prints the directory. A no-op when the binary exists.
#
# The release's go.mod replaces its API module with `./api`, which `go install module@version` refuses. As the
# kube-apiserver build does (kube/build.sh), a wrapper module requires the release and repeats its replace line,
# pointing it at the API module of the same version, which the proxy serves. Only the controller binary is built
# (-trimpath, no debug info); GOMODCACHE and GOCACHE are the usual ones, shared with the other test bed builds.
#
# The directory also gets MODULE-DIR: the release's directory in the module cache (its config/crd/bases holds the
# CRDs; kube/build.sh already installs them from the same module version into the test apiserver).
set -euo pipefail
VERSION="${IMAGE_REFLECTOR_VERSION:-v1.1.1}"
MODULE=github.com/fluxcd/image-reflector-controller
OUT="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}/image-reflector-controller-$VERSION"
BIN="$OUT/image-reflector-controller"
mkdir -p "$OUT"
# Concurrent callers wait for one build instead of racing.
exec 9>"$OUT/.build.lock"
flock 9

log() { echo "[image-reflector-build] $*" >&2; }
if [ -x "$BIN" ] && [ -s "$OUT/MODULE-DIR" ] && [ -d "$(cat "$OUT/MODULE-DIR")/config/crd/bases" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "Go is required (the controller is built from the Go module proxy)"; exit 1; }

work="$OUT/work"
mkdir -p "$work"
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
log "resolving $MODULE@$VERSION on the module proxy"
module_dir="$(go mod download -json "$MODULE@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
[ -d "$module_dir/config/crd/bases" ] || { log "module $MODULE@$VERSION could not be downloaded"; exit 1; }
echo "$module_dir" >"$OUT/MODULE-DIR"
if [ -x "$BIN" ]; then
  log "binary present; recorded the module directory again ($module_dir)"
  echo "$OUT"
  exit 0
fi

go_line="$(sed -n 's/^go \(.*\)/go \1/p' "$module_dir/go.mod" | head -1)"
cat >go.mod <<EOT
module github.com/image-automation/testbed/image-reflector-controller

$go_line

// The release's own go.mod says: replace $MODULE/api => ./api. The API module of the same version is served.
replace $MODULE/api => $MODULE/api $VERSION

require $MODULE $VERSION
EOT
log "downloading the release's dependencies"
go get "$MODULE@$VERSION" >&2
started=$SECONDS
log "building image-reflector-controller $VERSION (module proxy, wrapper module in $work)"
CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$BIN.tmp.$$" "$MODULE"
mv "$BIN.tmp.$$" "$BIN"
echo "image-reflector-controller $VERSION built from the Go module proxy (wrapper module), compiled in $((SECONDS - started)) s" >"$OUT/BUILD-INFO"
log "ready: $BIN"
echo "$OUT"
