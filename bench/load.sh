#!/usr/bin/env bash
# Load times (a benchmark, not a test): `evalmock check` on a generated 40,000-operation
# document (bench/large_spec.py) and on the ~91,000-step-result generated fixture set, each run
# BENCH_LOAD_RUNS times (default 3), printing wall and user CPU seconds and peak RSS per run.
# Wall time is the figure (loading uses every core, so user CPU exceeds it), and it is only
# meaningful on an otherwise idle machine.
#
#   bench/load.sh                     # both
#   BENCH_LOAD_OPERATIONS=10000 bench/load.sh
set -euo pipefail

cd "$(dirname "$0")/.."

RUNS=${BENCH_LOAD_RUNS:-3}
OPERATIONS=${BENCH_LOAD_OPERATIONS:-40000}
EVALMOCK=target/release/evalmock
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evalmock-load.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cargo build --release --quiet --bin evalmock
python3 bench/large_spec.py "$OPERATIONS" >"$WORK/spec.json"
"$EVALMOCK" fixtures generate --groups 10 --batches 5 --records 500 --steps 4 --seed 7 \
    --out "$WORK/fixtures" >/dev/null
json_mb=$(du -sm "$WORK/fixtures" | cut -f1)

measure() {
    local label=$1
    shift
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "$label: %e s wall, %U s user, peak RSS %M KB" "$@" >/dev/null 2>"$WORK/time.txt" ||
            { cat "$WORK/time.txt" >&2; exit 1; }
        tail -1 "$WORK/time.txt"
    done
}

measure "spec, $OPERATIONS operations" "$EVALMOCK" check --spec "$WORK/spec.json"
echo "fixture set: ${json_mb} MB of JSON"
measure "fixture set (~91k step results)" "$EVALMOCK" check --fixtures "$WORK/fixtures"
