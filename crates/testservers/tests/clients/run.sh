#!/usr/bin/env bash
# Proves msdb-testserver with TDS clients not written here: python-tds (pytds) and FreeTDS
# tsql, each without and with TLS, and Microsoft's ODBC Driver 18 (through mssql-python)
# with TrustServerCertificate, with the CA trusted, and in TDS 8.0 strict mode, against
# fresh servers. Fails loudly on any mismatch.
# A missing client is a failure (run .ci/install-test-deps), unless
# DTUTIL_SKIP_CLIENT_PROOFS=1.
set -euo pipefail

if [[ "${DTUTIL_SKIP_CLIENT_PROOFS:-}" == 1 ]]; then
    echo "msdb-testserver client proofs: skipped (DTUTIL_SKIP_CLIENT_PROOFS=1)"
    exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"

missing=()
python3 -c 'import pytds' 2>/dev/null || missing+=("python-tds (pip)")
python3 -c 'import OpenSSL' 2>/dev/null || missing+=("pyOpenSSL (pip; pytds needs it for TLS)")
command -v tsql >/dev/null 2>&1 || missing+=("tsql (Debian package freetds-bin)")
python3 -c 'import mssql_python' 2>/dev/null || missing+=("mssql-python (pip; Microsoft's ODBC Driver 18)")
ldconfig -p 2>/dev/null | grep -q 'libltdl\.so\.7' || missing+=("libltdl7 (Debian; the ODBC driver loads it)")
if ((${#missing[@]})); then
    echo "FAIL: msdb-testserver client proofs need: ${missing[*]}." >&2
    echo "      Run .ci/install-test-deps (or set DTUTIL_SKIP_CLIENT_PROOFS=1 to skip)." >&2
    exit 1
fi

cd "$root"
cargo build -q -p testservers --bin msdb-testserver
target_dir="$(cargo metadata -q --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/debug/msdb-testserver"

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME ARGS...: starts a server, waits for its `listening` line, sets $port.
start_server() {
    local name="$1"
    shift
    "$bin" --login admin:adminpw:db_ssisadmin --login op:oppw:db_ssisoperator \
        --login ltd:ltdpw:db_ssisltduser "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=("$!")
    for _ in $(seq 100); do
        if grep -q '^listening ' "$tmp/$name.out" 2>/dev/null; then
            port="$(head -1 "$tmp/$name.out" | sed 's/.*://')"
            return 0
        fi
        sleep 0.1
    done
    echo "FAIL: msdb-testserver ($name) did not print its listening line" >&2
    cat "$tmp/$name.err" >&2
    exit 1
}

passed=0
failed=0
run() {
    local what="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what" >&2
    fi
}

start_server plain1; run "pytds plain" python3 "$here/pytds_proof.py" "$port"
start_server tls1 --tls --ca-out "$tmp/ca1.pem"; run "pytds TLS" python3 "$here/pytds_proof.py" "$port" "$tmp/ca1.pem"
start_server plain2; run "tsql plain" python3 "$here/tsql_proof.py" "$port"
start_server tls2 --tls --ca-out "$tmp/ca2.pem"; run "tsql TLS" python3 "$here/tsql_proof.py" "$port" "$tmp/ca2.pem"
start_server plain3; plain_port="$port"
start_server tls3 --tls --ca-out "$tmp/ca3.pem"
run "encryption mismatch" python3 "$here/encryption_mismatch.py" "$plain_port" "$port" "$tmp/ca3.pem"
for mode in trust ca strict; do
    start_server "odbc-$mode" --tls --ca-out "$tmp/ca-$mode.pem"
    extra=()
    ca="$tmp/ca-$mode.pem"
    if [[ "$mode" == strict ]]; then
        # A second server that accepts TDS 8.0 only; the client trusts both CAs.
        odbc_port="$port"
        start_server strict-only --tls --tls-strict-only --ca-out "$tmp/ca-strict-only.pem"
        extra=("$port")
        port="$odbc_port"
        cat "$tmp/ca-strict.pem" "$tmp/ca-strict-only.pem" >"$tmp/ca-bundle.pem"
        ca="$tmp/ca-bundle.pem"
    fi
    run "mssql-python (ODBC Driver 18) $mode" python3 "$here/mssql_python_proof.py" "$port" "$mode" "$ca" "${extra[@]}"
done

echo "msdb-testserver client proofs: $passed passed, $failed failed"
((failed == 0))
