#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and says, per target, how many inputs it ran and
# whether it found a crash (a panic, a timeout or running out of memory all count).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Not part of CI: slow.
#
#   fuzz/run.sh                  every target, FUZZ_SECONDS (default 60) each
#   FUZZ_SECONDS=300 fuzz/run.sh spec_yaml prefer
#
# Findings land in fuzz/artifacts/TARGET/; the working corpus in fuzz/corpus/TARGET/ starts
# from the committed seeds in fuzz/seeds/TARGET/. Exit status 1 when any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
# Inputs beyond this gain little and slow every execution; a spec or fixture seed fits.
max_len="${FUZZ_MAX_LEN:-65536}"
rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}"
# One input taking longer than this is reported as a hang.
timeout="${FUZZ_TIMEOUT:-10}"
# Extra cargo-fuzz build options (`--sanitizer none`, `--debug-assertions`, ...). They go to
# both `cargo fuzz build` and `cargo fuzz run`: any option that differs between the two makes
# `run` rebuild evalmock and every dependency with other flags, which takes many minutes.
read -r -a build_flags <<<"${FUZZ_BUILD_FLAGS:-}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(spec_json spec_yaml validate_request prefer fixtures tokens)
fi

# Builds every target once (the first build takes many minutes); each `run` below then finds
# its binary up to date and starts at once.
cargo +nightly fuzz build "${build_flags[@]}" || exit 2

failed=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log="fuzz/artifacts/$target/last-run.log"
  cargo +nightly fuzz run "${build_flags[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb="$rss_limit_mb" \
    -timeout="$timeout" -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1)
  if [ "$status" -eq 0 ]; then
    echo "$target: ${runs:-?} executions in ${seconds}s, no crash"
  else
    failed=1
    crash=$(grep -oE 'fuzz/artifacts/[^ ]+' "$log" | head -n 1)
    echo "$target: ${runs:-?} executions, CRASH (exit $status): ${crash:-see $log}"
    grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -n 3 | sed 's/^/    /'
  fi
done
exit "$failed"
