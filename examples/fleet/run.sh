#!/usr/bin/env bash
# examples/fleet/run.sh — two instances of one app sharing a Redis token store, offline:
# builds the example and the emulator with cargo, starts a redis-server and the Webex
# emulator on free loopback ports, runs examples/fleet/main.rs (which starts the two
# instances), and stops everything it started. Needs redis-server on the PATH.
# Works from any directory; honours CARGO_TARGET_DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "--- building the example and the emulator (cargo build)"
# The same command as scripts/test-all.sh: after it, nothing is rebuilt (building one
# package alone selects other dependency features and recompiles them).
(cd "$ROOT" && cargo build --quiet --workspace --all-targets)

# A free loopback port for Redis (the kernel picks it; released just before use).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "--- starting redis-server on 127.0.0.1:$PORT (no persistence, data in $WORK)"
redis-server --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q "Ready to accept connections" "$WORK/redis.log" && break
    sleep 0.1
done
grep -q "Ready to accept connections" "$WORK/redis.log" || { cat "$WORK/redis.log"; exit 1; }

echo "--- starting the emulator"
"$TARGET_DIR/debug/webex-auth-emulator" --port 0 >"$WORK/emulator.out" &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q "^listening " "$WORK/emulator.out" && break
    sleep 0.1
done
EMULATOR=$(sed -n 's/^listening //p' "$WORK/emulator.out")
[ -n "$EMULATOR" ] || { echo "the emulator did not start" >&2; exit 1; }

# The store key: 32 random bytes, base64. In production it comes from a secret store,
# the same on every instance (token_store.key, or token_store.key_file).
export WXA_STORE_KEY
WXA_STORE_KEY=$(head -c 32 /dev/urandom | base64)
export WXA_REDIS="redis://127.0.0.1:$PORT/0" WXA_EMULATOR="$EMULATOR"

echo "--- running examples/fleet (Redis $WXA_REDIS, emulator $EMULATOR)"
"$TARGET_DIR/debug/examples/fleet"
