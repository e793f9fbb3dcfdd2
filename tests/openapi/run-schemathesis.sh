#!/usr/bin/env bash
# Fuzzes both served OpenAPI descriptions with schemathesis (PyPI, pinned in requirements.txt)
# against a real `huddle serve` (the debug binary, SQLite in a temp dir, a free port), as an
# admin and with the app's secret key (the browser API as a user JWT), and fails on any server
# error (5xx) or any answer that does not match its described response schema.
#
#   tests/openapi/run-schemathesis.sh
#
# Environment:
#   HUDDLE_SCHEMATHESIS_VENV      venv to use/create (default: $REPO/target/schemathesis-venv)
#   HUDDLE_BIN                    server binary (default: $REPO/target/debug/huddle)
#   HUDDLE_SCHEMATHESIS_EXAMPLES  generated cases per operation and phase (default: 12)
#   HUDDLE_SCHEMATHESIS_CHECKS    schemathesis checks (default: not_a_server_error,
#                                 response_schema_conformance)
#
# What is excluded, and why: `logout` (GET and POST) is left out of the main runs, because a
# successful call ends the token every other call uses; it is fuzzed last, on its own token.
# The realtime socket (`/websocket`, `/v1/{appId}/realtime`) is not in the descriptions (it is
# a WebSocket). The stateful phase is not run: it would chain real ids into `users.delete`
# and the like, and end the admin it runs as.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${HUDDLE_SCHEMATHESIS_VENV:-$REPO/target/schemathesis-venv}"
PY="$VENV/bin/python"
EXAMPLES="${HUDDLE_SCHEMATHESIS_EXAMPLES:-12}"

server_pid=""
tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/huddle-schemathesis.XXXXXX")"
server_log="$tmpdir/server.log"

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
    if [[ $rc -ne 0 && -s "$server_log" ]]; then
        echo "---- huddle server log (last 100 lines) ----" >&2
        tail -n 100 "$server_log" >&2 || true
    fi
    rm -rf "$tmpdir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- venv -------------------------------------------------------------------------------------
if [[ ! -x "$PY" ]]; then
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" || {
        echo "python3 -m venv failed (on Debian's own python: apt-get install python3-venv)" >&2
        exit 1
    }
fi
"$PY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"

# ---- server -----------------------------------------------------------------------------------
HUDDLE_BIN="${HUDDLE_BIN:-$REPO/target/debug/huddle}"
if [[ ! -x "$HUDDLE_BIN" ]]; then
    echo "server binary not found: $HUDDLE_BIN (cargo build -p huddle)" >&2
    exit 1
fi
rand() { "$PY" -c 'import secrets; print(secrets.token_hex(12))'; }
port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
admin_password="$(rand)"
app_id="fuzz$(rand | cut -c1-8)"
app_secret="sk_$(rand)"
# No login limit: schemathesis calls `login` many times from one address.
HUDDLE_ADMIN_USERNAME=admin HUDDLE_ADMIN_PASSWORD="$admin_password" HUDDLE_ADMIN_EMAIL=admin@example.com \
HUDDLE_APP_ID="$app_id" HUDDLE_APP_SECRET="$app_secret" \
    "$HUDDLE_BIN" serve --listen 127.0.0.1 --port "$port" --database-url "sqlite://$tmpdir/huddle.db" \
    --login-rate-per-minute 0 >"$server_log" 2>&1 </dev/null &
server_pid=$!
url="http://127.0.0.1:$port"
echo "started huddle (pid $server_pid) on $url" >&2

# Waits for the server, logs the admin in twice (one token for the runs, one for `logout`),
# makes a TalkJS user and a user JWT for the browser API; prints shell assignments.
eval "$("$PY" - "$url" "$admin_password" "$app_id" "$app_secret" <<'PYEOF'
import base64, hashlib, hmac, json, sys, time, urllib.request
url, password, app, secret = sys.argv[1:5]

def call(method, path, body=None, headers=None):
    req = urllib.request.Request(url + path, method=method, headers={"Content-Type": "application/json", **(headers or {})},
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)

deadline = time.time() + 30
while True:
    try:
        call("GET", "/api/info")
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("huddle did not answer GET /api/info within 30 s")
        time.sleep(0.2)

def login():
    d = call("POST", "/api/v1/login", {"user": "admin", "password": password})["data"]
    return d["userId"], d["authToken"]

uid, token = login()
_, logout_token = login()
call("PUT", f"/v1/{app}/users/fuzz-user", {"name": "Fuzz User"}, {"Authorization": f"Bearer {secret}"})
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({"tokenType": "user", "sub": "fuzz-user", "iss": app, "exp": int(time.time()) + 3600}).encode())
sig = b64(hmac.new(secret.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest())
print(f"admin_id={uid}\nadmin_token={token}\nlogout_token={logout_token}\nuser_jwt={head}.{claims}.{sig}")
PYEOF
)"

# ---- schemathesis -----------------------------------------------------------------------------
# The app id fills `{app}`; the browser API (`/client/`) runs as the TalkJS user, the rest of the
# TalkJS API with the secret key.
# Reads name the GENERAL channel (every server has it), so they reach past "room not found"
# into the handlers and their success answers are checked against the description too.
cat >"$tmpdir/rocketchat.toml" <<TOML
[[operations]]
include-method = "GET"
include-path-regex = "/(channels|rooms|chat)[.]"
parameters = { "query.roomId" = "GENERAL", "query.rid" = "GENERAL" }
TOML
cat >"$tmpdir/talkjs.toml" <<TOML
[parameters]
"path.app" = "$app_id"

[[operations]]
include-path-regex = "/client/"
headers = { Authorization = "Bearer $user_jwt" }
TOML

# One worker: CPython 3.11's parser is not thread-safe under hypothesis (a SystemError
# "AST constructor recursion depth mismatch" aborted the coverage phase with two).
st() {
    local config="$1"
    shift
    # From the temp dir: schemathesis keeps a run cache (`.schemathesis/`) in its working
    # directory, which must not land in the repository.
    (cd "$tmpdir" && "$VENV/bin/schemathesis" --config-file "$tmpdir/$config.toml" run \
        --checks "${HUDDLE_SCHEMATHESIS_CHECKS:-not_a_server_error,response_schema_conformance}" --phases examples,coverage,fuzzing \
        --max-examples "$EXAMPLES" --seed 16 --workers 1 --request-timeout 20 \
        --suppress-health-check all --no-color --report junit --report-dir "$tmpdir/report" "$@")
}
export PYTHONDONTWRITEBYTECODE=1
start=$SECONDS
echo "== schemathesis: Rocket.Chat API ($url/api/openapi.json)"
st rocketchat "$url/api/openapi.json" --url "$url" \
    -H "X-User-Id: $admin_id" -H "X-Auth-Token: $admin_token" \
    --exclude-path-regex '/logout$'
echo "== schemathesis: TalkJS-style API ($url/v1/openapi.json)"
st talkjs "$url/v1/openapi.json" --url "$url" -H "Authorization: Bearer $app_secret"
echo "== schemathesis: logout, last, on a token of its own"
st rocketchat "$url/api/openapi.json" --url "$url" \
    -H "X-User-Id: $admin_id" -H "X-Auth-Token: $logout_token" \
    --include-path-regex '/logout$'
echo "figure: schemathesis over both descriptions: 0 server errors ($((SECONDS - start)) s)"
