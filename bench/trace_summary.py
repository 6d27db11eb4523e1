"""Summary of a `jax.profiler.trace(..., create_perfetto_trace=True)` capture: where device time
goes, and how much of the wall the device is busy at all.

A GPU capture has one process per device ("/device:GPU:0"); its "Stream #..." threads hold the
kernels and copies (its other threads, "XLA Modules", "XLA Ops", ..., repeat them as derived
views and are skipped). The union of kernels over time is the busy time; wall minus busy is the
time the device waits for the host (launches, Python, transfers). Kernels are grouped into
kinds by name so that a 1-seed and a 5-seed capture compare line by line.
A CPU capture has no device process, so there is nothing per kernel to summarize.
"""

from __future__ import annotations

import collections
import gzip
import json
import pathlib

KINDS = (  # first match wins; XLA fusion names carry the fused root op
    ("matmul", ("gemm", "cutlass", "xmma", "cublas", "dot", "matmul")),
    ("scatter", ("scatter",)),
    ("gather", ("gather", "dynamic-slice", "dynamic_slice")),
    ("sort/top-k", ("sort", "cub::", "radix")),
    ("reduce", ("reduce",)),
    ("copy", ("memcpy", "memset", "copy")),
)


def kind_of(name: str) -> str:
    low = name.lower()
    return next((kind for kind, keys in KINDS if any(k in low for k in keys)), "elementwise/other")


def load_events(trace_dir: str | pathlib.Path) -> list[dict]:
    files = sorted(pathlib.Path(trace_dir).glob("**/perfetto_trace.json.gz"))
    if not files:
        raise FileNotFoundError(f"no perfetto_trace.json.gz under {trace_dir}")
    with gzip.open(files[-1]) as f:
        return json.load(f)["traceEvents"]


def busy_time(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end) intervals."""
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if s > end:
            total, end = total + e - s, e
        elif e > end:
            total, end = total + e - end, e
    return total


def summarize(events: list[dict]) -> dict:
    """{device, kernels, busy_us, span_us, by_kind_us, top: [(name, us, count)]}."""
    names = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
    devices = {pid for pid, n in names.items() if n.startswith("/device:")}
    streams = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e["pid"] in devices
        and e["args"]["name"].startswith("Stream")
    }  # fmt: skip
    ops = [
        e
        for e in events
        if e.get("ph") == "X" and "dur" in e and (e["pid"], e.get("tid")) in streams
    ]
    if not ops:
        return {"device": None, "kernels": 0}
    intervals = [(e["ts"], e["ts"] + e["dur"]) for e in ops]
    by_name = collections.defaultdict(lambda: [0.0, 0])
    by_kind = collections.Counter()
    for e in ops:
        by_name[e["name"]][0] += e["dur"]
        by_name[e["name"]][1] += 1
        by_kind[kind_of(e["name"])] += e["dur"]
    top = sorted(((n, us, c) for n, (us, c) in by_name.items()), key=lambda t: -t[1])
    return {
        "device": ", ".join(sorted(names[p] for p in devices)),
        "kernels": len(ops),
        "busy_us": busy_time(intervals),
        "span_us": max(e for _, e in intervals) - min(s for s, _ in intervals),
        "by_kind_us": dict(by_kind.most_common()),
        "top": top[:10],
    }
