"""End to end: a sweep into tmp_path writes run folders, skips finished runs, records a
diverged run and goes on, builds a table and plots; a killed sweep resumes without duplicates;
a model learns planted synthetic signal close to the Bayes-optimal AUC."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import tiny

import ctr.datasets
from experiments.plots import plot_all
from experiments.runner import run_sweep
from experiments.tables import load_results, write_table


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")

    def load(name, **kw):
        return ctr.datasets.load(name, **{**kw, "data_dir": root / "data"})

    configs = [tiny("dnn", "none", seed=s) for s in (0, 1)] + [
        tiny("dnn", "identity", seed=s) for s in (0, 1)
    ]
    configs.append(tiny("lr", "none", lr=1e30))  # diverges
    results = run_sweep(configs, root / "runs", loader=load, progress=False)
    return root, configs, results, load


def test_sweep_writes_run_folders(sweep):
    root, configs, results, _ = sweep
    assert sorted(r["run_id"] for r in results) == sorted(c.run_id for c in configs)
    for c in configs:
        d = root / "runs" / c.run_id
        assert (d / "config.json").exists() and (d / "ckpt").is_dir()
        result = json.loads((d / "result.json").read_text())
        assert result["config"] == c.to_json()
        epochs = [json.loads(x)["epoch"] for x in (d / "metrics.jsonl").read_text().splitlines()]
        assert epochs == list(range(1, len(epochs) + 1))
    ok = next(r for r in results if r["run_id"] == configs[0].run_id)
    assert ok["status"] == "max_epochs" and 0.5 < ok["valid"]["auc"] <= 1
    assert set(ok["test"]) == {"auc", "logloss"}
    assert ok["params"]["embedding"] > 0 and ok["versions"]["jax"]


def test_diverged_run_is_recorded_and_the_sweep_goes_on(sweep):
    _, configs, results, _ = sweep
    bad = next(r for r in results if r["run_id"] == configs[-1].run_id)
    assert bad["status"] == "diverged" and bad["diverged_step"] >= 1
    assert sum(r["status"] != "diverged" for r in results) == 4


def test_second_call_skips_finished_runs(sweep):
    root, configs, _, load = sweep
    before = {c.run_id: (root / "runs" / c.run_id / "result.json").stat().st_mtime_ns
              for c in configs}  # fmt: skip
    t0 = time.perf_counter()
    run_sweep(configs, root / "runs", loader=load, progress=False)
    assert time.perf_counter() - t0 < 5
    after = {c.run_id: (root / "runs" / c.run_id / "result.json").stat().st_mtime_ns
             for c in configs}  # fmt: skip
    assert before == after


def test_table_and_plots(sweep):
    root = sweep[0] / "runs"
    text, csv = write_table(root)
    assert "| dnn | none |" in text and "diff_vs_identity" in text and csv.exists()
    df = load_results(root)
    assert len(df) == 5
    paths = plot_all(root)
    assert any(p.name == "learning_curves.png" for p in paths)
    assert all(p.stat().st_size > 1000 for p in paths)


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import ctr.datasets
from conftest import tiny
from experiments.runner import run_sweep
cfgs = [tiny("dnn", "none", seed=s, max_epochs=6, patience=6) for s in (0, 1)]
load = lambda name, **kw: ctr.datasets.load(name, **{{**kw, "data_dir": {data!r}}})
run_sweep(cfgs, {runs!r}, loader=load, progress=False)
"""


def test_kill_and_resume(tmp_path):
    tests = os.path.dirname(__file__)
    script = tmp_path / "sweep.py"
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    script.write_text(SCRIPT.format(tests=tests, data=str(tmp_path / "data"), runs=str(killed)))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.time() + 120
    while not list(killed.glob("*/ckpt/2")) and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not list(killed.glob("*/result.json")), "killed too late to test resuming"
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True)
    script.write_text(SCRIPT.format(tests=tests, data=str(tmp_path / "data"), runs=str(clean)))
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True)
    for run in sorted(p.name for p in clean.iterdir()):
        rows = [json.loads(x) for x in (killed / run / "metrics.jsonl").read_text().splitlines()]
        ref = [json.loads(x) for x in (clean / run / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in rows] == [r["epoch"] for r in ref]  # nothing duplicated
        for a, b in zip(rows, ref, strict=True):
            assert a["valid_auc"] == pytest.approx(b["valid_auc"], abs=1e-6)
        a = json.loads((killed / run / "result.json").read_text())
        b = json.loads((clean / run / "result.json").read_text())
        assert a["test"] == pytest.approx(b["test"], abs=1e-6)


def test_planted_signal_gets_near_bayes_optimal(tmp_path):
    options = {"rows": 20000, "num_fields": 6, "vocab": 10}
    info = ctr.datasets.load_info("synthetic", data_dir=tmp_path, **options)
    bayes = info["bayes_optimal"]["test"]["auc"]
    cfg = tiny("deepfm", "identity", batch_size=512, max_epochs=6, lr=3e-3)
    cfg = type(cfg).from_json({**cfg.to_json(), "data": {"name": "synthetic", "options": options}})

    def load(name, **kw):
        return ctr.datasets.load(name, **{**kw, "data_dir": tmp_path})

    (result,) = run_sweep([cfg], tmp_path / "runs", loader=load, progress=False)
    assert bayes - 0.02 < result["test"]["auc"] <= bayes + 0.01, (result["test"], bayes)
