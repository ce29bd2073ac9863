-- wrk script for bench/compare.sh: the public docs' compare-record request.
-- BENCH_BODY overrides the body (the scale run asks for a group and record of the generated
-- set); the default is the docs' example, answered from the bundled fixtures.
-- No response() callback on purpose: it would run Lua per response and slow wrk itself down;
-- wrk still counts non-2xx answers ("Non-2xx or 3xx responses"), which compare.sh checks.

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer rt_test_bench"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY") or
  '{"evalGroupId":"evalgrp_01jv0000000000000000000001",' ..
  '"recordId":"record_01jv0000000000000000000001",' ..
  '"stepIds":["step_01jv0000000000000000000001","step_01jv0000000000000000000002"]}'
