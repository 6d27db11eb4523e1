"""Checks and kills for the fault-injection tests (test_faults.py, test_unwritable_workdir.py).

A plain module, not conftest.py, like runner_helpers.py.
"""

import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import orbax.checkpoint as ocp

from experiments.rundir import RunDir

# result.json fields that are measured, not computed: they differ between any two runs
MEASURED = ("train_s", "wall_s", "examples_per_s", "host", "git_commit", "device", "versions")
# A kill between the checkpoints of two seeds of a group resumes them at different epochs, as
# separate vmapped programs (1 seed instead of 2), which XLA rounds differently in the last bits.
TOL = 1e-6


def resctr(workdir: pathlib.Path, data: pathlib.Path, *extra: str) -> list[str]:
    """`resctr run --sweep smoke` into `workdir`/smoke, a checkpoint every epoch."""
    return [sys.executable, "-m", "experiments.cli", "run", "--sweep", "smoke",
            "--workdir", str(workdir), "--data-dir", str(data), "--checkpoint-every", "0",
            "--no-progress", *extra]  # fmt: skip


def load_runs(sweep: pathlib.Path) -> dict[str, tuple[dict, list[dict]]]:
    """{run_id: (result, metrics rows)} of the finished runs of a sweep folder."""
    return {
        p.parent.name: (json.loads(p.read_text()), RunDir(p.parent).read_metrics())
        for p in sweep.glob("*/result.json")
    }


def computed(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in MEASURED}


def close(a, b) -> bool:
    """Equal, floats within TOL, through nested dicts and lists."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOL or (math.isnan(a) and math.isnan(b))
    return a == b


def check(sweep: pathlib.Path, reference: dict, *, complete: bool) -> int:
    """What must hold after any attempt, killed or not: results only of the sweep's runs, each
    once and equal to the uninterrupted run's; metrics rows epochs 1..n, equal to the
    uninterrupted run's first n (a torn last line is allowed: the next attempt repairs it).
    When `complete`: every result, no temp files, the newest checkpoint is the result's epoch.
    Returns the number of runs checked."""
    results = sorted(p.relative_to(sweep).as_posix() for p in sweep.rglob("result.json"))
    assert set(results) <= {f"{run}/result.json" for run in reference}, results
    for run, (ref_result, ref_rows) in reference.items():
        rd = RunDir(sweep / run)
        rows = rd.read_metrics()
        assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1)), (run, rows)
        ref = ref_rows[: len(rows)]
        assert close(rows, ref), f"{run}: metrics differ from the uninterrupted run's {rows} {ref}"
        if rd.is_done():
            assert len(rows) == len(ref_rows), run
            got = json.loads(rd.result.read_text())
            assert close(computed(got), computed(ref_result)), f"{run}: {got} vs {ref_result}"
        elif complete:
            raise AssertionError(f"{run}: no result.json")
        if complete:
            options = ocp.CheckpointManagerOptions(read_only=True)
            with ocp.CheckpointManager(rd.ckpt.absolute(), options=options) as mngr:
                step = mngr.latest_step()
                args = ocp.args.Composite(meta=ocp.args.JsonRestore())
                meta = mngr.restore(step, args=args)["meta"]
            assert step == meta["epoch"] == got["epochs"], (run, step, meta["epoch"])
    if complete:
        leftovers = [*sweep.rglob("*.tmp"), *sweep.rglob("*orbax-checkpoint-tmp*")]
        assert not leftovers, leftovers
    return len(reference)


def rows_written(sweep: pathlib.Path, runs) -> int:
    files = (
        sweep.glob("*/metrics.jsonl")
        if runs is None
        else (sweep / r / "metrics.jsonl" for r in runs)
    )
    return sum(f.read_bytes().count(b"\n") for f in files if f.exists())


def kill_once_training(
    proc: subprocess.Popen, sweep: pathlib.Path, delay_s: float, pid=None, runs=None
) -> None:
    """SIGKILLs `pid` (default: `proc`) `delay_s` after a new metrics row of the sweep (of its
    `runs` when given); the pid must still be alive then."""
    before = rows_written(sweep, runs)
    while rows_written(sweep, runs) <= before:
        assert proc.poll() is None, f"the sweep ended (rc {proc.returncode}) before training"
        time.sleep(0.01)
    time.sleep(delay_s)
    os.kill(pid or proc.pid, signal.SIGKILL)


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        time.sleep(0.05)
    return value
