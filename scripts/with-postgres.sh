#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server, then stop and delete it.
#
#   bash scripts/with-postgres.sh .venv/bin/python -m pytest -m postgres
#
# Starts a fresh cluster (initdb + pg_ctl from Debian's postgresql package) in a
# temporary folder, listening on 127.0.0.1 only, on a random free port, with a
# random password; exports
#   CONNECTOR_WIZARD_TEST_POSTGRES_URL=postgresql+psycopg://wizard:…@127.0.0.1:PORT/wizard
# (a superuser, so tests can create a database each), runs the command, and
# stops the server whatever the command did. The command's exit status is the
# script's. Installs Debian's postgresql if no server binaries are found and
# we are root. As root, the server runs as the `postgres` user (PostgreSQL
# refuses to run as root).
#
# Durability is switched off (fsync, synchronous_commit, full_page_writes):
# the cluster lives for one test run and is deleted after it.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

find_bindir() {
  local dir found="" found_major=0
  # The highest installed major version (glob order is lexical: compare numbers).
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      local major=${dir#/usr/lib/postgresql/}
      major=${major%/bin}
      if [[ -z $found || $major -gt $found_major ]]; then
        found=$dir
        found_major=$major
      fi
    fi
  done
  [[ -n $found ]] && echo "$found"
}

bindir=$(find_bindir || true)
if [[ -z "$bindir" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "with-postgres: no PostgreSQL server found; install Debian's postgresql package" >&2
    exit 1
  fi
  echo "with-postgres: installing Debian's postgresql" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
  bindir=$(find_bindir)
fi

work=$(mktemp -d /tmp/connector-wizard-pg.XXXXXX)
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres: "$work"
  run_as=(runuser -u postgres --)
fi
chmod 700 "$work"

password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# shellcheck disable=SC2317  # called through the EXIT trap
stop() {
  local status=$?
  if [[ -f "$work/data/postmaster.pid" ]]; then
    "${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

printf '%s\n' "$password" >"$work/pwfile"
[[ ${#run_as[@]} -gt 0 ]] && chown postgres: "$work/pwfile"
"${run_as[@]}" "$bindir/initdb" -D "$work/data" -U wizard --pwfile="$work/pwfile" \
  --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; exit 1; }
rm -f "$work/pwfile"

# The socket directory is the temporary folder too, so nothing touches /run/postgresql.
"${run_as[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $work -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$work/server.log" >&2; exit 1; }

PGPASSWORD=$password "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U wizard -d postgres -v ON_ERROR_STOP=1 \
  -c "CREATE DATABASE wizard" >/dev/null

export CONNECTOR_WIZARD_TEST_POSTGRES_URL="postgresql+psycopg://wizard:${password}@127.0.0.1:${port}/wizard"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:${port}" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
