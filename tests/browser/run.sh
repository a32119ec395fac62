#!/usr/bin/env bash
# The emulator's pages in headless Chromium: the consent page of an authorize URL the
# engine built (Allow and Deny, back to the app's redirect), and the device verification
# page (typed code, QR link, approve, deny, wrong code), the engine on the other side
# through its Node binding. Screenshots of every page go to
# $CARGO_TARGET_DIR/browser-screenshots/ (target/ by default).
#
#   tests/browser/run.sh [node --test args...]
#
# Needs node >= 20 and npm, Chromium ($CHROMIUM, default /usr/bin/chromium; Debian's
# package `chromium`), the emulator binary ($WEBEX_AUTH_EMULATOR, default
# target/debug/webex-auth-emulator) and the Node addon already built
# (bindings/node/webex-auth.node: `npm run build` there, or $WEBEX_AUTH_NODE_ADDON).
# Builds nothing and downloads no browser. Exit status is node's test runner's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target"
export WEBEX_AUTH_EMULATOR="${WEBEX_AUTH_EMULATOR:-$target/debug/webex-auth-emulator}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
addon="${WEBEX_AUTH_NODE_ADDON:-$repo/bindings/node/webex-auth.node}"

missing=0
[ -x "$WEBEX_AUTH_EMULATOR" ] || { echo "run.sh: $WEBEX_AUTH_EMULATOR not found (cargo build -p webex-auth-emulator)" >&2; missing=1; }
[ -x "$CHROMIUM" ] || { echo "run.sh: $CHROMIUM not found (apt-get install chromium)" >&2; missing=1; }
[ -f "$addon" ] || { echo "run.sh: $addon not found (cd bindings/node && npm install --ignore-scripts && npm run build)" >&2; missing=1; }
[ "$missing" -eq 0 ] || exit 2

# playwright-core only: it drives the browser named above and never downloads one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -f "$here/node_modules/.package-lock.json" ] \
    || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$here"
exec node --test "$@" pages.test.js
