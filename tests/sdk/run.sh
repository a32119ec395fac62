#!/usr/bin/env bash
# The official Webex JS SDK against webex-auth-emulator, offline on 127.0.0.1:
# @webex/plugin-authorization-node (code exchange, refresh, client credentials, guest
# JWT login, logout) and @webex/plugin-authorization-browser-first-party (code flow
# with PKCE, QR-code login: pending, slow_down, denial, expiry, cancel), and the
# examples of examples/js-sdk.
#
#   tests/sdk/run.sh [node --test args...]
#
# Needs node >= 20 and npm, and the emulator binary already built:
# $WEBEX_AUTH_EMULATOR (default $CARGO_TARGET_DIR/debug/webex-auth-emulator, target/
# by default). Builds nothing. Exit status is node's test runner's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export WEBEX_AUTH_EMULATOR="${WEBEX_AUTH_EMULATOR:-$target/debug/webex-auth-emulator}"
if [ ! -x "$WEBEX_AUTH_EMULATOR" ]; then
    echo "run.sh: $WEBEX_AUTH_EMULATOR not found; run 'cargo build -p webex-auth-emulator' in $repo first" >&2
    exit 2
fi

# The pinned SDK packages; skipped when node_modules matches the lock file.
if [ ! -f "$here/node_modules/.package-lock.json" ] \
    || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$here"
exec node --test "$@" node-plugin.test.js first-party.test.js examples.test.js
