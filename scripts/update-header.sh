#!/usr/bin/env bash
# Regenerates include/webex_auth.h: build.rs writes the header into cargo's OUT_DIR on
# every build; this copies the newest one over the committed copy (tests/header.rs fails
# while they differ).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build -p webex-auth --lib --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
out = None
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "build-script-executed" and "#webex-auth@" in m.get("package_id", "") and m.get("out_dir"):
        out = m["out_dir"]
print(out or "")' >"$CARGO_TARGET_DIR/.header-out-dir"
OUT=$(cat "$CARGO_TARGET_DIR/.header-out-dir")
[ -n "$OUT" ] && [ -f "$OUT/webex_auth.h" ] || { echo "no generated header found" >&2; exit 1; }
cp "$OUT/webex_auth.h" include/webex_auth.h
echo "include/webex_auth.h updated from $OUT"
