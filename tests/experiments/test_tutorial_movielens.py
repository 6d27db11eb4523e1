"""The README tutorial, on a generated MovieLens-style BARS folder (a `|`-separated genres
column): a schema file and a sweep file from examples/movielens/, nothing inside the package
edited, give a 2-model x 3-family x 2-seed grid that trains, tables and reports. The towers are
shrunk with --set so the test takes seconds; the tutorial's commands are otherwise the same."""

import pathlib

import pytest
from movielens_folder import write_movielens_folder

from experiments import cli

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "movielens"
SMALL = ["--set", "train.max_epochs=1", "--set", "model.options.hidden=[16]", "--no-progress"]


@pytest.fixture
def prepared(tmp_path, capsys):
    """`resctr data prepare csv --schema schema.yaml --manual-dir FOLDER`, then the run options."""
    folder = write_movielens_folder(tmp_path / "ml-bars")
    data = ["--data-dir", str(tmp_path / "data")]
    prepare = ["data", "prepare", "csv", "--schema", str(EXAMPLE / "schema.yaml")]
    assert cli.main([*prepare, "--manual-dir", str(folder), *data]) == 0
    assert cli.main(["data", "info", "movielens", *data]) == 0
    out = capsys.readouterr().out
    assert "genres            multihot" in out and "train            840" in out
    config = ["--config", str(EXAMPLE / "ml_shortcuts.py"), "--workdir", str(tmp_path / "runs")]
    return [*config, *data], tmp_path / "runs" / "ml_shortcuts"


def test_the_tutorial_grid_is_two_models_three_families_two_seeds(prepared, capsys):
    options, _ = prepared
    assert cli.main(["run", *options, "--dry-run"]) == 0
    runs = [line.split()[1].rsplit("-", 1)[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(runs) == sorted(
        f"{m}-{f}-s{s}"
        for m in ("dnn", "deepfm")
        for f in ("none", "identity", "dense")
        for s in (2021, 190034)
    )


def test_one_group_of_the_tutorial_trains_and_tables(prepared, capsys):
    options, sweep_dir = prepared
    assert cli.main(["run", *options, "--only", "^dnn-identity", *SMALL]) == 0
    assert len(list(sweep_dir.glob("*/result.json"))) == 2  # the group's two seeds
    # the file's BASELINE (none) did not run yet: the table says so, or takes another
    with pytest.raises(SystemExit, match="baseline 'none' is not a family of these runs"):
        cli.main(["table", "--workdir", str(sweep_dir)])
    assert cli.main(["table", "--workdir", str(sweep_dir), "--baseline", "identity"]) == 0
    assert "| dnn | identity |" in capsys.readouterr().out
    argv = ["table", "--workdir", str(sweep_dir), "--baseline", "identity", "--metric"]
    assert cli.main([*argv, "test_gauc"]) == 0  # the schema's user column
    assert "test_gauc (mean ± std)" in capsys.readouterr().out


@pytest.mark.slow  # 12 runs in 6 groups: ~30 s of CPU
def test_the_whole_tutorial_grid_trains_tables_and_reports(prepared, capsys):
    options, sweep_dir = prepared
    assert cli.main(["run", *options, *SMALL]) == 0
    assert len(list(sweep_dir.glob("*/result.json"))) == 12
    assert cli.main(["table", "--workdir", str(sweep_dir)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| d")]
    assert len(rows) == 6 and all(" | 2 | " in row for row in rows)  # 2 seeds per cell
    assert cli.main(["report", "--workdir", str(sweep_dir)]) == 0
    assert "ml_shortcuts" in (sweep_dir / "report.html").read_text()
