-- wrk script for bench/compare.sh: compare-record over many bodies, read from the file named by
-- BENCH_BODIES (one JSON object per line, from bench/bodies.py: every record of every group, each
-- with a two-step filter), sent in turn. With BENCH_UNIQUE=1 each body also gets an unknown field
-- with a value no other request has ("every body new": what a contract suite sends; nothing a
-- server keys on the raw body can be reused).
-- The per-request Lua costs wrk some CPU too, so these figures are a floor.

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer rt_test_bench"
wrk.headers["Content-Type"] = "application/json"

local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  bodies[#bodies + 1] = line
end
local unique = os.getenv("BENCH_UNIQUE") == "1"

-- Each wrk thread runs its own copy of this script: a thread number keeps nonces apart.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local counter = 0

request = function()
  counter = counter + 1
  local body = bodies[(counter - 1) % #bodies + 1]
  if unique then
    body = body:sub(1, -2) .. ',"requestNonce":"' .. (thread_id or 0) .. '-' .. counter .. '"}'
  end
  return wrk.format(nil, nil, nil, body)
end
