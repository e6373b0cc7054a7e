#!/bin/bash
# First start: a cluster in $PGDATA, the role `paymesh` with the given password, the
# databases in POSTGRES_DATABASES (default: processing), owned by it; password
# authentication (scram) from the container's networks. Then the server, in the foreground.
set -euo pipefail
if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
  POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
fi
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
    echo "paymesh-postgres: give POSTGRES_PASSWORD_FILE (a secret) or POSTGRES_PASSWORD" >&2
    exit 78
  fi
  initdb -D "$PGDATA" --username=postgres --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "host all all ::/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # Set up over the Unix socket only, then start for real.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /tmp" -w start >/dev/null
  password=${POSTGRES_PASSWORD//\'/\'\'}
  psql -h /tmp -U postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE paymesh LOGIN PASSWORD '$password'" >/dev/null
  for db in ${POSTGRES_DATABASES:-processing}; do
    psql -h /tmp -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$db\" OWNER paymesh" >/dev/null
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "paymesh-postgres: cluster created in $PGDATA"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -k /tmp "$@"
