#!/usr/bin/env bash
# tests/dist/run.sh [--source-builds] [--dist DIR] — the release artefacts, used the way a user uses
# them, with nothing from the checkout but the artefacts:
#   - scripts/dist.sh --profile debug writes them (the debug build the other suites
#     already made: `cargo build --workspace --all-targets`, the command dist.sh runs
#     for that profile, so nothing is compiled twice; release differs only in the
#     optimisation of the same code);
#   - the tarball is unpacked into a scratch prefix and moved (relocatable); the SONAME,
#     the links, stripping, pkg-config and the header's version macros are checked;
#   - its emulator (bin/) is started, and against it: the C login demo of share/doc
#     built with `cc app.c $(pkg-config --cflags --libs webex_auth)`, then statically
#     from libwebex_auth.a; a host built against the header with another ABI is refused;
#   - the wheel is installed into a fresh venv (pip --no-index) and a Python login runs;
#     the package refuses a library of another ABI (fake libraries built here);
#   - the two npm tarballs are installed into a scratch project (--ignore-scripts,
#     --offline) and a Node login runs on the prebuilt addon; index.js refuses an addon
#     of another ABI (fake addons built here);
#   - every install and run above has cargo hidden: PATH without it, plus shims named
#     cargo/rustc/rustup that record any call, and the check that none was recorded;
#   - the sdist and the npm package carry the crate sources; `cargo metadata` resolves
#     the npm package's manifest offline, inside the package.
# --source-builds also builds both from those sources with cargo (debug, the shared
# target dir): pip wheel of the sdist, and npm install of the npm package alone, whose
# install script builds the addon; each then logs in. About a minute more; not in CI.
# --dist DIR tests the artefacts already in DIR (e.g. a release: ./scripts/dist.sh, then
# tests/dist/run.sh --dist dist) instead of running dist.sh --profile debug.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/dist
SOURCE_BUILDS=0
GIVEN_DIST=
while [ $# -gt 0 ]; do
    case $1 in
    --source-builds) SOURCE_BUILDS=1; shift ;;
    --dist) GIVEN_DIST=$(cd "${2:?--dist needs a directory}" && pwd); shift 2 ;;
    *) echo "usage: $0 [--source-builds] [--dist DIR]" >&2; exit 2 ;;
    esac
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
S=$CARGO_TARGET_DIR/dist-test
OUT=${GIVEN_DIST:-$S/dist}
T0=$SECONDS

step() { echo "--- $*"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
expect_contains() { # expect_contains TEXT NEEDLE WHAT
    case $1 in *"$2"*) ;; *) fail "$3: expected '$2' in: $1" ;; esac
}

rm -rf "$S"
mkdir -p "$S"
EMU_PID=
cleanup() {
    if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ the artefacts
if [ -z "$GIVEN_DIST" ]; then
    step "scripts/dist.sh --profile debug"
    "$ROOT/scripts/dist.sh" --profile debug --out "$OUT" >"$S/dist.log" 2>&1 || { cat "$S/dist.log"; fail "dist.sh failed"; }
    sed -n '/^--- .* done in/,$p' "$S/dist.log"
else
    step "the artefacts in $OUT"
fi
read -r VERSION CLI < <(cd "$ROOT" && cargo metadata --format-version 1 --no-deps --offline | python3 -c '
import json, sys
m = json.load(sys.stdin)
v = next(p["version"] for p in m["packages"] if p["name"] == "webex-auth")
cli = any(t["name"] == "webex-auth" and "bin" in t["kind"] for p in m["packages"] for t in p["targets"])
print(v, int(cli))')
MAJOR=${VERSION%%.*}
NAME=webex-auth-$VERSION-linux-x86_64
TARBALL=$OUT/$NAME.tar.gz
WHEEL=$OUT/webex_auth-$VERSION-py3-none-linux_x86_64.whl
SDIST=$OUT/webex_auth-$VERSION.tar.gz
NPM_PLATFORM=$OUT/webex-auth-linux-x64-gnu-$VERSION.tgz
NPM_MAIN=$OUT/webex-auth-$VERSION.tgz
for f in "$TARBALL" "$WHEEL" "$SDIST" "$NPM_PLATFORM" "$NPM_MAIN"; do
    [ -f "$f" ] || fail "dist.sh did not write $(basename "$f") (version $VERSION from Cargo.toml)"
done
(cd "$OUT" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"

step "one version everywhere: Cargo.toml says $VERSION"
for pkg in "$ROOT/bindings/node/package.json" "$ROOT"/bindings/node/npm/*/package.json; do
    v=$(node -p 'require(process.argv[1]).version' "$pkg")
    [ "$v" = "$VERSION" ] || fail "${pkg#"$ROOT"/} has version $v, Cargo.toml $VERSION"
done
grep -q "^version = \"$VERSION\"$" "$ROOT/bindings/node/Cargo.toml" || fail "bindings/node/Cargo.toml's version differs"

# ------------------------------------------------------------------ cargo hidden
# PATH without any directory that holds cargo or rustc, and a `cargo` in front that
# records a call: an install that tries cargo fails, and the record shows it. (Only
# cargo: the packages' builds call nothing else, and pip itself asks `rustc --version`
# for its User-Agent, which must simply find no rustc.)
SHIMS=$S/no-cargo-bin
mkdir -p "$SHIMS"
printf '#!/bin/sh\necho "cargo $*" >>"%s"\necho "cargo was called, but cargo is hidden in this test" >&2\nexit 127\n' \
    "$S/cargo-calls" >"$SHIMS/cargo"
chmod +x "$SHIMS/cargo"
NO_CARGO_PATH=$SHIMS
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
    [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && NO_CARGO_PATH+=":$d"
done
# Also unset: what test-all.sh exports to point the bindings at target/ (the packages
# must find their own library), and where cargo would look.
NO_CARGO=(env -u CARGO -u RUSTC -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u CARGO_TARGET_DIR
    -u WEBEX_AUTH_LIBRARY -u WEBEX_AUTH_NODE_ADDON PATH="$NO_CARGO_PATH")
no_cargo() { "${NO_CARGO[@]}" "$@"; }
[ "$(no_cargo sh -c 'command -v cargo')" = "$SHIMS/cargo" ] || fail "cargo is still reachable on the test's PATH"
! no_cargo sh -c 'command -v rustc || command -v rustup' || fail "rustc or rustup is still on the test's PATH"
assert_no_cargo_called() {
    [ ! -e "$S/cargo-calls" ] || fail "cargo was called with cargo hidden: $(cat "$S/cargo-calls")"
}

# ------------------------------------------------------------------ C: the prefix
step "C: unpack $NAME.tar.gz into a scratch prefix, then move it (relocatable)"
mkdir -p "$S/unpack" "$S/elsewhere"
tar -xzf "$TARBALL" -C "$S/unpack"
[ "$(ls "$S/unpack")" = "$NAME" ] || fail "the tarball's top level is not $NAME/: $(ls "$S/unpack")"
mv "$S/unpack/$NAME" "$S/elsewhere/prefix"
P=$S/elsewhere/prefix
expected=(include/webex_auth.h "lib/libwebex_auth.so.$VERSION" "lib/libwebex_auth.so.$MAJOR" lib/libwebex_auth.so
    lib/libwebex_auth.a lib/pkgconfig/webex_auth.pc bin/webex-auth-emulator
    share/doc/webex-auth/README.md share/doc/webex-auth/CHANGELOG.md share/doc/webex-auth/LICENSE-MIT
    share/doc/webex-auth/LICENSE-APACHE share/doc/webex-auth/EMULATOR.md
    share/doc/webex-auth/examples/c/login_demo.c share/doc/webex-auth/examples/c/device_demo.c
    share/doc/webex-auth/examples/c/demo_util.h)
[ "$CLI" = 1 ] && expected+=(bin/webex-auth)
for doc in "$ROOT"/docs/*; do expected+=("share/doc/webex-auth/docs/$(basename "$doc")"); done
for f in "${expected[@]}"; do [ -e "$P/$f" ] || fail "$f is missing from the tarball"; done
[ "$CLI" = 1 ] || [ ! -e "$P/bin/webex-auth" ] || fail "bin/webex-auth without a CLI package"
if [ "$CLI" = 1 ]; then
    out=$(no_cargo "$P/bin/webex-auth" --version) || fail "bin/webex-auth --version failed"
    [ "$out" = "webex-auth $VERSION" ] || fail "bin/webex-auth --version says '$out', not webex-auth $VERSION"
fi
[ "$(readlink "$P/lib/libwebex_auth.so.$MAJOR")" = "libwebex_auth.so.$VERSION" ] || fail "lib/libwebex_auth.so.$MAJOR is not a link to libwebex_auth.so.$VERSION"
[ "$(readlink "$P/lib/libwebex_auth.so")" = "libwebex_auth.so.$MAJOR" ] || fail "lib/libwebex_auth.so is not a link to the SONAME"

step "C: SONAME, stripped, exports"
LIB=$P/lib/libwebex_auth.so.$VERSION
soname=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libwebex_auth.so.$MAJOR" ] || fail "readelf -d shows SONAME '$soname', expected libwebex_auth.so.$MAJOR"
echo "    readelf -d: SONAME $soname"
sections=$(readelf -SW "$LIB")
case $sections in *" .symtab "* | *" .debug_"*) fail "lib/libwebex_auth.so.$VERSION is not stripped" ;; esac
dynsyms=$(nm -D --defined-only "$LIB")
for sym in wxa_init_abi wxa_abi_version wxa_version wxa_free wxa_string_free; do
    grep -q " T $sym$" <<<"$dynsyms" || fail "the shared library does not export $sym"
done
grep -q " T wxa_init_abi$" < <(nm -g --defined-only "$P/lib/libwebex_auth.a" 2>/dev/null) || fail "libwebex_auth.a has no wxa_init_abi"
for bin in "$P"/bin/*; do
    case $(readelf -SW "$bin") in *" .symtab "*) fail "bin/$(basename "$bin") is not stripped" ;; esac
done
header=$P/include/webex_auth.h
grep -q "^#define WXA_VERSION_STRING \"$VERSION\"$" "$header" || fail "the header is not version $VERSION"
grep -q "^#define WXA_ABI_VERSION $MAJOR$" "$header" || fail "the header's WXA_ABI_VERSION is not $MAJOR"

step "C: pkg-config from the moved prefix"
export_pc() { PKG_CONFIG_PATH=$P/lib/pkgconfig no_cargo pkg-config "$@"; }
[ "$(export_pc --modversion webex_auth)" = "$VERSION" ] || fail "pkg-config --modversion is not $VERSION"
libdir=$(export_pc --variable=libdir webex_auth)
[ "$(realpath "$libdir")" = "$(realpath "$P/lib")" ] || fail "pkg-config's libdir $libdir is not the prefix's lib/"
includedir=$(export_pc --variable=includedir webex_auth)
[ "$(realpath "$includedir")" = "$(realpath "$P/include")" ] || fail "pkg-config's includedir $includedir is not the prefix's include/"
CFLAGS_LIBS=$(export_pc --cflags --libs webex_auth)
echo "    pkg-config --cflags --libs webex_auth: $CFLAGS_LIBS"
expect_contains "$(export_pc --static --libs webex_auth)" "-lpthread" "pkg-config --static --libs"

step "C: the emulator from bin/"
mkfifo "$S/emulator.out"
"${NO_CARGO[@]}" "$P/bin/webex-auth-emulator" --host 127.0.0.1 --port 0 >"$S/emulator.out" 2>"$S/emulator.err" &
EMU_PID=$!
exec {emu_fd}<"$S/emulator.out"
read -r -t 30 -u "$emu_fd" line || fail "the packaged emulator printed no listening line: $(cat "$S/emulator.err")"
BASE=${line#listening }
[[ $BASE == http://127.0.0.1:* ]] || fail "unexpected emulator output: $line"
echo "    $BASE"

step "C: login_demo.c from share/doc, cc ... \$(pkg-config --cflags --libs webex_auth)"
mkdir -p "$S/c"
cp "$P"/share/doc/webex-auth/examples/c/* "$S/c/"
(cd "$S/c" && PKG_CONFIG_PATH=$P/lib/pkgconfig no_cargo sh -c \
    'cc -std=c11 -Wall -Werror -pthread login_demo.c -o login_demo $(pkg-config --cflags --libs webex_auth)') ||
    fail "login_demo.c does not compile against the package"
grep -q "NEEDED.*\[libwebex_auth.so.$MAJOR\]" < <(readelf -d "$S/c/login_demo") || fail "login_demo does not need libwebex_auth.so.$MAJOR"
resolved=$(LD_LIBRARY_PATH=$libdir ldd "$S/c/login_demo" | sed -n "s/.*libwebex_auth.so.$MAJOR => \([^ ]*\).*/\1/p")
[ "$(realpath "$resolved")" = "$(realpath "$LIB")" ] || fail "libwebex_auth.so.$MAJOR resolves to '$resolved', not the package's"
out=$(LD_LIBRARY_PATH=$libdir no_cargo "$S/c/login_demo" "$BASE" 2>&1) || { echo "$out"; fail "login_demo failed"; }
expect_contains "$out" "==> login: ok" "login_demo"
expect_contains "$out" "demo finished: login, refresh and logout all worked" "login_demo"
echo "    login_demo (shared): $(tail -n 1 <<<"$out")"

step "C: the same demo linked statically with libwebex_auth.a"
libs_private=$(export_pc --static --libs-only-l webex_auth | sed 's/-lwebex_auth//')
(cd "$S/c" && no_cargo cc -std=c11 -pthread login_demo.c -o login_demo_static $(export_pc --cflags webex_auth) \
    "$libdir/libwebex_auth.a" $libs_private) || fail "login_demo.c does not link against libwebex_auth.a"
! readelf -d "$S/c/login_demo_static" | grep -q "libwebex_auth" || fail "the static demo still needs libwebex_auth.so"
out=$(no_cargo "$S/c/login_demo_static" "$BASE" 2>&1) || { echo "$out"; fail "the static login_demo failed"; }
expect_contains "$out" "demo finished: login, refresh and logout all worked" "login_demo (static)"
echo "    login_demo (static): $(tail -n 1 <<<"$out")"

step "C: a host compiled against a header of another ABI is refused"
cp "$HERE/abi_host.c" "$S/c/"
(cd "$S/c" && no_cargo cc -std=c11 abi_host.c -o abi_host $CFLAGS_LIBS) || fail "abi_host.c does not compile"
out=$(LD_LIBRARY_PATH=$libdir no_cargo "$S/c/abi_host") || fail "abi_host with the packaged header: $out"
[ "$out" = WXA_OK ] || fail "abi_host with the packaged header printed: $out"
other=$((MAJOR + 1))
mkdir -p "$S/c/other-abi"
sed "s/^#define WXA_ABI_VERSION $MAJOR$/#define WXA_ABI_VERSION $other/" "$header" >"$S/c/other-abi/webex_auth.h"
grep -q "^#define WXA_ABI_VERSION $other$" "$S/c/other-abi/webex_auth.h" || fail "could not rewrite the header's ABI"
(cd "$S/c" && no_cargo cc -std=c11 abi_host.c -o abi_host_other -I other-abi -L"$libdir" -lwebex_auth) ||
    fail "abi_host.c does not compile against the rewritten header"
set +e
out=$(LD_LIBRARY_PATH=$libdir no_cargo "$S/c/abi_host_other")
rc=$?
set -e
[ "$rc" = 3 ] || fail "a host of ABI $other was not refused (exit $rc): $out"
expect_contains "$out" "WXA_ERR_INVALID_ARGUMENT" "ABI $other host"
expect_contains "$out" "ABI $other" "the refusal message"
expect_contains "$out" "ABI $MAJOR" "the refusal message"
echo "    $(tail -n 1 <<<"$out")"

# ------------------------------------------------------------------ Python
step "Python: the wheel"
python3 - "$WHEEL" "$VERSION" <<'EOF' || fail "the wheel's contents"
import sys, zipfile
whl, version = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = z.namelist()
    wheel = z.read(f"webex_auth-{version}.dist-info/WHEEL").decode()
assert "webex_auth/libwebex_auth.so" in names, names
assert "Root-Is-Purelib: false" in wheel, wheel
assert "Tag: py3-none-linux_x86_64" in wheel, wheel
assert any(n.endswith("licenses/LICENSE-MIT") or n.endswith("/LICENSE-MIT") for n in names), names
EOF
python3 -m venv "$S/venv"
no_cargo "$S/venv/bin/python" -m pip install --quiet --no-index --no-cache-dir --disable-pip-version-check "$WHEEL" ||
    fail "pip install of the wheel failed"
assert_no_cargo_called
out=$(cd "$S" && no_cargo "$S/venv/bin/python" "$HERE/login.py" "$BASE" 2>&1) || { echo "$out"; fail "the Python login failed"; }
echo "$out" | sed 's/^/    /'
expect_contains "$out" "python login: ok" "login.py"
expect_contains "$out" "library $S/venv/lib/" "the library the wheel's package loaded"
[ "$(cd "$S" && no_cargo "$S/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("webex-auth"))')" = "$VERSION" ] ||
    fail "the installed Python package's version is not $VERSION"

step "Python: a library of another ABI is refused at import"
cc -shared -fPIC -DFAKE_ABI=$other "$HERE/fake_library.c" -o "$S/fake-abi-$other.so"
cc -shared -fPIC "$HERE/fake_library.c" -o "$S/fake-no-abi.so"
py_import() { (cd "$S" && no_cargo env WEBEX_AUTH_LIBRARY="$1" "$S/venv/bin/python" -c 'import webex_auth' 2>&1); }
out=$(py_import "$S/fake-abi-$other.so") && fail "import webex_auth accepted a library of ABI $other"
expect_contains "$out" "ImportError" "import with a library of ABI $other"
expect_contains "$out" "ABI $other" "the ImportError"
expect_contains "$out" "written for ABI $MAJOR" "the ImportError"
echo "    $(tail -n 1 <<<"$out")"
out=$(py_import "$S/fake-no-abi.so") && fail "import webex_auth accepted a library without wxa_abi_version"
expect_contains "$out" "ImportError" "import with a library without wxa_abi_version"
expect_contains "$out" "does not export wxa_abi_version" "the ImportError"

step "Python: the sdist carries the crate"
sdist_list=$(tar -tzf "$SDIST")
for f in setup.py pyproject.toml MANIFEST.in PKG-INFO webex_auth/_ffi.py LICENSE-MIT rust/Cargo.toml rust/Cargo.lock \
    rust/build.rs rust/cbindgen.toml rust/src/lib.rs rust/src/ffi/mod.rs rust/include/webex_auth.h; do
    grep -qx "webex_auth-$VERSION/$f" <<<"$sdist_list" || fail "the sdist lacks $f"
done
! grep -q -e '\.so$' -e '/target/' -e '/rust/bindings/' <<<"$sdist_list" || fail "the sdist carries build output or a second copy of the package"
tar -xzf "$SDIST" -C "$S"
grep -qx "Version: $VERSION" "$S/webex_auth-$VERSION/PKG-INFO" || fail "the sdist's version is not $VERSION"
(cd "$S/webex_auth-$VERSION/rust" && cargo metadata --format-version 1 --offline --locked >"$S/sdist-meta.json") ||
    fail "cargo cannot resolve the sdist's crate offline with its lock file"
python3 - "$S/sdist-meta.json" "$S/webex_auth-$VERSION/rust" <<'EOF' || fail "the sdist's crate is not its own workspace"
import json, sys
from pathlib import Path
meta, root = json.load(open(sys.argv[1])), Path(sys.argv[2]).resolve()
assert Path(meta["workspace_root"]).resolve() == root, meta["workspace_root"]
assert [p["name"] for p in meta["packages"] if p["source"] is None] == ["webex-auth"], "path packages"
EOF

# ------------------------------------------------------------------ Node
step "npm: install both tarballs into a scratch project (--ignore-scripts, --offline)"
APP=$S/node-app
mkdir -p "$APP"
echo '{ "name": "dist-test-app", "version": "1.0.0", "private": true }' >"$APP/package.json"
(cd "$APP" && no_cargo npm install --ignore-scripts --offline --no-audit --no-fund --loglevel=error \
    --cache "$S/npm-cache" "$NPM_PLATFORM" "$NPM_MAIN") || fail "npm install of the two tarballs failed"
assert_no_cargo_called
[ ! -e "$APP/node_modules/webex-auth/webex-auth.node" ] || fail "the main npm package carries a built addon"
cp "$HERE/login.js" "$APP/"
out=$(cd "$APP" && no_cargo node login.js "$BASE" 2>&1) || { echo "$out"; fail "the Node login failed"; }
echo "$out" | sed 's/^/    /'
expect_contains "$out" "node login: ok" "login.js"
expect_contains "$out" "addon $APP/node_modules/webex-auth-linux-x64-gnu/" "the addon index.js loaded"

step "npm: an addon of another ABI is refused at require"
cc -shared -fPIC -DFAKE_VERSION="\"$other.0.0\"" "$HERE/fake_addon.c" -o "$S/fake-abi-$other.node"
cc -shared -fPIC "$HERE/fake_addon.c" -o "$S/fake-no-version.node"
node_require() { (cd "$APP" && no_cargo env WEBEX_AUTH_NODE_ADDON="$1" node -e "require('webex-auth')" 2>&1); }
out=$(node_require "$S/fake-abi-$other.node") && fail "require('webex-auth') accepted an addon of ABI $other"
expect_contains "$out" "WEBEX_AUTH_ABI_MISMATCH" "require with an addon of ABI $other"
expect_contains "$out" "(ABI $other)" "the error"
expect_contains "$out" "written for ABI $MAJOR" "the error"
echo "    $(grep -m1 'webex-auth: the native addon' <<<"$out")"
out=$(node_require "$S/fake-no-version.node") && fail "require('webex-auth') accepted an addon without version()"
expect_contains "$out" "reports no webex-auth version" "require with an addon without version()"

step "npm: the package builds from its own sources"
main_list=$(tar -tzf "$NPM_MAIN")
for f in package.json index.js load.js index.d.ts scripts/install.js scripts/build.js Cargo.toml Cargo.lock build.rs \
    src/lib.rs webex-auth-core/Cargo.toml webex-auth-core/src/lib.rs webex-auth-core/build.rs LICENSE-MIT; do
    grep -qx "package/$f" <<<"$main_list" || fail "the npm package lacks $f"
done
! grep -q -e '\.node$' -e '/target/' <<<"$main_list" || fail "the npm package carries build output"
mkdir -p "$S/npm-src"
tar -xzf "$NPM_MAIN" -C "$S/npm-src"
grep -q 'path = "\.\.' "$S/npm-src/package/Cargo.toml" && fail "the npm package's Cargo.toml points outside the package"
node -e '
const pkg = require(process.argv[1]);
const want = { [process.argv[2]]: process.argv[3] };
if (JSON.stringify(pkg.optionalDependencies) !== JSON.stringify(want)) {
  console.error("optionalDependencies:", pkg.optionalDependencies, "expected", want); process.exit(1);
}' "$S/npm-src/package/package.json" webex-auth-linux-x64-gnu "$VERSION" || fail "the npm package's optionalDependencies"
(cd "$S/npm-src/package" && cargo metadata --format-version 1 --offline --locked >"$S/npm-src.json") ||
    fail "cargo cannot resolve the npm package's sources offline with its lock file"
python3 - "$S/npm-src.json" "$S/npm-src/package" <<'EOF' || fail "the npm package's workspace reaches outside it"
import json, sys
from pathlib import Path
meta, root = json.load(open(sys.argv[1])), Path(sys.argv[2]).resolve()
assert Path(meta["workspace_root"]).resolve() == root, meta["workspace_root"]
for p in meta["packages"]:
    if p["source"] is None:  # a path package: must be inside the npm package
        assert root in Path(p["manifest_path"]).resolve().parents, p["manifest_path"]
EOF

if [ "$SOURCE_BUILDS" = 1 ]; then
    step "source builds: pip wheel from the sdist, with cargo (debug)"
    TOOLS=$CARGO_TARGET_DIR/dist-tools-venv
    (cd "$S" && WEBEX_AUTH_CARGO_PROFILE=debug "$TOOLS/bin/python" -m pip wheel --quiet --no-deps \
        --no-build-isolation --no-index -w "$S/sdist-wheel" "$SDIST") || fail "the sdist does not build"
    python3 -m venv "$S/venv-sdist"
    no_cargo "$S/venv-sdist/bin/python" -m pip install --quiet --no-index "$S"/sdist-wheel/*.whl
    out=$(cd "$S" && no_cargo "$S/venv-sdist/bin/python" "$HERE/login.py" "$BASE" 2>&1) || { echo "$out"; fail "login from the sdist build"; }
    expect_contains "$out" "python login: ok" "login.py (sdist build)"

    step "source builds: npm install of webex-auth alone: its install script builds the addon"
    APP2=$S/node-app-src
    mkdir -p "$APP2"
    echo '{ "name": "dist-test-src", "version": "1.0.0", "private": true }' >"$APP2/package.json"
    (cd "$APP2" && WEBEX_AUTH_CARGO_PROFILE=debug npm install --offline --no-audit --no-fund --loglevel=error \
        --cache "$S/npm-cache-src" --omit=optional --foreground-scripts "$NPM_MAIN") || fail "npm install from source"
    [ -f "$APP2/node_modules/webex-auth/webex-auth.node" ] || fail "the install script built no addon"
    cp "$HERE/login.js" "$APP2/"
    out=$(cd "$APP2" && no_cargo node login.js "$BASE" 2>&1) || { echo "$out"; fail "login with the addon built from source"; }
    expect_contains "$out" "node login: ok" "login.js (source build)"
fi

assert_no_cargo_called
echo
echo "dist tests: all passed in $((SECONDS - T0)) s"
