#!/usr/bin/env bash
# Mutation testing of the request checks (issue 11 item 11): cargo-mutants mutates the files
# listed in .cargo/mutants.toml one change at a time and runs the test suite against each;
# a mutant no test fails "survives". Not part of .ci/run (an hour or more on two cores).
#
#   .ci/mutants.sh                     # every file in .cargo/mutants.toml
#   .ci/mutants.sh -f src/auth.rs      # one file only (any cargo-mutants arguments pass through)
#
# Prints cargo-mutants' summary and the share of viable mutants caught; the lists of caught,
# missed and timed-out mutants are in mutants.out/. Installs cargo-mutants when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
# cargo-mutants builds and tests a copy of the tree in $TMPDIR, and the suite reads the vendor's
# documents from `../shared` beside the checkout (a missing one fails the unmutated run, and with
# it every mutant): the copy goes to a scratch TMPDIR with a `shared` link beside it.
[[ -d ../shared ]] || { echo "../shared is missing: clone evalmock beside shared/" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ln -s "$(cd .. && pwd)/shared" "$scratch/shared"
export TMPDIR=$scratch
status=0
# cargo-mutants adds `-f` files to the config's examine_globs; to run only the files named,
# the config is left out and its other settings given here (the profile, and each exclusion
# with its reason kept in the config).
if [[ " $* " == *" -f "* || " $* " == *" --file "* ]]; then
  excludes=()
  while IFS= read -r pattern; do
    excludes+=(--exclude-re "$pattern")
  done < <(python3 -c 'import tomllib; print("\n".join(tomllib.load(open(".cargo/mutants.toml", "rb"))["exclude_re"]))')
  cargo mutants --no-shuffle --no-config --profile mutants "${excludes[@]}" "$@" || status=$?
else
  cargo mutants --no-shuffle "$@" || status=$?
fi
# cargo-mutants exits 2 when mutants were missed, 3 on timeouts: still a result to report.
caught=$(wc -l <mutants.out/caught.txt)
missed=$(wc -l <mutants.out/missed.txt)
timeout=$(wc -l <mutants.out/timeout.txt)
viable=$((caught + missed + timeout))
if ((viable > 0)); then
  echo "caught $caught, missed $missed, timed out $timeout of $viable viable mutants:" \
    "$(awk -v c=$((caught + timeout)) -v v=$viable 'BEGIN { printf "%.1f%%", c / v * 100 }') caught (timeouts count as caught)"
fi
[ -s mutants.out/missed.txt ] && { echo "missed:"; cat mutants.out/missed.txt; }
exit "$status"
