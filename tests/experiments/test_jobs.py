"""`resctr run --jobs N`: workers own disjoint shards that together are the host's shard, get
the parent's options, and finish a sweep with the same results as one process."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from runner_helpers import processes_mentioning

from experiments import cli, jobs
from experiments.runner import select
from experiments.sweeps import SWEEPS


@pytest.mark.parametrize("host", [(0, 1), (1, 3)])
def test_workers_split_the_hosts_shard_exactly(host):
    configs = SWEEPS["families_frappe"]()
    n = 4
    parts = [select(configs, None, jobs.worker_shard(host, k, n)) for k in range(n)]
    ids = [c.run_id for part in parts for c in part]
    assert len(ids) == len(set(ids))  # disjoint
    assert sorted(ids) == sorted(c.run_id for c in select(configs, None, host))
    assert all(parts)  # every worker has work (14 groups over 4 workers, or 5 over 4)


def test_worker_argv_carries_the_parents_options():
    argv = ["run", "--sweep", "smoke", "--workdir", "w", "--manual-dir", "m", "--only", "dnn",
            "--checkpoint-every", "5", "--set", "train.lr=0.1", "--set", "train.max_epochs=3",
            "--shard", "1/2", "--jobs", "3"]  # fmt: skip
    args = cli.build_parser().parse_args(argv)
    child = jobs.worker_argv(args, jobs.worker_shard(args.shard, 2, 3))
    assert child[:3] == [sys.executable, "-m", "experiments.cli"]
    parsed = cli.build_parser().parse_args(child[3:])
    assert parsed.shard == (5, 6) and parsed.jobs == 1 and not parsed.progress
    assert parsed.parent_pid == os.getpid()  # the worker ends when this process does
    for name in ("sweep", "only", "checkpoint_every", "set", "data_dir"):
        assert getattr(parsed, name) == getattr(args, name), name
    for name in ("workdir", "manual_dir"):  # absolute: a worker may start in another folder
        assert getattr(parsed, name) == str(pathlib.Path(getattr(args, name)).resolve()), name


def test_worker_env_splits_gpu_memory_unless_the_user_chose(monkeypatch):
    for k in jobs.MEMORY_ENV:
        monkeypatch.delenv(k, raising=False)
    assert jobs.worker_env(4)["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.225"
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in jobs.worker_env(4)


def test_bad_jobs_values_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="--jobs wants N >= 1"):
        cli.main(["run", "--sweep", "smoke", "--workdir", str(tmp_path), "--jobs", "0"])
    with pytest.raises(SystemExit, match="do not combine"):
        cli.main(["run", "--sweep", "smoke", "--workdir", str(tmp_path), "--jobs", "2",
                  "--distributed"])  # fmt: skip


def _aucs(sweep_dir):
    return {
        p.parent.name: json.loads(p.read_text())["valid"]["auc"]
        for p in sweep_dir.glob("*/result.json")
    }


@pytest.mark.slow
def test_two_workers_finish_the_sweep_like_one_process(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    base = ["run", "--sweep", "smoke", "--no-progress", *data]
    assert cli.main([*base, "--workdir", str(tmp_path / "two"), "--jobs", "2"]) == 0
    assert cli.main([*base, "--workdir", str(tmp_path / "one")]) == 0
    two, one = _aucs(tmp_path / "two" / "smoke"), _aucs(tmp_path / "one" / "smoke")
    assert len(one) == len(SWEEPS["smoke"]()) and two == pytest.approx(one, abs=1e-6)
    logs = sorted(p.name for p in (tmp_path / "two" / "smoke" / "jobs").iterdir())
    assert logs == ["0-of-2.log", "1-of-2.log"]


@pytest.mark.slow
def test_killing_the_parent_stops_its_workers(tmp_path):
    workdir = tmp_path / "killed"
    argv = [sys.executable, "-m", "experiments.cli", "run", "--sweep", "smoke", "--jobs", "2",
            "--workdir", str(workdir), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    parent = subprocess.Popen(argv)
    deadline = time.monotonic() + 60
    while len(processes_mentioning(str(workdir))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)  # the parent and both workers
    assert len(processes_mentioning(str(workdir))) == 3
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 30
    while processes_mentioning(str(workdir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(workdir)) == []
