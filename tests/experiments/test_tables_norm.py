"""`resctr table` on a normalization sweep: rows per norm setting, paired against no norm."""

import json

import numpy as np
import pytest
from scipy import stats

from experiments.tables import load_results, summarize

AUC = {  # (family, norm, position) -> valid AUC per seed 0, 1, 2
    ("identity", "none", "pre"): [0.80, 0.81, 0.82],
    ("identity", "ln", "pre"): [0.82, 0.84, 0.83],
    ("identity", "ln", "post"): [0.79, 0.80, 0.80],
    ("none", "none", "pre"): [0.70, 0.71, 0.72],
    ("none", "ln", "pre"): [0.75, 0.74, 0.76],
}


def write_results(root):
    for (family, norm, position), aucs in AUC.items():
        for seed, auc in enumerate(aucs):
            options = {"hidden": [8] * 8, "norm": norm, "norm_position": position}
            cfg = {
                "model": {"name": "dnn", "options": options},
                "connection": {"name": family},
                "seed": seed,
                "sweep": "norm_test",
            }
            run = root / f"{family}-{norm}-{position}-{seed}"
            run.mkdir()
            result = {
                "run_id": run.name, "config": cfg, "status": "stopped", "best_epoch": 1,
                "train_s": 1.0, "valid": {"auc": auc, "logloss": 0.5}, "test": None,
            }  # fmt: skip
            (run / "result.json").write_text(json.dumps(result))


def test_norm_rows_are_paired_against_the_unnormalized_tower(tmp_path):
    write_results(tmp_path)
    table, metric = summarize(load_results(tmp_path))
    assert metric == "valid_auc"
    assert {"norm", "norm_position"} <= set(table.columns)
    assert len(table) == len(AUC)
    row = table[
        (table.family == "identity") & (table.norm == "ln") & (table.norm_position == "post")
    ].iloc[0]
    ln_post, plain = AUC[("identity", "ln", "post")], AUC[("identity", "none", "pre")]
    np.testing.assert_allclose(row["diff_vs_none"], np.mean(ln_post) - np.mean(plain))
    np.testing.assert_allclose(row["p_value"], stats.ttest_rel(ln_post, plain).pvalue)
    base = table[(table.family == "none") & (table.norm == "none")].iloc[0]
    assert base["diff_vs_none"] == 0.0 and np.isnan(base["p_value"])


def test_sequence_encoder_depth_is_its_block_count_not_its_tower(tmp_path):
    # gru4rec/lstm/transformer_enc stack `depth` blocks under a fixed tower: depth 1 and 4 rows
    # must stay apart (paired across depths they would compare different models).
    for depth in (1, 4):
        options = {"depth": depth, "hidden": [8, 8]}
        cfg = {"model": {"name": "gru4rec", "options": options}, "connection": {"name": "none"},
               "seed": 0, "sweep": "seq_test"}  # fmt: skip
        run = tmp_path / f"d{depth}"
        run.mkdir()
        result = {"run_id": run.name, "config": cfg, "status": "stopped", "best_epoch": 1,
                  "train_s": 1.0, "valid": {"auc": 0.7}, "test": None}  # fmt: skip
        (run / "result.json").write_text(json.dumps(result))
    assert sorted(load_results(tmp_path)["depth"]) == [1, 4]


def test_baseline_family_is_chosen_and_checked(tmp_path):
    write_results(tmp_path)
    df = load_results(tmp_path)
    flat = df[df.norm == "none"]  # a family sweep: identity vs none, no norm axis
    table, _ = summarize(flat)
    assert "diff_vs_identity" in table  # default: identity when the sweep ran it
    table, _ = summarize(flat, baseline="none")
    row = table[table.family == "identity"].iloc[0]
    gain = np.subtract(AUC[("identity", "none", "pre")], AUC[("none", "none", "pre")])
    np.testing.assert_allclose(row["diff_vs_none"], gain.mean())
    flat = flat.assign(sweep="families_frappe_all")  # its question is "beat the published?"
    assert "diff_vs_none" in summarize(flat)[0]
    with pytest.raises(ValueError, match=r"baseline 'gated'.*\['identity', 'none'\]"):
        summarize(flat, baseline="gated")


def test_differences_below_display_precision_get_no_test(tmp_path):
    write_results(tmp_path)
    df = load_results(tmp_path)
    flat = df[df.norm == "none"].copy()
    base = flat[flat.family == "none"].set_index("seed")["valid_auc"]
    jitter = np.array([1e-7, -2e-7, 3e-7])  # e.g. reduction order on a GPU
    flat.loc[flat.family == "identity", "valid_auc"] = base.to_numpy() + jitter
    row = summarize(flat, baseline="none")[0].query("family == 'identity'").iloc[0]
    assert abs(row["diff_vs_none"]) < 1e-6 and np.isnan(row["p_value"])
