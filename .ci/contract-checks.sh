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

# 3. Schemathesis over our own corpus (tests/data/specs/: one small document per feature of
#    the generic request model and per real-world shape), each served alone with --spec,
#    response-side checks only: whatever schemathesis sends, every answer must be declared
#    and valid for the document. A small budget keeps the whole script within minutes.
CORPUS_CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
# Positive data only: an invalid request to an operation that declares no 4xx gets the
# mock's marked 400 by design (issue 14 item 2), which status_code_conformance would flag.
# Credentials that satisfy the corpus's apiKey-header and bearer/oauth2 schemes are sent, as a
# client of those APIs would (without them, operations declaring no 401 get the marked 400).
# Operations left out, with the reason (the rest of each document is checked):
# - no-responses-3.1.yaml startJob: declares no responses at all (valid in 3.1), so every
#   answer is the mock's marked problem, which no status check can accept.
# - ref-cycles.yaml getEndlessNode, getEndlessPair: no finite value satisfies their schemas
#   (that is what the document tests); evalmock answers its marked 500 `unsatisfiable-schema`,
#   never an infinite or null body (tests/evalmock/cycles.rs). The finite cycles are checked.
# - bodies.yaml upload: schemathesis names extra multipart parts with raw control
#   characters (\x11, \x1b), which RFC 9110 forbids in header fields; multer refuses the part
#   header and evalmock answers its marked 400 MALFORMED_BODY, right for a malformed body but
#   undeclared (the operation declares no 4xx). tests/evalmock/any_spec_requests.rs checks
#   multipart parsing, including non-ASCII part names.
# Documents schemathesis itself cannot run, with the reason:
# - undeclared-path-param.yaml: schemathesis refuses the document (an undeclared path
#   parameter is what it exists to test; evalmock serves it with a warning, and
#   tests/evalmock/any_spec_verify.rs runs `evalmock verify` over it).
# - tuples.yaml: schemathesis 4.32.5 rewrites 3.1 `prefixItems` into the draft-4 array form of
#   `items` and then refuses its own rewrite as an invalid Schema Object, before sending
#   anything (tests/evalmock/any_spec_generation.rs checks evalmock's tuples instead).
# - optional-bodies.yaml optionalStrict: schemathesis sends no body to an optional request body
#   whose schema requires fields; evalmock refuses that on purpose (README, "What requests
#   evalmock reads"), and the operation declares no 4xx, so the answer is its marked 400.
declare -A EXCLUDED=(
  [optional-bodies.yaml]="optionalStrict"
  [no-responses-3.1.yaml]="startJob"
  [ref-cycles.yaml]="getEndlessNode getEndlessPair"
  [bodies.yaml]="upload"
)
EXPECTED_FAILURES=" undeclared-path-param.yaml tuples.yaml "
for doc in tests/data/specs/*.yaml; do
  name=$(basename "$doc")
  start --spec "$doc"
  echo "== schemathesis: corpus $name"
  excludes=()
  for operation in ${EXCLUDED[$name]:-}; do
    excludes+=(--exclude-operation-id "$operation")
  done
  if "$VENV/bin/st" run "$doc" --url "http://127.0.0.1:$PORT" --seed "$SEED" -n "${CORPUS_EXAMPLES:-10}" \
      --checks "$CORPUS_CHECKS" --generation-database none --phases examples,fuzzing --mode positive \
      -H "Authorization: Bearer schemathesis" -H "X-API-Key: schemathesis" "${excludes[@]}"; then
    passed=$((passed + 1))
  elif [[ "$EXPECTED_FAILURES" == *" $name "* ]]; then
    echo "   (expected failure, see EXPECTED_FAILURES)"
  else
    failed=$((failed + 1))
  fi
done

echo "contract-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
