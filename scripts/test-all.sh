#!/usr/bin/env bash
# Runs every test of webex-auth against the bundled emulator, offline:
#   Rust (unit, integration, emulator, store, header freshness), C (tests/c, under
#   valgrind when installed), Python (bindings/python, pytest + mypy), Node
#   (bindings/node, node --test), the Webex JS SDK against the emulator (tests/sdk), the
#   emulator's pages in headless Chromium (tests/browser), the release artefacts as a
#   user installs them (tests/dist), the fleet example, and interop against
#   oidc-provider, a third-party OAuth server (tests/interop).
# Builds once in debug into one target/ shared by every suite. Needs cargo, cc,
# python3 (with pip/venv), node/npm, redis-server, chromium; .ci/run installs what a
# fresh machine lacks.
# The last line is "N passed, M failed" counting suites; exit status 0 only when all pass.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export WEBEX_AUTH_CARGO_PROFILE=debug
# One build, never rebuilt piecemeal: incremental caches would only cost disk (GBs).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export WEBEX_AUTH_EMULATOR=${WEBEX_AUTH_EMULATOR:-$CARGO_TARGET_DIR/debug/webex-auth-emulator}
export WEBEX_AUTH_LIBRARY=${WEBEX_AUTH_LIBRARY:-$CARGO_TARGET_DIR/debug/libwebex_auth.so}

passed=0
failed=0
failures=()
suite() {
    local name=$1
    shift
    echo
    echo "=============== $name"
    local t0=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=============== $name: ok ($((SECONDS - t0)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=============== $name: FAILED ($((SECONDS - t0)) s)"
    fi
}

python_suite() {
    local venv=$CARGO_TARGET_DIR/py-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1
    "$venv/bin/python" -m pip install --quiet pytest pyjwt mypy "$ROOT/bindings/python" || return 1
    # Run from outside the source tree so the installed package (with its bundled
    # library) is what gets imported.
    (cd "$ROOT/bindings/python/tests" && env -u WEBEX_AUTH_LIBRARY "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
}

interop_suite() {
    # The engine against oidc-provider, a certified third-party OAuth server (the venv
    # of the Python suite has pytest).
    PYTHON=$CARGO_TARGET_DIR/py-venv/bin/python "$ROOT/tests/interop/run.sh"
}

node_suite() {
    # Dev dependencies without running install scripts (npm 11 asks approval for
    # them), then the addon build the package's install script would do, then tests.
    (cd "$ROOT/bindings/node" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error &&
        npm run build && npm test)
}

dist_suite() {
    # The release artefacts as a user installs them: scripts/dist.sh --profile debug
    # (the debug build above, nothing compiled twice), then C, Python and Node logins
    # against the packaged emulator with cargo hidden from PATH.
    "$ROOT/tests/dist/run.sh"
}

sdk_suite() {
    # The official Webex JS SDK (node and first-party plugins, pinned 3.12.0) against
    # the emulator: code exchange (confidential, PKCE), refresh, client credentials,
    # guest JWT login, QR login, and the examples of examples/js-sdk.
    "$ROOT/tests/sdk/run.sh"
}

fleet_example() {
    # examples/fleet: two processes, one Redis, the emulator (built by cargo build above).
    "$ROOT/examples/fleet/run.sh"
}

browser_suite() {
    # The emulator's consent and device verification pages in headless Chromium,
    # the engine through the Node addon built by node_suite.
    "$ROOT/tests/browser/run.sh"
}

suite "cargo build" cargo build --workspace --all-targets || true
# Programs linked to the library look for it by its SONAME.
"$ROOT/scripts/soname-link.sh" "$CARGO_TARGET_DIR/debug" || true
suite "rust tests" cargo test --workspace --no-fail-fast
suite "c tests" "$ROOT/tests/c/run.sh"
suite "python tests" python_suite
suite "node tests" node_suite
suite "dist: release artefacts" dist_suite
suite "sdk: webex js sdk" sdk_suite
suite "browser: emulator pages" browser_suite
suite "example: fleet" fleet_example
suite "interop: oidc-provider" interop_suite

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failed suites: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
