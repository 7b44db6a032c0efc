#!/usr/bin/env bash
# Throwaway PostgreSQL for shell scripts (e.g. to give Backstage's TestDatabases a server through
# BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING).
#   postgres.sh start DIR   initialises DIR, starts the server on 127.0.0.1 and a free port,
#                           prints postgresql://postgres:postgres@127.0.0.1:PORT
#   postgres.sh stop DIR    stops the server and deletes DIR
# As root, the server runs as the `postgres` user (PostgreSQL refuses root).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action="$1"
dir="$2"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$bin" ] || { echo "PostgreSQL is not installed (/usr/lib/postgresql/*/bin)" >&2; exit 1; }

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "$action" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/data/postmaster.pid" ]; then
      echo "a server is already running in $dir" >&2
      exit 1
    fi
    mkdir -p "$dir/socket"
    echo postgres > "$dir/pwfile"
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_server_user "$bin/initdb" -D "$dir/data" --no-sync -U postgres --pwfile="$dir/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # max_connections: the test command's PostgreSQL pass runs two test processes at once, each
    # starting whole backends (a pool per plugin) and the browser suites' apps: 160 at peak measured.
    for attempt in 1 2 3; do
      port="$(free_port)"
      if as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
        >/dev/null; then
        echo "$port" > "$dir/port"
        echo "postgresql://postgres:postgres@127.0.0.1:$port"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
