"""Fault injection: a sweep SIGKILLed at seeded random points resumes to the numbers of an
uninterrupted run, and so does `resctr run --jobs 2` with its workers or its parent killed; two
`resctr run` on one workdir never train the same run.

Named kill points come from RESCTR_FAULT (experiments/faults.py): a torn metrics line, half a
config.json or result.json temp file, a checkpoint written but not renamed into place, right
after a checkpoint, right after a result. The others are timed: a seeded random delay once a new
metrics row shows that training runs. After every attempt fault_helpers.check compares each run
folder with an uninterrupted run of the same configs, started the same way in a subprocess
(every process inherits this one's JAX settings, tests/conftest.py).
"""

import fcntl
import pathlib
import random
import signal
import subprocess
import sys

import pytest
from fault_helpers import check, computed, kill_once_training, load_runs, resctr, wait_for
from runner_helpers import processes_mentioning

from experiments.runner import select
from experiments.sweeps import SWEEPS

pytestmark = pytest.mark.slow

SWEEP = """
import sys
sys.path.insert(0, {tests!r})
import ctr.datasets
from runner_helpers import seed_groups
from experiments.runner import run_sweep
load = lambda name, **kw: ctr.datasets.load(name, **{{**kw, "data_dir": sys.argv[2]}})
run_sweep(seed_groups(), sys.argv[1], loader=load, progress=False, checkpoint_every_s=0)
"""

# Kill points of the seeded sweep, each with the largest count drawn for it (0: a timed kill).
# Those that need an epoch left to train come first and fire within about an epoch; those that
# every unfinished run reaches come last, so that each attempt dies before the sweep is done.
TRAINING = {"metrics.jsonl": 2, "ckpt": 3, "saved": 2, "timed": 0}
ENDING = {"result.json.tmp": 1, "finished": 1, "config.json.tmp": 2}


def kill_plan(rng: random.Random) -> list[tuple[str, int]]:
    """10 seeded (point, count) pairs."""
    training = [*TRAINING, "ckpt"]
    rng.shuffle(training)
    # rewriting metrics.jsonl on resume needs a metrics file, which any earlier kill leaves
    training.insert(rng.randint(1, len(training)), "metrics.jsonl.tmp")
    ending = [*ENDING, "result.json.tmp"]
    rng.shuffle(ending)
    most = {**TRAINING, **ENDING, "metrics.jsonl.tmp": 1}
    return [(p, rng.randint(1, most[p]) if most[p] else 0) for p in training + ending]


def assert_the_kill_landed(point: str, sweep) -> None:
    """The fault left the state it names (a torn line, a temp file, an uncommitted checkpoint)."""
    if point == "metrics.jsonl":
        assert any(not f.read_bytes().endswith(b"\n") for f in sweep.glob("*/metrics.jsonl"))
    elif point.endswith(".tmp"):
        assert list(sweep.glob(f"*/{point.removesuffix('.tmp')}*.tmp"))
    elif point == "ckpt":
        assert list(sweep.glob("*/ckpt/*.orbax-checkpoint-tmp*"))


def test_a_sweep_killed_at_seeded_random_points_resumes_exactly(tmp_path, fault_env):
    rng = random.Random(16)
    script = SWEEP.format(tests=str(pathlib.Path(__file__).parent))
    ref_dir, sweep = tmp_path / "reference", tmp_path / "sweep"
    reference_run = subprocess.Popen(
        [sys.executable, "-c", script, str(ref_dir), str(tmp_path / "ref-data")], env=fault_env
    )
    argv = [sys.executable, "-c", script, str(sweep), str(tmp_path / "data")]
    reference, checked, plan = None, 0, kill_plan(rng)
    for point, count in plan:
        fault = {"RESCTR_FAULT": f"{point}:{count}"} if count else {}
        proc = subprocess.Popen(argv, env={**fault_env, **fault})
        if point == "timed":
            kill_once_training(proc, sweep, rng.uniform(0.0, 0.2))
        assert proc.wait(timeout=300) == -signal.SIGKILL, f"{point}:{count} was not reached"
        assert_the_kill_landed(point, sweep)
        if reference is None:
            assert reference_run.wait(timeout=300) == 0
            reference = load_runs(ref_dir)
            assert len(reference) == 6
        checked += check(sweep, reference, complete=False)
    assert subprocess.run(argv, env=fault_env).returncode == 0
    checked += check(sweep, reference, complete=True)
    final = load_runs(sweep)
    same = [run for run in reference if computed(final[run][0]) == computed(reference[run][0])]
    print(f"\nseeded kills: {plan}; run checks: {checked}; bit-identical results: {len(same)}/6")


def test_jobs_resume_after_their_workers_or_their_parent_are_killed(
    tmp_path, smoke_reference, fault_env
):
    data, reference = smoke_reference
    rng = random.Random(162)
    sweep, argv = tmp_path / "smoke", resctr(tmp_path, data, "--jobs", "2")
    checked = 0

    def jobs(env=fault_env) -> subprocess.Popen:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)

    # 1. The parent SIGKILLed while its workers train: the workers end with it.
    parent = jobs()
    kill_once_training(parent, sweep, rng.uniform(0.0, 0.3))
    assert parent.wait(timeout=60) == -signal.SIGKILL
    wait_for(lambda: not processes_mentioning(str(tmp_path)), 10, "the workers to end")
    checked += check(sweep, reference, complete=False)
    # 2. Worker 0 SIGKILLed at a random moment once it trains (it has work left after that).
    parent = jobs()
    worker = wait_for(lambda: processes_mentioning(str(tmp_path), "--shard 0/2"), 60, "worker 0")
    runs = [c.run_id for c in select(SWEEPS["smoke"](), None, (0, 2))]
    kill_once_training(parent, sweep, rng.uniform(0.0, 0.1), pid=worker[0], runs=runs)
    out, _ = parent.communicate(timeout=300)
    assert parent.returncode == 1 and "0-of-2.log (exit -9)" in out, out
    checked += check(sweep, reference, complete=False)
    # 3. The same command again finishes the sweep.
    assert subprocess.run(argv, env=fault_env).returncode == 0
    checked += check(sweep, reference, complete=True)
    print(f"\n--jobs 2: kills: the parent, worker 0; run checks: {checked}")


AUDITED_RUN = """
import os, sys
from experiments import cli, rundir
append = rundir.RunDir.append_metrics
def audited(self, row):  # who trained which run: one line per metrics row
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()} {self.root.name}\\n")
    append(self, row)
rundir.RunDir.append_metrics = audited
sys.exit(cli.main(sys.argv[2:]))
"""


def _locked(lockfile) -> bool:
    with open(lockfile) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def test_two_runs_on_one_workdir_never_train_the_same_run(tmp_path, smoke_reference, fault_env):
    data, reference = smoke_reference
    sweep, audit = tmp_path / "smoke", tmp_path / "audit"
    argv = [sys.executable, "-c", AUDITED_RUN, str(audit), *resctr(tmp_path, data)[3:]]
    first = subprocess.Popen(argv, env=fault_env, stdout=subprocess.PIPE, text=True)

    def held() -> list[str]:  # unfinished runs whose lock a process holds
        return [f.parent.name for f in sweep.glob("*/lock")
                if _locked(f) and not (f.parent / "result.json").exists()]  # fmt: skip

    # The first stopped (SIGSTOP) while it holds a run: a slow first, for as long as the second
    # takes to do all the rest.
    while True:
        wait_for(held, 120, "the first process to hold a run")
        first.send_signal(signal.SIGSTOP)
        if runs_of_first := held():
            break
        first.send_signal(signal.SIGCONT)
    second = subprocess.Popen(argv, env=fault_env, stdout=subprocess.PIPE, text=True)
    out2, _ = second.communicate(timeout=300)
    first.send_signal(signal.SIGCONT)
    out1, _ = first.communicate(timeout=300)
    assert first.returncode == second.returncode == 0, (out1, out2)
    for run in runs_of_first:
        assert f"{run}: skipped, another process trains it ({first.pid}@" in out2, out2
    assert f"left to the processes that hold their lock: {runs_of_first[0]}" in out2, out2
    trainers: dict[str, set] = {}
    for line in audit.read_text().splitlines():
        pid, run = line.split()
        trainers.setdefault(run, set()).add(int(pid))
    assert trainers == {
        run: {first.pid if run in runs_of_first else second.pid} for run in reference
    }, trainers
    checked = check(sweep, reference, complete=True)
    print(f"\ntwo processes: trained by each {trainers}; run checks: {checked}")
