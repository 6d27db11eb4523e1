"""`resctr launch`: a sweep as a job array through submitit. On submitit's LocalExecutor (real
submitit code, the tasks run as local processes) every run trains exactly once across the
tasks, and resubmitting the same command trains nothing, or only what was lost. With a stand-in
`sbatch` on PATH, the SLURM route writes the job-array script the options ask for."""

import os
import pickle
import stat

import pytest
from runner_helpers import TINY_DATA, TINY_FAMILIES
from submitit.core.utils import DelayedSubmission

from experiments import cli, sweep_files

TWO_GROUPS = f'''"""Two one-run groups (LR, FM): one per array task."""
from experiments.configs import DataConfig, TrainConfig
from experiments.sweeps import grid


def sweep():
    return grid(["lr", "fm"], ["none"], [0], data=DataConfig(options={TINY_DATA!r}),
                train=TrainConfig(batch_size=256, max_epochs=1), embedding_dim=4)
'''


def _results(sweep_dir) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("*/result.json")}


def _finished_by_task(sweep_dir) -> list[list[str]]:
    """What each task returned (submitit pickles ("success", value) per task)."""
    out = []
    for path in sorted((sweep_dir / "submitit").glob("*_result.pkl")):
        status, value = pickle.loads(path.read_bytes())
        assert status == "success", value
        out.append(value)
    return out


@pytest.mark.slow  # three task processes, each importing jax: ~30 s on 2 busy cores
def test_local_array_trains_every_run_once_and_resubmitting_trains_nothing(tmp_path, capsys):
    config = tmp_path / "two_groups.py"
    config.write_text(TWO_GROUPS)
    argv = ["launch", "local", "--config", str(config), "--array", "2",
            "--workdir", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    ids = sorted(c.run_id for c in sweep_files.from_file(config).configs())
    sweep_dir = tmp_path / "runs" / "two_groups"

    assert cli.main(argv) == 0
    assert "submitted 2 of 2 array tasks (2 of 2 runs left)" in capsys.readouterr().out
    finished = _finished_by_task(sweep_dir)
    assert sorted(r for runs in finished for r in runs) == ids and all(
        len(f) == 1 for f in finished
    )
    for run in ids:  # one training each: one epoch row, no repeats
        rows = (sweep_dir / run / "metrics.jsonl").read_text().splitlines()
        assert [r.count('"epoch": 1,') for r in rows] == [1]
    before = _results(sweep_dir)

    assert cli.main(argv) == 0
    assert "all 2 runs of two_groups are done" in capsys.readouterr().out
    assert _results(sweep_dir) == before and len(_finished_by_task(sweep_dir)) == 2

    (sweep_dir / ids[0] / "result.json").unlink()  # a lost result: only its task goes again
    assert cli.main(argv) == 0
    assert "submitted 1 of 2 array tasks (1 of 2 runs left)" in capsys.readouterr().out
    after = _results(sweep_dir)
    assert sorted(after) == ids and after[ids[1]] == before[ids[1]]
    assert sorted(map(tuple, _finished_by_task(sweep_dir))) == sorted([(ids[0],)] * 2 + [(ids[1],)])


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """`srun` and `sbatch` stand-ins: sbatch keeps the script it was given and answers with a
    job id, as SLURM's does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = tmp_path / "sbatch_script.sh"
    keep = f'cp "$1" {script}\necho "Submitted batch job 4242"'
    for name, body in (("srun", "exit 0"), ("sbatch", keep)):
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return script


def test_slurm_route_submits_the_array_the_options_ask_for(tmp_path, fake_slurm, capsys):
    argv = ["launch", "slurm", "--config", str(TINY_FAMILIES), "--array", "4",
            "--gpus-per-task", "1", "--jobs-per-task", "3", "--partition", "gpu", "--time", "90",
            "--slurm", "constraint=h100", "--setup", "module load cuda",
            "--workdir", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    # tiny_families has 3 groups (seeds train together): the 4th task would have nothing to do
    assert "submitted 3 of 4 array tasks (6 of 6 runs left) as slurm job(s) 4242" in out
    script = fake_slurm.read_text()
    for line in ("#SBATCH --array=0-2%3", "#SBATCH --gpus-per-node=1", "#SBATCH --partition=gpu",
                 "#SBATCH --time=90", "#SBATCH --constraint=h100", "module load cuda"):  # fmt: skip
        assert line in script, line
    sweep_dir = tmp_path / "runs" / "tiny_families"
    for k in range(3):
        argv_k, workdir, run_ids = DelayedSubmission.load(
            sweep_dir / "submitit" / f"4242_{k}_submitted.pkl"
        ).args
        assert argv_k[argv_k.index("--shard") + 1] == f"{k}/4"
        assert argv_k[argv_k.index("--jobs") + 1] == "3"
        assert argv_k[argv_k.index("--config") + 1] == str(TINY_FAMILIES.resolve())
        assert workdir == str(sweep_dir.resolve()) and len(run_ids) == 2


def test_slurm_without_srun_says_where_to_submit_from(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun, no sbatch
    argv = ["launch", "slurm", "--config", str(TINY_FAMILIES), "--array", "2",
            "--workdir", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    with pytest.raises(SystemExit, match="resctr launch local"):
        cli.main(argv)
