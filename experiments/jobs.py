"""`resctr run --jobs N`: one sweep as N concurrent worker processes on one machine.

Why: a Frappe-sized group keeps an H200 busy for a few percent of its wall time (a training
epoch is 0.03 s of 0.3 s, docs/perf/h200-2026-11-26/peer.json) and starts with seconds of host
work (model init, XLA compiles, metrics). Workers that each own a disjoint shard of the grid
overlap that host work on the machine's cores and interleave their kernels on the one device.

Worker k of N on host i of M runs shard (i + M*k)/(M*N): `select` takes keys[i::M][k::N], the
host's own keys, dealt round-robin. Each worker gets 0.9/N of the GPU memory (JAX preallocates
75% per process by default, so a second process would fail to allocate), logs to
WORKDIR/jobs/K-of-N.log, and the parent shows one progress bar over the sweep's run folders.
Data sets are prepared once in the parent: workers would otherwise race to write one cache.

A worker ends within a second of its parent, however the parent ends (a SIGKILLed parent cannot
stop them): an orphan would train on unseen, holding its runs' locks against a rerun.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

from tqdm import tqdm

from experiments.configs import RunConfig
from experiments.rundir import RunDir, writing

MEMORY_ENV = ("XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_PYTHON_CLIENT_PREALLOCATE")


def worker_shard(host: tuple[int, int], k: int, n: int) -> tuple[int, int]:
    index, count = host
    return index + count * k, count * n


def run_argv(args, shard: tuple[int, int]) -> list[str]:
    """The `resctr run` arguments of one part of the grid: the caller's options, `shard`, and
    absolute paths (a worker or an array task may start in another folder)."""
    absolute = lambda path: str(pathlib.Path(path).resolve())  # noqa: E731
    which = ["--sweep", args.sweep] if args.sweep else ["--config", absolute(args.config)]
    argv = ["run", *which, "--workdir", absolute(args.workdir)]
    argv += ["--shard", f"{shard[0]}/{shard[1]}"]
    for flag, value in (
        ("--data-dir", args.data_dir and absolute(args.data_dir)),
        ("--manual-dir", args.manual_dir and absolute(args.manual_dir)),
        ("--only", args.only),
        ("--checkpoint-every", getattr(args, "checkpoint_every", None)),
    ):
        argv += [flag, str(value)] if value is not None else []
    for item in args.set:
        argv += ["--set", item]
    return argv


def worker_argv(args, shard: tuple[int, int]) -> list[str]:
    """The `resctr run` command line of one worker: the parent's options, its own shard."""
    argv = [sys.executable, "-m", "experiments.cli", *run_argv(args, shard)]
    return argv + ["--parent-pid", str(os.getpid()), "--no-progress"]


def exit_with_parent(pid: int, poll_s: float = 0.5) -> None:
    """In a worker: SIGKILLs this process once `pid` is no longer its parent (the parent ended
    and the worker was handed to another). Every write of a run folder is kill-safe."""

    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def worker_env(n: int) -> dict:
    env = dict(os.environ)
    if not any(k in env for k in MEMORY_ENV):
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{0.9 / n:.3f}"
    return env


def prepare_data(configs: list[RunConfig], data_dir, manual_dir) -> None:
    import ctr.datasets

    seen = set()
    for c in configs:
        key = (c.data.name, repr(sorted(c.data.options.items())))
        if key not in seen:
            seen.add(key)
            ctr.datasets.prepare(
                c.data.name, data_dir=data_dir, manual_dir=manual_dir, **c.data.options
            )


def run_jobs(args, configs: list[RunConfig], workdir: pathlib.Path, n: int) -> int:
    """Runs the selected `configs` as `n` worker processes; 0 when every worker succeeded."""
    prepare_data(configs, args.data_dir, args.manual_dir)
    logs = workdir / "jobs"
    with writing(logs):
        logs.mkdir(parents=True, exist_ok=True)
    workers = []
    for k in range(n):
        log = logs / f"{k}-of-{n}.log"
        with writing(log), open(log, "w") as out:
            argv = worker_argv(args, worker_shard(args.shard, k, n))
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=worker_env(n))
        workers.append((proc, log))
    dirs = [RunDir(workdir / c.run_id) for c in configs]
    t0 = time.perf_counter()
    # a `kill` of the parent stops the workers too (finished runs are on disk, a rerun resumes)
    on_term = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        with tqdm(total=len(dirs), unit="run", disable=not args.progress) as bar:
            while any(p.poll() is None for p, _ in workers):
                time.sleep(2.0)
                bar.update(sum(d.is_done() for d in dirs) - bar.n)
            bar.update(sum(d.is_done() for d in dirs) - bar.n)
    finally:
        signal.signal(signal.SIGTERM, on_term)
        for p, _ in workers:
            if p.poll() is None:
                p.terminate()
    failed = [f"{log} (exit {p.returncode})" for p, log in workers if p.returncode != 0]
    done = sum(d.is_done() for d in dirs)
    print(f"{done} of {len(dirs)} runs done in {workdir} by {n} workers "
          f"({time.perf_counter() - t0:.0f} s this call)")  # fmt: skip
    if failed:
        print("workers that failed (rerun the same command to retry their runs):", *failed)
        return 1
    return 0
