"""Degradation repro and trained-tower statistics on one tiny sweep (2 families x depths 1, 2)."""

import csv
import json

import numpy as np
import pytest

from experiments.repro import degradation, towers
from experiments.rundir import RunDir
from resnets import connection_summary

FAMILIES = ("none", "identity")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("degradation")
    kw = dict(tiny=True, depths=[1, 2], families=FAMILIES, data_dir=root / "data")
    rows = degradation.run(root / "runs", progress=False, **kw)
    return root, rows, degradation.configs(tiny=True, depths=[1, 2], families=FAMILIES)


def test_configs_switch_off_everything_but_the_optimiser():
    cfgs = degradation.configs(tiny=True)
    assert {(c.connection.name, len(c.model.options["hidden"])) for c in cfgs} == {
        (f, d) for f in degradation.FAMILIES for d in degradation.TINY_DEPTHS
    }
    for c in cfgs:
        t = c.train
        assert c.model.options["dropout"] == 0.0 and c.model.options["batch_norm"] is False
        assert t.embedding_l2 == t.net_l2 == 0.0
        assert t.lr_decay == 1.0 and t.patience >= t.max_epochs  # fixed budget, no early stop
    with pytest.raises(ValueError, match="tiny"):
        degradation.configs(tiny=True, data="frappe")


def test_run_writes_numbers_that_match_the_run_folders(sweep):
    root, rows, cfgs = sweep
    out = root / "runs"
    for name in ("degradation_epochs.png", "degradation_depth.png", "degradation.json"):
        assert (out / name).stat().st_size > 0
    assert {(r["family"], r["depth"]) for r in rows} == {(f, d) for f in FAMILIES for d in (1, 2)}
    with (out / "degradation_depth.csv").open() as f:
        table = {(r["family"], int(r["depth"])): r for r in csv.DictReader(f)}
    epochs = degradation.configs(tiny=True)[0].train.max_epochs
    for c in cfgs:
        metrics = RunDir(out / c.run_id).read_metrics()
        assert [m["epoch"] for m in metrics] == list(range(1, epochs + 1))  # never stopped early
        row = table[(c.connection.name, len(c.model.options["hidden"]))]
        assert float(row["train_loss"]) == pytest.approx(metrics[-1]["train_loss"], rel=1e-6)
        # the last state's loss is measured, not copied: close to the last epoch's running mean
        assert abs(float(row["final_train_loss"]) - metrics[-1]["train_loss"]) < 0.05
    blob = json.loads((out / "degradation.json").read_text())
    assert len(blob["by_epoch"]) == len(cfgs) * epochs


def test_load_run_restores_the_best_state_the_result_reports(sweep):
    root, _, cfgs = sweep
    run_dir = root / "runs" / cfgs[-1].run_id
    run = towers.load_run(run_dir, data_dir=root / "data")
    assert run.cfg == cfgs[-1]
    reported = json.loads((run_dir / "result.json").read_text())["connection"]
    restored = connection_summary(run.variables["params"])
    assert reported.keys() == {f"conn/{k}" for k in restored}
    for k, v in restored.items():
        np.testing.assert_array_equal(np.asarray(reported[f"conn/{k}"]), v)
    batch = {c: v[:64] for c, v in run.splits["valid"].items()}
    assert run.model.apply(run.variables, batch, train=False).shape == (64,)
    with pytest.raises(ValueError, match="which"):
        towers.load_run(run_dir, which="last", data_dir=root / "data")


def test_layer_stats_match_a_brute_force_count(sweep):
    root, _, cfgs = sweep
    by = {(c.connection.name, len(c.model.options["hidden"])): c for c in cfgs}
    for family in FAMILIES:
        run_dir = root / "runs" / by[(family, 2)].run_id
        stats = towers.run_layer_stats(run_dir, rows=500, data_dir=root / "data")
        assert [s["layer"] for s in stats] == [0, 1] and {s["family"] for s in stats} == {family}
        run = towers.load_run(run_dir, data_dir=root / "data")
        batch = {c: v[:500] for c, v in run.splits["valid"].items()}
        acts = list(towers.block_activations(run.model, run.variables, batch).values())
        for s, a in zip(stats, acts, strict=True):
            assert s["dead_fraction"] == float((a <= 0).all(axis=0).mean())
            assert s["block_effective_rank"] == pytest.approx(towers.effective_rank(a))
        same = [s["state_effective_rank"] == s["block_effective_rank"] for s in stats]
        # plain: the state *is* the block output; identity: h = x + f(x) differs from f(x)
        assert all(same) if family == "none" else not any(same)
