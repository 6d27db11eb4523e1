"""A run folder's own guarantees: a torn last metrics line is left out and repaired, a torn line
before it or a missing epoch is an error, one lock holder at a time, OS errors name the path,
and a bad RESCTR_FAULT is refused."""

import json
import os
import subprocess
import sys

import pytest

from experiments.rundir import RunDir, RunDirError

ROWS = [{"epoch": e, "valid_auc": 0.5 + e / 100} for e in (1, 2, 3)]


def _write(rd: RunDir, text: str) -> None:
    rd.root.mkdir(parents=True, exist_ok=True)
    rd.metrics.write_text(text)


def test_a_torn_last_metrics_line_is_left_out_then_removed(tmp_path):
    rd = RunDir(tmp_path / "run")
    lines = "".join(json.dumps(r) + "\n" for r in ROWS)
    _write(rd, lines + json.dumps({"epoch": 4})[:7])  # a kill in the middle of the 4th line
    assert rd.read_metrics() == ROWS
    rd.truncate_metrics(2)  # resume from the checkpoint of epoch 2
    assert rd.metrics.read_text() == "".join(json.dumps(r) + "\n" for r in ROWS[:2])
    rd.append_metrics(ROWS[2])
    assert rd.read_metrics() == ROWS


def test_a_torn_line_before_the_last_is_corruption(tmp_path):
    rd = RunDir(tmp_path / "run")
    _write(rd, json.dumps(ROWS[0]) + "\n" + '{"epoch": 2, "val\n' + json.dumps(ROWS[2]) + "\n")
    with pytest.raises(ValueError, match=r"metrics.jsonl, line 2: not a JSON row"):
        rd.read_metrics()


def test_resuming_past_a_missing_epoch_is_refused(tmp_path):
    rd = RunDir(tmp_path / "run")
    _write(rd, "".join(json.dumps(r) + "\n" for r in (ROWS[0], ROWS[2])))
    with pytest.raises(ValueError, match=r"epochs \[1, 3\] where the checkpoint needs 1..3"):
        rd.truncate_metrics(3)


def test_one_lock_holder_at_a_time(tmp_path):
    first, second = RunDir(tmp_path / "run"), RunDir(tmp_path / "run")
    assert first.lock() is None
    assert second.lock() == f"{os.getpid()}@{os.uname().nodename}"  # flock: per open file
    first.close()
    assert second.lock() is None
    second.close()


def test_start_removes_temp_files_of_a_killed_writer(tmp_path):
    rd = RunDir(tmp_path / "run")
    (rd.ckpt / "3.orbax-checkpoint-tmp" / "state").mkdir(parents=True)
    (rd.ckpt / "2").mkdir()
    (rd.root / "result.jsonab12.tmp").write_text('{"run_id": ')
    rd.start({"seed": 0})
    assert sorted(p.name for p in rd.root.iterdir()) == ["ckpt", "config.json"]
    assert [p.name for p in rd.ckpt.iterdir()] == ["2"]


def test_an_unwritable_run_folder_names_the_path_and_the_os_error(tmp_path):
    (tmp_path / "file").write_text("")
    rd = RunDir(tmp_path / "file" / "run")  # its parent is a file: every write fails
    with pytest.raises(RunDirError, match=r"\[Errno 20\] Not a directory: '.*/file/run"):
        rd.lock()
    with pytest.raises(RunDirError, match=r"Not a directory: '.*/file/run/metrics.jsonl'"):
        rd.append_metrics(ROWS[0])


def test_a_bad_fault_point_is_refused():
    env = {**os.environ, "RESCTR_FAULT": "chekpoint:2"}
    out = subprocess.run([sys.executable, "-c", "import experiments.faults"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 1 and "RESCTR_FAULT=chekpoint:2: want POINT[:N]" in out.stderr
