#!/usr/bin/env bash
# tests/c/run.sh — build and run the C tests against the emulator.
#
# Usage: tests/c/run.sh [--build] [test_name ...]     (from any directory)
#   --build       run `cargo build --workspace` first (otherwise the library, header and
#                 emulator must already be built: `cargo build --workspace`)
#   test_name     run only these programs (e.g. test_basics test_jwt)
#
# Every tests/c/test_*.c is compiled on its own with
#   ${CC:-cc} -std=c11 -Wall -Wextra -Werror -pthread
# against include/webex_auth.h and linked to the cdylib (rpath to its directory); a
# program that does not compile or link (e.g. a function not exported yet) counts as
# one failure and the others still run. Each program gets a fresh emulator on port 0
# and its base URL as argv[1]. When valgrind is installed each program runs a second
# time under valgrind (definite leaks and memory errors fail it).
#
# Environment:
#   CC                     C compiler (default cc); CXX for the C++ header check
#   CARGO_TARGET_DIR       cargo's target directory (default <repo>/target)
#   WXA_PROFILE            debug (default) or release
#   WEBEX_AUTH_LIB_DIR     directory of libwebex_auth.so (default $CARGO_TARGET_DIR/$WXA_PROFILE)
#   WEBEX_AUTH_EMULATOR    emulator binary (default $CARGO_TARGET_DIR/$WXA_PROFILE/webex-auth-emulator)
#   WXA_NO_VALGRIND=1      skip the valgrind runs
#   WXA_TEST_VERBOSE=1     the programs print every event
#
# The last line printed is always "N passed, M failed"; the exit status is 0 only
# when M is 0.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
PROFILE=${WXA_PROFILE:-debug}
LIB_DIR=${WEBEX_AUTH_LIB_DIR:-$TARGET_DIR/$PROFILE}
EMULATOR=${WEBEX_AUTH_EMULATOR:-$TARGET_DIR/$PROFILE/webex-auth-emulator}
BUILD_DIR=$TARGET_DIR/c-tests
CC=${CC:-cc}
CXX=${CXX:-c++}
CFLAGS=(-std=c11 -Wall -Wextra -Werror -pthread -g -I"$ROOT/include" -I"$HERE")
LDFLAGS=(-L"$LIB_DIR" -lwebex_auth -Wl,-rpath,"$LIB_DIR")
# Programs look for the library by its SONAME (libwebex_auth.so.<major>).
[ -f "$LIB_DIR/libwebex_auth.so" ] && "$ROOT/scripts/soname-link.sh" "$LIB_DIR"
NATIVE_TIMEOUT=${WXA_TEST_TIMEOUT:-120}
VALGRIND_TIMEOUT=${WXA_VALGRIND_TIMEOUT:-900}

passed=0
failed=0
failures=()
EMU_PID=
EMU_BASE=

pass() { passed=$((passed + 1)); printf 'ok     %s\n' "$1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); printf 'FAILED %s\n' "$1"; }

finish() {
    stop_emulator
    echo
    if [ ${#failures[@]} -gt 0 ]; then printf 'failed: %s\n' "${failures[*]}"; fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

stop_emulator() {
    if [ -n "$EMU_PID" ]; then
        kill "$EMU_PID" 2>/dev/null
        wait "$EMU_PID" 2>/dev/null
        EMU_PID=
    fi
}
trap stop_emulator EXIT
trap 'stop_emulator; exit 130' INT TERM

# Starts a fresh emulator on port 0; sets EMU_PID and EMU_BASE from its first line.
start_emulator() {
    local out=$BUILD_DIR/emulator.out line
    : >"$out"
    "$EMULATOR" --host 127.0.0.1 --port 0 >"$out" 2>"$BUILD_DIR/emulator.err" &
    EMU_PID=$!
    for _ in $(seq 1 200); do
        line=$(head -n 1 "$out")
        case $line in
        "listening http://"*)
            EMU_BASE=${line#listening }
            return 0
            ;;
        esac
        kill -0 "$EMU_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "emulator did not start; its stderr:" >&2
    cat "$BUILD_DIR/emulator.err" >&2
    stop_emulator
    return 1
}

if [ "${1:-}" = "--build" ]; then
    shift
    (cd "$ROOT" && cargo build --workspace) || { fail "cargo build"; finish; }
fi

mkdir -p "$BUILD_DIR" || exit 1

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for src in "$HERE"/test_*.c; do names+=("$(basename "$src" .c)"); done
fi

if [ ! -f "$ROOT/include/webex_auth.h" ]; then
    echo "missing $ROOT/include/webex_auth.h (run: cargo build)" >&2
fi
if [ ! -e "$LIB_DIR/libwebex_auth.so" ]; then
    echo "missing $LIB_DIR/libwebex_auth.so (run: cargo build)" >&2
fi

# The header on its own: self-contained C11, and usable from C++ (extern "C").
# The header compiles cleanly in every language mode a host may use, strictly.
HEADER_PROBE='#include "webex_auth.h"
#include <string.h>
int main(void) {
    wxa_client *c = 0;
    /* wxa_init is the ABI-checking macro; the real symbol is still addressable. */
    wxa_status (*by_name)(const char *, wxa_event_fn, void *, wxa_client **) = wxa_init;
    (void)by_name;
    if (wxa_init("{\"client_id\":\"c\"}", 0, 0, &c) != WXA_OK) return 1;
    wxa_free(c);
    return strcmp(wxa_version(), WXA_VERSION_STRING) != 0 || wxa_abi_version() != WXA_ABI_VERSION;
}'
for std in c99 c11; do
    if printf '%s\n' "$HEADER_PROBE" |
        "$CC" -std=$std -Wall -Wextra -Werror -pedantic -pthread -I"$ROOT/include" -x c - \
            -o "$BUILD_DIR/header_$std" "${LDFLAGS[@]}" 2>"$BUILD_DIR/header_$std.log" &&
        "$BUILD_DIR/header_$std"; then
        pass "header_$std"
    else
        cat "$BUILD_DIR/header_$std.log"
        fail "header_$std"
    fi
done
if command -v "$CXX" >/dev/null 2>&1; then
    if printf '%s\n' "$HEADER_PROBE" |
        "$CXX" -std=c++17 -Wall -Wextra -Werror -pedantic -I"$ROOT/include" -x c++ - \
            -o "$BUILD_DIR/header_cxx17" "${LDFLAGS[@]}" 2>"$BUILD_DIR/header_cxx17.log" &&
        "$BUILD_DIR/header_cxx17"; then
        pass "header_cxx17"
    else
        cat "$BUILD_DIR/header_cxx17.log"
        fail "header_cxx17"
    fi
fi

use_valgrind=0
if [ -z "${WXA_NO_VALGRIND:-}" ] && command -v valgrind >/dev/null 2>&1; then use_valgrind=1; fi

if [ ! -x "$EMULATOR" ]; then
    echo "missing emulator binary $EMULATOR (run: cargo build -p webex-auth-emulator)" >&2
fi

# run_one LABEL LOG TIMEOUT [env ...] -- cmd ...
run_one() {
    local label=$1 log=$2 limit=$3
    shift 3
    if [ ! -x "$EMULATOR" ] || ! start_emulator; then
        fail "$label (no emulator)"
        return
    fi
    local t0=$SECONDS rc
    env "$@" "$EMU_BASE" >"$log" 2>&1 </dev/null &
    local pid=$!
    # a watchdog instead of timeout(1), so valgrind's children are not orphaned
    ( sleep "$limit"; kill -TERM "$pid" 2>/dev/null ) &
    local dog=$!
    wait "$pid"
    rc=$?
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    stop_emulator
    if [ "$rc" -eq 0 ]; then
        pass "$label ($((SECONDS - t0)) s)"
    else
        sed 's/^/    | /' "$log"
        case $rc in
        99) fail "$label (valgrind errors)" ;;
        143) fail "$label (timed out after $limit s)" ;;
        *) fail "$label (exit $rc)" ;;
        esac
    fi
}

for name in "${names[@]}"; do
    src=$HERE/$name.c
    bin=$BUILD_DIR/$name
    if [ ! -f "$src" ]; then
        fail "$name (no such test: $src)"
        continue
    fi
    if ! "$CC" "${CFLAGS[@]}" "$src" -o "$bin" "${LDFLAGS[@]}" >"$bin.build.log" 2>&1; then
        sed 's/^/    | /' "$bin.build.log" | head -n 40
        if grep -q "undefined reference" "$bin.build.log"; then
            fail "$name (does not link: symbols missing from libwebex_auth)"
        else
            fail "$name (does not compile)"
        fi
        continue
    fi
    run_one "$name" "$bin.log" "$NATIVE_TIMEOUT" "$bin"
    if [ "$use_valgrind" = 1 ]; then
        run_one "$name (valgrind)" "$bin.valgrind.log" "$VALGRIND_TIMEOUT" WXA_TEST_SLOW=5 \
            valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite --error-exitcode=99 "$bin"
    fi
done

finish
