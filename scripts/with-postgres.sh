#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster on 127.0.0.1 and DATABASE_URL pointing at it.
#   scripts/with-postgres.sh cargo test --workspace --all-features
# Installs PostgreSQL from Debian's packages if it is missing. The cluster lives in a temporary
# directory, listens only on loopback (port $PGPORT, default 54329 or the next free one) and is
# removed at exit.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian's packages" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "PostgreSQL is missing: install the postgresql package (needs root)" >&2; exit 1; }
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Only the binaries: no default cluster left running on port 5432 (an existing
    # configuration is left alone).
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        $SUDO mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq postgresql >/dev/null
fi
PGBIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"

# A port nothing listens on (a cluster left by a killed run keeps its port).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${PGPORT:-}" ]; then
    PGPORT=54329
    while ! port_free "$PGPORT"; do PGPORT=$((PGPORT + 1)); done
fi

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

PGDATA="$(mktemp -d /tmp/webhook-pg.XXXXXX)"
chmod 755 "$PGDATA"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGDATA"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$PGDATA/data" -U postgres --auth=trust -E UTF8 >/dev/null
# TLS with a throwaway self-signed certificate, so that `sslmode=require` is tested too
# (plain connections are still accepted).
if ! command -v openssl >/dev/null; then
    echo "installing openssl (a certificate for the test cluster)" >&2
    SUDO=""
    [ "$(id -u)" != 0 ] && SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq openssl >/dev/null
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout "$PGDATA/data/server.key" -out "$PGDATA/data/server.crt" >/dev/null 2>&1
chmod 600 "$PGDATA/data/server.key"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA/data/server.key" "$PGDATA/data/server.crt"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA/data" -l "$PGDATA/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA -c max_connections=300 -c fsync=on -c ssl=on" start >/dev/null
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE webhooks" >/dev/null

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/webhooks"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT, DATABASE_URL=$DATABASE_URL" >&2
"$@"
