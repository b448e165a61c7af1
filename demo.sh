#!/usr/bin/env bash
# `make demo`: the three migrations of Microsoft's guide for the Azure-SSIS IR package
# store ("Manage packages with Azure-SSIS IR package store", Migrate), typed as a user
# would, against test servers on loopback standing for the real ones:
#   on-premises SQL Server  -> msdb-testserver (TLS)   127.0.0.1,<port>
#   Azure SQL MI            -> msdb-testserver (TLS)   127.0.0.1,<port>
#   storage account myacct  -> azfiles-testserver      \\myacct.file.core.windows.net\ssisstore
# Passwords and keys come from the environment (env:NAME), never the command line.
set -euo pipefail
cd "$(dirname "$0")"

OUT=${DEMO_OUT:-demo-out}
BIN=${DEMO_BIN:-target/release}
rm -rf "$OUT" && mkdir -p "$OUT/packages" "$OUT/servers" "$OUT/check"

pids=()
stop_servers() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap stop_servers EXIT

# start NAME BINARY ARGS...: starts a server, waits for `listening ADDR`, sets $addr.
source scripts/wait-listening.sh
start() {
    local name=$1 bin=$2
    shift 2
    "$BIN/$bin" "$@" >"$OUT/servers/$name.out" 2>"$OUT/servers/$name.log" &
    pids+=("$!")
    wait_listening "demo: $name" "$OUT/servers/$name.out" "$OUT/servers/$name.log" "$!" || exit 1
}

# show CMD...: prints the command as typed, then runs it; dtutil's three banner lines and
# the blank line after them are left out.
show() {
    printf '\n$ %s\n' "$*"
    "$@" 2>&1 | awk 'NR > 4 || !/^(dtutil SSIS Package Utilities |Version [0-9.]+ for |Copyright \(C\) the dtutil rebuild authors|$)/'
    return "${PIPESTATUS[0]}"
}
section() { printf '\n=== %s\n' "$*"; }
dtutil() { "$BIN/dtutil" "$@"; }

export SSIS_PW=${SSIS_PW:-Demo-Package-Pw1}   # the packages' new password (level 2)
export SQL_PW=Onprem-Secret1 MI_PW=Mi-Secret2
export AZURE_STORAGE_ACCOUNT=myacct
AZURE_STORAGE_KEY=$(head -c 64 /dev/urandom | base64 -w0)
export AZURE_STORAGE_KEY

start onprem msdb-testserver --tls --ca-out "$OUT/servers/onprem-ca.pem" --login "etl:$SQL_PW:db_ssisadmin"
ONPREM=${addr/:/,}
start mi msdb-testserver --tls --ca-out "$OUT/servers/mi-ca.pem" --login "miadmin:$MI_PW:db_ssisadmin"
MI=${addr/:/,}
start azure azfiles-testserver --account myacct --key "$AZURE_STORAGE_KEY" --share ssisstore
AZURE=$addr
# One process talks to both SQL Servers: trust both test CAs; send Azure Files requests
# for myacct to the test server instead of myacct.file.core.windows.net.
cat "$OUT/servers/onprem-ca.pem" "$OUT/servers/mi-ca.pem" >"$OUT/servers/ca-bundle.pem"
export DTUTIL_SQL_CA="$OUT/servers/ca-bundle.pem"
export DTUTIL_AZURE_FILES_ENDPOINT="http://$AZURE/myacct"
SHARE='\\myacct.file.core.windows.net\ssisstore'
echo "Test servers: on-premises SQL Server $ONPREM, Azure SQL MI $MI, Azure Files $SHARE (http://$AZURE)"

# The packages: fixtures/source, exported from msdb with ServerStorage (level 5).
cp fixtures/source/*.dtsx "$OUT/packages/"

section "0. Can the Azure-SSIS IR (the SQL Server 2017 runtime) load them? (docs/migration.md)"
echo "# CustomerLoad was saved by SQL Server 2019 tools: the IR cannot load it (exit 1). Re-save it"
echo "# in SSDT for SQL Server 2017 before a real migration; batch --target-version 2017 refuses it."
show dtutil inspect --target-version 2017 "$OUT"/packages/*.dtsx || true

section "1. File system -> Azure Files, re-protected to level 2 (the guide's loop)"
for f in "$OUT"/packages/*.dtsx; do
    show dtutil /FILE "$f" /ENCRYPT "FILE;$SHARE\\Packages\\$(basename "$f");2;env:SSIS_PW" /Q
done

section "2. msdb -> msdb on Azure SQL Managed Instance"
echo "# The on-premises msdb first gets the packages (folders ETL\\Sales, ETL\\Finance):"
S=(/SourceServer "$ONPREM" /SourceUser etl /SourcePassword env:SQL_PW)
D=(/DestServer "$ONPREM" /DestUser etl /DestPassword env:SQL_PW)
show dtutil /FC 'SQL;\;ETL' "${S[@]}"
show dtutil /FC 'SQL;ETL;Sales' "${S[@]}"
show dtutil /FC 'SQL;ETL;Finance' "${S[@]}"
show dtutil /FILE "$OUT/packages/CustomerLoad.dtsx" /COPY 'SQL;ETL\Sales\CustomerLoad' "${D[@]}"
show dtutil /FILE "$OUT/packages/Legacy2008.dtsx" /COPY 'SQL;ETL\Finance\Legacy2008' "${D[@]}"
echo
echo "# The guide: make the folders on the instance, then run the lines its T-SQL generates"
echo "# from msdb.dbo.sysssispackages, one dtutil per package:"
M=(/SourceServer "$MI" /SourceUser miadmin /SourcePassword env:MI_PW)
show dtutil /FC 'SQL;\;ETL' "${M[@]}"
show dtutil /FC 'SQL;ETL;Sales' "${M[@]}"
show dtutil /FC 'SQL;ETL;Finance' "${M[@]}"
for p in 'ETL\Sales\CustomerLoad' 'ETL\Finance\Legacy2008'; do
    show dtutil /SQL "$p" "${S[@]}" /ENCRYPT "SQL;$p;2;env:SSIS_PW" \
        /DestServer "$MI" /DestUser miadmin /DestPassword env:MI_PW /Q
done
echo
echo "# The same as one command (it lists the tree, makes the folders, reuses connections):"
show dtutil batch --from "sql://$ONPREM/ETL" --source-user etl --source-password env:SQL_PW \
    --to "sql://$MI/ETL" --dest-user miadmin --dest-password env:MI_PW \
    --encrypt "2;env:SSIS_PW" --overwrite --report "$OUT/msdb-to-mi.json"
show dtutil /FDi 'SQL;\ETL;S' "${M[@]}"

section "3. msdb -> Azure Files"
show dtutil batch --from "sql://$ONPREM/ETL" --source-user etl --source-password env:SQL_PW \
    --to "$SHARE\\ETL" --encrypt "2;env:SSIS_PW" --report "$OUT/msdb-to-azure.json"

section "What arrived (copied back byte for byte, then inspected; inspect never prints values)"
mkdir -p "$OUT/check/azure-packages" "$OUT/check/mi" "$OUT/check/azure-etl"
for f in CustomerLoad Legacy2008; do
    dtutil /FILE "$SHARE\\Packages\\$f.dtsx" /COPY "FILE;$OUT/check/azure-packages/$f.dtsx" /Q >/dev/null
done
dtutil /SQL 'ETL\Sales\CustomerLoad' "${M[@]}" /COPY "FILE;$OUT/check/mi/CustomerLoad.dtsx" /Q >/dev/null
dtutil /SQL 'ETL\Finance\Legacy2008' "${M[@]}" /COPY "FILE;$OUT/check/mi/Legacy2008.dtsx" /Q >/dev/null
dtutil /FILE "$SHARE\\ETL\\Sales\\CustomerLoad.dtsx" /COPY "FILE;$OUT/check/azure-etl/CustomerLoad.dtsx" /Q >/dev/null
dtutil /FILE "$SHARE\\ETL\\Finance\\Legacy2008.dtsx" /COPY "FILE;$OUT/check/azure-etl/Legacy2008.dtsx" /Q >/dev/null
show dtutil inspect --password env:SSIS_PW "$OUT"/check/*/*.dtsx

stop_servers
trap - EXIT
cat <<EOF

Servers stopped. Where to look:
  $OUT/packages/               the source packages (level 5, as exported from msdb)
  $OUT/check/                  what arrived: azure-packages/ (scenario 1), mi/ (2), azure-etl/ (3)
  $OUT/msdb-to-mi.json, $OUT/msdb-to-azure.json   dtutil batch reports (no password; a salted digest that can confirm a guess: keep them private)
  $OUT/servers/*.log           the test servers' logs
  docs/migration.md            the three scenarios against real Azure names
EOF
