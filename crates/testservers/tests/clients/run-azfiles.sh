#!/usr/bin/env bash
# Proves azfiles-testserver with Microsoft's Python SDK (azure-storage-file-share).
# Starts the server on a free port, runs azfiles_sdk_proof.py against it, stops it.
# Without the SDK it fails (run .ci/install-test-deps); DTUTIL_SKIP_CLIENT_PROOFS=1 skips it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
py=${PYTHON:-python3}

if [ "${DTUTIL_SKIP_CLIENT_PROOFS:-}" = 1 ]; then
    echo "run-azfiles: azfiles-testserver SDK proof skipped (DTUTIL_SKIP_CLIENT_PROOFS=1)"
    exit 0
fi
if ! "$py" -c 'import azure.storage.fileshare' 2>/dev/null; then
    echo "run-azfiles: FAIL: the Python package azure-storage-file-share is not installed." >&2
    echo "run-azfiles: run .ci/install-test-deps (or set DTUTIL_SKIP_CLIENT_PROOFS=1 to skip)." >&2
    exit 1
fi

cd "$root"
bin=${AZFILES_TESTSERVER:-}
if [ -z "$bin" ]; then
    cargo build -q -p testservers --bin azfiles-testserver
    target=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    bin="$target/debug/azfiles-testserver"
fi

account=proofaccount
key=$("$py" -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())')
share=proof
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" --listen 127.0.0.1:0 --account "$account" --key "$key" --share "$share" --log-requests >"$tmp/out" 2>"$tmp/err" &
server_pid=$!

# The first stdout line is `listening IP:PORT`.
addr=
for _ in $(seq 1 200); do
    line=$(head -n 1 "$tmp/out" 2>/dev/null || true)
    case "$line" in
        "listening "*) addr=${line#listening }; break ;;
    esac
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.05
done
if [ -z "$addr" ]; then
    echo "run-azfiles: FAIL: the server did not print 'listening ADDR'" >&2
    cat "$tmp/err" >&2
    exit 1
fi
echo "run-azfiles: azfiles-testserver at http://$addr/$account"

status=0
"$py" "$here/azfiles_sdk_proof.py" --endpoint "http://$addr/$account" --control "http://$addr" \
    --account "$account" --key "$key" --share "$share" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run-azfiles: server log:" >&2
    tail -n 50 "$tmp/err" >&2
fi
exit "$status"
