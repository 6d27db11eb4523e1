"""End to end: a sweep into tmp_path writes run folders, skips finished runs, records a
diverged run and goes on, builds a table and plots; a killed sweep resumes without duplicates;
a model learns planted synthetic signal close to the Bayes-optimal AUC."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from runner_helpers import tiny

import ctr.datasets
from ctr.features import Field
from experiments.configs import RunConfig
from experiments.plots import plot_all
from experiments.runner import run_sweep
from experiments.tables import load_results, write_table


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")

    def load(name, poison=False, **kw):
        """The synthetic set; with poison=True plus a numeric field that is NaN in one row."""
        spec, splits = ctr.datasets.load(name, **{**kw, "data_dir": root / "data"})
        if poison:
            spec = dataclasses.replace(spec, fields=(*spec.fields, Field(name="x", kind="numeric")))
            splits = {
                k: {**v, "x": np.zeros(len(v["label"]), np.float32)} for k, v in splits.items()
            }
            splits["train"]["x"][7] = np.nan
        return spec, splits

    configs = [tiny("dnn", "none", seed=s) for s in (0, 1)] + [
        tiny("dnn", "identity", seed=s) for s in (0, 1)
    ]
    poisoned = tiny("lr", "none").to_json()
    poisoned["data"]["options"]["poison"] = True
    configs.append(RunConfig.from_json(poisoned))  # a NaN input row: diverges in epoch 1
    # a vmapped group whose seeds stop at different epochs (patience 1, a high lr)
    configs += [tiny("fm", "none", seed=s, lr=0.1, patience=1, max_epochs=6) for s in (0, 1, 2)]
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
    assert ok["status"] == "max_epochs" and 0 <= ok["valid"]["auc"] <= 1
    assert set(ok["test"]) == {"auc", "logloss"}
    assert ok["params"]["embedding"] > 0 and ok["versions"]["jax"]


def test_diverged_run_is_recorded_and_the_sweep_goes_on(sweep):
    _, configs, results, _ = sweep
    bad = next(r for r in results if r["config"]["data"]["options"].get("poison"))
    assert bad["status"] == "diverged" and 1 <= bad["diverged_step"] <= 8  # 2000 rows / 256
    assert bad["valid"] is None and bad["test"] is None
    assert sum(r["status"] != "diverged" for r in results) == 7


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
    assert len(df) == 8
    paths = plot_all(root)
    assert any(p.name == "learning_curves.png" for p in paths)
    assert all(p.stat().st_size > 1000 for p in paths)


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import ctr.datasets
from ctr.features import Field
from runner_helpers import tiny
from experiments.runner import run_sweep
cfgs = [tiny("dnn", "none", seed=s, max_epochs=4, patience=4) for s in (0, 1)]
load = lambda name, **kw: ctr.datasets.load(name, **{{**kw, "data_dir": {data!r}}})
run_sweep(cfgs, {runs!r}, loader=load, progress=False, checkpoint_every_s=0)
"""


def test_kill_and_resume(tmp_path):
    tests = os.path.dirname(__file__)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    script = SCRIPT.format(tests=tests, data=str(tmp_path / "data"), runs=str(killed))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    deadline = time.time() + 300
    while not list(killed.glob("*/ckpt/2")) and time.time() < deadline:  # 1 is complete
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not list(killed.glob("*/result.json")), "killed too late to test resuming"
    exec(script)  # the same command again, in this process: resumes
    exec(SCRIPT.format(tests=tests, data=str(tmp_path / "data"), runs=str(clean)))
    runs = sorted(p.name for p in clean.iterdir())
    assert sorted(p.name for p in killed.iterdir()) == runs
    for run in runs:
        rows = [json.loads(x) for x in (killed / run / "metrics.jsonl").read_text().splitlines()]
        ref = [json.loads(x) for x in (clean / run / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in rows] == [1, 2, 3, 4]  # nothing lost, nothing duplicated
        for a, b in zip(rows, ref, strict=True):
            assert a["valid_auc"] == pytest.approx(b["valid_auc"], abs=1e-6)
        a = json.loads((killed / run / "result.json").read_text())
        b = json.loads((clean / run / "result.json").read_text())
        assert a["test"] == pytest.approx(b["test"], abs=1e-6)


def test_planted_signal_gets_near_bayes_optimal(tmp_path):
    """DeepFM on data whose true CTR is known: within 0.015 of the Bayes-optimal test AUC."""
    options = {"rows": 20000, "num_fields": 4, "vocab": 6}
    bayes = ctr.datasets.load_info("synthetic", data_dir=tmp_path, **options)["bayes_optimal"]
    d = tiny("deepfm", "identity", batch_size=256, max_epochs=8, lr=1e-2).to_json()
    d["data"]["options"] = options
    d["model"]["options"] = {"hidden": [16, 16]}

    def load(name, **kw):
        return ctr.datasets.load(name, **{**kw, "data_dir": tmp_path})

    (result,) = run_sweep([RunConfig.from_json(d)], tmp_path / "r", loader=load, progress=False)
    test, best = result["test"], bayes["test"]
    assert best["auc"] - 0.015 < test["auc"] <= best["auc"] + 0.005, (test, best)
    assert best["logloss"] - 0.005 <= test["logloss"] < best["logloss"] + 0.015, (test, best)


def test_checkpoints_are_spaced_in_time_and_taken_when_a_run_ends(tmp_path):
    def load(name, **kw):
        return ctr.datasets.load(name, **{**kw, "data_dir": tmp_path / "data"})

    cfg = tiny("lr", "none", max_epochs=3, patience=3)
    for every, steps in ((1e9, ["3"]), (0, ["2", "3"])):  # orbax keeps the newest two
        root = tmp_path / f"every{every}"
        run_sweep([cfg], root, loader=load, progress=False, checkpoint_every_s=every)
        assert sorted(p.name for p in (root / cfg.run_id / "ckpt").iterdir()) == steps
