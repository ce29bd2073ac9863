#!/usr/bin/env python3
"""Summarises `perf script --inline -F tid,ip,sym` output of evalmock under load.

Prints the top self-time symbols, the top inclusive symbols, and the share of samples per
pipeline stage (route, auth, request validation, domain build, response validation,
serialisation, ...). A sample is charged to the innermost stage marker on its stack, so the
stages add up to 100%. Used by bench/profile.sh; reads the script output on stdin.
"""

import collections
import re
import sys

# Stages, checked in order; a sample belongs to the first stage one of whose markers is a
# substring of a frame on its stack. Outer anchors (the evalmock function a stage runs in) come
# first, so e.g. jsonschema under validate_request counts as request validation, and the
# serde_json serialiser under to_mock_response as serialisation. Each stage may be refined by
# markers found between the leaf and the anchor (the JSON parse inside request validation, the
# to_value deep copies inside the answer build, the drop of the answer tree).
STAGES = [
    ("request validation", ["evalmock::validate::validate_request", "validate_request<", " validate_body"],
     [("request validation: JSON parse (serde_json)", ["serde_json::de::", "from_slice<", "serde_json::value::de::"])]),
    ("serialise answer Value to bytes", ["evalmock::engine::Mock::to_mock_response", "Value as core::fmt::Display"],
     [("drop answer Value tree (after serialising)", ["drop_in_place<serde_json::value::Value>"])]),
    ("response validation (jsonschema)", ["response_violations", "evalmock::validate::schema_violations", "jsonschema::"], []),
    ("domain: build the answer Value (compare_record_body)", ["compare_record_body", "compared_step", "evalmock::domain::"],
     [("domain: deep copies by serde_json::to_value (json! macro)", ["to_value<", "serde_json::value::ser::"]),
      ("domain: drop temporaries", ["drop_in_place<"])]),
    # Formatting and writing log lines (write syscalls included) happens only in these.
    ("logging / tracing", ["tracing_subscriber::", "tracing_core::"], []),
    ("load: fixtures (read, parse, check, index)", ["evalmock::fixtures::"], []),
    ("load: spec", ["evalmock::spec::Spec::load", "evalmock::spec::normalize", "evalmock::spec::lower", "evalmock::spec::schema"], []),
    ("authentication", ["evalmock::auth::"], []),
    ("routing over the spec (Spec::route)", ["evalmock::spec::router", "evalmock::spec::Spec::route"], []),
    ("Prefer header", ["evalmock::respond::Preference"], []),
    ("engine (rest of Mock::handle)", ["evalmock::engine::"], []),
]
# Outside evalmock's own code the innermost marker wins: the layers (CORS, tracing) wrap every
# request, so only work done in them (not under them) is theirs.
GLUE = [
    ("request body collection (to_bytes)", ["axum_core::body::to_bytes", "axum::body::to_bytes", "http_body_util::", "Limited<"]),
    ("logging / tracing", ["tower_http::trace::", "tracing::span", "tracing::Span"]),
    ("CORS layer", ["tower_http::cors::"]),
    ("socket syscalls (kernel network stack)", ["__GI___writev", "__libc_recv", "__libc_read", "__GI___libc_write", "__GI___libc_read", "writev", "recvfrom"]),
    ("HTTP/1 parse + encode (hyper)", ["hyper::proto::h1::role", "hyper::proto::h1::io", "hyper::proto::h1::encode", "httparse::", "hyper::proto::h1::dispatch", "hyper::proto::h1::conn", "HeaderMap"]),
    ("tokio scheduler / wakeups / epoll", ["tokio::runtime::", "epoll_wait", "mio::"]),
]
ALLOC = ["malloc", "_int_free", "_int_malloc", "cfree", "realloc", "malloc_consolidate", "unlink_chunk", "__rdl_alloc", "__rust_alloc", "__rust_dealloc"]


def samples(lines):
    stack = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield stack
            stack = []
            continue
        if line.startswith("\t") or line.startswith(" " * 8):
            parts = line.strip().split(" ", 1)
            stack.append(parts[1] if len(parts) > 1 else "[unknown]")
        # else: the header line (tid)
    if stack:
        yield stack


def classify(stack):
    for name, anchors, refinements in STAGES:
        for depth, frame in enumerate(stack):
            if any(a in frame for a in anchors):
                inner = stack[:depth]
                for sub, marks in refinements:
                    if any(m in f for f in inner for m in marks):
                        return sub
                return name
    for frame in stack:
        for name, marks in GLUE:
            if any(m in frame for m in marks):
                return name
    return "other (kernel scheduling, runtime glue)"


def short(symbol, width=110):
    symbol = re.sub(r"\s*\(inlined\)$", "", symbol)
    return symbol if len(symbol) <= width else symbol[: width - 3] + "..."


STACKS = []


def main():
    total = 0
    self_time = collections.Counter()
    inclusive = collections.Counter()
    stages = collections.Counter()
    alloc_in_stage = collections.Counter()
    for stack in samples(sys.stdin):
        STACKS.append(stack)
        total += 1
        leaf = stack[0]
        self_time[short(leaf)] += 1
        for symbol in {short(s) for s in stack if not s.endswith("(inlined)")}:
            inclusive[symbol] += 1
        stage = classify(stack)
        stages[stage] += 1
        if any(a in leaf for a in ALLOC):
            alloc_in_stage[stage] += 1
    if not total:
        sys.exit("no samples")
    pct = lambda n: f"{100 * n / total:5.1f}%"
    print(f"{total} samples")
    print("\ntop 15 self time (leaf function):")
    for symbol, n in self_time.most_common(15):
        print(f"  {pct(n)}  {symbol}")
    print("\ntop 15 inclusive (function on the stack; runtime/hyper/tower frames left out):")
    noise = ("tokio::", "hyper::", "hyper_util::", "tower::", "axum::", "<axum", "<tower", "<hyper", "<tokio",
             "std::", "core::", "<core::", "<futures_util", "futures_util::", "clone3", "start_thread", "[unknown]",
             "<std::", "<alloc::vec", "alloc::", "<alloc::")
    shown = 0
    for symbol, n in inclusive.most_common():
        if symbol.startswith(noise):
            continue
        print(f"  {pct(n)}  {symbol}")
        shown += 1
        if shown == 15:
            break
    print("\nevalmock's own functions, inclusive:")
    own = collections.Counter()
    for stack in STACKS:
        for symbol in {re.sub(r"\s*\(inlined\)$", "", f) for f in stack}:
            if symbol.startswith("evalmock::"):
                own[short(symbol)] += 1
    for symbol, n in own.most_common(20):
        print(f"  {pct(n)}  {symbol}")
    print("\nper stage (see STAGES and GLUE; [of which malloc/free as the leaf]):")
    for stage, n in stages.most_common():
        print(f"  {pct(n)}  {stage}  [{pct(alloc_in_stage[stage]).strip()} alloc]")
    allocs = sum(alloc_in_stage.values())
    print(f"\nmalloc/free/realloc as the leaf, all stages: {pct(allocs).strip()}")


if __name__ == "__main__":
    main()
