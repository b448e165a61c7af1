# Shared by run-adf.sh and run-azfiles.sh (sourced, not run): the skip switch, the
# Python package check, building the test server, a scratch folder removed with the
# server on exit, and waiting for the server's `listening ADDR` line.
# The caller sets `name` (the prefix of every message) before sourcing.

here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
py=${PYTHON:-python3}

# proof_skip_or_require "WHAT" "PYTHON IMPORTS" "PACKAGES (for the message)"
proof_skip_or_require() {
    if [ "${DTUTIL_SKIP_CLIENT_PROOFS:-}" = 1 ]; then
        echo "$name: $1 skipped (DTUTIL_SKIP_CLIENT_PROOFS=1)"
        exit 0
    fi
    if ! "$py" -c "import $2" 2>/dev/null; then
        echo "$name: FAIL: the Python $3 not installed." >&2
        echo "$name: run .ci/install-test-deps (or set DTUTIL_SKIP_CLIENT_PROOFS=1 to skip)." >&2
        exit 1
    fi
}

# proof_server_binary BIN_NAME GIVEN: prints GIVEN, or the freshly built test server.
proof_server_binary() {
    if [ -n "$2" ]; then
        echo "$2"
        return
    fi
    cargo build -q -p testservers --bin "$1" || return 1
    local target
    target=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    echo "$target/debug/$1"
}

tmp=$(mktemp -d)
server_pid=
proof_cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap proof_cleanup EXIT

# proof_wait_listening: sets `addr` from the first stdout line (`listening IP:PORT`) of
# the server started in the background with stdout in $tmp/out, or fails.
proof_wait_listening() {
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
        echo "$name: FAIL: the server did not print 'listening ADDR'" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
}
