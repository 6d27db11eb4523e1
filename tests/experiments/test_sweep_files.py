"""Sweep files (`resctr run --config FILE.py`): a grid defined outside the package runs like a
built-in sweep (--only, --shard, --set, --dry-run, --jobs), lands in a folder named after the
file, and `resctr table` / `resctr plot` read it; the built-in sweeps load through the same
path with their names and run ids unchanged; a malformed file gets a message naming the fix."""

import json

import pytest
from runner_helpers import TINY_FAMILIES

from experiments import cli, jobs, sweep_files
from experiments.sweeps import SWEEPS


def _dry_run(capsys, *extra) -> list[str]:
    assert cli.main(["run", "--config", str(TINY_FAMILIES), "--dry-run", *extra]) == 0
    return [line.split()[1] for line in capsys.readouterr().out.splitlines()]


def test_dry_run_only_shard_and_set_select_the_files_runs(tmp_path, capsys):
    configs = sweep_files.from_file(TINY_FAMILIES).configs()
    assert {c.sweep for c in configs} == {"tiny_families"} and len(configs) == 6
    ids = [c.run_id for c in configs]
    w = ["--workdir", str(tmp_path)]
    assert _dry_run(capsys, *w) == ids
    assert _dry_run(capsys, *w, "--only", "hyper") == [i for i in ids if "-hyper-" in i]
    halves = [_dry_run(capsys, *w, "--shard", f"{i}/2") for i in range(2)]
    assert sorted(halves[0] + halves[1]) == sorted(ids) and not set(halves[0]) & set(halves[1])
    changed = _dry_run(capsys, *w, "--set", "train.lr=0.01")
    assert len(changed) == 6 and not set(changed) & set(ids)


def test_a_trained_sweep_file_has_its_folder_manifest_table_and_plots(tiny_sweep_dir, capsys):
    assert sorted(p.parent.name for p in tiny_sweep_dir.glob("*/result.json")) == sorted(
        c.run_id for c in sweep_files.from_file(TINY_FAMILIES).configs()
    )
    manifest = json.loads((tiny_sweep_dir / "sweep.json").read_text())
    assert manifest["source"] == str(TINY_FAMILIES.resolve()) and manifest["baseline"] == "none"
    assert manifest["hypothesis"].startswith("A sweep file for the tests")
    assert cli.main(["table", "--workdir", str(tiny_sweep_dir)]) == 0
    out = capsys.readouterr().out
    assert "diff_vs_none" in out  # the file's BASELINE, not the default identity
    assert sum(line.startswith("| dnn |") for line in out.splitlines()) == 3
    assert cli.main(["plot", "--workdir", str(tiny_sweep_dir)]) == 0
    assert (tiny_sweep_dir / "plots" / "learning_curves.png").is_file()


def test_builtin_sweeps_load_by_name_with_their_run_ids():
    for name, make in SWEEPS.items():
        sweep = sweep_files.builtin(name)
        assert [c.run_id for c in sweep.configs()] == [c.run_id for c in make()], name
        assert sweep.hypothesis and sweep.source == f"experiments.sweeps:{name}"
    assert sweep_files.builtin("families_frappe_all").baseline == "none"
    assert sweep_files.builtin("bars_frappe").reference == "bars_frappe"


def test_workers_of_a_sweep_file_get_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.py").write_text(TINY_FAMILIES.read_text())
    args = cli.build_parser().parse_args(["run", "--config", "mine.py", "--jobs", "2"])
    child = cli.build_parser().parse_args(jobs.worker_argv(args, (1, 2))[3:])
    assert child.config == str(tmp_path / "mine.py") and child.sweep is None
    assert child.workdir == str(tmp_path / "runs")


@pytest.mark.parametrize(
    "text,message",
    [
        ('"""h"""\n', "defines no sweep()"),
        ("def sweep():\n    return []\n", "state the sweep's hypothesis"),
        ('"""h"""\ndef sweep():\n    return []\n', "must return a non-empty list"),
        ('"""h"""\ndef sweep():\n    return [1]\n', "returned int, not RunConfig"),
        ('"""h"""\nfrom tiny_families import sweep as one\n'
         "def sweep():\n    return one() + one()[:1]\n", "returns run dnn-none-s0-"),
        ('"""h"""\nfrom experiments.configs import *\n'
         'def sweep():\n    return [RunConfig(model=ModelConfig(name="lr"), '
         'data=DataConfig(name="nosuch"))]\n', "unknown data set 'nosuch'"),
    ],
)  # fmt: skip
def test_a_malformed_sweep_file_says_what_to_fix(tmp_path, monkeypatch, text, message):
    monkeypatch.syspath_prepend(str(TINY_FAMILIES.parent))
    path = tmp_path / "bad.py"
    path.write_text(text)
    argv = ["run", "--config", str(path), "--workdir", str(tmp_path), "--dry-run"]
    with pytest.raises(SystemExit, match=message):
        cli.main([*argv, "--data-dir", str(tmp_path)])


def test_files_that_are_not_sweep_files_are_refused(tmp_path):
    for path, message in ((tmp_path / "nope.py", "does not exist"),
                          (tmp_path / "grid.yaml", "expected a Python file")):  # fmt: skip
        with pytest.raises(SystemExit, match=message):
            cli.main(["run", "--config", str(path), "--dry-run"])
    with pytest.raises(SystemExit, match="unknown sweep 'nosuch'"):
        cli.main(["run", "--sweep", "nosuch", "--dry-run"])
