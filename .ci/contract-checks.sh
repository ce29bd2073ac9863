#!/usr/bin/env bash
# Contract checks against the release binary, with tools from PyPI in a local virtualenv:
# 1. the vendor's current Python client, runtype-sdk 5.5.0, calls every kind of operation
#    (stream included) against the default API version and must parse every answer
#    (.ci/sdk_check.py);
# 2. Schemathesis with all checks, a fixed seed and a fixed example budget:
#   - each API version evalmock serves, against its own spec (specs/runtype-evals-2026-06.yaml
#     and -2026-09.yaml; .ci/schemathesis.toml says why submit and stream may answer 400 to
#     bodies that name fixture ids that do not exist);
#   - the vendor's own document (../shared/runtype-docs/openapi-evals.json), served with
#     --spec, with one check excluded: positive_data_acceptance, because that document states
#     none of the API's rules (its request bodies are optional, its submit and stream bodies
#     free-form objects), so requests it calls valid are rightly refused by the API's rules.
# Exits non-zero on any failure. Usage: .ci/contract-checks.sh [EXAMPLES] (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${1:-50}
SEED=20261129
VENV=target/schemathesis-venv
VENDOR=../shared/runtype-docs/openapi-evals.json
[ -f "$VENDOR" ] || { echo "error: $VENDOR is missing (shared/ must be beside the checkout)" >&2; exit 1; }

if ! { [ -x "$VENV/bin/st" ] && "$VENV/bin/python" -c "import runtype" 2>/dev/null; }; then
  echo "== installing schemathesis and runtype-sdk into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==4.32.5" "runtype-sdk==5.5.0"
fi
cargo build --release --quiet

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Starts evalmock with the given arguments on a free port; sets PORT once it answers.
start() {
  PORT=$(free_port)
  target/release/evalmock --port "$PORT" --no-watch --eval-run-ms 0 --stream-interval-ms 0 "$@" \
    2>"target/schemathesis-$PORT.log" &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/__mock/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "error: evalmock did not start: $(cat "target/schemathesis-$PORT.log")" >&2
  exit 1
}

st() {
  "$VENV/bin/st" --config-file .ci/schemathesis.toml run "$@" --seed "$SEED" -n "$EXAMPLES" \
    --checks all --generation-database none -H "Authorization: Bearer rt_test_schemathesis"
}

passed=0
failed=0
count() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }
start
echo "== runtype-sdk 5.5.0 against the default API version"
count "$VENV/bin/python" .ci/sdk_check.py "http://127.0.0.1:$PORT"
for version in 2026-06 2026-09; do
  echo "== schemathesis: API version $version against specs/runtype-evals-$version.yaml"
  count st "specs/runtype-evals-$version.yaml" --url "http://127.0.0.1:$PORT" \
    -H "evalmock-api-version: $version"
done

start --spec "$VENDOR"
echo "== schemathesis: the vendor's document, served as it is"
count st "$VENDOR" --url "http://127.0.0.1:$PORT" --exclude-checks positive_data_acceptance

echo "contract-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
