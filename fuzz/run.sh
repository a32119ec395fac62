#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, one after another, with the
# committed seeds and dictionaries. Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Set SANITIZER=address (with a nightly toolchain or RUSTC_BOOTSTRAP=1) for ASan.
# A target that crashes does not stop the others; the exit status says whether any did.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
failed=()
[ ${#targets[@]} -gt 0 ] || targets=(redirect token_response device_poll jwt_options qr_code id_token pending_record)
for t in "${targets[@]}"; do
    case $t in
        redirect) dict=fuzz/dict/redirect.dict ;;
        device_poll | qr_code) dict= ;;
        id_token) dict=fuzz/dict/id_token.dict ;;
        *) dict=fuzz/dict/json.dict ;;
    esac
    mkdir -p "fuzz/corpus/$t"
    echo "=== $t (${secs}s)"
    cargo fuzz run "$t" -s "${SANITIZER:-none}" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 ${dict:+-dict=$dict} || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
