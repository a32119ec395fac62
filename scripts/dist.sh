#!/usr/bin/env bash
# scripts/dist.sh [--profile release|debug] [--out DIR]
#
# Writes the release artefacts of webex-auth into DIR (default dist/), all with the one
# version of Cargo.toml:
#   webex-auth-VERSION-linux-x86_64.tar.gz   an install prefix: include/ (the header),
#       lib/ (libwebex_auth.so.VERSION, its SONAME link libwebex_auth.so.MAJOR and the
#       libwebex_auth.so link, libwebex_auth.a, pkgconfig/webex_auth.pc using
#       ${pcfiledir}, so the prefix can live anywhere), bin/ (webex-auth-emulator, and
#       the webex-auth command when the workspace has it), share/doc/webex-auth/
#       (README, CHANGELOG, licenses, docs/, the C examples, the emulator's README)
#   webex_auth-VERSION-py3-none-linux_x86_64.whl   the Python package with the library
#       inside (loaded with ctypes: any Python 3, this platform); no Rust needed
#   webex_auth-VERSION.tar.gz                      the sdist: the Python package plus
#       the engine crate (cargo package) in rust/, so it builds wherever cargo exists
#   webex-auth-linux-x64-gnu-VERSION.tgz           npm: the prebuilt addon (napi-rs's
#       per-platform package convention)
#   webex-auth-VERSION.tgz                         npm: the package, with the platform
#       package as an optional dependency, and the addon's and the engine's sources for
#       a build from source where no prebuilt fits
#   SHA256SUMS
#
# Why a script and not cargo-c: cargo-c builds cargo itself (hundreds of crates), far
# too slow for a 2-core CI. Its artefacts are a SONAME (build.rs passes
# -soname libwebex_auth.so.MAJOR to the linker), a pkg-config file and a prefix layout,
# which take a few lines here.
#
# --profile release (default) is a real release: cargo build --release (thin LTO, one
# codegen unit: Cargo.toml's profile). --profile debug packages the debug build instead,
# with the same cargo command scripts/test-all.sh runs first (cargo build --workspace
# --all-targets), so in CI it compiles nothing new; tests/dist/run.sh uses it. Both
# strip the shared library, the addon and the programs (and the debug info and embedded
# LLVM bitcode of the .a).
#
# Needs: cargo, python3 (3.11+), node and npm, strip/readelf (binutils), tar, gzip. The
# wheel is built with setuptools, wheel and build from a venv kept in the target
# directory (installed once), without pip's isolated build environment.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFILE=release
OUT=$ROOT/dist
while [ $# -gt 0 ]; do
    case $1 in
    --profile) PROFILE=${2:?--profile needs release or debug}; shift 2 ;;
    --profile=*) PROFILE=${1#*=}; shift ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "dist.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
case $PROFILE in
release) CARGO_BUILD=(cargo build --release --workspace --locked) GZIP_LEVEL=6 ;;
# gzip -1: the debug tarball (an 84 MB .a) is for tests only; -9 took a minute of CI
# for 2% (measured), so even a release uses gzip's default, -6.
debug) CARGO_BUILD=(cargo build --workspace --all-targets --locked) GZIP_LEVEL=1 ;;
*) echo "dist.sh: --profile is release or debug, not $PROFILE" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$ROOT"
for tool in cargo python3 node npm strip readelf tar gzip sha256sum; do
    command -v "$tool" >/dev/null || { echo "dist.sh: $tool is required" >&2; exit 1; }
done
T0=$SECONDS
say() { echo "--- [$((SECONDS - T0)) s] $*"; }

# ---------------------------------------------------------------- what we are building
# VERSION, MAJOR, DESCRIPTION, TARGET_DIR, CLI_PACKAGE; fails when a package.json
# or the addon's Cargo.toml has another version.
meta=$(cargo metadata --format-version 1 --no-deps --locked | python3 packaging/stage.py meta)
eval "$meta"
host=$(rustc -vV | sed -n 's/^host: //p')
case $host in
x86_64-unknown-linux-gnu) PLATFORM=linux-x86_64 NPM_TRIPLE=linux-x64-gnu ;;
*) echo "dist.sh: no packaging for $host yet (add its npm/<triple>/ and a case here)" >&2; exit 1 ;;
esac
NPM_PLATFORM_PACKAGE=webex-auth-$NPM_TRIPLE
NAME=webex-auth-$VERSION-$PLATFORM
BIN_DIR=$TARGET_DIR/$PROFILE
STAGE=$TARGET_DIR/dist-stage
if [ -d .git ] || [ -f .git ]; then
    [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] ||
        echo "dist.sh: note: the working tree has uncommitted changes; they are packaged" >&2
fi
say "webex-auth $VERSION ($PROFILE) for $PLATFORM -> $OUT"

say "building: ${CARGO_BUILD[*]}"
t=$SECONDS
"${CARGO_BUILD[@]}"
say "built in $((SECONDS - t)) s"

rm -rf "$STAGE"
mkdir -p "$STAGE"
rm -f "$OUT/$NAME.tar.gz" "$OUT"/webex_auth-"$VERSION"*.whl "$OUT/webex_auth-$VERSION.tar.gz" \
    "$OUT/webex-auth-$VERSION.tgz" "$OUT/$NPM_PLATFORM_PACKAGE-$VERSION.tgz" "$OUT/SHA256SUMS"

# Reproducible archives: file times from the last commit, sorted names, no owners.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
tar_gz() { # tar_gz OUT.tar.gz DIR NAME: DIR/NAME into OUT with NAME/ at the top
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        -C "$2" -cf - "$3" | gzip "-$GZIP_LEVEL" -n >"$1"
}

# ---------------------------------------------------------------- the C prefix
PREFIX=$STAGE/$NAME
say "C: $NAME/"
mkdir -p "$PREFIX"/{include,lib/pkgconfig,bin,share/doc/webex-auth}
cp include/webex_auth.h "$PREFIX/include/"
grep -q "^#define WXA_VERSION_STRING \"$VERSION\"$" "$PREFIX/include/webex_auth.h" || {
    echo "dist.sh: include/webex_auth.h is not the header of $VERSION (scripts/update-header.sh)" >&2
    exit 1
}

# The real file carries the full version; the SONAME link is what programs load, the
# unversioned link is what -lwebex_auth finds when linking (the usual layout).
SONAME=libwebex_auth.so.$MAJOR
LIB=$PREFIX/lib/libwebex_auth.so.$VERSION
cp "$BIN_DIR/libwebex_auth.so" "$LIB"
strip --strip-unneeded "$LIB"
found=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$found" = "$SONAME" ] || { echo "dist.sh: SONAME is '$found', expected $SONAME (build.rs)" >&2; exit 1; }
ln -s "libwebex_auth.so.$VERSION" "$PREFIX/lib/$SONAME"
ln -s "$SONAME" "$PREFIX/lib/libwebex_auth.so"
cp "$BIN_DIR/libwebex_auth.a" "$PREFIX/lib/"
# With LTO on, rustc embeds LLVM bitcode (.llvmbc) in the staticlib's objects for Rust's
# own LTO. A C linker uses the machine code only, and binutils' LTO plugin (an older
# LLVM) chokes on that bitcode: `nm` lists no symbols. Without it and the debug info,
# the release .a shrinks from 60 MB to 21 MB (measured).
strip --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd "$PREFIX/lib/libwebex_auth.a"

# Libs.private: what rustc links a static library against on this target (the Rust
# standard library's needs; no dependency of the engine links a system library).
empty=$STAGE/empty
mkdir -p "$empty"
: >"$empty/lib.rs"
libs_private=$(cd "$empty" && rustc --crate-type staticlib --crate-name empty --print native-static-libs \
    -o "$empty/libempty.a" lib.rs 2>&1 | sed -n 's/.*native-static-libs: //p')
[ -n "$libs_private" ] || { echo "dist.sh: rustc did not print native-static-libs" >&2; exit 1; }
sed -e "s|@VERSION@|$VERSION|" -e "s|@DESCRIPTION@|$DESCRIPTION|" -e "s|@LIBS_PRIVATE@|$libs_private|" \
    packaging/webex_auth.pc.in >"$PREFIX/lib/pkgconfig/webex_auth.pc"

install -m 755 "$BIN_DIR/webex-auth-emulator" "$PREFIX/bin/"
if [ -n "$CLI_PACKAGE" ]; then
    install -m 755 "$BIN_DIR/webex-auth" "$PREFIX/bin/"
else
    say "C: no webex-auth command in the workspace yet; bin/ has the emulator only"
fi
strip "$PREFIX"/bin/*

DOC=$PREFIX/share/doc/webex-auth
cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$DOC/"
cp emulator/README.md "$DOC/EMULATOR.md"
# The README's links (docs/..., examples/c/...) hold in this layout too.
mkdir -p "$DOC/docs" "$DOC/examples/c"
cp -R docs/. "$DOC/docs/"
cp examples/c/*.c examples/c/*.h "$DOC/examples/c/"
cp packaging/examples-c-README.md "$DOC/examples/c/README.md"
tar_gz "$OUT/$NAME.tar.gz" "$STAGE" "$NAME"

# ---------------------------------------------------------------- the engine's sources
# What `cargo package` puts in the crate (a normalized Cargo.toml, Cargo.lock, sources),
# for the sdist and the npm package's builds from source. bindings/ is dropped: no
# target of the crate lives there, and the Python package would carry itself twice.
say "sources: cargo package -p webex-auth"
cargo package -p webex-auth --no-verify --allow-dirty --locked --offline --quiet
CRATE_FILE=$TARGET_DIR/package/webex-auth-$VERSION.crate
crate_into() { # crate_into DIR: the crate's sources in DIR
    mkdir -p "$1"
    tar -xzf "$CRATE_FILE" -C "$1" --strip-components=1
    rm -rf "$1/bindings"
}

# ---------------------------------------------------------------- Python
say "Python: wheel and sdist"
PY_STAGE=$STAGE/python
mkdir -p "$PY_STAGE"
(cd bindings/python && tar --exclude=build --exclude='*.egg-info' --exclude=__pycache__ \
    --exclude='*.so' --exclude=.mypy_cache --exclude=.pytest_cache -cf - .) | tar -xf - -C "$PY_STAGE"
cp LICENSE-MIT LICENSE-APACHE "$PY_STAGE/"
crate_into "$PY_STAGE/rust"
python3 packaging/stage.py crate-manifest "$PY_STAGE/rust/Cargo.toml" own-workspace
TOOLS=$TARGET_DIR/dist-tools-venv
TOOLS_REQ=("setuptools>=77" wheel build) # setuptools 77: PEP 639 license, PEP 625 sdist name
if ! "$TOOLS/bin/python" -c 'import build, wheel, setuptools as s; assert int(s.__version__.split(".")[0]) >= 77' 2>/dev/null; then
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${TOOLS_REQ[@]}"
fi
# The wheel ships the stripped library of the tarball; setup.py runs no cargo for it.
WEBEX_AUTH_PREBUILT_LIBRARY=$LIB "$TOOLS/bin/python" -m build --no-isolation --sdist --wheel \
    --outdir "$OUT" "$PY_STAGE" >"$STAGE/python-build.log" 2>&1 ||
    { cat "$STAGE/python-build.log" >&2; echo "dist.sh: the Python build failed" >&2; exit 1; }
WHEEL=$(ls "$OUT"/webex_auth-"$VERSION"-py3-none-*.whl)
case $WHEEL in *-any.whl) echo "dist.sh: $WHEEL is not platform-tagged" >&2; exit 1 ;; esac

# ---------------------------------------------------------------- npm
say "npm: $NPM_PLATFORM_PACKAGE and webex-auth"
NPM_FLAGS=(--pack-destination "$OUT" --loglevel=error --cache "$STAGE/npm-cache")
NODE_SRC=bindings/node
PLAT_STAGE=$STAGE/npm-$NPM_TRIPLE
mkdir -p "$PLAT_STAGE"
cp "$NODE_SRC/npm/$NPM_TRIPLE"/{package.json,README.md} LICENSE-MIT LICENSE-APACHE "$PLAT_STAGE/"
addon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["main"])' "$PLAT_STAGE/package.json")
cp "$BIN_DIR/libwebex_auth_node.so" "$PLAT_STAGE/$addon"
strip --strip-unneeded "$PLAT_STAGE/$addon"
(cd "$PLAT_STAGE" && npm pack "${NPM_FLAGS[@]}" >/dev/null)

MAIN_STAGE=$STAGE/npm-main
mkdir -p "$MAIN_STAGE/scripts"
cp "$NODE_SRC"/{index.js,index.d.ts,load.js,README.md,build.rs} LICENSE-MIT LICENSE-APACHE "$MAIN_STAGE/"
cp "$NODE_SRC"/scripts/{build.js,install.js,prepack.js} "$MAIN_STAGE/scripts/"
cp -R "$NODE_SRC/src" "$MAIN_STAGE/"
python3 packaging/stage.py node-package-json "$NODE_SRC/package.json" "$MAIN_STAGE/package.json" \
    "$NPM_PLATFORM_PACKAGE" "$VERSION"
cargo metadata --format-version 1 --no-deps --locked |
    python3 packaging/stage.py node-cargo-toml Cargo.toml "$MAIN_STAGE/Cargo.toml"
crate_into "$MAIN_STAGE/webex-auth-core"
python3 packaging/stage.py crate-manifest "$MAIN_STAGE/webex-auth-core/Cargo.toml" member
# The workspace's lock file, trimmed by cargo to the addon's dependencies (same
# versions): a build from source gets exactly what was tested.
cp Cargo.lock "$MAIN_STAGE/"
(cd "$MAIN_STAGE" && cargo metadata --format-version 1 --offline >/dev/null)
(cd "$MAIN_STAGE" && npm pack "${NPM_FLAGS[@]}" >/dev/null)

# ---------------------------------------------------------------- summary
cd "$OUT"
ARTEFACTS=("$NAME.tar.gz" "$(basename "$WHEEL")" "webex_auth-$VERSION.tar.gz"
    "$NPM_PLATFORM_PACKAGE-$VERSION.tgz" "webex-auth-$VERSION.tgz")
for f in "${ARTEFACTS[@]}"; do [ -f "$f" ] || { echo "dist.sh: $f was not written" >&2; exit 1; }; done
sha256sum "${ARTEFACTS[@]}" >SHA256SUMS
say "done in $((SECONDS - T0)) s: $OUT"
size() { stat -c %s "$1"; }
printf '    %-48s %10s bytes\n' "lib/libwebex_auth.so.$VERSION (stripped)" "$(size "$LIB")" \
    "lib/libwebex_auth.a" "$(size "$PREFIX/lib/libwebex_auth.a")" \
    "$addon (stripped)" "$(size "$PLAT_STAGE/$addon")"
for f in "${ARTEFACTS[@]}"; do printf '    %-48s %10s bytes\n' "$f" "$(size "$f")"; done
