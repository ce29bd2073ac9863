#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: a figure that does not move
with what else the machine is doing (a build on the other core, a helper's tests), so a
change can be judged before and after on a busy 2-core machine, where wall-clock runs of
bench/compare.sh swing by 20%. Not a replacement for compare.sh (which measures req/s against
the baseline): a way to compare two builds of evalmock on the same workload.

    bench/instructions.py [--binary PATH] [--requests N] [--top K] [WORKLOAD...]

Workloads, all compare-record at default settings (INFO log line per request to a file, the
journal on), the server's own threads included (the log writer, the runtime):
  docs    the public docs' request, repeated;
  cycle   every record of every bundled group, each with a two-step filter that moves along
          the flow (what a UI paging through records sends);
  new     the docs' request with a third, numbered step id that matches nothing: every body is
          new (what a contract suite sends).

With --baseline, the bare axum baseline of compare.sh is counted too and each workload's
figure is also given as baseline/evalmock (a proxy for the throughput ratio that leaves out
the kernel's share, which both pay alike, so it reads lower than compare.sh's ratio).

Prints, per workload, the instructions per request (after a warm-up of 200 requests, which
are not counted) and the top functions by self cost. Loopback only; the server is stopped on
exit.
"""

import argparse
import glob
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUP = "evalgrp_01jv0000000000000000000001"
RECORD = "record_01jv0000000000000000000001"
STEPS = ["step_01jv0000000000000000000001", "step_01jv0000000000000000000002"]
WARMUP = 200

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bodies import bodies as fixture_bodies  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bodies(workload):
    """An endless generator of request bodies for the workload."""
    if workload == "docs":
        body = json.dumps({"evalGroupId": GROUP, "recordId": RECORD, "stepIds": STEPS})
        while True:
            yield body
    elif workload == "new":
        n = 0
        while True:
            n += 1
            yield json.dumps(
                {"evalGroupId": GROUP, "recordId": RECORD, "stepIds": STEPS + [f"step_bench_{n}"]}
            )
    elif workload == "cycle":
        requests = list(fixture_bodies(os.path.join(ROOT, "fixtures")))
        while True:
            yield from requests
    else:
        sys.exit(f"unknown workload {workload!r} (docs, cycle, new)")


def send(conn, body):
    conn.request(
        "POST",
        "/v1/eval/compare-record",
        body=body,
        headers={"Authorization": "Bearer rt_test_bench", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"answer {response.status} to {body}")


def control(*args):
    subprocess.run(["callgrind_control", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(binary, workload, requests, top, work, baseline=False):
    port = free_port()
    out = os.path.join(work, f"callgrind.{workload}")
    log = open(os.path.join(work, f"{workload}.log"), "w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALMOCK_") and k != "RUST_LOG"}
    server = subprocess.Popen(
        [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p",
            binary, "--port", str(port),
            *(["--size", "9765"] if baseline else ["--no-watch"]),
        ],
        stdout=log, stderr=log, env=env,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                if baseline:
                    send(conn, next(bodies("docs")))
                else:
                    conn.request("GET", "/__mock/health")
                    conn.getresponse().read()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit(f"evalmock did not start; see {log.name}")
                time.sleep(0.5)
        control("-i", "on", str(server.pid))
        source = bodies(workload)
        for _ in range(WARMUP):
            send(conn, next(source))
        control("-z", str(server.pid))
        for _ in range(requests):
            send(conn, next(source))
        # Let the log writer drain the lines of these requests before counting stops.
        time.sleep(1)
        control("-d", str(server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    dumps = sorted(glob.glob(f"{out}.{server.pid}*"), key=os.path.getmtime)
    # The dump taken on request (`-d`), not the final one written at exit.
    dump = next((d for d in dumps if re.search(r"\.\d+$", d) and not d.endswith(f".{server.pid}")), dumps[0])
    total = None
    with open(dump) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    annotate = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", dump], capture_output=True, text=True, check=True
    ).stdout
    lines = [l for l in annotate.splitlines() if re.match(r"^\s*[\d,]+ \(", l)]
    return total / requests, lines[1 : top + 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/evalmock"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument(
        "--baseline", action="store_true",
        help="also count the bare axum baseline (examples/baseline.rs, 9,765 bytes) on the docs request",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the callgrind dumps in DIR (for callgrind_annotate --inclusive=yes)")
    parser.add_argument("workloads", nargs="*", default=["docs", "cycle", "new"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evalmock-instructions.") as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        base = None
        if args.baseline:
            binary = os.path.join(ROOT, "target/release/examples/baseline")
            base, top = measure(binary, "docs", args.requests, args.top, work, baseline=True)
            print(f"baseline: {base:,.0f} instructions per request ({args.requests} requests)")
            for line in top:
                print("   ", line.strip()[:160])
        for workload in args.workloads:
            per_request, top = measure(args.binary, workload, args.requests, args.top, work)
            ratio = f", baseline/evalmock {base / per_request:.2f}" if base else ""
            print(f"{workload}: {per_request:,.0f} instructions per request ({args.requests} requests){ratio}")
            for line in top:
                print("   ", line.strip()[:160])


if __name__ == "__main__":
    main()
