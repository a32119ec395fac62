#!/usr/bin/env bash
# Guest JWT creation, side by side on the same claims and secret:
#   webex-auth wxa_create_jwt (C ABI, release build), node jsonwebtoken.sign, PyJWT.encode.
# Prints ops/s for each and the ratios. Installs the peers under target/jwt-peers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PEERS=$TARGET/jwt-peers
BUDGET=${BUDGET:-2}
mkdir -p "$PEERS"

(cd "$ROOT" && cargo build --release --quiet -p webex-auth --lib)
cc -O2 -I"$ROOT/include" "$ROOT/benches/jwt_create.c" -o "$PEERS/jwt_create" \
    -L"$TARGET/release" -lwebex_auth -Wl,-rpath,"$TARGET/release"
[ -d "$PEERS/node_modules/jsonwebtoken" ] || (cd "$PEERS" && npm install --silent --no-audit --no-fund jsonwebtoken >/dev/null)
[ -x "$PEERS/venv/bin/python" ] || python3 -m venv "$PEERS/venv"
"$PEERS/venv/bin/python" -c 'import jwt' 2>/dev/null || "$PEERS/venv/bin/pip" install --quiet pyjwt

ours=$("$PEERS/jwt_create" "$BUDGET")
node_ops=$(cd "$PEERS" && node -e '
const jwt = require("jsonwebtoken");
const key = Buffer.from("ZW11bGF0b3ItZ3Vlc3Qtc2VjcmV0LTAxMjM0NTY3ODk=", "base64");
const budget = Number(process.argv[1]) * 1000;
let n = 0; const t0 = Date.now(); let t;
do {
  for (let i = 0; i < 1000; i++)
    jwt.sign({ sub: "guest-1", name: "Guest One", iss: "guest-issuer-id" }, key, { expiresIn: 3600 });
  n += 1000; t = Date.now() - t0;
} while (t < budget);
console.log(Math.round(n / (t / 1000)));' "$BUDGET")
py_ops=$("$PEERS/venv/bin/python" - "$BUDGET" <<'PY'
import base64, sys, time, jwt
key = base64.b64decode("ZW11bGF0b3ItZ3Vlc3Qtc2VjcmV0LTAxMjM0NTY3ODk=")
budget = float(sys.argv[1]); n = 0; t0 = time.perf_counter()
while True:
    for _ in range(1000):
        now = int(time.time())
        jwt.encode({"sub": "guest-1", "name": "Guest One", "iss": "guest-issuer-id", "iat": now, "exp": now + 3600}, key, algorithm="HS256")
    n += 1000
    t = time.perf_counter() - t0
    if t >= budget: break
print(round(n / t))
PY
)
printf '%-36s %12s ops/s\n' "webex-auth wxa_create_jwt (C ABI)" "$ours" "node jsonwebtoken.sign" "$node_ops" "PyJWT.encode" "$py_ops"
awk -v a="$ours" -v b="$node_ops" -v c="$py_ops" 'BEGIN { printf "ratio vs jsonwebtoken: %.1fx   ratio vs PyJWT: %.1fx\n", a / b, a / c }'
