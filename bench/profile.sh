#!/usr/bin/env bash
# Where evalmock spends its time, with perf (DWARF call graphs: the release profile keeps line
# tables, and frame pointers are off, so plain `perf record -g` would lose the callers).
#
#   bench/profile.sh serve   # evalmock under wrk load with the docs' compare-record request
#   bench/profile.sh load    # start-up work on the large generated fixture set (`evalmock check`)
#
# Prints the top self-time and inclusive functions and a per-stage split (bench/perf_stages.py).
# BENCH_SECONDS (default 5) is how long perf samples the server. Loopback only; every process
# started here is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."

MODE=${1:-serve}
SECS=${BENCH_SECONDS:-5}
HOST=127.0.0.1
EVALMOCK=target/release/evalmock
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evalmock-profile.XXXXXX")
PIDS=()

cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "error: $*" >&2
    exit 1
}

if ! command -v perf >/dev/null; then
    apt-get install -y linux-perf >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y linux-perf >/dev/null; }
fi
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
cargo build --release --quiet --bin evalmock

# Symbolised stacks, inlined frames included (most of the pipeline is inlined into a few
# functions), summarised.
summarise() {
    perf script -i "$1" -F tid,ip,sym --inline 2>/dev/null | python3 bench/perf_stages.py
}

case $MODE in
serve)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Quiet logging, as in compare.sh's measured runs.
    env RUST_LOG=error "$EVALMOCK" --host "$HOST" --port "$port" >"$WORK/server.log" 2>&1 &
    server=$!
    PIDS+=("$server")
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://$HOST:$port/__mock/health" && break
        sleep 0.05
    done
    kill -0 "$server" 2>/dev/null || die "evalmock did not start: $(cat "$WORK/server.log")"
    # Load for the whole sampling window plus a 2 s lead-in (warm caches, connections open).
    timeout $((SECS + 30)) wrk -t 2 -c 32 -d "$((SECS + 4))s" -s bench/compare-record.lua \
        "http://$HOST:$port/v1/eval/compare-record" >"$WORK/wrk.txt" &
    PIDS+=("$!")
    sleep 2
    perf record -q -F 499 --call-graph dwarf,32768 -p "$server" -o "$WORK/perf.data" -- sleep "$SECS" 2>/dev/null
    wait "${PIDS[-1]}" || true
    grep -E 'Requests/sec|Non-2xx' "$WORK/wrk.txt" || true
    summarise "$WORK/perf.data"
    ;;
load)
    "$EVALMOCK" fixtures generate --groups 10 --batches 5 --records 500 --steps 4 --seed 7 \
        --out "$WORK/fixtures" >&2
    perf record -q -F 499 --call-graph dwarf,32768 -o "$WORK/perf.data" -- \
        "$EVALMOCK" check --fixtures "$WORK/fixtures"
    summarise "$WORK/perf.data"
    ;;
*)
    die "usage: bench/profile.sh serve|load"
    ;;
esac
