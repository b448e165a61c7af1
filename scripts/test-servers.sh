#!/usr/bin/env bash
# Starts the test servers on loopback for trying the docs' examples by hand (`make
# servers`): two msdb test servers (TLS, standing for an on-premises SQL Server on
# 127.0.0.1,14330 and a Managed Instance on 127.0.0.1,14331) and an Azure Files test
# server (account `myacct`, shares `ssisstore`, `ssis` and `share`). Prints the exports
# a reader pastes into another shell, then waits; Ctrl-C stops the servers and removes
# their temporary folder. Test fixtures, not products: loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

MSDB_PORT=${MSDB_PORT:-14330}
MI_PORT=${MI_PORT:-14331}
AZURE_PORT=${AZURE_PORT:-0}

cargo build --quiet -p testservers --bins
bin=target/debug
state=$(mktemp -d "${TMPDIR:-/tmp}/dtutil-servers.XXXXXX")
pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
  echo "test servers stopped"
}
trap stop INT TERM EXIT

secret() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }
SQL_PW="Etl-$(secret)"
MI_PW="Mi-$(secret)"
AZURE_KEY=$(head -c 64 /dev/urandom | base64 -w0)

# start NAME COMMAND...: starts a server, waits for its "listening IP:PORT" line, sets
# $addr. Not run in $(...): the server's pid must reach `pids` for stop() to end it.
source scripts/wait-listening.sh
start() {
  local name=$1; shift
  "$@" >"$state/$name.out" 2>"$state/$name.err" &
  pids+=($!)
  wait_listening "$name" "$state/$name.out" "$state/$name.err" "$!"
}

start msdb "$bin/msdb-testserver" --listen "127.0.0.1:$MSDB_PORT" --tls \
  --ca-out "$state/msdb-ca.pem" --login "etl:$SQL_PW"
msdb=$addr
start mi "$bin/msdb-testserver" --listen "127.0.0.1:$MI_PORT" --tls \
  --ca-out "$state/mi-ca.pem" --login "miadmin:$MI_PW"
mi=$addr
start azure "$bin/azfiles-testserver" --listen "127.0.0.1:$AZURE_PORT" \
  --account myacct --key "$AZURE_KEY" --share ssisstore --share ssis --share share
azure=$addr
# Each msdb server makes its own CA: one bundle trusts both.
cat "$state/msdb-ca.pem" "$state/mi-ca.pem" >"$state/ca.pem"

cat <<EXPORTS
# Test servers are up (msdb ${msdb/:/,} and ${mi/:/,}, Azure Files $azure).
# Paste into the shell where you run dtutil:
export DTUTIL_SQL_CA='$state/ca.pem'
export SQL_PW='$SQL_PW'      # login etl on ${msdb/:/,}
export MI_PW='$MI_PW'        # login miadmin on ${mi/:/,}
export AZURE_STORAGE_ACCOUNT=myacct AZURE_STORAGE_KEY='$AZURE_KEY'
export DTUTIL_AZURE_FILES_ENDPOINT='http://$azure/myacct'   # \\\\myacct.file.core.windows.net\\SHARE\\... goes here
export SSIS_PW='new-package-password'
# Shares: ssisstore, ssis, share. Sample packages for docs/migration.md: cp -r fixtures/migration/packages .
# Ctrl-C stops the servers.
EXPORTS
wait
