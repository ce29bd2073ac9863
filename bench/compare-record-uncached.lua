-- wrk script for bench/compare.sh: the docs' compare-record request made new on every request
-- (a third step id that matches nothing, numbered), so evalmock cannot answer from its memo and
-- runs the whole pipeline: parse, validate, build the filtered answer, validate it, serialise.
-- The per-request Lua costs wrk some CPU too; the figure is a floor for first-time requests.

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer rt_test_bench"
wrk.headers["Content-Type"] = "application/json"

local counter = 0

request = function()
  counter = counter + 1
  local body = '{"evalGroupId":"evalgrp_01jv0000000000000000000001",' ..
    '"recordId":"record_01jv0000000000000000000001",' ..
    '"stepIds":["step_01jv0000000000000000000001","step_01jv0000000000000000000002",' ..
    '"step_bench_' .. counter .. '"]}'
  return wrk.format(nil, nil, nil, body)
end
