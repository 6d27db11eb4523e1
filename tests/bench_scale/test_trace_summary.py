"""bench/trace_summary.py on a hand-written perfetto capture: only stream threads of device
processes count, busy time is the union of kernel intervals, kinds sum the kernels."""

import gzip
import json

import pytest

from bench import trace_summary as T


def meta(pid, name, tid=None):
    if tid is None:
        return {"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}}
    return {"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": name}}


def op(pid, tid, ts, dur, name):
    return {"ph": "X", "pid": pid, "tid": tid, "ts": ts, "dur": dur, "name": name}


EVENTS = [
    meta(1, "/host:CPU"),
    meta(1, "python", tid=1),
    meta(7, "/device:GPU:0"),
    meta(7, "Stream #13(Compute)", tid=13),
    meta(7, "Stream #14(MemcpyH2D)", tid=14),
    meta(7, "XLA Ops", tid=99),
    op(1, 1, 0, 1000, "PjitFunction(epoch)"),  # host: not device time
    op(7, 13, 10, 5, "sm90_xmma_gemm_f32"),
    op(7, 13, 20, 3, "loop_add_fusion"),
    op(7, 13, 30, 4, "input_scatter_fusion"),
    op(7, 14, 12, 10, "MemcpyH2D"),  # overlaps the gemm: union, not sum
    op(7, 99, 10, 24, "fusion.3"),  # derived view of the same kernels: skipped
]


def test_summary_counts_stream_kernels_only():
    s = T.summarize(EVENTS)
    assert s["device"] == "/device:GPU:0" and s["kernels"] == 4
    assert s["busy_us"] == pytest.approx(13 + 4)  # [10, 22) u [20, 23) u [30, 34)
    assert s["span_us"] == pytest.approx(24)
    assert s["by_kind_us"] == {"matmul": 5, "elementwise/other": 3, "scatter": 4, "copy": 10}
    assert s["top"][0] == ("MemcpyH2D", 10, 1)


def test_cpu_capture_has_no_device_profile():
    assert T.summarize(EVENTS[:2] + EVENTS[6:7]) == {"device": None, "kernels": 0}


def test_busy_time_is_the_union_of_intervals():
    assert T.busy_time([(0, 2), (1, 3), (5, 6), (5.5, 5.7)]) == pytest.approx(4)
    assert T.busy_time([]) == 0


def test_load_events_reads_the_newest_capture(tmp_path):
    folder = tmp_path / "plugins" / "profile" / "2026_11_26"
    folder.mkdir(parents=True)
    with gzip.open(folder / "perfetto_trace.json.gz", "wt") as f:
        json.dump({"traceEvents": EVENTS}, f)
    assert T.load_events(tmp_path) == EVENTS
    with pytest.raises(FileNotFoundError, match="perfetto"):
        T.load_events(tmp_path / "none")
