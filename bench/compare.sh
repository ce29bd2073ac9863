#!/usr/bin/env bash
# Side-by-side benchmark: evalmock against a bare axum baseline (examples/baseline.rs), both
# driven by wrk with the public docs' compare-record request, plus start-up time, peak memory,
# the cost of default logging, and a scale run on a large generated fixture set.
#
#   bench/compare.sh                   # full run: 15 s per load run, a few minutes in all
#   BENCH_SECONDS=3 bench/compare.sh   # quick run (numbers are noisier)
#
# Workloads at default settings (INFO log line per request, journal on): the docs request; every
# record of every group with a moving two-step filter (bench/bodies.py); the same with a unique
# unknown field in every body. The same three on the scale set, to compare the two. Each of
# these alternates with the baseline (same wrk script and bodies) in short rounds, and is given
# as the median of the rounds' ratios: the machine's speed drifts within seconds, and wrk's
# per-request Lua takes CPU from whichever server it drives.
#
# Tunables (environment): BENCH_SECONDS (length of each measured load run, default 15),
# BENCH_WARMUP_SECONDS (unmeasured load before each run, default 2), BENCH_STARTUP_RUNS
# (spawns timed for start-up to first 200, default 5), BENCH_SKIP_SCALE=1 (skip the scale run),
# BENCH_ROUNDS (rounds a default-settings workload alternates with the baseline in, default 3).
#
# Prints a table on stdout and writes it to bench/results/latest.txt. Traffic stays on
# 127.0.0.1. Every process started here is stopped on exit (trap). Exits non-zero when a server
# fails to start or when a load run got anything but 200s (such numbers would be meaningless).
# Each load run also reports the CPU share other processes took ("other%"): on 2 cores a
# concurrent build halves the figures, so compare runs only where it is near 0.
# Needs cargo, curl, python3 and wrk (installed with apt-get when missing, as root).
set -euo pipefail

cd "$(dirname "$0")/.."

SECS=${BENCH_SECONDS:-15}
WARMUP=${BENCH_WARMUP_SECONDS:-2}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-5}
THREADS=2
CONNECTIONS=(32 64)
HOST=127.0.0.1
LUA=bench/compare-record.lua
RESULTS=bench/results/latest.txt
EVALMOCK=target/release/evalmock
BASELINE=target/release/examples/baseline
# Quiet logging for the measured runs: per-request INFO lines would otherwise be a large part of
# what is measured. `evalmock::app=info` keeps the one "ready in ..." line of start-up.
QUIET_LOG="error,evalmock::app=info"
# The body of the docs' curl example; the same as the default in $LUA.
DOCS_BODY='{"evalGroupId":"evalgrp_01jv0000000000000000000001","recordId":"record_01jv0000000000000000000001","stepIds":["step_01jv0000000000000000000001","step_01jv0000000000000000000002"]}'
PATH_CR=/v1/eval/compare-record

# Settings from the caller's environment must not change what is measured.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^EVALMOCK_' || true)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/evalmock-bench.XXXXXX")
PIDS=()
FAILED=0

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        # Bounded: a process that ignores SIGTERM for 2 s is killed.
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one process started here (SIGTERM; evalmock and baseline exit at once on it).
stop() {
    local pid=$1 p kept=()
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in ${PIDS[@]+"${PIDS[@]}"}; do [[ $p == "$pid" ]] || kept+=("$p"); done
    PIDS=(${kept[@]+"${kept[@]}"})
}

now_us() { echo "${EPOCHREALTIME/./}"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# /proc/<pid>/status field in kB (VmRSS now, VmHWM peak since start or the last reset).
mem_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# Resets VmHWM to the current RSS (Linux clear_refs "5"), so a peak belongs to one run. Where
# that is not allowed the peak is the process's lifetime peak, which only overstates it.
reset_peak() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
# Workload $1 against workload $2, each as its ratio to the baseline rounds beside it (see paired).
rel() { ratio "${R[$1.ratio]:-0}" "${R[$2.ratio]:-0}"; }

# One POST of $2 to port $1; prints the HTTP status (000 when nothing answered).
post_status() {
    curl -s -o "${3:-/dev/null}" -w '%{http_code}' --max-time 2 -X POST \
        -H 'Authorization: Bearer rt_test_bench' -H 'Content-Type: application/json' \
        --data-binary "$2" "http://$HOST:$1$PATH_CR" || true
}

# start NAME PORT BODY TIMEOUT_S LOG ENV... -- CMD...: spawns a server, polls it with the request
# until the first 200, and sets STARTED_PID and STARTUP_MS (spawn to first 200). Dies if the
# server exits or does not answer 200 in time.
start() {
    local name=$1 port=$2 body=$3 timeout_s=$4 logfile=$5
    shift 5
    local started deadline code
    started=$(now_us)
    # Both streams, so the log is caught whichever one evalmock writes it to.
    "$@" >"$logfile" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    deadline=$((started + timeout_s * 1000000))
    # Wait for the port without spawning processes: a curl every few milliseconds would take a
    # core from a server that loads on both (it made the scale start-up look 60% slower).
    # `exec` on /dev/tcp opens the connection in this shell; `read -t` on a silent pipe sleeps.
    local pause
    exec {pause}<> <(:)
    local probe=
    {
        until exec {probe}<>"/dev/tcp/$HOST/$port"; do
            kill -0 "$STARTED_PID" || break
            ((${EPOCHREALTIME/./} > deadline)) && break
            read -rt 0.002 -u "$pause" || true
        done
    } 2>/dev/null
    [[ -n $probe ]] && exec {probe}>&-
    exec {pause}>&-
    while :; do
        code=$(post_status "$port" "$body")
        [[ $code == 200 ]] && break
        if ! kill -0 "$STARTED_PID" 2>/dev/null; then
            tail -n 20 "$logfile" >&2 || true
            die "$name exited before answering (see its log above)"
        fi
        if (($(now_us) > deadline)); then
            tail -n 20 "$logfile" >&2 || true
            die "$name did not answer 200 within ${timeout_s}s (last status $code)"
        fi
    done
    STARTUP_MS=$(awk -v us=$(($(now_us) - started)) 'BEGIN { printf "%.1f", us / 1000 }')
}

# Sets CMD to the evalmock command line: PORT LOG [more evalmock args]; LOG "default" runs with
# no RUST_LOG (evalmock's default INFO logging). An array, not a function, so that the pid `start`
# records is evalmock's own (env execs it) and /proc/<pid> is its memory.
evalmock_cmd() {
    local port=$1 level=$2
    shift 2
    if [[ $level == default ]]; then
        CMD=(env -u RUST_LOG "$EVALMOCK")
    else
        CMD=(env "RUST_LOG=$level" "$EVALMOCK")
    fi
    CMD+=(--host "$HOST" --port "$port" --response-validation strict "$@")
}

# CPU accounting, in clock ticks, to tell whether something else ran during a measurement:
# the machine's busy time, one process's time, and the time of this shell's waited-for children.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
children_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }
TICKS=$(getconf CLK_TCK)
CORES=$(nproc)

# wrk latency ("812.00us", "1.23ms", "2.01s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "nan" }'
}

# load KEY PID PORT CONNECTIONS BODY [LUA]: a warm-up, then a measured wrk run; results in R[KEY.*].
declare -A R
load() {
    local key=$1 pid=$2 port=$3 conns=$4 body=$5 LUA=${6:-$LUA} out=$WORK/wrk-$1.txt wrk_pid
    local url="http://$HOST:$port$PATH_CR"
    log "load $key: $conns connections, ${WARMUP}s warm-up + ${SECS}s"
    if ((WARMUP > 0)); then
        BENCH_BODY=$body timeout $((WARMUP + 30)) wrk -t "$THREADS" -c "$conns" -d "${WARMUP}s" \
            -s "$LUA" "$url" >/dev/null &
        wrk_pid=$!
        PIDS+=("$wrk_pid")
        wait "$wrk_pid" || die "wrk warm-up failed for $key"
        stop "$wrk_pid"
    fi
    reset_peak "$pid"
    local busy0 server0 kids0 t0
    busy0=$(busy_ticks)
    server0=$(proc_ticks "$pid")
    kids0=$(children_ticks)
    t0=$(now_us)
    # timeout: wrk stops by itself after -d; this only bounds a hung wrk.
    BENCH_BODY=$body timeout $((SECS + 30)) wrk -t "$THREADS" -c "$conns" -d "${SECS}s" --latency \
        -s "$LUA" "$url" >"$out" &
    wrk_pid=$!
    PIDS+=("$wrk_pid")
    wait "$wrk_pid" || die "wrk failed for $key: $(cat "$out")"
    stop "$wrk_pid"
    kill -0 "$pid" 2>/dev/null || die "the server of $key died during the run"
    # Share of the machine's CPU used by anything but this server and wrk during the run: other
    # work on a 2-core machine changes the figures, so it is shown (and warned about).
    R[$key.other]=$(awk -v busy=$(($(busy_ticks) - busy0)) \
        -v ours=$(($(proc_ticks "$pid") - server0 + $(children_ticks) - kids0)) \
        -v us=$(($(now_us) - t0)) -v hz="$TICKS" -v cores="$CORES" \
        'BEGIN { other = (busy - ours) / (us / 1e6 * hz * cores) * 100; printf "%.0f", (other < 0 ? 0 : other) }')
    if ((R[$key.other] > 10)); then
        log "WARNING $key: other processes used ${R[$key.other]}% of the CPU during the run; its figures are skewed"
    fi
    R[$key.rps]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    R[$key.p50]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    R[$key.p99]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    R[$key.requests]=$(awk '/requests in/ { print $1 }' "$out")
    R[$key.non2xx]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    R[$key.non2xx]=${R[$key.non2xx]:-0}
    R[$key.socket]=$(awk -F'Socket errors: ' 'NF > 1 { print $2 }' "$out")
    R[$key.hwm]=$(mem_kb "$pid" VmHWM)
    if [[ ${R[$key.non2xx]} != 0 || -n ${R[$key.socket]} ]]; then
        log "WARNING $key: ${R[$key.non2xx]} non-2xx answers; socket errors: ${R[$key.socket]:-none}"
        FAILED=1
    fi
}

# ---------------------------------------------------------------------------------------------
command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required (free ports, picking scale ids)"
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
fi

log "building (release): evalmock and examples/baseline"
cargo build --release --quiet --bin evalmock --example baseline
# Other work on the machine skews every figure: the load average is printed with the results
# (1-minute average, so a build that just finished still shows in the first figure).
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- start-up to first 200, bundled fixtures ---------------------------------------------------
startups=()
ready_lines=()
for i in $(seq "$STARTUP_RUNS"); do
    port=$(free_port)
    evalmock_cmd "$port" "$QUIET_LOG"
    start "evalmock (start-up run $i)" "$port" "$DOCS_BODY" 10 "$WORK/startup-$i.log" "${CMD[@]}"
    startups+=("$STARTUP_MS")
    ready_lines+=("$(grep -o 'ready in [^)]*' "$WORK/startup-$i.log" | head -n 1 | sed 's/ready in //')")
    if ((i == 1)); then
        # What one poll costs (a curl process and a request): the resolution of the figure.
        t0=$(now_us)
        post_status "$port" "$DOCS_BODY" >/dev/null
        CURL_MS=$(awk -v us=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", us / 1000 }')
        # evalmock's answer, which the baseline serves byte for byte.
        [[ $(post_status "$port" "$DOCS_BODY" "$WORK/answer.json") == 200 ]] ||
            die "evalmock did not answer the docs request with 200"
    fi
    stop "$STARTED_PID"
done
STARTUP_MEDIAN=$(printf '%s\n' "${startups[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
STARTUP_MAX=$(printf '%s\n' "${startups[@]}" | sort -g | tail -n 1)
ANSWER_BYTES=$(wc -c <"$WORK/answer.json")

# --- baseline ----------------------------------------------------------------------------------
port=$(free_port)
start baseline "$port" "$DOCS_BODY" 10 "$WORK/baseline.log" \
    "$BASELINE" --port "$port" --response "$WORK/answer.json"
pid=$STARTED_PID
R[baseline.idle]=$(mem_kb "$pid" VmRSS)
for c in "${CONNECTIONS[@]}"; do load "baseline.$c" "$pid" "$port" "$c" "$DOCS_BODY"; done
# The baseline keeps running (idle between its runs): each default-settings workload alternates
# with it (see `paired`).
BASE_PID=$pid
BASE_PORT=$port

# paired KEY PID PORT BODY [LUA]: workload KEY on evalmock (PID, PORT) and the baseline with the
# same script and bodies, in BENCH_ROUNDS (3) alternating rounds of SECS/rounds seconds each
# (the first of each after a warm-up). The speed of this VM drifts within seconds, so a ratio
# of two runs minutes or even one run apart moves by 10-20%; rounds side by side cancel most
# of it. Results: R[KEY.*] and R[baseline.before.KEY.*] (mean req/s, worst p99, highest peak
# RSS over the rounds), and R[KEY.ratio], the median of the rounds' ratios.
paired() {
    local key=$1 pid=$2 port=$3 body=$4 script=${5:-$LUA} rounds=${BENCH_ROUNDS:-3} r k side
    local seg=$((SECS / rounds))
    ((seg >= 1)) || seg=1
    local ratios=()
    for r in $(seq "$rounds"); do
        local warm=0
        ((r == 1)) && warm=$WARMUP
        SECS=$seg WARMUP=$warm load "baseline.before.$key.$r" "$BASE_PID" "$BASE_PORT" 32 "$DOCS_BODY" "$script"
        SECS=$seg WARMUP=$warm load "$key.$r" "$pid" "$port" 32 "$body" "$script"
        ratios+=("$(ratio "${R[$key.$r.rps]}" "${R[baseline.before.$key.$r.rps]}")")
    done
    for side in "$key" "baseline.before.$key"; do
        R[$side.rps]=0 R[$side.p50]=0 R[$side.p99]=0 R[$side.hwm]=0 R[$side.requests]=0
        R[$side.other]=0 R[$side.non2xx]=0 R[$side.socket]=
        for r in $(seq "$rounds"); do
            k=$side.$r
            R[$side.rps]=$((R[$side.rps] + R[$k.rps]))
            R[$side.requests]=$((R[$side.requests] + R[$k.requests]))
            R[$side.non2xx]=$((R[$side.non2xx] + R[$k.non2xx]))
            R[$side.socket]+=${R[$k.socket]}
            ((R[$k.hwm] > R[$side.hwm])) && R[$side.hwm]=${R[$k.hwm]}
            ((R[$k.other] > R[$side.other])) && R[$side.other]=${R[$k.other]}
            R[$side.p99]=$(awk -v a="${R[$side.p99]}" -v b="${R[$k.p99]}" 'BEGIN { print (b > a ? b : a) }')
            R[$side.p50]=$(awk -v a="${R[$side.p50]}" -v b="${R[$k.p50]}" 'BEGIN { print (b > a ? b : a) }')
        done
        R[$side.rps]=$((R[$side.rps] / rounds))
    done
    R[$key.ratio]=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    R[$key.ratios]="${ratios[*]}"
}

# --- evalmock, quiet logging --------------------------------------------------------------------
port=$(free_port)
evalmock_cmd "$port" "$QUIET_LOG"
start evalmock "$port" "$DOCS_BODY" 10 "$WORK/evalmock.log" "${CMD[@]}"
pid=$STARTED_PID
R[evalmock.idle]=$(mem_kb "$pid" VmRSS)
for c in "${CONNECTIONS[@]}"; do load "evalmock.$c" "$pid" "$port" "$c" "$DOCS_BODY"; done
# Every request new to the memo: the whole pipeline per request (see the Lua script).
load "uncached.32" "$pid" "$port" 32 "$DOCS_BODY" bench/compare-record-uncached.lua
stop "$pid"

# --- evalmock, default logging (what users run), to a file (a terminal would cost more)
port=$(free_port)
evalmock_cmd "$port" default
start "evalmock (default logging)" "$port" "$DOCS_BODY" 10 "$WORK/evalmock-logging.log" "${CMD[@]}"
pid=$STARTED_PID
paired "logging.32" "$pid" "$port" "$DOCS_BODY"
LOG_BYTES=$(wc -c <"$WORK/evalmock-logging.log")
LOG_LINES=$(wc -l <"$WORK/evalmock-logging.log")
# Every record of every group with a moving two-step filter; then the same with a unique
# unknown field in every body (bench/compare-record-bodies.lua).
python3 bench/bodies.py fixtures >"$WORK/bodies.txt"
BENCH_BODIES=$WORK/bodies.txt paired "cycle.32" "$pid" "$port" "$DOCS_BODY" bench/compare-record-bodies.lua
BENCH_BODIES=$WORK/bodies.txt BENCH_UNIQUE=1 paired "new.32" "$pid" "$port" "$DOCS_BODY" bench/compare-record-bodies.lua
stop "$pid"

# --- scale: a large generated fixture set ---------------------------------------------------------
if [[ ${BENCH_SKIP_SCALE:-0} != 1 ]]; then
    SCALE_DIR=$WORK/scale-fixtures
    log "generating the scale fixture set"
    t0=$(now_us)
    GEN_OUT=$("$EVALMOCK" fixtures generate --groups 10 --batches 5 --records 500 --steps 4 \
        --seed 7 --out "$SCALE_DIR")
    GEN_MS=$((($(now_us) - t0) / 1000))
    SCALE_STEP_RESULTS=$(grep -o '([0-9]* step results)' <<<"$GEN_OUT" | tr -dc '0-9')
    SCALE_JSON_KB=$(($(cat "$SCALE_DIR"/groups/*.json | wc -c) / 1024))
    # A group, a record in the middle of it and its first two flow steps: the docs request's shape.
    SCALE_BODY=$(python3 - "$SCALE_DIR" <<'EOF'
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/groups/*.json"))
group = json.load(open(files[len(files) // 2]))
records = group["records"]
print(json.dumps({
    "evalGroupId": group["evalGroupId"],
    "recordId": records[len(records) // 2]["recordId"],
    "stepIds": [s["stepId"] for s in group["flow"]["steps"][:2]],
}, separators=(",", ":")))
EOF
    )
    python3 bench/bodies.py "$SCALE_DIR" >"$WORK/scale-bodies.txt"
    port=$(free_port)
    # At default settings, as the bundled set's cycle and new runs, so the three compare alike.
    evalmock_cmd "$port" default --fixtures "$SCALE_DIR"
    start "evalmock (scale set)" "$port" "$SCALE_BODY" 120 "$WORK/scale.log" "${CMD[@]}"
    pid=$STARTED_PID
    SCALE_STARTUP_MS=$STARTUP_MS
    SCALE_READY=$(grep -o 'ready in [^)]*' "$WORK/scale.log" | head -n 1 | sed 's/ready in //')
    # Peak of loading (parse, check, index, precompute and validate every cached answer).
    SCALE_LOAD_HWM=$(mem_kb "$pid" VmHWM)
    SCALE_IDLE=$(mem_kb "$pid" VmRSS)
    [[ $(post_status "$port" "$SCALE_BODY" "$WORK/scale-answer.json") == 200 ]] ||
        die "evalmock did not answer the scale request with 200"
    SCALE_ANSWER_BYTES=$(wc -c <"$WORK/scale-answer.json")
    paired "scale.32" "$pid" "$port" "$SCALE_BODY"
    BENCH_BODIES=$WORK/scale-bodies.txt paired "scale.cycle.32" "$pid" "$port" "$SCALE_BODY" bench/compare-record-bodies.lua
    BENCH_BODIES=$WORK/scale-bodies.txt BENCH_UNIQUE=1 paired "scale.new.32" "$pid" "$port" "$SCALE_BODY" bench/compare-record-bodies.lua
    # reset_peak cleared the load peak; the larger of the two is the process's peak.
    SCALE_PEAK=${R[scale.32.hwm]}
    ((SCALE_LOAD_HWM > SCALE_PEAK)) && SCALE_PEAK=$SCALE_LOAD_HWM
    stop "$pid"
fi
stop "$BASE_PID"

# --- report ------------------------------------------------------------------------------------
report() {
    local c b e
    echo "evalmock vs bare axum baseline -- $(date -u '+%Y-%m-%d %H:%M UTC')"
    # What was measured: the commit, and any uncommitted change to what the binaries are built from.
    local dirty
    dirty=$(git status --porcelain -- src specs fixtures build.rs Cargo.toml examples 2>/dev/null | awk '{ print $2 }' | paste -sd ' ' -)
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')${dirty:+, uncommitted: $dirty}; $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "load average after the build: $LOADAVG_START; after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "wrk: $THREADS threads, ${SECS}s per run after ${WARMUP}s warm-up, on $HOST; wrk and the server share the cores"
    echo "request: POST $PATH_CR (the docs' example, with its stepIds filter), answer $ANSWER_BYTES bytes"
    echo "evalmock: --response-validation strict, RUST_LOG=$QUIET_LOG unless noted; baseline: examples/baseline.rs"
    echo
    printf '%-24s %10s %9s %9s %10s %10s %7s\n' "run" "req/s" "p50 ms" "p99 ms" "peak MB" "requests" "other%"
    for key in baseline.32 evalmock.32 baseline.64 evalmock.64 uncached.32 \
        baseline.before.logging.32 logging.32 baseline.before.cycle.32 cycle.32 baseline.before.new.32 new.32 \
        baseline.before.scale.32 scale.32 baseline.before.scale.cycle.32 scale.cycle.32 \
        baseline.before.scale.new.32 scale.new.32; do
        [[ -n ${R[$key.rps]:-} ]] || continue
        local label=$key
        case $key in
        logging.32) label="default.32 docs" ;;
        cycle.32) label="default.32 cycle" ;;
        new.32) label="default.32 every body new" ;;
        uncached.32) label="evalmock.32 uncached" ;;
        scale.32) label="scale.32 docs-shaped" ;;
        scale.cycle.32) label="scale.32 cycle" ;;
        scale.new.32) label="scale.32 every body new" ;;
        baseline.before.*) label="  baseline.32 (next's)" ;;
        esac
        printf '%-24s %10s %9s %9s %10s %10s %7s%s\n' "$label" "${R[$key.rps]}" "${R[$key.p50]}" \
            "${R[$key.p99]}" "$(mb "${R[$key.hwm]}")" "${R[$key.requests]}" "${R[$key.other]}" \
            "$([[ ${R[$key.non2xx]} == 0 && -z ${R[$key.socket]} ]] || echo "  !! non-2xx ${R[$key.non2xx]}, socket errors: ${R[$key.socket]:-none}")"
    done
    echo "(other%: CPU share used by processes other than the server and wrk during the run;"
    echo " anything above a few percent means the machine was busy and the figures are skewed)"
    echo
    echo "ratios evalmock / baseline (throughput: higher is better; latency and memory: lower is better)"
    printf '%-24s %10s %9s %9s %10s\n' "connections" "req/s" "p50" "p99" "peak RSS"
    for c in "${CONNECTIONS[@]}"; do
        b=baseline.$c
        e=evalmock.$c
        printf '%-24s %10s %9s %9s %10s\n' "$c" "$(ratio "${R[$e.rps]}" "${R[$b.rps]}")" \
            "$(ratio "${R[$e.p50]}" "${R[$b.p50]}")" "$(ratio "${R[$e.p99]}" "${R[$b.p99]}")" \
            "$(ratio "${R[$e.hwm]}" "${R[$b.hwm]}")"
    done
    echo "uncached (every request new to the memo, 32 conn): $(ratio "${R[uncached.32.rps]}" "${R[baseline.32.rps]}") x the baseline, p99 ${R[uncached.32.p99]} ms"
    echo
    echo "idle RSS after start-up: evalmock $(mb "${R[evalmock.idle]}") MB, baseline $(mb "${R[baseline.idle]}") MB"
    echo "start-up to first 200 (bundled fixtures, $STARTUP_RUNS spawns): median $STARTUP_MEDIAN ms, max $STARTUP_MAX ms" \
        "(all: ${startups[*]}; one curl poll costs ~$CURL_MS ms); 'ready in': ${ready_lines[*]}"
    echo "default settings: each workload and the baseline (same wrk script and bodies) in ${BENCH_ROUNDS:-3} alternating rounds; the ratio is the median of the rounds' (each listed), the table's rows their means"
    echo "default settings (INFO log line per request, journal on; 32 conn): ${R[logging.32.ratio]} x the baseline (${R[logging.32.ratios]})," \
        "p99 ${R[logging.32.p99]} ms, peak RSS $(mb "${R[logging.32.hwm]}") MB with the journal full"
    echo "default settings, cycling every record of every group with step filters: ${R[cycle.32.ratio]} x the baseline (${R[cycle.32.ratios]})," \
        "p99 ${R[cycle.32.p99]} ms, peak RSS $(mb "${R[cycle.32.hwm]}") MB"
    echo "default settings, every body new (the same, each with a unique unknown field): ${R[new.32.ratio]} x the baseline (${R[new.32.ratios]})," \
        "p99 ${R[new.32.p99]} ms, peak RSS $(mb "${R[new.32.hwm]}") MB"
    echo "default logging (32 conn): $(ratio "${R[logging.32.rps]}" "${R[evalmock.32.rps]}") x the quiet throughput," \
        "p99 $(ratio "${R[logging.32.p99]}" "${R[evalmock.32.p99]}") x; wrote $LOG_LINES lines ($((LOG_BYTES / 1024)) KiB) of log"
    if [[ -n ${SCALE_STARTUP_MS:-} ]]; then
        echo
        echo "scale set: $SCALE_STEP_RESULTS step results (10 groups x 5 batches x 500 records x 4 steps), JSON $(mb "$SCALE_JSON_KB") MB on disk, generated in ${GEN_MS} ms"
        echo "  start-up to first 200: $SCALE_STARTUP_MS ms ('ready in' $SCALE_READY)"
        echo "  peak RSS: $(mb "$SCALE_PEAK") MB = $(ratio "$SCALE_PEAK" "$SCALE_JSON_KB") x the JSON size (peak of loading $(mb "$SCALE_LOAD_HWM") MB, RSS once ready $(mb "$SCALE_IDLE") MB, peak under load $(mb "${R[scale.32.hwm]}") MB)"
        echo "  at default settings, scale / bundled throughput, each over the baseline rounds beside it: docs-shaped $(rel scale.32 logging.32) x," \
            "cycle $(rel scale.cycle.32 cycle.32) x, every body new $(rel scale.new.32 new.32) x"
        echo "  compare-record at 32 conn: ${R[scale.32.rps]} req/s = $(rel scale.32 logging.32) x the bundled set (both at default settings, each over its baseline rounds)," \
            "p99 ${R[scale.32.p99]} ms; its answer is $SCALE_ANSWER_BYTES bytes (bundled: $ANSWER_BYTES), so in bytes/s" \
            "$(awk -v a="${R[scale.32.rps]}" -v ab="$SCALE_ANSWER_BYTES" -v b="${R[logging.32.rps]}" -v bb="$ANSWER_BYTES" \
                'BEGIN { printf "%.2f", (a * ab) / (b * bb) }') x"
    fi
}
mkdir -p "$(dirname "$RESULTS")"
report | tee "$RESULTS"
if ((FAILED)); then
    log "some runs got non-2xx answers or socket errors: see the table"
    exit 1
fi
