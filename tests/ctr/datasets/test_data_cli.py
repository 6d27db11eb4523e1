"""`resctr data prepare` / `resctr data info`: the printed numbers are the data set's numbers."""

import raw_files

import ctr.datasets as D
from experiments import cli


def test_prepare_then_info(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw_files.write(raw / "train.csv", "label,a,b\n1,x,p\n0,y,p\n0,y,q\n1,x,q\n")
    raw_files.write(raw / "valid.csv", "label,a,b\n1,z,p\n0,x,p\n")
    data = str(tmp_path / "d")
    argv = ["data", "prepare", "csv", "--manual-dir", str(raw), "--data-dir", data]
    assert cli.main([*argv, "--option", "min_count=1"]) == 0
    out = capsys.readouterr().out
    assert "train              4          0.5000" in out
    assert "valid              2          0.5000" in out
    # field a: vocab {x, y} + PAD + OOV = 4; valid holds z (OOV) and x: OOV rate 0.5
    assert "a                 categorical          4      0.5000" in out
    assert cli.main(["data", "info", "csv", "--data-dir", data, "--option", "min_count=1"]) == 0
    assert "a                 categorical          4      0.5000" in capsys.readouterr().out


def test_info_synthetic_shows_bayes_optimal(tmp_path, capsys):
    data = str(tmp_path)
    assert cli.main(["data", "info", "synthetic", "--data-dir", data, "--option", "rows=400"]) == 0
    out = capsys.readouterr().out
    auc = D.load_info("synthetic", data_dir=tmp_path, rows=400)["bayes_optimal"]["test"]["auc"]
    assert f"test    auc {auc:.4f}" in out


def test_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["data", "info", "frappe", "--data-dir", str(tmp_path)]) == 2
    assert "resctr data prepare frappe --manual-dir" in capsys.readouterr().err
    argv = ["data", "info", "synthetic", "--data-dir", str(tmp_path), "--option", "rows=lots"]
    assert cli.main(argv) == 2
    assert "rows='lots' must be of type int" in capsys.readouterr().err
