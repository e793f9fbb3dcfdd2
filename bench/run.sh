#!/usr/bin/env bash
# The full membership benchmark (issue #4) on this machine, in one run:
#  1. builds Huddle and huddle-bench in release mode;
#  2. builds the bare limits server from the shared folder (copied: the shared folder is
#     read-only) and starts it durable and group-committed (SYNC=FULL GROUP=256), the ceiling
#     Huddle's defaults are compared with;
#  3. runs huddle-bench --spawn with --limits-url, so the limits figures (GET /noop,
#     POST /insert) are measured by the same client, at the same load, in the same run, and the
#     table's "vs limits" column is Huddle / limits.
#  4. the realtime scenarios (issue 7: ddp-idle, fanout, sustained, invite-to-event) on a server
#     of their own, and the limits server's WebSocket fan-out (GET /ws + POST /post, 4 KiB
#     buffers as Huddle's) by the same client, for the "vs limits" ratio.
# --realtime-only runs step 4 alone (with the limits fan-out).
# Extra arguments go to huddle-bench (e.g. --scenarios invite,noop --duration 5).
# Env: LIMITS_DIR (default ../shared/bench/limits beside the repository), OUT (JSON path),
# HUDDLE_BIN (the server to measure; default the release build of this tree: point it at another
# checkout's release binary to compare before and after with the same client and limits run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
limits_src=${LIMITS_DIR:-$root/../shared/bench/limits}
out=${OUT:-$root/bench/latest.json}
extra=()
for a in "$@"; do
  if [[ $a == --realtime-only ]]; then
    extra+=(--scenarios ddp-idle,fanout,sustained,invite-to-event)
  else
    extra+=("$a")
  fi
done
# 10,000 DDP sockets: the bench and the server it spawns (which inherits this) each need more
# than 10,000 open files.
ulimit -n "$(ulimit -Hn)"

# Two builds, not one: built together the two packages unify dependency features differently
# and every shared dependency would be compiled a second time.
cargo build --release --locked -p huddle
cargo build --release --locked -p huddle-bench

limits_dir=$CARGO_TARGET_DIR/limits-src
mkdir -p "$limits_dir"
cp -r "$limits_src/Cargo.toml" "$limits_src/Cargo.lock" "$limits_src/src" "$limits_dir/"
chmod -R u+w "$limits_dir"
# The copy sits under this workspace's target/: an empty [workspace] keeps it a project of its own.
grep -q '^\[workspace\]' "$limits_dir/Cargo.toml" || printf '\n[workspace]\n' >> "$limits_dir/Cargo.toml"
# Its copy sits under this repository, whose .cargo/config.toml sets LIBSQLITE3_FLAGS for Huddle's
# SQLite build: set empty here, the limits server is built with its SQLite as shipped.
(cd "$limits_dir" && LIBSQLITE3_FLAGS= CARGO_TARGET_DIR=$limits_dir/target cargo build --release --locked -q)

limits_db=$(mktemp -d)/limits.db
SYNC=FULL GROUP=256 WSBUF=4096 PORT=3900 DB=$limits_db "$limits_dir/target/release/limits" &
limits_pid=$!
trap 'kill $limits_pid 2>/dev/null || true; rm -rf "$(dirname "$limits_db")"' EXIT
for _ in $(seq 1 50); do
  curl -fs http://127.0.0.1:3900/noop >/dev/null 2>&1 && break
  sleep 0.1
done

"$CARGO_TARGET_DIR/release/huddle-bench" --spawn --huddle-bin "${HUDDLE_BIN:-$CARGO_TARGET_DIR/release/huddle}" \
  --limits-url http://127.0.0.1:3900 --limits-pid "$limits_pid" --json "$out" "${extra[@]}"
