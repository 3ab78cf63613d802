#!/usr/bin/env bash
# Sets up a fresh machine and runs the all-in-one system with a demo: every service, the
# embedded database and queue, five print agents. No servers to install.
# Options go to `ektp up` (e.g. scripts/run.sh --port 9000). Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q -e .
port=8000
data_dir=./var
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --port) port=${args[$((i + 1))]} ;;
    --port=*) port=${args[$i]#--port=} ;;
    --data-dir) data_dir=${args[$((i + 1))]} ;;
    --data-dir=*) data_dir=${args[$i]#--data-dir=} ;;
  esac
done
.venv/bin/ektp up "$@" &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server' INT TERM
for _ in $(seq 1 120); do
  if ! kill -0 "$server" 2>/dev/null; then # `ektp up` stopped (e.g. it refused a setting: it said which)
    code=0
    wait "$server" || code=$?
    echo "ektp up stopped (exit $code): nothing is running, no demo posted." >&2
    exit "$code"
  fi
  .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$port/readyz').status_code != 200)" \
    2>/dev/null && break
  sleep 0.5
done
# The demo logs in with the token `ektp up` keeps in its data directory (or EKTP_BOOTSTRAP_TOKEN).
token=${EKTP_BOOTSTRAP_TOKEN:-$(cat "$data_dir/bootstrap-token" 2>/dev/null || true)}
.venv/bin/ektp demo --url "http://127.0.0.1:$port" --token "$token" --enrollments 20 --duplicates 2 --cases 2 || true
echo "The system keeps running at http://127.0.0.1:$port (Ctrl-C to stop)."
wait $server
