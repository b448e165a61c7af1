#!/usr/bin/env bash
# Proves azfiles-testserver with Microsoft's Python SDK (azure-storage-file-share).
# Starts the server on a free port, runs azfiles_sdk_proof.py against it, stops it.
# Without the SDK it fails (run .ci/install-test-deps); DTUTIL_SKIP_CLIENT_PROOFS=1 skips it.
set -euo pipefail

name=run-azfiles
# shellcheck source=proof-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/proof-common.sh"
proof_skip_or_require "azfiles-testserver SDK proof" "azure.storage.fileshare" \
    "package azure-storage-file-share is"

cd "$root"
bin=$(proof_server_binary azfiles-testserver "${AZFILES_TESTSERVER:-}")

account=proofaccount
key=$("$py" -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())')
share=proof

"$bin" --listen 127.0.0.1:0 --account "$account" --key "$key" --share "$share" --log-requests >"$tmp/out" 2>"$tmp/err" &
server_pid=$!

proof_wait_listening
echo "run-azfiles: azfiles-testserver at http://$addr/$account"

status=0
"$py" "$here/azfiles_sdk_proof.py" --endpoint "http://$addr/$account" --control "http://$addr" \
    --account "$account" --key "$key" --share "$share" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run-azfiles: server log:" >&2
    tail -n 50 "$tmp/err" >&2
fi
exit "$status"
