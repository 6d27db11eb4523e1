"""`resctr table` on a sweep that compares models (seq_amazon, dien_amazon): rows per data set
and per model variant, each paired by seed with the baseline model on the same data set."""

import json

import numpy as np
from scipy import stats

from experiments.tables import load_results, summarize

GAUC = {  # (data file, model, options) -> valid gAUC per seed 0, 1, 2
    ("Beauty.txt", "din", ()): [0.73, 0.74, 0.735],
    ("Beauty.txt", "dnn", (("hidden", (8, 8)),)): [0.69, 0.70, 0.69],
    ("Beauty.txt", "dien", ()): [0.71, 0.715, 0.72],
    ("Beauty.txt", "dien", (("gru_type", "agru"),)): [0.72, 0.74, 0.73],
    ("Toys_and_Games.txt", "din", ()): [0.60, 0.61, 0.62],
    ("Toys_and_Games.txt", "dien", ()): [0.63, 0.65, 0.64],
}


def write_results(root, sweep):
    for i, ((file, model, options), values) in enumerate(GAUC.items()):
        for seed, value in enumerate(values):
            cfg = {
                "data": {"name": "amazon", "options": {"file": file, "max_len": 20}},
                "model": {"name": model, "options": dict(options)},
                "connection": {"name": "none"},
                "seed": seed,
                "sweep": sweep,
            }
            run = root / f"{i}-{seed}"
            run.mkdir()
            result = {
                "run_id": run.name, "config": cfg, "status": "stopped", "best_epoch": 1,
                "train_s": 1.0, "valid": {"gauc": value}, "test": None,
            }  # fmt: skip
            (run / "result.json").write_text(json.dumps(result))


def test_models_are_paired_with_the_baseline_model_on_the_same_data(tmp_path):
    write_results(tmp_path, "seq_amazon")  # its baseline is din (experiments.sweeps.BASELINES)
    table, metric = summarize(load_results(tmp_path), "valid_gauc")
    assert metric == "valid_gauc" and "diff_vs_din" in table
    # data sets and DIEN's two option sets are rows of their own; the tower depth is not a column
    assert {"data", "variant"} <= set(table.columns) and "depth" not in table
    assert len(table) == len(GAUC)
    for (file, model, options), values in GAUC.items():
        variant = ",".join(f"{k}={v}" for k, v in options if k != "hidden")
        at = (table.data == file.removesuffix(".txt")) & (table.model == model)
        row = table[at & (table.variant == variant)].iloc[0]
        din = GAUC[(file, "din", ())]
        np.testing.assert_allclose(row["mean"], np.mean(values))
        np.testing.assert_allclose(row["diff_vs_din"], np.mean(values) - np.mean(din))
        if model == "din":
            assert np.isnan(row["p_value"])
        else:
            np.testing.assert_allclose(row["p_value"], stats.ttest_rel(values, din).pvalue)


def test_a_model_baseline_can_be_named_for_any_sweep(tmp_path):
    write_results(tmp_path, "my_sweep")
    table, _ = summarize(load_results(tmp_path), "valid_gauc", baseline="dien")
    row = table.query("data == 'Toys_and_Games' and model == 'din'").iloc[0]
    toys = [GAUC[("Toys_and_Games.txt", m, ())] for m in ("din", "dien")]
    np.testing.assert_allclose(row["diff_vs_dien"], np.mean(toys[0]) - np.mean(toys[1]))
