#!/usr/bin/env bash
# Builds the real Flux Operator v0.59.0 from the Go module proxy, for the comparison suite
# test/src/flux/fluxOperator.test.ts (issue #18): the operator (the controllers, cmd/operator) and, in the same
# `go build`, the `flux-operator` CLI (cmd/cli), into ~/.cache/image-automation/flux-operator-<version>/
# (override the root with IMAGE_AUTOMATION_CACHE) as `flux-operator` and `cli`. Prints the directory. A no-op
# when both binaries exist.
#
# v0.59.0's go.mod says `go 1.27.0`, newer than the Go installed here: GOTOOLCHAIN=go1.27.3 makes the go command
# fetch that toolchain from the module proxy (golang.org/toolchain) and build with it. A wrapper module requires
# the release (its go.mod has no replace lines, so the dependency versions are the release's, but for the one
# module noted below).
#
# The module zip the proxy serves lacks web/dist/ (the web UI's build output, made by npm in the release
# pipeline), which web/embed.go embeds with `//go:embed dist/*`, so the operator does not compile from the module
# cache as it is. The module directory `go mod download` verified (go.sum's hash of the proxy's zip) is copied into
# the wrapper's directory and the wrapper replaces the release with that copy; `go build -overlay` then adds one
# placeholder file, web/dist/index.html, to the build (the go command refuses overlays beneath GOMODCACHE, hence
# the copy; no file of the copy is changed). The web server stays off (--web-server-port=0), so the placeholder is
# never served. As the release's Dockerfile does: CGO off, GOFIPS140=latest (the operator refuses to start outside
# FIPS 140-3 mode), -trimpath, `-s -w`, main.VERSION set.
#
# The directory also gets MODULE-DIR (the release's directory in the module cache: config/crd/bases holds the
# CRDs, which kube/build.sh already installs into the test apiserver) and BUILD-INFO (how long the compile took).
set -euo pipefail
VERSION="${FLUX_OPERATOR_VERSION:-v0.59.0}"
# github.com/google/go-containerregistry/pkg/authn/kubernetes (registry credentials read from Kubernetes Secrets
# and service accounts' image pull secrets; the corpus sends no credentials): v0.59.0 requires a pseudo-version
# whose zip the module proxy reachable here does not serve (403 "This module version is not available"); the
# wrapper replaces it with the newest pseudo-version the proxy serves (`@latest`), which BUILD-INFO records.
AUTHN_K8S=github.com/google/go-containerregistry/pkg/authn/kubernetes
AUTHN_K8S_RELEASE=v0.0.0-20260604213829-6849394e8a65
AUTHN_K8S_SERVED=v0.0.0-20260224031529-85f2bf5f7303
TOOLCHAIN="${FLUX_OPERATOR_TOOLCHAIN:-go1.27.3}"
MODULE=github.com/controlplaneio-fluxcd/flux-operator
OUT="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}/flux-operator-$VERSION"
mkdir -p "$OUT"
# Concurrent callers (the suites, test/oracles/flux-operator/build.sh, the benchmark) wait for one build.
exec 9>"$OUT/.lock"
flock 9

log() { echo "[flux-operator-build] $*" >&2; }
if [ -x "$OUT/flux-operator" ] && [ -x "$OUT/cli" ] && [ -s "$OUT/MODULE-DIR" ] &&
  [ -d "$(cat "$OUT/MODULE-DIR")/config/crd/bases" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { log "Go is required (the operator is built from the Go module proxy)"; exit 1; }

work="$OUT/work"
mkdir -p "$work"
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN="$TOOLCHAIN"
started=$SECONDS
log "resolving $MODULE@$VERSION on the module proxy (toolchain $TOOLCHAIN, fetched from the proxy when missing)"
cat >go.mod <<EOT
module github.com/image-automation/testbed/flux-operator

go 1.27.0
EOT
module_dir="$(go mod download -json "$MODULE@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
[ -d "$module_dir/config/crd/bases" ] || { log "module $MODULE@$VERSION could not be downloaded"; exit 1; }
echo "$module_dir" >"$OUT/MODULE-DIR"
go_line="$(sed -n 's/^go \(.*\)/go \1/p' "$module_dir/go.mod" | head -1)"
# The verified module directory, copied (see above); go.mod and go.sum come with it.
rm -rf "$work/release"
cp -r --no-preserve=mode "$module_dir" "$work/release"
cat >go.mod <<EOT
module github.com/image-automation/testbed/flux-operator

$go_line

require $MODULE $VERSION

// The release as the module proxy serves it, copied from the module cache.
replace $MODULE => ./release

// The proxy reachable here answers 403 for the zip of the pseudo-version the release requires
// ($AUTHN_K8S_RELEASE); the newest it serves is used instead (see the note above).
replace $AUTHN_K8S => $AUTHN_K8S $AUTHN_K8S_SERVED
EOT
# The release's go.sum pins every dependency's hash; the build fetches what it needs (-mod=mod).
cp "$work/release/go.sum" go.sum
fetched=$((SECONDS - started))

# The placeholder for the web UI the module zip does not carry (see above).
echo '<!doctype html><title>flux-operator web UI not built (test bed)</title>' >"$work/index.html"
printf '{"Replace":{"%s/web/dist/index.html":"%s/index.html"}}\n' "$work/release" "$work" >"$work/overlay.json"

log "building flux-operator and its CLI $VERSION ($MODULE/cmd/operator, cmd/cli; wrapper module in $work)"
started=$SECONDS
rm -rf "$OUT/bin.tmp" && mkdir -p "$OUT/bin.tmp"
CGO_ENABLED=0 GOFIPS140=latest nice -n 10 go build -trimpath -ldflags "-s -w -X main.VERSION=${VERSION#v}" \
  -overlay "$work/overlay.json" -o "$OUT/bin.tmp/" "$MODULE/cmd/operator" "$MODULE/cmd/cli"
# Moved into place only once both are built, so a half-written binary is never used.
mv "$OUT/bin.tmp/cli" "$OUT/cli"
mv "$OUT/bin.tmp/operator" "$OUT/flux-operator"
rmdir "$OUT/bin.tmp"
echo "flux-operator and cli $VERSION built from the Go module proxy with $TOOLCHAIN (wrapper module, web/dist placeholder by -overlay, $AUTHN_K8S $AUTHN_K8S_SERVED for $AUTHN_K8S_RELEASE): module and toolchain fetched in ${fetched} s, compiled in $((SECONDS - started)) s" >"$OUT/BUILD-INFO"
log "ready: $OUT/flux-operator $OUT/cli"
echo "$OUT"
