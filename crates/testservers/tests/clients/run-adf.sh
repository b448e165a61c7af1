#!/usr/bin/env bash
# Proves adf-testserver with Microsoft's Python SDKs (azure-mgmt-datafactory, azure-identity,
# azure-keyvault-secrets).
# Starts the server on a free port (HTTPS, generated CA), runs adf_sdk_proof.py, stops it.
# Without the SDKs it fails (run .ci/install-test-deps); DTUTIL_SKIP_CLIENT_PROOFS=1 skips it.
set -euo pipefail

name=run-adf
# shellcheck source=proof-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/proof-common.sh"
proof_skip_or_require "adf-testserver SDK proof" \
    "azure.mgmt.datafactory, azure.identity, azure.keyvault.secrets" \
    "packages azure-mgmt-datafactory, azure-identity and azure-keyvault-secrets are"

cd "$root"
bin=$(proof_server_binary adf-testserver "${ADF_TESTSERVER:-}")

sub=11111111-2222-3333-4444-555555555555
rg=rg-proof
factory=adf-proof
ir=SsisIr
tenant=tenant-proof
client=app-proof
secret=$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')
reader=$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')
vault_secret=$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')

# --throttle 1: the SDK's first ARM call gets a 429 with Retry-After and must retry it.
"$bin" --listen 127.0.0.1:0 --ca-out "$tmp/ca.pem" --client "$tenant:$client:$secret" \
    --reader-token "$reader" --factory "$sub/$rg/$factory" --ir "$ir" \
    --store FILES=azurefiles:proofacct:pkgs:ssis --store MI=sqlmi:mi.proof.database.windows.net,1433 \
    --store VAULTED=azurefiles:proofvault:pkgs --secret "kv-proof/files-key=$vault_secret" \
    --store-secret VAULTED=kv-proof/files-key \
    --run-seconds 1 --fail-package Broken --page-size 2 --throttle 1 --log-requests >"$tmp/out" 2>"$tmp/err" &
server_pid=$!

proof_wait_listening
echo "run-adf: adf-testserver at https://$addr"

status=0
start=$(date +%s.%N)
"$py" "$here/adf_sdk_proof.py" --base "https://$addr" --ca "$tmp/ca.pem" --subscription "$sub" \
    --rg "$rg" --factory "$factory" --ir "$ir" --tenant "$tenant" --client-id "$client" \
    --secret="$secret" --reader-token="$reader" --fail-package Broken \
    --vault-secret="$vault_secret" || status=$?
echo "run-adf: proof took $("$py" -c "import sys; print(round($(date +%s.%N) - $start, 1))") s"
if grep -q -e "$secret" -e "$reader" -e "$vault_secret" "$tmp/err"; then
    echo "run-adf: FAIL: a secret appeared in the server log" >&2
    status=1
fi
if ! grep -q ' -> 429' "$tmp/err"; then
    echo "run-adf: FAIL: the server never throttled (--throttle 1), so the SDK's retry was not proven" >&2
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "run-adf: server log:" >&2
    tail -n 60 "$tmp/err" >&2
fi
exit "$status"
