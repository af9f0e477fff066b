#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL server for the demo and the tests.
#
#   scripts/pg.sh start DIR   initdb in DIR, start on a free localhost port, write the libpq
#                             connection string to DIR/conninfo (and print it)
#   scripts/pg.sh stop DIR    stop the server and delete DIR
#
# The server runs as the `postgres` system user (PostgreSQL refuses to run as root), listens on
# 127.0.0.1 only, and trades durability for speed (fsync off): it holds nothing worth keeping.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (run scripts/setup.sh)" >&2; exit 1; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

free_port() {
  for p in $(seq 55432 55632); do
    if ! ss -Hltn "sport = :$p" | grep -q .; then echo "$p"; return 0; fi
  done
  echo "pg.sh: no free port in 55432..55632" >&2
  return 1
}

case "$cmd" in
  start)
    if [ -d "$dir/data" ]; then # left over from an interrupted run
      as_postgres "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
      rm -rf "$dir"
    fi
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    port=$(free_port)
    as_postgres "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_postgres "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "host=127.0.0.1 port=$port dbname=postgres user=postgres" | tee "$dir/conninfo"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_postgres "$pgbin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
