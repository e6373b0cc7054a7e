#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL pass of the tests (./paymesh test):
#
#   scripts/pg-cluster.sh start DIR   initdb into DIR, start on a free loopback port,
#                                     print its URL (postgres://postgres@127.0.0.1:PORT)
#   scripts/pg-cluster.sh stop DIR    stop it (immediately: the data is thrown away)
#
# No system service is used. PostgreSQL refuses to run as root; as root the server runs
# as the `postgres` user the Debian package creates. Durability is off (fsync, full page
# writes): the cluster lives for one test run. The tests give every participant its own
# database on it (tests/pg_run.rs).
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  echo "PostgreSQL is not installed: run scripts/install-deps.sh --test" >&2
  exit 1
fi
as_owner=()
if [[ $(id -u) -eq 0 ]]; then as_owner=(runuser -u postgres --); fi

dir=${2:?usage: $0 start|stop DIR}
case "$1" in
  start)
    mkdir -p "$dir"
    if [[ ${#as_owner[@]} -gt 0 ]]; then chown postgres "$dir"; fi
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" --auth=trust --username=postgres \
      --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log"
    for _ in 1 2 3 4 5; do
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start \
          -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300" \
          >/dev/null; then
        echo "postgres://postgres@127.0.0.1:$port"
        exit 0
      fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
  stop)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
