#!/usr/bin/env bash
# Build the project's Docker image and prove it works, on a machine with no
# image registry: a private Docker daemon, a local Debian base image made with
# debootstrap, then the image is built, run, driven over HTTP, restarted, and
# everything this script started is stopped again.
#
#   sudo bash scripts/docker-smoke.sh
#
# Checks, in order:
#   - the image builds on the local base (BASE_IMAGE build argument);
#   - it runs as a non-root user and its HEALTHCHECK turns healthy;
#   - one wizard is walked through the JSON API (create, tick a step, read back);
#   - SIGTERM stops it cleanly (exit status 0, lifespan shutdown logged);
#   - after a restart the wizard and its ticked step are still on the volume;
#   - the JSON log lines mask the share token;
#   - a database that cannot be opened makes the container exit non-zero
#     before it serves anything (migrations fail closed);
#   - under scripts/with-postgres.sh (CONNECTOR_WIZARD_TEST_POSTGRES_URL set):
#     two containers on one PostgreSQL database, started together, both
#     migrate safely and serve the same wizard.
#
# Needs root (dockerd, debootstrap). Installs Debian's docker.io and
# debootstrap if missing. The Debian mirror comes from this machine's apt
# configuration; if HTTPS here goes through an intercepting proxy, the host's CA
# bundle is copied into the locally built base image only (never into the
# project's Dockerfile). Set CONNECTOR_WIZARD_BASE_TARBALL=/some/file.tar to
# keep the debootstrapped base between runs (it is rebuilt when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'docker-smoke: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (a private dockerd and debootstrap need it)"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# The client from the same Debian package as the daemon (a newer client may
# want buildx, which is not installed here).
docker_cli=/usr/bin/docker
[[ -x $docker_cli ]] || docker_cli=$(command -v docker)

started_at=$SECONDS
work=$(mktemp -d /tmp/connector-wizard-docker.XXXXXX)
export DOCKER_HOST="unix://$work/docker.sock"
export DOCKER_BUILDKIT=0
dockerd_pid=""
name="connector-wizard-smoke-$$"
volume="connector-wizard-smoke-$$"

docker() { "$docker_cli" "$@"; }

cleanup() {
  local status=$?
  set +e
  if [[ -n $dockerd_pid ]]; then
    if [[ $status -ne 0 ]]; then
      log "container logs (last 40 lines):"
      docker logs --tail 40 "$name" 2>&1 | sed 's/^/    /' >&2
    fi
    docker rm -f "$name" "$name-failclosed" "$name-pg-a" "$name-pg-b" >/dev/null 2>&1
    docker volume rm -f "$volume" "$volume-failclosed" >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -9 "$dockerd_pid" 2>/dev/null
  fi
  # dockerd unmounts its layers when it stops; anything left is unmounted here
  # before the folder goes.
  grep -o " ${work}[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r mount; do umount -l "$mount"; done
  rm -rf "$work"
  if [[ $status -eq 0 ]]; then
    log "passed in $((SECONDS - started_at)) s"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a private Docker daemon ---------------------------------------------------
log "starting a private dockerd in $work"
dockerd --host "$DOCKER_HOST" --data-root "$work/data" --exec-root "$work/exec" \
  --pidfile "$work/dockerd.pid" --iptables=false --ip-forward=false --bridge=none \
  >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/dockerd.log" >&2; die "dockerd exited"; }
  sleep 0.5
done
docker info >/dev/null 2>&1 || { tail -20 "$work/dockerd.log" >&2; die "dockerd did not answer"; }

# --- a local Debian base that stands in for python:3.12-slim -------------------
# The mirror this machine's apt uses (deb822 .sources or one-line .list files).
debian_mirror() {
  local codename=$1
  python3 - "$codename" <<'PY'
import glob, re, sys
codename = sys.argv[1]
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path, encoding="utf-8").read()):
        fields = {}
        for line in stanza.splitlines():
            if line.strip().startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and codename in fields.get("suites", []) and fields.get("uris"):
            print(fields["uris"][0])
            sys.exit(0)
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == codename:
            print(words[1])
            sys.exit(0)
sys.exit("no Debian mirror for " + codename + " in the apt configuration")
PY
}

base_image=connector-wizard-base:local
base_tar=${CONNECTOR_WIZARD_BASE_TARBALL:-$work/base.tar}
if [[ ! -s $base_tar ]]; then
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mirror=$(debian_mirror "$codename")
  log "debootstrap $codename (minbase + python3) from the apt mirror"
  rootfs="$work/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$codename" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  # This machine's CA bundle (it may include an intercepting proxy's CA), for
  # pip inside the build; in this local base only.
  if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/host-ca-bundle.crt"
  else
    cp "$rootfs/etc/ssl/certs/ca-certificates.crt" "$rootfs/etc/ssl/certs/host-ca-bundle.crt"
  fi
  tar -C "$rootfs" -cf "$base_tar.partial" .
  mv "$base_tar.partial" "$base_tar"
  rm -rf "$rootfs"
fi
docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/host-ca-bundle.crt' \
  --change 'CMD ["python3"]' \
  "$base_tar" "$base_image" >/dev/null
docker run --rm --network host "$base_image" python3 -c 'import venv, ssl, sys; print(sys.version.split()[0])' >/dev/null \
  || die "the local base image has no working python3"

# --- build ----------------------------------------------------------------------
image=connector-wizard:smoke
log "building the image on $base_image"
build_started=$SECONDS
docker build --network host --build-arg "BASE_IMAGE=$base_image" -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; die "docker build failed"; }
log "built in $((SECONDS - build_started)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
[[ $(docker image inspect -f '{{.Config.User}}' "$image") =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] \
  || die "the image does not set a numeric non-root USER"

# --- run, walk a wizard through the API ------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url="http://127.0.0.1:$port"
run() {
  # --network host: no bridge here (dockerd --bridge=none). The health interval
  # is shortened so the image's own HEALTHCHECK is seen to pass within the run.
  docker run -d --network host --name "$1" -v "$2:/data" \
    -e CONNECTOR_WIZARD_HOST=127.0.0.1 -e "CONNECTOR_WIZARD_PORT=$port" -e "CONNECTOR_WIZARD_PUBLIC_URL=$base_url" \
    --health-interval 1s --health-start-period 60s "${@:3}" "$image" >/dev/null
}

wait_healthy() {
  local container=${1:-$name} state=""
  for _ in $(seq 1 120); do
    state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$container")
    [[ $state == "running healthy" ]] && return 0
    [[ $state == running* ]] || die "container is $state"
    sleep 0.5
  done
  die "container $container not healthy after 60 s ($state)"
}

log "running it on 127.0.0.1:$port with volume $volume"
docker volume create "$volume" >/dev/null
run "$name" "$volume"
wait_healthy
uid=$(docker exec "$name" id -u)
[[ $uid != 0 ]] || die "the server runs as root"
log "healthy, running as uid $uid"

token=$(python3 scripts/smoke_walk.py create "$base_url") || die "walking a wizard through the API failed"

log "restarting (SIGTERM, then start)"
docker stop -t 20 "$name" >/dev/null
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[[ $exit_code == 0 ]] || die "SIGTERM stop exited with status $exit_code"
# Logs into a variable first: `docker logs | grep -q` under pipefail fails
# whenever grep stops reading early and docker logs gets SIGPIPE.
stopped_logs=$(docker logs "$name" 2>&1)
grep -q 'Application shutdown complete' <<<"$stopped_logs" || die "no graceful shutdown in the logs"
docker start "$name" >/dev/null
wait_healthy
python3 scripts/smoke_walk.py check "$base_url" "$token" || die "the wizard did not survive the restart"
log "the wizard and its ticked step survived the restart"

logs=$(docker logs "$name" 2>&1)
grep -q '"logger": "connector_wizard.access"' <<<"$logs" || die "no JSON access log lines"
grep -q '/api/v1/wizards/\*\*\*/steps/' <<<"$logs" || die "no masked request path in the access log"
if grep -qF -- "$token" <<<"$logs"; then die "a share token appears in the container logs"; fi
log "JSON access logs present, share token masked"

# --- migrations fail closed ------------------------------------------------------
docker volume create "$volume-failclosed" >/dev/null
other_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# /proc is not writable: the database cannot be created, so migrations fail.
docker run -d --network host --name "$name-failclosed" -v "$volume-failclosed:/data" \
  -e CONNECTOR_WIZARD_HOST=127.0.0.1 -e "CONNECTOR_WIZARD_PORT=$other_port" \
  -e CONNECTOR_WIZARD_DATABASE_URL=sqlite:////proc/connector-wizard.sqlite3 "$image" >/dev/null
docker wait "$name-failclosed" >"$work/failclosed.status" &
wait_pid=$!
for _ in $(seq 1 60); do
  kill -0 "$wait_pid" 2>/dev/null || break
  sleep 0.5
done
kill -0 "$wait_pid" 2>/dev/null && { kill "$wait_pid"; die "a container with an unusable database kept running"; }
wait "$wait_pid" || die "docker wait failed for the container with an unusable database"
failclosed_status=$(tr -d '[:space:]' <"$work/failclosed.status")
[[ $failclosed_status =~ ^[0-9]+$ ]] || die "docker wait gave no exit status: '$failclosed_status'"
[[ $failclosed_status =~ ^0*[1-9][0-9]*$ ]] || die "a container with an unusable database exited 0"
failed_logs=$(docker logs "$name-failclosed" 2>&1)
grep -q 'Application startup failed' <<<"$failed_logs" || die "no startup failure logged"
log "an unusable database stops the container before it serves (exit $failclosed_status)"

# --- two replicas on PostgreSQL ----------------------------------------------------
if [[ -n ${CONNECTOR_WIZARD_TEST_POSTGRES_URL:-} ]]; then
  pg_url=$(python3 - <<'PY'
import os, secrets, urllib.parse as u
# A fresh database on the test server, so the replicas start from empty and race to migrate.
url = u.urlsplit(os.environ["CONNECTOR_WIZARD_TEST_POSTGRES_URL"])
print(u.urlunsplit(url._replace(path="/smoke_" + secrets.token_hex(4))))
PY
)
  psql_url=${CONNECTOR_WIZARD_TEST_POSTGRES_URL/postgresql+psycopg:/postgresql:}
  docker run --rm --network host --entrypoint python3 "$image" -c '
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("CREATE DATABASE " + sys.argv[2])
' "$psql_url" "${pg_url##*/}" || die "could not create a database on the test PostgreSQL server"
  port_a=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  port_b=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log "two replicas on one PostgreSQL database (127.0.0.1:$port_a, 127.0.0.1:$port_b)"
  for replica in a b; do
    replica_port=$port_a
    [[ $replica == b ]] && replica_port=$port_b
    docker run -d --network host --name "$name-pg-$replica" \
      -e CONNECTOR_WIZARD_HOST=127.0.0.1 -e "CONNECTOR_WIZARD_PORT=$replica_port" \
      -e "CONNECTOR_WIZARD_DATABASE_URL=$pg_url" \
      --health-interval 1s --health-start-period 60s "$image" >/dev/null
  done
  wait_healthy "$name-pg-a"
  wait_healthy "$name-pg-b"
  pg_token=$(python3 scripts/smoke_walk.py create "http://127.0.0.1:$port_a") || die "walking a wizard through replica a failed"
  python3 scripts/smoke_walk.py check "http://127.0.0.1:$port_b" "$pg_token" || die "replica b does not see replica a's wizard"
  pg_password=$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).password or "")' "$pg_url")
  pg_logs=$(docker logs "$name-pg-a" 2>&1)
  if [[ -n $pg_password ]] && grep -qF -- "$pg_password" <<<"$pg_logs"; then
    die "the database password appears in the logs"
  fi
  log "replica b serves the wizard replica a created, ticked step included"
fi
