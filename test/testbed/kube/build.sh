#!/usr/bin/env bash
# Builds the Kubernetes test bed: kube-apiserver and kubectl of one Kubernetes release, etcd, and the Flux CRDs.
#
# Everything lands in ~/.cache/image-automation/kubernetes-<version>/ (override the root with
# IMAGE_AUTOMATION_CACHE), keyed by version so that a version bump rebuilds and an existing build is reused:
#   bin/kube-apiserver bin/kubectl bin/etcd   crds/*.yaml   BUILD-INFO (which path built the binaries, and why)
# The script is a no-op when all of these exist. It needs Go and the Go module proxy; when building from the module
# proxy fails it falls back to Debian's `kubernetes` source package (v1.20, vendored, offline) and says so.
#
# Usage: build.sh            (versions from versions.env next to this script)
# Heavy: 8-15 min and ~3 GB cold. Runs niced with `go build -p 1` unless KUBE_BUILD_PARALLEL is set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}"
out="$cache_root/kubernetes-$KUBERNETES_VERSION"
bin="$out/bin"
crds="$out/crds"
work="$out/work"
parallel="${KUBE_BUILD_PARALLEL:-1}"
mkdir -p "$bin" "$crds" "$work"
# Several test runs may start at once on a fresh machine: one builds, the others wait and then find the binaries.
exec 9>"$out/.build.lock"
flock 9

log() { echo "[kube-build] $*" >&2; }
command -v go >/dev/null || { log "Go is required (the test bed is built from the Go module proxy)"; exit 1; }
if ! command -v unzip >/dev/null; then
  [ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >/dev/null ||
    { log "unzip is required (apt-get install unzip)"; exit 1; }
fi
gobuild() { CGO_ENABLED=0 nice -n 15 go build -p "$parallel" -trimpath "$@"; }

# The staging version of a Kubernetes release: v1.36.3 -> v0.36.3.
staging_version="v0.${KUBERNETES_VERSION#v1.}"

# k8s.io/kubernetes maps its staging modules with relative `replace` directives, which `go install` refuses. A
# wrapper module that replaces each staging module with its published tag builds the release's commands unchanged.
build_kubernetes_from_modules() {
  local dir="$work/kubernetes-wrapper"
  mkdir -p "$dir"
  (
    cd "$dir"
    local release_mod
    release_mod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    [ -s "$release_mod" ] || { log "no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION"; return 1; }
    {
      echo "module github.com/image-automation/testbed/kubernetes"
      echo
      sed -n 's/^go \(.*\)/go \1/p' "$release_mod" | head -1
      echo
      echo "replace ("
      sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 '"$staging_version"'#p' "$release_mod"
      echo ")"
    } >go.mod
    export GOFLAGS=-mod=mod
    go get "k8s.io/kubernetes@$KUBERNETES_VERSION"
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION"
    local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
    if [ ! -x "$bin/kube-apiserver" ]; then
      log "building kube-apiserver $KUBERNETES_VERSION (module proxy)"
      gobuild -ldflags "$ldflags" -o "$bin/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver \
        || gobuild -ldflags "$ldflags -checklinkname=0" -o "$bin/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver
      mv "$bin/kube-apiserver.tmp.$$" "$bin/kube-apiserver"
    fi
    if [ ! -x "$bin/kubectl" ]; then
      log "building kubectl $KUBERNETES_VERSION (module proxy)"
      gobuild -ldflags "$ldflags" -o "$bin/kubectl.tmp.$$" k8s.io/kubernetes/cmd/kubectl \
        || gobuild -ldflags "$ldflags -checklinkname=0" -o "$bin/kubectl.tmp.$$" k8s.io/kubernetes/cmd/kubectl
      mv "$bin/kubectl.tmp.$$" "$bin/kubectl"
    fi
  )
}

# Offline fallback: Debian bookworm's kubernetes source package ships its dependencies vendored. Its vendored
# modern-go/reflect2 1.0.1 panics on Go >= 1.18 at the first POST, so Debian's 1.0.2 sources replace it.
build_kubernetes_from_debian_source() {
  local dir="$work/debian-source"
  mkdir -p "$dir"
  if ! grep -rqs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding a deb-src entry for bookworm"
    echo "deb-src http://deb.debian.org/debian bookworm main" >/etc/apt/sources.list.d/image-automation-src.list
  fi
  apt-get update -qq
  apt-get install -y -qq golang-go golang-github-modern-go-reflect2-dev dpkg-dev >/dev/null
  (
    cd "$dir"
    compgen -G 'kubernetes-*/' >/dev/null || apt-get source -qq kubernetes
    cd "$(compgen -G 'kubernetes-*/' | head -1)"
    rm -rf vendor/github.com/modern-go/reflect2
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
    PATH="/usr/lib/go/bin:$PATH" GOPROXY=off GOFLAGS=-mod=vendor nice -n 15 make WHAT="cmd/kube-apiserver cmd/kubectl"
    cp _output/local/go/bin/kube-apiserver _output/local/go/bin/kubectl "$bin/"
  )
}

build_etcd() {
  [ -x "$bin/etcd" ] && return 0
  log "building etcd (module proxy, $here/etcd)"
  (cd "$here/etcd" && GOFLAGS=-mod=mod gobuild -ldflags "-s -w" -o "$bin/etcd.tmp.$$" .)
  mv "$bin/etcd.tmp.$$" "$bin/etcd"
}

# Flux's CRDs ship in the controllers' Go modules under config/crd/bases (the Flux Operator's under config/crd/bases
# too); the module proxy serves them as plain module zips, so no git access is needed.
fetch_crds() {
  [ -f "$crds/.complete" ] && return 0
  local module zip
  for module in $FLUX_CRD_MODULES; do
    # The module zip, not its extracted directory: `go mod download` refuses to extract modules that want a newer Go
    # than the one installed (source-controller v1.10 wants Go 1.27), but it still downloads and verifies the zip.
    zip="$(cd "$work" && { go mod download -json "$module" || true; } | sed -n 's/.*"Zip": "\(.*\)".*/\1/p')"
    [ -s "$zip" ] || { log "module $module could not be downloaded"; return 1; }
    unzip -q -o -j "$zip" '*/config/crd/bases/*.yaml' -d "$crds" || { log "no config/crd/bases in $module"; return 1; }
  done
  touch "$crds/.complete"
}

build_etcd
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kubectl" ]; then
  if build_kubernetes_from_modules 2>"$work/module-build.log"; then
    echo "kube-apiserver and kubectl $KUBERNETES_VERSION built from the Go module proxy (wrapper module)" >"$out/BUILD-INFO"
  else
    tail -20 "$work/module-build.log" >&2
    log "module-proxy build failed (log: $work/module-build.log); falling back to Debian's kubernetes source package"
    build_kubernetes_from_debian_source
    {
      echo "kube-apiserver and kubectl built from Debian's kubernetes source package (v1.20) because the module build failed:"
      tail -5 "$work/module-build.log"
    } >"$out/BUILD-INFO"
  fi
fi
fetch_crds
log "ready: $out ($(cat "$out/BUILD-INFO" 2>/dev/null))"
echo "$out"
