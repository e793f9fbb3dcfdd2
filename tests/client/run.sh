#!/usr/bin/env bash
# Real-client compatibility test: drives Huddle with the rocketchat_API package from PyPI.
#
#   tests/client/run.sh [pytest args...]
#
# Environment:
#   HUDDLE_CLIENT_VENV   venv to use/create        (default: $REPO/target/client-venv)
#   HUDDLE_URL           test this running server   (then HUDDLE_ADMIN_USERNAME/PASSWORD must be set
#                                                    too, and nothing is started)
#   HUDDLE_BIN           server binary to start     (default: $REPO/target/debug/huddle)
#   HUDDLE_DATABASE_URL  --database-url for the started server (default: a fresh SQLite file in a
#                        temp dir; CI points it at PostgreSQL)
#   HUDDLE_ADMIN_USERNAME / HUDDLE_ADMIN_PASSWORD / HUDDLE_ADMIN_EMAIL
#                        admin the started server creates (defaults: admin / random / admin@example.com;
#                        with HUDDLE_DATABASE_URL set: admin<random> / random / admin<random>@example.com,
#                        because the server leaves an existing admin, and its password, as it is)
#
# Exits with pytest's exit code. The started server is stopped on exit; its log is printed when
# anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${HUDDLE_CLIENT_VENV:-$REPO/target/client-venv}"
PY="$VENV/bin/python"

server_pid=""
server_log=""
tmpdir=""

cleanup() {
    local rc=$?
    trap - EXIT
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -n "$server_log" && -s "$server_log" ]]; then
        echo "---- huddle server log (last 300 lines of $server_log) ----" >&2
        tail -n 300 "$server_log" >&2 || true
        echo "---- end of server log ----" >&2
    fi
    if [[ -n "$tmpdir" ]]; then
        rm -rf "$tmpdir"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- venv -------------------------------------------------------------------------------------
if [[ ! -x "$PY" ]]; then
    echo "creating venv $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" || {
        echo "python3 -m venv failed (on Debian's own python: apt-get install python3-venv)" >&2
        exit 1
    }
fi
"$PY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"

# ---- server -----------------------------------------------------------------------------------
if [[ -z "${HUDDLE_URL:-}" ]]; then
    HUDDLE_BIN="${HUDDLE_BIN:-$REPO/target/debug/huddle}"
    if [[ ! -x "$HUDDLE_BIN" ]]; then
        echo "server binary not found: $HUDDLE_BIN (build it with: cargo build -p huddle, or set HUDDLE_BIN)" >&2
        exit 1
    fi
    tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/huddle-client-test.XXXXXX")"
    server_log="$tmpdir/server.log"
    database_url="${HUDDLE_DATABASE_URL:-sqlite://$tmpdir/huddle.db}"
    port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    if [[ -z "${HUDDLE_DATABASE_URL:-}" ]]; then
        default_admin="admin"
    else
        # A database that outlives this run (CI's PostgreSQL): the server only creates the admin when
        # no user has that username, so a fixed "admin" would keep an earlier run's random password.
        # A fresh name (and e-mail) per run always gets created with the password below.
        default_admin="admin$("$PY" -c 'import secrets; print(secrets.token_hex(5))')"
    fi
    admin_username="${HUDDLE_ADMIN_USERNAME:-$default_admin}"
    admin_password="${HUDDLE_ADMIN_PASSWORD:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')}"
    if [[ "$admin_username" == "admin" ]]; then
        admin_email="${HUDDLE_ADMIN_EMAIL:-admin@example.com}"
    else
        admin_email="${HUDDLE_ADMIN_EMAIL:-$admin_username@example.com}"
    fi

    # The posting rate limit off, as Rocket.Chat turns its limits off in TEST_MODE: the tests post
    # as fast as a script can (the limit itself is tested in tests/api/limits.rs).
    config="$tmpdir/huddle.toml"
    echo "message_rate_limit_calls = 0" >"$config"

    HUDDLE_ADMIN_USERNAME="$admin_username" \
    HUDDLE_ADMIN_PASSWORD="$admin_password" \
    HUDDLE_ADMIN_EMAIL="$admin_email" \
    HUDDLE_SECRETS_KEY="${HUDDLE_SECRETS_KEY:-$("$PY" -c 'import secrets; print(secrets.token_hex(32))')}" \
        "$HUDDLE_BIN" serve --config "$config" --listen 127.0.0.1 --port "$port" --database-url "$database_url" \
        >"$server_log" 2>&1 </dev/null &
    server_pid=$!

    url="http://127.0.0.1:$port"
    echo "started huddle (pid $server_pid) on $url, log $server_log" >&2
    deadline=$((SECONDS + 30))
    until "$PY" - "$url/api/info" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
    do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "huddle exited before answering GET /api/info" >&2
            exit 1
        fi
        if (( SECONDS >= deadline )); then
            echo "huddle did not answer GET /api/info with 200 within 30 s" >&2
            exit 1
        fi
        sleep 0.2
    done

    export HUDDLE_URL="$url"
    export HUDDLE_ADMIN_USERNAME="$admin_username"
    export HUDDLE_ADMIN_PASSWORD="$admin_password"
    export HUDDLE_ADMIN_EMAIL="$admin_email"
fi

# ---- tests ------------------------------------------------------------------------------------
export PYTHONDONTWRITEBYTECODE=1
set +e
# test_cluster_async.py needs three nodes: run-cluster.sh runs it.
"$PY" -m pytest -q -p no:cacheprovider "$HERE" --ignore="$HERE/test_cluster_async.py" "$@"
rc=$?
set -e
exit "$rc"
