#!/usr/bin/env bash
# Interoperability test: the webex-auth engine (Python binding over the debug cdylib)
# against oidc-provider, a certified third-party OAuth 2.0 / OpenID Connect server,
# offline on 127.0.0.1.
#
#   tests/interop/run.sh [pytest args...]
#
# Needs node >= 20, npm, python3 with pytest, and the debug library built by
# `cargo build` (CARGO_TARGET_DIR is honoured). PYTHON picks the interpreter (default
# python3). Exit status is pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
# A relative CARGO_TARGET_DIR is relative to the current directory, as for cargo.
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
lib="$target/debug/libwebex_auth.so"

if [ ! -f "$lib" ]; then
    echo "run.sh: $lib not found; run 'cargo build' in $repo first" >&2
    exit 2
fi

# Install the pinned server package (offline-able once cached); skip when up to date.
if [ ! -f "$here/node_modules/.package-lock.json" ] \
    || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

export WEBEX_AUTH_LIBRARY="$lib"
export PYTHONPATH="$repo/bindings/python${PYTHONPATH:+:$PYTHONPATH}"

cd "$here"
set +e
"${PYTHON:-python3}" -m pytest test_oidc_provider.py -p no:cacheprovider -q -rfEs "$@"
status=$?
set -e
exit "$status"
