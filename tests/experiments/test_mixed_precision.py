"""Mixed precision (train.compute_dtype="bfloat16"): bf16 compute, f32 params, state and loss.

bf16 logits are close to (and not equal to) the f32 logits of the same params; jitted steps
keep every floating leaf of the state in f32 (a scan carry whose dtype changed would not even
trace); a DeepFM trained on a planted signal in bf16 reaches the f32 AUC; bad dtypes raise.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from runner_helpers import TINY_DATA, tiny
from sklearn.metrics import roc_auc_score

import ctr.datasets
import resnets
from ctr.datasets.device import put_on_device
from ctr.features import FeatureSpec, Field
from ctr.models import MODELS
from experiments import train
from experiments.configs import COMPUTE_DTYPES, TrainConfig, apply_overrides

B, V, D = 64, 20, 4
SPEC = FeatureSpec(
    fields=(
        Field(name="user", kind="categorical", vocab_size=V),
        Field(name="item", kind="categorical", vocab_size=V, group="item"),
        Field(name="f2", kind="categorical", vocab_size=V),
        Field(name="price", kind="numeric"),
        Field(name="hist", kind="sequence", vocab_size=V, group="item", max_len=3),
    ),
    user_field="user",
)
SMALL = {"hidden": (16, 16), "attention_hidden": (8,), "num_cross_layers": 2, "batch_norm": True}


def model_and_data(name: str, seed: int = 0):
    names = {f.name for f in dataclasses.fields(MODELS[name])}
    options = {k: v for k, v in SMALL.items() if k in names}
    model = MODELS[name](spec=SPEC, connection=resnets.get("identity"), embedding_dim=D, **options)
    rng = np.random.default_rng(seed)
    data = {f.name: rng.integers(2, V, size=B, dtype=np.int32) for f in SPEC.categorical}
    data["price"] = rng.normal(size=B).astype(np.float32)
    data["hist"] = rng.integers(0, V, size=(B, 3), dtype=np.int32)
    data["label"] = rng.integers(0, 2, size=B).astype(np.float32)
    data["mask"] = np.ones(B, np.float32)
    return model, data


def init(model, tx, data, seed=0):
    return jax.device_get(train.init_state(model, tx, jax.random.PRNGKey(seed), data))


def floating_dtypes(tree) -> set:
    return {x.dtype for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)}


@pytest.mark.parametrize("name", ["dnn", "deepfm", "dcnv2", "din"])
def test_bf16_logits_are_close_to_f32_logits(name):
    model, data = model_and_data(name)
    state = init(model, train.make_optimizer(TrainConfig()), data)
    states = train.stack([state])
    consts = train.constants(model, SPEC, data, data)
    logits = {
        dtype: np.asarray(
            train.make_predict_fn(model, 32, consts, compute_dtype=dtype)(states, data)
        )
        for dtype in COMPUTE_DTYPES
    }
    f32, bf16 = logits["float32"][0], logits["bfloat16"][0]
    assert logits["bfloat16"].dtype == np.float32 and bf16.shape == (B,)
    rel = np.linalg.norm(bf16 - f32) / np.linalg.norm(f32)
    assert 0 < rel < 2e-2, rel  # bf16 has an 8-bit mantissa: ~4e-3 per rounding, never 0


@pytest.mark.parametrize("name", ["deepfm", "din"])
def test_bf16_steps_keep_the_state_in_f32(name):
    model, data = model_and_data(name)
    tcfg = TrainConfig(compute_dtype="bfloat16", lr=3e-3)
    tx = train.make_optimizer(tcfg)
    consts = train.constants(model, SPEC, data, data)
    state0 = init(model, tx, data)
    assert state0.batch_stats, "the test needs BatchNorm statistics"
    epoch = train.make_epoch_fn(train.make_train_step(model, tx, tcfg, consts), batch_size=16)
    states, m = epoch(train.stack([state0]), put_on_device(data), np.array([0], np.int32),
                      np.int32(0), np.array([3e-3], np.float32))  # fmt: skip
    states, m = epoch(
        states,
        put_on_device(data),
        np.array([0], np.int32),
        np.int32(1),
        np.array([3e-3], np.float32),
    )  # fmt: skip: a second call: same carry dtypes
    assert int(states.step[0]) == 8
    for part in (states.params, states.opt_state, states.batch_stats):
        assert floating_dtypes(part) == {np.dtype(np.float32)}
    assert m["loss"].dtype == jnp.float32 and np.all(np.isfinite(m["loss"]))
    moved = jax.tree.map(lambda a, b: np.abs(np.asarray(a)[0] - b).max(), states, state0)
    assert max(jax.tree.leaves(moved.params)) > 0 and max(jax.tree.leaves(moved.batch_stats)) > 0


def test_bf16_step_casts_looked_up_rows_not_tables():
    # Casting whole tables each step made Criteo-sized bf16 steps 5x slower than f32 on an H200;
    # the tower must still run in bf16 (B x hidden activations).
    model, data = model_and_data("deepfm")
    tcfg = TrainConfig(compute_dtype="bfloat16")
    tx = train.make_optimizer(tcfg)
    state = init(model, tx, data)
    jaxpr = str(jax.make_jaxpr(train.make_train_step(model, tx, tcfg))(state, data))
    assert f"bf16[{V},{D}]" not in jaxpr and f"bf16[{V},1]" not in jaxpr
    assert f"bf16[{B},{SMALL['hidden'][0]}]" in jaxpr
    assert f"bf16[{B},4,{D}]" in jaxpr  # the looked-up rows of the 3 categorical + 1 numeric


def test_bf16_deepfm_learns_a_planted_signal_as_well_as_f32(tmp_path):
    spec, splits = ctr.datasets.load("synthetic", data_dir=tmp_path, **{**TINY_DATA, "rows": 6000})
    cols = [f.name for f in spec.fields] + ["label"]
    data = {s: put_on_device({c: splits[s][c] for c in cols}) for s in ("train", "valid")}
    auc = {}
    for dtype in COMPUTE_DTYPES:
        cfg = tiny("deepfm", "identity", lr=3e-3, compute_dtype=dtype)
        model = train.build_model(cfg, spec)
        tx = train.make_optimizer(cfg.train)
        sample = {c: splits["train"][c][:2] for c in cols} | {"mask": np.ones(2, np.float32)}
        states = train.stack([init(model, tx, sample)])
        epoch = train.make_epoch_fn(train.make_train_step(model, tx, cfg.train), batch_size=256)
        for e in range(3):
            states, _ = epoch(states, data["train"], np.array([0], np.int32), np.int32(e),
                              np.array([3e-3], np.float32))  # fmt: skip
        predict = train.make_predict_fn(model, 1024, compute_dtype=dtype)
        y = splits["valid"]["label"]
        auc[dtype] = roc_auc_score(y, np.asarray(predict(states, data["valid"]))[0, : len(y)])
    bayes = roc_auc_score(splits["valid"]["label"], splits["valid"]["prob"])
    assert auc["float32"] > 0.5 + 0.5 * (bayes - 0.5), (auc, bayes)  # it learned the signal
    assert abs(auc["bfloat16"] - auc["float32"]) < 0.01, auc


def test_compute_dtype_is_validated_and_overridable():
    with pytest.raises(ValueError, match=r"compute_dtype 'float16'.*float32.*bfloat16"):
        TrainConfig(compute_dtype="float16")
    cfg = apply_overrides(tiny(), ["train.compute_dtype=bfloat16"])
    assert cfg.train.compute_dtype == "bfloat16" and cfg.run_id != tiny().run_id
    with pytest.raises(ValueError, match="bfloat16"):
        apply_overrides(tiny(), ["train.compute_dtype=fp16"])
