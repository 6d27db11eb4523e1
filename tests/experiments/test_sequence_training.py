"""DIN and DIEN train through the runner on a tiny Amazon-style file: finite losses every epoch,
gAUC in result.json, DIEN's aux loss and DIN's mini-batch aware regularizer in the loss, and
the trainer's "counts" collection equal to the train split's id frequencies."""

import json

import jax
import numpy as np
import pytest

import ctr.datasets
from experiments import train
from experiments.configs import ConnectionConfig, DataConfig, ModelConfig, RunConfig, TrainConfig
from experiments.runner import run_sweep


@pytest.fixture(scope="module")
def amazon_dir(tmp_path_factory):
    """40 users, 30 items, 5-9 items each (Beauty.txt's `user item item ...` layout)."""
    root = tmp_path_factory.mktemp("amazon")
    rng = np.random.default_rng(0)
    lines = [
        " ".join(map(str, [u, *rng.choice(np.arange(1, 31), rng.integers(5, 10), replace=False)]))
        for u in range(1, 41)
    ]
    (root / "Tiny.txt").write_text("\n".join(lines) + "\n")
    return root


def config(model: str, **options) -> RunConfig:
    return RunConfig(
        data=DataConfig(name="amazon", options={"file": "Tiny.txt", "max_len": 6}),
        model=ModelConfig(
            name=model, options={"hidden": [8], **options}, embedding_dim=4
        ),  # fmt: skip
        connection=ConnectionConfig(name="identity"),
        train=TrainConfig(batch_size=64, max_epochs=2, lr=3e-3),
        seed=0,
    )


@pytest.mark.parametrize(
    "cfg",
    [config("din", mba_l2=1e-2, attention_hidden=[8]), config("dien", aux_coef=1.0)],
    ids=["din", "dien"],
)
def test_sequence_model_trains_with_gauc(cfg, amazon_dir, tmp_path):
    (result,) = run_sweep(
        [cfg], tmp_path / "runs", data_dir=tmp_path / "data", manual_dir=amazon_dir,
        progress=False,
    )  # fmt: skip
    assert result["status"] in ("max_epochs", "stopped") and result["epochs"] == 2
    for split in ("valid", "test"):
        assert 0.0 <= result[split]["gauc"] <= 1.0 and np.isfinite(result[split]["logloss"])
    rows = (tmp_path / "runs" / cfg.run_id / "metrics.jsonl").read_text().splitlines()
    losses = [json.loads(r)["train_loss"] for r in rows]
    assert len(losses) == 2 and np.all(np.isfinite(losses))


def sample_and_model(cfg, amazon_dir, tmp_path):
    spec, splits = ctr.datasets.load(
        "amazon", data_dir=tmp_path / "data", manual_dir=amazon_dir, **cfg.data.options
    )
    model = train.build_model(cfg, spec)
    cols = [f.name for f in spec.fields] + [spec.label]
    batch = {c: np.asarray(splits["train"][c][:16]) for c in cols}
    batch["mask"] = np.ones(16, np.float32)
    return spec, splits, model, batch


def test_din_counts_are_train_id_frequencies(amazon_dir, tmp_path):
    cfg = config("din", mba_l2=1e-2, attention_hidden=[8])
    spec, splits, model, batch = sample_and_model(cfg, amazon_dir, tmp_path)
    consts = train.constants(model, spec, splits["train"], batch)
    item_ids = np.concatenate([splits["train"]["item"], splits["train"]["hist"].ravel()])
    counts = consts["counts"]["table_item"]
    np.testing.assert_array_equal(counts, np.bincount(item_ids, minlength=len(counts)))
    np.testing.assert_array_equal(
        consts["counts"]["table_user"], np.bincount(splits["train"]["user"], minlength=len(
            consts["counts"]["table_user"]))
    )  # fmt: skip
    assert (
        train.constants(train.build_model(config("dien"), spec), spec, splits["train"], batch) == {}
    )


def test_sown_losses_enter_the_training_loss(amazon_dir, tmp_path):
    """loss - bce is exactly the sown penalty: DIEN's aux loss, and DIN's MBA term, which must
    equal its brute-force form sum_j 1[j in batch] ||w_j||^2 / n_j with the train counts n_j."""
    mba = 1e6  # init rows are ~1e-2: a large coefficient lifts the term above float32 noise
    for cfg, key in ((config("din", mba_l2=mba, attention_hidden=[8]), "mba_l2"),
                     (config("dien", aux_coef=1.0), "aux_loss")):  # fmt: skip
        spec, splits, model, batch = sample_and_model(cfg, amazon_dir, tmp_path)
        consts = train.constants(model, spec, splits["train"], batch)
        tx = train.make_optimizer(cfg.train)
        state = train.init_state(model, tx, jax.random.PRNGKey(0), batch)
        _, m = train.make_train_step(model, tx, cfg.train, consts)(state, batch)
        variables = {"params": state.params, "batch_stats": state.batch_stats, **consts}
        rng = jax.random.fold_in(state.rng, state.step)
        _, upd = model.apply(variables, batch, train=True, rngs={"dropout": rng},
                             mutable=["batch_stats", "losses"])  # fmt: skip
        penalty = sum(float(x) for x in jax.tree.leaves(upd["losses"][key]))
        assert penalty > 0
        np.testing.assert_allclose(float(m["loss"] - m["bce"]), penalty, rtol=1e-4)
        if key == "mba_l2":
            brute = 0.0
            for table, fields in (("item", ("item", "hist")), ("user", ("user",))):
                w = np.asarray(state.params["behaviour"]["embedding"][f"table_{table}"])
                n = consts["counts"][f"table_{table}"]
                ids = set(np.concatenate([batch[f].ravel() for f in fields]).tolist()) - {0}
                brute += sum(float(w[j] @ w[j]) / max(n[j], 1.0) for j in ids)
            np.testing.assert_allclose(penalty, mba * brute, rtol=1e-4)
