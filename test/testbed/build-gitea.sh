#!/usr/bin/env bash
# Builds Gitea from the Go module proxy into ~/.cache/image-automation/gitea-<version>/ (only when missing) and
# prints that directory:
#   gitea                         the server, built with SQLite (`-tags 'sqlite sqlite_unlock_notify'`, CGO)
#   options/ templates/ public/   the files a build without `bindata` reads at run time (STATIC_ROOT_PATH)
#   BUILD-INFO                    version, tags, Go version and how long the build took
# Override the cache root with IMAGE_AUTOMATION_CACHE and the version with GITEA_VERSION.
#
# code.gitea.io/gitea pins some dependencies with `replace` lines in its go.mod, which `go install` refuses for a
# module that is not the main module. A wrapper module that repeats those lines builds the release unchanged.
# Heavy: ~1.5 GB of modules and a CGO build (mattn/go-sqlite3); runs niced with `go build -p $GITEA_BUILD_PARALLEL`
# (default: all cores). Several runs may start at once on a fresh machine: one builds, the others wait.
set -euo pipefail

VERSION="${GITEA_VERSION:-v1.26.0}"
cache_root="${IMAGE_AUTOMATION_CACHE:-$HOME/.cache/image-automation}"
out="$cache_root/gitea-$VERSION"
parallel="${GITEA_BUILD_PARALLEL:-$(nproc)}"
log() { echo "[gitea-build] $*" >&2; }

complete() { [ -x "$out/gitea" ] && [ -f "$out/options/.complete" ]; }
if complete; then
  echo "$out"
  exit 0
fi

mkdir -p "$out"
exec 9>"$out/.build.lock"
flock 9
if complete; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "Go is needed to build Gitea $VERSION"; exit 1; }
command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 ||
  { log "a C compiler is needed to build Gitea with SQLite (apt-get install gcc)"; exit 1; }

started=$(date +%s)
work="$out/work"
rm -rf "$work"
mkdir -p "$work"
log "building Gitea $VERSION into $out (first run only)"
(
  cd "$work"
  export GOFLAGS="-mod=mod -buildvcs=false"
  release_mod="$(go mod download -json "code.gitea.io/gitea@$VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  release_dir="$(go mod download -json "code.gitea.io/gitea@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [ -s "$release_mod" ] && [ -d "$release_dir" ] || { log "code.gitea.io/gitea@$VERSION could not be downloaded"; exit 1; }
  {
    echo "module github.com/image-automation/testbed/gitea"
    echo
    sed -n 's/^go \(.*\)/go \1/p' "$release_mod" | head -1
    echo
    echo "require code.gitea.io/gitea $VERSION"
    echo
    # One-line `replace a => b v` directives (Gitea writes them so), and any inside a `replace ( … )` block.
    awk '
      /^replace \(/ { block = 1; next }
      block && /^\)/ { block = 0; next }
      block { sub(/\/\/.*/, ""); if ($0 ~ /=>/) print "replace " $0; next }
      /^replace / { sub(/\/\/.*/, ""); print }
    ' "$release_mod"
  } >go.mod
  if grep -q '=> \.' go.mod; then log "Gitea's go.mod has a local replace the wrapper cannot repeat"; exit 1; fi
  go get "code.gitea.io/gitea@$VERSION"
  tags="sqlite sqlite_unlock_notify"
  CGO_ENABLED=1 nice -n 15 go build -p "$parallel" -trimpath -tags "$tags" \
    -ldflags "-s -w -X 'main.Version=${VERSION#v}' -X 'main.Tags=$tags'" \
    -o "$out/gitea.tmp.$$" code.gitea.io/gitea
  mv "$out/gitea.tmp.$$" "$out/gitea"
  rm -rf "$out/options" "$out/templates" "$out/public"
  cp -r "$release_dir/options" "$release_dir/templates" "$release_dir/public" "$out/"
  chmod -R u+w "$out/options" "$out/templates" "$out/public"
)
touch "$out/options/.complete"
rm -rf "$work"
{
  echo "Gitea $VERSION built from the Go module proxy (wrapper module repeating its replace lines)"
  echo "tags: sqlite sqlite_unlock_notify; $(go version); -p $parallel"
  echo "build took $(($(date +%s) - started)) s"
} >"$out/BUILD-INFO"
log "ready: $out ($(tail -1 "$out/BUILD-INFO"))"
echo "$out"
