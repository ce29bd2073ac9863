#!/usr/bin/env bash
# The TypeScript client check (examples/typescript): against a running release evalmock, generate
# types from the served spec with openapi-typescript, type-check the example (including
# src/mistakes.ts, whose `@ts-expect-error` lines fail the check if the types stop catching
# them), then run it. Prints `typescript: N passed, N failed` last; exits non-zero on any failure.
# Needs node (v20) and npm with access to the npm registry; installs into
# examples/typescript/node_modules (git-ignored).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
example="$root/examples/typescript"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() {
  echo "typescript: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

mock_pid=""
cleanup() { if [ -n "$mock_pid" ]; then kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null; fi; }
trap cleanup EXIT

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  fail "node and npm are needed (node v20 or later)"
  finish
fi

echo "== cargo build --release"
if cargo build --release --quiet; then pass "build"; else fail "build"; finish; fi

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
log=$(mktemp)
echo "== evalmock on 127.0.0.1:$port (log: $log)"
target/release/evalmock --port "$port" --no-watch --eval-run-ms 0 --stream-interval-ms 0 >"$log" 2>&1 &
mock_pid=$!
url="http://127.0.0.1:$port"
ready=0
for _ in $(seq 1 100); do
  if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/__mock/spec" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$mock_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" -eq 1 ]; then pass "evalmock serves $url/__mock/spec"; else fail "evalmock did not start"; cat "$log"; finish; fi

cd "$example" || { fail "no $example"; finish; }

echo "== npm ci"
if npm ci --no-audit --no-fund --loglevel=error; then pass "npm ci"; else fail "npm ci"; finish; fi

echo "== openapi-typescript $url/__mock/spec -o src/api.d.ts"
rm -f src/api.d.ts
if npx --no-install openapi-typescript "$url/__mock/spec" -o src/api.d.ts && [ -s src/api.d.ts ]; then
  pass "generate src/api.d.ts from the served spec"
else
  fail "generate src/api.d.ts"
  finish
fi

echo "== tsc --noEmit (strict; src/mistakes.ts must still be rejected where marked)"
if npx --no-install tsc --noEmit; then pass "tsc --noEmit"; else fail "tsc --noEmit"; fi

echo "== tsx src/main.ts against $url"
out=$(mktemp)
EVALMOCK_URL="$url" npx --no-install tsx src/main.ts | tee "$out"
status=${PIPESTATUS[0]}
ok=$(grep -c '^ok ' "$out")
bad=$(grep -c '^FAIL ' "$out")
passed=$((passed + ok))
failed=$((failed + bad))
if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then fail "src/main.ts exited $status"; fi
if [ "$ok" -eq 0 ]; then fail "src/main.ts ran no check"; fi
rm -f "$out"

finish
