#!/usr/bin/env bash
# Builds the real Flux notification-controller from the Go module proxy, for the comparison suite
# test/src/flux/notificationController.test.ts (issue #18), into
# ~/.cache/image-automation/notification-controller-<version>/ (override the root with IMAGE_AUTOMATION_CACHE)
# and prints the directory. A no-op when the binary exists.
#
# As build-image-reflector.sh does: the release's go.mod replaces its API module with `./api`, which
# `go install module@version` refuses, so a wrapper module requires the release and repeats its replace lines
# (the API module pointed at the same version, which the proxy serves; gopkg.in/yaml.v3 at v3.0.1 as the
# release pins it). Only the controller binary is built (-trimpath, no debug info, niced); GOMODCACHE and
# GOCACHE are the usual ones, shared with the other test bed builds (k8s.io, controller-runtime and fluxcd/pkg
# modules come from image-reflector-controller's build when it ran first).
#
# The directory also gets MODULE-DIR: the release's directory in the module cache (its config/crd/bases holds the
# CRDs; kube/build.sh already installs them from the same module version into the test apiserver).
set -euo pipefail
VERSION="${NOTIFICATION_CONTROLLER_VERSION:-v1.5.0}"
MODULE=github.com/fluxcd/notification-controller
OUT="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}/notification-controller-$VERSION"
BIN="$OUT/notification-controller"
mkdir -p "$OUT"
# Concurrent callers wait for one build instead of racing.
exec 9>"$OUT/.build.lock"
flock 9

log() { echo "[notification-controller-build] $*" >&2; }
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
# The release's other replace lines (gopkg.in/yaml.v3), repeated as they are: a replace only counts in the main module.
other_replaces="$(grep -E '^replace ' "$module_dir/go.mod" | grep -v "=> \./" || true)"
cat >go.mod <<EOT
module github.com/image-automation/testbed/notification-controller

$go_line

// The release's own go.mod says: replace $MODULE/api => ./api. The API module of the same version is served.
replace $MODULE/api => $MODULE/api $VERSION

$other_replaces

require $MODULE $VERSION
EOT
started=$SECONDS
log "downloading the release's dependencies"
go get "$MODULE@$VERSION" >&2
downloaded=$((SECONDS - started))
log "building notification-controller $VERSION (module proxy, wrapper module in $work)"
CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$BIN.tmp.$$" "$MODULE"
mv "$BIN.tmp.$$" "$BIN"
echo "notification-controller $VERSION built from the Go module proxy (wrapper module): dependencies resolved in ${downloaded} s, compiled in $((SECONDS - started - downloaded)) s" >"$OUT/BUILD-INFO"
log "ready: $BIN"
echo "$OUT"
