#!/usr/bin/env python3
"""Prints compare-record request bodies for every record of every group of a fixtures folder,
one JSON object per line: each with a two-step filter that moves along the flow from record to
record (what a UI paging through records sends). Used by bench/compare.sh (the cycling and
every-body-new workloads, through bench/compare-record-bodies.lua) and bench/instructions.py.

    bench/bodies.py [FIXTURES_DIR]     (default: the bundled fixtures/)
"""

import glob
import json
import os
import sys


def bodies(fixtures):
    for path in sorted(glob.glob(os.path.join(fixtures, "groups", "*.json"))):
        with open(path) as f:
            group = json.load(f)
        steps = [s["stepId"] for s in group["flow"]["steps"]]
        for i, record in enumerate(group["records"]):
            pair = [steps[i % len(steps)], steps[(i + 1) % len(steps)]]
            yield json.dumps(
                {"evalGroupId": group["evalGroupId"], "recordId": record["recordId"], "stepIds": pair},
                separators=(",", ":"),
            )


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    fixtures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "fixtures")
    count = 0
    for body in bodies(fixtures):
        print(body)
        count += 1
    if count == 0:
        sys.exit(f"no groups in {fixtures}/groups")
