"""`resctr demo` drives `resctr run --sweep demo` with every other run option at its default,
then the table, the plots and the results page of that sweep folder."""

import experiments.runner
from experiments import cli, cli_run


def test_demo_runs_the_demo_sweep_then_table_and_plots(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        experiments.runner, "run_sweep", lambda configs, workdir, **kw: calls.append(
            ("run", {c.sweep for c in configs}, workdir, kw)) or []
    )  # fmt: skip
    monkeypatch.setattr(cli_run, "cmd_table", lambda a: calls.append(("table", a.workdir)))
    monkeypatch.setattr(cli_run, "cmd_plot", lambda a: calls.append(("plot", a.workdir)) or 0)
    monkeypatch.setattr(cli_run, "cmd_report", lambda a: calls.append(("report", a.workdir)) or 0)
    monkeypatch.setattr(cli_run, "_print_bayes_optimal", lambda data_dir: None)
    monkeypatch.setattr(cli_run, "enable_compile_cache", lambda: None)
    assert cli.main(["demo", "--workdir", str(tmp_path), "--data-dir", str(tmp_path / "d")]) == 0
    (_, sweeps, workdir, kw), table, plot, report = calls
    assert sweeps == {"demo"} and workdir == tmp_path / "demo"
    assert kw["data_dir"] == str(tmp_path / "d") and kw["shard"] == (0, 1)
    assert table[1] == plot[1] == report[1] == tmp_path / "demo"
