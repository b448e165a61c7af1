#!/usr/bin/env bash
# Proves msdb-testserver's integrated (Kerberos) login with a client not written here:
# FreeTDS tsql, built with Kerberos, signs in with a `kinit` ticket (no user name) against
# `msdb-testserver --gssapi`, with a real MIT KDC in a temporary realm on loopback.
# alice has a login (runs a query), bob has none (error 18456 naming him).
# A missing tool is a failure (run .ci/install-test-deps), unless DTUTIL_SKIP_CLIENT_PROOFS=1.
set -euo pipefail

if [[ "${DTUTIL_SKIP_CLIENT_PROOFS:-}" == 1 ]]; then
    echo "msdb-testserver Kerberos proof: skipped (DTUTIL_SKIP_CLIENT_PROOFS=1)"
    exit 0
fi

PATH="$PATH:/usr/sbin:/sbin"
missing=()
for t in krb5kdc kdb5_util kadmin.local kinit tsql; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if ((${#missing[@]})); then
    echo "FAIL: the Kerberos proof needs: ${missing[*]}. Run .ci/install-test-deps" >&2
    exit 1
fi
tsql -C | grep -q 'Kerberos: yes' || { echo "FAIL: this tsql is built without Kerberos" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
realm=DTUTIL.TEST
kdc_port="$(free_port)"
cat >"$tmp/krb5.conf" <<EOF
[libdefaults]
  default_realm = $realm
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
[realms]
  $realm = {
    kdc = 127.0.0.1:$kdc_port
  }
EOF
cat >"$tmp/kdc.conf" <<EOF
[kdcdefaults]
  kdc_listen = 127.0.0.1:$kdc_port
  kdc_tcp_listen = 127.0.0.1:$kdc_port
[realms]
  $realm = {
    database_name = $tmp/principal
    key_stash_file = $tmp/stash
    acl_file = $tmp/kadm5.acl
  }
[logging]
  kdc = FILE:$tmp/kdc.log
EOF
export KRB5_CONFIG="$tmp/krb5.conf" KRB5_KDC_PROFILE="$tmp/kdc.conf" KRB5RCACHETYPE=none
kdb5_util create -s -r "$realm" -P kdc-master-password >/dev/null 2>&1
port="$(free_port)"
for q in "addprinc -pw alice-password alice" "addprinc -pw bob-password bob" \
    "addprinc -randkey MSSQLSvc/127.0.0.1:$port" "ktadd -k $tmp/server.keytab MSSQLSvc/127.0.0.1:$port"; do
    kadmin.local -r "$realm" -q "$q" >/dev/null 2>&1
done
krb5kdc -n -r "$realm" 2>/dev/null &
pids+=("$!")
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$kdc_port") 2>/dev/null && break
    sleep 0.1
done
KRB5_KTNAME="FILE:$tmp/server.keytab" "$bin" --listen "127.0.0.1:$port" --tls --gssapi \
    --windows-login "alice@$realm:db_ssisoperator" >"$tmp/server.out" 2>"$tmp/server.err" &
pids+=("$!")
source scripts/wait-listening.sh
wait_listening "run-kerberos: msdb-testserver" "$tmp/server.out" "$tmp/server.err" "$!" || exit 1
echo alice-password | KRB5CCNAME="FILE:$tmp/alice.cc" kinit alice >/dev/null
echo bob-password | KRB5CCNAME="FILE:$tmp/bob.cc" kinit bob >/dev/null

failed=0
# No -U: FreeTDS signs in with the ticket (GSSAPI, SPN MSSQLSvc/127.0.0.1:PORT).
query=$'EXEC msdb.dbo.sp_ssis_listfolders \'00000000-0000-0000-0000-000000000000\'\ngo\nselect 42\ngo\nexit\n'
out="$(printf '%s' "$query" | KRB5CCNAME="FILE:$tmp/alice.cc" TDSVER=7.4 tsql -H 127.0.0.1 -p "$port" 2>&1 || true)"
if grep -q '^42$' <<<"$out" && grep -q 'Maintenance Plans' <<<"$out"; then
    echo "tsql (FreeTDS, Kerberos) as alice: signed in, listed msdb folders"
else
    echo "FAIL: tsql as alice: $out" >&2
    failed=1
fi
out="$(printf 'select 1\ngo\nexit\n' | KRB5CCNAME="FILE:$tmp/bob.cc" TDSVER=7.4 tsql -H 127.0.0.1 -p "$port" 2>&1 || true)"
if grep -q "Login failed for user 'bob@$realm'" <<<"$out"; then
    echo "tsql (FreeTDS, Kerberos) as bob: refused with 18456 naming bob@$realm"
else
    echo "FAIL: tsql as bob: $out" >&2
    failed=1
fi
grep -q "TGS_REQ.*alice@$realm for MSSQLSvc/127.0.0.1:$port" "$tmp/kdc.log" \
    || { echo "FAIL: the KDC issued no service ticket for alice" >&2; failed=1; }
((failed == 0)) && echo "msdb-testserver Kerberos proof: passed"
exit "$failed"
