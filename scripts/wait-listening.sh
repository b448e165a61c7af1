# Sourced by demo.sh and scripts/test-servers.sh (not run): waits for a test server
# started in the background to print its `listening IP:PORT` line.
#
# wait_listening NAME OUT LOG PID [SECONDS]: sets `addr` from OUT's first `listening`
# line. The server's shell creates OUT only when the background child gets to run, which
# on a loaded machine can be after the first polls: a missing OUT is waited for, never an
# error (under set -e a failing poll used to end the caller with a bare exit 2). Gives up
# after SECONDS (default 30) or when the server exits, naming the server and its log.
wait_listening() {
    local name=$1 out=$2 log=$3 pid=$4 seconds=${5:-30}
    local deadline=$((SECONDS + seconds)) line
    addr=
    while :; do
        if [[ -f "$out" ]]; then
            line=$(grep -m 1 '^listening ' "$out" 2>/dev/null || true)
            if [[ -n "$line" ]]; then
                addr=${line#listening }
                return 0
            fi
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name did not start: it exited before printing 'listening ADDR'; its log is $log:" >&2
            tail -n 20 "$log" >&2 2>/dev/null || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "$name did not start within ${seconds}s (no 'listening ADDR' line in $out); its log is $log:" >&2
            tail -n 20 "$log" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.05
    done
}
