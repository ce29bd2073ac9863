"""The vendor's current Python client, runtype-sdk 5.5.0, against a running evalmock.

Each call goes through the SDK's own request building, parsing (pydantic models of the later
API) and SSE handling, exactly as an application would use it. The SDK raises ParsingError on an
answer its models reject and logs a warning for each stream event it skips; both fail this
check. Usage: python sdk_check.py BASE_URL. Prints "sdk: N passed, N failed" last.
"""

import logging
import sys

from runtype import RuntypeApi
from runtype._generated.types.eval_config_request import EvalConfigRequest

GROUP = "evalgrp_01jv0000000000000000000001"
TRAVEL_GROUP = "evalgrp_01jv0000000000000000000003"
RECORD = "record_01jv0000000000000000000001"
STEPS = ["step_01jv0000000000000000000001", "step_01jv0000000000000000000002"]
SAVED_CONFIG = "evalcfg_01jvaz0h7wafn4p8qmgqv3np40"


class Warnings(logging.Handler):
    """Collects every warning the SDK logs (a skipped stream event is one)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def main(base_url):
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    # As the SDK's generated client is documented: it sends `api_key` verbatim as Authorization.
    client = RuntypeApi(base_url=base_url, authorization="unused", api_key="rt_test_sdk_check")
    evals = client.evals
    checks = []

    def check(name, call):
        try:
            detail = call()
            checks.append((name, None))
            print(f"ok   {name}: {detail}")
        except Exception as error:  # any failure of the SDK is a failed check
            checks.append((name, error))
            print(f"FAIL {name}: {type(error).__name__}: {error}")

    def batches():
        page = evals.list_eval_batches(limit="3", origin="adhoc")
        assert page.has_more is True, page
        return f"{len(page.batches)} batches, hasMore={page.has_more}"

    def results():
        group = evals.get_eval_group(TRAVEL_GROUP)
        failed = [b for b in group.batches if b["status"] == "failed"][0]
        answer = evals.get_eval_results(failed["batchExecutionId"])
        assert len(answer.case_errors) == 8, answer.case_errors
        return f"{len(answer.results_by_record)} records, {len(answer.case_errors)} case errors"

    def compare_record():
        answer = evals.compare_record_across_evals(
            eval_group_id=GROUP, record_id=RECORD, step_ids=STEPS
        )
        return f"{len(answer.evals)} batches"

    def compare():
        answer = evals.compare_evals(eval_group_id=GROUP)
        return f"{len(answer.evals)} batches compared"

    def analyze():
        answer = evals.analyze_step_results(
            eval_group_id=GROUP, step_ids=[], search_terms=["refund"]
        )
        return f"{len(answer.results)} batches analysed"

    def submit():
        answer = evals.submit_eval(
            agent={"alias": "production"},
            eval_configs=[EvalConfigRequest(eval_config_id=SAVED_CONFIG)],
        )
        return f"group {answer.eval_group_id}"

    def stream():
        events = list(
            evals.stream_eval_execution(
                eval_configs=[EvalConfigRequest(eval_config_id=SAVED_CONFIG, eval_name="saved")]
            )
        )
        kinds = sorted({event.type for event in events})
        assert "execution_start" in kinds and "text_delta" in kinds, kinds
        assert kinds[-1] != "", kinds
        return f"{len(events)} events: {', '.join(kinds)}"

    for name, call in [
        ("list_eval_batches", batches),
        ("get_eval_results (caseErrors)", results),
        ("compare_record_across_evals", compare_record),
        ("compare_evals", compare),
        ("analyze_step_results", analyze),
        ("submit_eval (agent + saved config)", submit),
        ("stream_eval_execution (saved config)", stream),
    ]:
        check(name, call)

    skipped = [m for m in warnings.messages]
    if skipped:
        checks.append(("no warnings", RuntimeError(skipped)))
        print(f"FAIL the SDK logged {len(skipped)} warnings, e.g. {[m[:300] for m in skipped[:3]]}")
    failed = sum(1 for _, error in checks if error is not None)
    print(f"sdk: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
