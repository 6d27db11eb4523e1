"""GBDT+LR: leaf features equal LightGBM's own pred_leaf (+2), the transform is cached, LR with
the leaf values as weights is the booster, trained LR fits train at least as well as the trees
and beats a constant on test, and the clear errors."""

import dataclasses
import pathlib
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import ctr.datasets
import resnets
from ctr.datasets.gbdt import fit_gbdt_transform, prepare_for_model
from ctr.datasets.synthetic import auc, logloss
from ctr.features import Field
from ctr.models import MODELS, check_compatible
from ctr.models.gbdt_lr import GBDTLR

SMALL = dict(num_trees=4, num_leaves=5, num_threads=1)  # 1 thread: the CI CPU is shared


@pytest.fixture
def lgb():
    return pytest.importorskip("lightgbm")


@pytest.fixture
def data(tmp_path):
    return ctr.datasets.load("synthetic", data_dir=tmp_path / "data", rows=2000, num_fields=5)


def _booster(lgb, cache_dir: pathlib.Path):
    (path,) = cache_dir.glob("*/booster.txt")
    return lgb.Booster(model_str=path.read_text())


def test_leaves_are_lightgbm_pred_leaf_plus_two(lgb, data, tmp_path):
    spec, splits = data
    new_spec, new_splits = fit_gbdt_transform(spec, splits, cache_dir=tmp_path / "gbdt", **SMALL)
    booster = _booster(lgb, tmp_path / "gbdt")
    names = [f"leaf_{t:03d}" for t in range(booster.num_trees())]
    assert booster.num_trees() == 4
    assert [f.name for f in new_spec.fields] == [f.name for f in spec.fields] + names
    assert {new_spec.field(n).vocab_size for n in names} == {5 + 2}
    for split, cols in splits.items():
        expected = booster.predict(_x(spec, cols), pred_leaf=True) + 2
        got = np.stack([new_splits[split][n] for n in names], axis=1)
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == np.int32 and got.min() >= 2 and got.max() < 5 + 2
        for col, values in cols.items():  # originals, label and prob pass through untouched
            np.testing.assert_array_equal(new_splits[split][col], values)
    # ids went in as categorical features: every split is a category-set split
    tree_info = booster.dump_model()["tree_info"]

    def decisions(node):
        if "split_index" not in node:
            return []
        return (
            [node["decision_type"]] + decisions(node["left_child"]) + decisions(node["right_child"])
        )

    kinds = {d for t in tree_info for d in decisions(t["tree_structure"])}
    assert kinds == {"=="}


def test_cached_transform_is_reused(lgb, data, tmp_path, monkeypatch):
    spec, splits = data
    cache = tmp_path / "gbdt"
    _, first = fit_gbdt_transform(spec, splits, cache_dir=cache, **SMALL)

    def no_training(*args, **kwargs):
        raise AssertionError("lightgbm.train called although the transform is cached")

    monkeypatch.setattr(lgb, "train", no_training)
    _, again = fit_gbdt_transform(spec, splits, cache_dir=cache, **SMALL)
    chex.assert_trees_all_equal(first, again)
    # keep_original only changes what is kept, not the trees: still cached
    lean_spec, lean = fit_gbdt_transform(
        spec, splits, cache_dir=cache, keep_original=False, **SMALL
    )
    assert [f.name for f in lean_spec.fields] == [f"leaf_{t:03d}" for t in range(4)]
    assert sorted(lean["test"]) == sorted(["label", "prob"] + [f.name for f in lean_spec.fields])
    # other options or other train data are another key: they train again
    with pytest.raises(AssertionError, match="cached"):
        fit_gbdt_transform(spec, splits, cache_dir=cache, **{**SMALL, "num_leaves": 6})
    flipped = {**splits, "train": {**splits["train"], "label": 1 - splits["train"]["label"]}}
    with pytest.raises(AssertionError, match="cached"):
        fit_gbdt_transform(spec, flipped, cache_dir=cache, **SMALL)
    fewer = {**splits, "valid": {k: v[:10] for k, v in splits["valid"].items()}}
    with pytest.raises(AssertionError, match="cached"):  # cached leaves of valid would be stale
        fit_gbdt_transform(spec, fewer, cache_dir=cache, **SMALL)
    assert len(list(cache.iterdir())) == 1  # failed trainings leave nothing behind


def _x(spec, split):
    return np.stack([split[f.name] for f in spec.fields], axis=1)


def test_lr_with_leaf_values_is_the_booster(lgb, data, tmp_path):
    """The boosted score is linear in the leaf one-hots: w_t[leaf + 2] = leaf value is exact."""
    spec, splits = data
    new_spec, new_splits = fit_gbdt_transform(
        spec, splits, cache_dir=tmp_path / "gbdt", keep_original=False, **SMALL
    )
    booster = _booster(lgb, tmp_path / "gbdt")
    model = GBDTLR(spec=new_spec, connection=resnets.get("none"), num_leaves=5)
    batch = {k: jnp.asarray(v) for k, v in new_splits["test"].items()}
    params = model.init(jax.random.key(0), batch)["params"]
    tables = {}
    for t in range(booster.num_trees()):
        leaves = booster.dump_model()["tree_info"][t]["num_leaves"]
        w = np.zeros((5 + 2, 1), np.float32)
        w[2 : 2 + leaves, 0] = [booster.get_leaf_output(t, leaf) for leaf in range(leaves)]
        tables[f"table_leaf_{t:03d}"] = jnp.asarray(w)
    params = {"linear": {"weights": tables, "bias": jnp.zeros(())}}
    np.testing.assert_allclose(
        model.apply({"params": params}, batch),
        booster.predict(_x(spec, splits["test"]), raw_score=True),
        rtol=1e-5,
        atol=1e-5,
    )


def _train(model, split, steps=150, lr=0.05):
    """Full-batch Adam; returns a function giving the trained model's logits on a split."""
    train = {k: jnp.asarray(v) for k, v in split.items()}
    params = model.init(jax.random.key(0), train)
    opt = optax.adam(lr)

    def loss(p):
        logits = model.apply(p, train)
        return optax.sigmoid_binary_cross_entropy(logits, train["label"]).mean()

    @jax.jit
    def step(p, s):
        g = jax.grad(loss)(p)
        u, s = opt.update(g, s)
        return optax.apply_updates(p, u), s

    state = opt.init(params)
    for _ in range(steps):
        params, state = step(params, state)
    return lambda s: np.asarray(model.apply(params, {k: jnp.asarray(v) for k, v in s.items()}))


# test AUC floors: trees 0.73, Bayes 0.80; unregularized on 2k rows LR overfits a little (0.69)
# and FM, with 20 leaf fields of pairs, more (0.61): a constant scores 0.5
@pytest.mark.parametrize(("head", "floor"), [("lr", 0.65), ("fm", 0.57)])
def test_lr_on_leaves_fits_at_least_as_well_as_the_trees(lgb, data, tmp_path, head, floor):
    spec, splits = data
    opts = dict(num_trees=20, num_leaves=7, num_threads=1)
    new_spec, new_splits = fit_gbdt_transform(
        spec, splits, cache_dir=tmp_path / "gbdt", keep_original=False, **opts
    )
    model = GBDTLR(
        spec=new_spec, connection=resnets.get("none"), embedding_dim=4, head=head, num_leaves=7
    )
    logits_of = _train(model, new_splits["train"])
    booster = _booster(lgb, tmp_path / "gbdt")
    # the booster's own score is one point of this convex LR, so the LR's optimum is below it
    y = splits["train"]["label"]
    tree_loss = logloss(y, booster.predict(_x(spec, splits["train"])))
    model_loss = logloss(y, 1 / (1 + np.exp(-logits_of(new_splits["train"]))))
    assert model_loss < tree_loss + 1e-3, (model_loss, tree_loss)
    logits = logits_of(new_splits["test"])
    chex.assert_shape(logits, (len(splits["test"]["label"]),))
    chex.assert_tree_all_finite(logits)
    assert auc(splits["test"]["label"], logits) > floor


def test_prepare_for_model_hook(lgb, data, tmp_path):
    spec, splits = data
    assert prepare_for_model("lr", spec, splits, {}, tmp_path) == (spec, splits)
    options = {"num_trees": 3, "num_leaves": 4, "head": "fm"}
    new_spec, new_splits = prepare_for_model(
        "gbdt_lr", spec, splits, options, tmp_path, num_threads=1
    )
    leaves = [f for f in new_spec.fields if f.name.startswith("leaf_")]
    assert len(leaves) == 3 and {f.vocab_size for f in leaves} == {6}
    assert len(new_spec.fields) == len(spec.fields) + 3  # keep_original defaults to True
    assert len(list((tmp_path / "gbdt").glob("*/booster.txt"))) == 1
    model = MODELS["gbdt_lr"](spec=new_spec, connection=resnets.get("none"), **options)
    batch = {k: jnp.asarray(v[:8]) for k, v in new_splits["valid"].items()}
    variables = model.init(jax.random.key(0), batch)
    eager = model.apply(variables, batch)
    jitted = jax.jit(model.apply)(variables, batch)
    chex.assert_shape(eager, (8,))
    np.testing.assert_allclose(eager, jitted, rtol=1e-6)


def test_missing_lightgbm_names_the_extra(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes `import lightgbm` fail
    spec, splits = data
    with pytest.raises(ImportError, match=r"resctr\[gbdt\].*uv sync --extra gbdt"):
        fit_gbdt_transform(spec, splits)


def test_errors_and_compat(data):
    spec, splits = data
    batch = {k: jnp.asarray(v[:4]) for k, v in splits["train"].items()}
    none = resnets.get("none")
    with pytest.raises(ValueError, match="head 'dnn'"):
        GBDTLR(spec=spec, connection=none, head="dnn").init(jax.random.key(0), batch)
    with pytest.raises(ValueError, match="num_leaves"):
        fit_gbdt_transform(spec, splits, num_leaves=1)
    with pytest.raises(ValueError, match="'train' split"):
        fit_gbdt_transform(spec, {"valid": splits["valid"]})
    # a spec built for other trees is refused rather than mis-sized
    other = dataclasses.replace(
        spec, fields=spec.fields + (Field(name="leaf_000", kind="categorical", vocab_size=9),)
    )
    batch["leaf_000"] = jnp.full((4,), 2, jnp.int32)
    with pytest.raises(ValueError, match="rebuild the GBDT transform"):
        GBDTLR(spec=other, connection=none, num_leaves=31).init(jax.random.key(0), batch)
    check_compatible("gbdt_lr", "none")
    for family in sorted(set(resnets.CONNECTIONS) - {"none"}):
        with pytest.raises(ValueError, match="gbdt_lr.*no residual slot"):
            check_compatible("gbdt_lr", family)
