#!/usr/bin/env bash
# examples/run_demo.sh [login|device] — the C demo, end to end and offline:
# builds the library and the emulator with cargo, starts the emulator on a free port,
# compiles the demo against include/webex_auth.h, runs it, and stops the emulator.
#   login  (default) examples/c/login_demo.c: PKCE login, refresh, logout
#   device           examples/c/device_demo.c: QR-code (device) login
# Works from any directory; honours CC and CARGO_TARGET_DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DEMO=${1:-login}
case $DEMO in
login | device) ;;
*) echo "usage: $0 [login|device]" >&2; exit 2 ;;
esac
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
LIB_DIR=$TARGET_DIR/debug
OUT_DIR=$TARGET_DIR/examples-c
mkdir -p "$OUT_DIR"

echo "--- building the library and the emulator (cargo build)"
(cd "$ROOT" && cargo build --quiet -p webex-auth -p webex-auth-emulator)
"$ROOT/scripts/soname-link.sh" "$LIB_DIR"

echo "--- compiling examples/c/${DEMO}_demo.c"
"${CC:-cc}" -std=c11 -Wall -Wextra -pthread -I"$ROOT/include" -I"$HERE/c" \
    "$HERE/c/${DEMO}_demo.c" -o "$OUT_DIR/${DEMO}_demo" \
    -L"$LIB_DIR" -lwebex_auth -Wl,-rpath,"$LIB_DIR"

echo "--- starting the emulator"
EMU_OUT=$OUT_DIR/emulator.out
"$LIB_DIR/webex-auth-emulator" --host 127.0.0.1 --port 0 >"$EMU_OUT" &
EMU_PID=$!
trap 'kill $EMU_PID 2>/dev/null; wait $EMU_PID 2>/dev/null || true' EXIT
BASE=
for _ in $(seq 1 200); do
    line=$(head -n 1 "$EMU_OUT")
    if [[ $line == "listening http://"* ]]; then BASE=${line#listening }; break; fi
    kill -0 "$EMU_PID" 2>/dev/null || break
    sleep 0.05
done
[ -n "$BASE" ] || { echo "the emulator did not start" >&2; exit 1; }
echo "    emulator at $BASE"

echo "--- running ${DEMO}_demo"
"$OUT_DIR/${DEMO}_demo" "$BASE"
