"""The BARS Frappe sweeps and the reference column of `resctr table`."""

import json

import pytest

from ctr.models import MODELS
from experiments import sweeps
from experiments.reference import BARS_FRAPPE_X1
from experiments.tables import write_table


def test_bars_frappe_covers_every_feature_interaction_model_with_its_bars_settings():
    runs = {c.model.name: c for c in sweeps.bars_frappe()}
    assert set(BARS_FRAPPE_X1) <= set(runs) <= set(MODELS)
    assert {c.connection.name for c in runs.values()} == {"none"}
    assert {(c.seed, c.train.batch_size, c.model.embedding_dim) for c in runs.values()} == {
        (2021, 4096, 10)
    }
    assert runs["xdeepfm"].model.options["cin_units"] == [64]
    assert runs["xdeepfm"].train.embedding_l2 == 0.1 and runs["nfm"].train.max_epochs == 200
    assert runs["ipnn"].train.patience == 3


def test_bars_sweeps_train_as_fuxictr_trains():
    """Every sweep that claims BARS's protocol runs FuxiCTR's BaseModel defaults (issue 17)."""
    for name in ("bars_frappe", "families_frappe", "families_frappe_all", "families_frappe_cpu",
                 "depth_frappe", "norm_frappe", "gbdt_frappe"):  # fmt: skip
        for c in sweeps.SWEEPS[name]():
            assert c.model.init == "fuxictr", name
            t = c.train
            assert (t.grad_clip_norm, t.min_lr, t.min_delta) == (10.0, 1e-6, 1e-6), name
            assert t.net_l2_params == "all", name
    assert {c.model.init for c in sweeps.demo()} == {"flax"}  # not a BARS sweep


def test_family_sweeps_are_the_full_grid_and_its_cpu_subset():
    full = sweeps.families_frappe_all()
    cpu = sweeps.families_frappe_cpu()
    assert {c.connection.name for c in full} == set(sweeps.FAMILIES6)
    assert len({c.run_id for c in full}) == len(full) and len(full) % 3 == 0
    # 3 models x 6 families, and FM once: it has no residual slot, so its other families would
    # train copies of the same model
    assert len(cpu) == 19 and {c.seed for c in cpu} == {2021}
    assert {c.connection.name for c in full if c.model.name in ("fm", "lr")} == {"none"}


def test_table_adds_the_published_auc_and_the_split_label(tmp_path):
    for model, auc in (("lr", 0.9386), ("unlisted", 0.5)):
        d = tmp_path / model
        d.mkdir()
        cfg = {"model": {"name": model, "options": {}}, "connection": {"name": "none"},
               "seed": 2021, "sweep": "bars_frappe"}  # fmt: skip
        result = {"run_id": model, "config": cfg, "status": "stopped", "best_epoch": 3,
                  "train_s": 1.0, "valid": {"auc": auc, "logloss": 0.3}, "test": None}  # fmt: skip
        (d / "result.json").write_text(json.dumps(result))
    text, _ = write_table(tmp_path)
    assert text.startswith("**Frappe_x1 with re-sampled train")
    row = next(line for line in text.splitlines() if line.startswith("| lr "))
    assert row.rstrip(" |").endswith("0.9356 | +0.0030")
    with pytest.raises(ValueError, match="unknown reference"):
        write_table(tmp_path, reference="nope")


def test_wrapper_sweeps_are_the_full_grid_and_its_cpu_subset():
    """Issue 20's grid: 3 encoders x 8 families x depths 1-8 x 3 seeds; the CPU subset is its
    depth-1 and depth-4 part, each encoder's runs together (a stopped sweep holds whole ones)."""
    full, cpu = sweeps.seq_wrappers(), sweeps.seq_wrappers_cpu()

    def cells(runs):
        return {(c.model.name, c.model.options["depth"], c.connection.name, c.seed) for c in runs}

    assert len(full) == len(cells(full)) == 3 * 8 * 4 * 3
    assert {c.connection.name for c in full} == set(sweeps.WRAPPER_FAMILIES)
    assert cells(cpu) == {cell for cell in cells(full) if cell[1] in (1, 4)}
    encoders = [c.model.name for c in cpu]
    assert encoders == sorted(encoders, key=sweeps.WRAPPER_ENCODERS.index)
    assert all(c.data == sweeps.AMAZON_BEAUTY for c in full)
