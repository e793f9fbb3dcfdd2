#!/usr/bin/env bash
# Cluster mode with a real client (issue 13, test 9): starts a private nats-server on a free port,
# a fresh PostgreSQL database, three `huddle serve --nats-url` processes on it, and runs
# test_cluster_async.py (rocketchat-async bots connected to different nodes). Everything it
# started is killed by PID on exit, and the database dropped.
#
#   HUDDLE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test tests/client/run-cluster.sh
#
# Environment: HUDDLE_TEST_POSTGRES_URL (required), HUDDLE_BIN (default target/debug/huddle),
# HUDDLE_NATS_SERVER (default: nats-server on PATH or /usr/sbin), HUDDLE_CLIENT_VENV.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${HUDDLE_CLIENT_VENV:-$REPO/target/client-venv}"
PY="$VENV/bin/python"
BIN="${HUDDLE_BIN:-$REPO/target/debug/huddle}"
PG="${HUDDLE_TEST_POSTGRES_URL:?set HUDDLE_TEST_POSTGRES_URL (cluster mode needs PostgreSQL)}"
NATS="${HUDDLE_NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
[[ -x "$NATS" ]] || { echo "nats-server not found: apt-get install nats-server (or set HUDDLE_NATS_SERVER)" >&2; exit 1; }
[[ -x "$BIN" ]] || { echo "server binary not found: $BIN (cargo build -p huddle)" >&2; exit 1; }

tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/huddle-cluster-test.XXXXXX")"
db="huddle_cluster_$$"
pids=()
cleanup() {
    local rc=$?
    trap - EXIT
    for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [[ $rc -ne 0 ]]; then
        for log in "$tmpdir"/node*.log; do
            [[ -s "$log" ]] && { echo "---- $log (last 100 lines) ----" >&2; tail -n 100 "$log" >&2; }
        done
    fi
    psql "$PG" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    rm -rf "$tmpdir"
    exit "$rc"
}
trap cleanup EXIT

if [[ ! -x "$PY" ]]; then
    python3 -m venv "$VENV"
fi
"$PY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"

psql "$PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
database_url="${PG%/*}/$db"

"$NATS" -a 127.0.0.1 -p -1 --ports_file_dir "$tmpdir" >"$tmpdir/nats.log" 2>&1 &
pids+=($!)
ports="$tmpdir/nats-server_$!.ports"
for _ in $(seq 1 100); do [[ -s "$ports" ]] && break; sleep 0.1; done
nats_url="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["nats"][0])' "$ports")"

admin_password="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
# One key for every node: it seals the app's secret keys in the shared database.
secrets_key="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
urls=()
node_pids=()
for i in 1 2 3; do
    port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    HUDDLE_ADMIN_USERNAME=admin HUDDLE_ADMIN_PASSWORD="$admin_password" HUDDLE_ADMIN_EMAIL=admin@example.com \
        HUDDLE_SECRETS_KEY="$secrets_key" "$BIN" serve --listen 127.0.0.1 --port "$port" --database-url "$database_url" --nats-url "$nats_url" \
        >"$tmpdir/node$i.log" 2>&1 </dev/null &
    pids+=($!)
    node_pids+=($!)
    url="http://127.0.0.1:$port"
    deadline=$((SECONDS + 30))
    until "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url/api/info" 2>/dev/null; do
        kill -0 "${pids[-1]}" 2>/dev/null || { echo "node $i exited" >&2; exit 1; }
        (( SECONDS < deadline )) || { echo "node $i did not answer within 30 s" >&2; exit 1; }
        sleep 0.2
    done
    urls+=("$url")
done

export HUDDLE_CLUSTER_URLS="${urls[*]}"
# The freeze test stops and continues a node by its PID (and only those this script started).
export HUDDLE_CLUSTER_PIDS="${node_pids[*]}"
export HUDDLE_ADMIN_USERNAME=admin HUDDLE_ADMIN_PASSWORD="$admin_password"
export PYTHONDONTWRITEBYTECODE=1
"$PY" -m pytest -q -p no:cacheprovider "$HERE/test_cluster_async.py" "$@"
