"""train.dropout_prng: the default draws the same masks as before the option existed (old runs
reproduce), philox4x32 keeps seeds independent and vmapped == sequential, bad names list the
choices."""

import dataclasses

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from runner_helpers import TINY_DATA, tiny

import ctr.datasets
from ctr.datasets.device import gather, put_on_device
from experiments import train
from experiments.configs import TrainConfig


def masks(key, n=4):
    return nn.Dropout(0.5).apply({}, jnp.ones((n, 64)), deterministic=False, rngs={"dropout": key})


def test_default_generator_draws_the_masks_of_the_raw_key():
    raw = jax.random.fold_in(jax.random.PRNGKey(7), 3)  # a raw uint32 key, as before the option
    typed = train.dropout_key(jax.random.PRNGKey(7), TrainConfig())
    np.testing.assert_array_equal(masks(raw), masks(jax.random.fold_in(typed, 3)))


def test_philox_draws_other_masks_of_the_same_rate():
    raw = jax.random.PRNGKey(7)
    fry = masks(train.dropout_key(raw, TrainConfig()), n=2000)
    phx = masks(train.dropout_key(raw, TrainConfig(dropout_prng="philox4x32")), n=2000)
    assert not np.array_equal(fry, phx)
    assert abs(float((phx > 0).mean()) - 0.5) < 0.01  # 128k draws: std of the rate ~0.0014


def test_unknown_generator_lists_the_choices():
    with pytest.raises(ValueError, match=r"dropout_prng 'rbg'.*threefry2x32.*philox4x32"):
        TrainConfig(dropout_prng="rbg")


def test_philox_vmapped_seeds_equal_sequential_runs_and_differ(tmp_path):
    cfg = tiny("dnn", "identity", dropout_prng="philox4x32")
    cfg = dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, options={"hidden": [8, 8], "dropout": 0.5})
    )
    spec, splits = ctr.datasets.load("synthetic", data_dir=tmp_path, **TINY_DATA)
    data = put_on_device({c: splits["train"][c][:512] for c in [f.name for f in spec.fields]
                          + ["label"]})  # fmt: skip
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train)
    epoch = train.make_epoch_fn(train.make_train_step(model, tx, cfg.train), batch_size=128)
    sample = gather(data, jnp.arange(128), jnp.ones(128))
    state = jax.device_get(train.init_state(model, tx, jax.random.PRNGKey(0), sample))
    other = state.replace(rng=np.asarray(jax.random.PRNGKey(99)))  # same init, other dropout
    lrs = np.full(2, 1e-2, np.float32)
    both, m = epoch(train.stack([state, other]), data, np.zeros(2, np.int32), np.int32(0), lrs)
    assert not np.allclose(m["loss"][0], m["loss"][1])  # each seed has its own masks
    for i, s in enumerate([state, other]):
        one, m_one = epoch(train.stack([s]), data, np.zeros(1, np.int32), np.int32(0), lrs[:1])
        np.testing.assert_allclose(m["loss"][i], m_one["loss"][0], rtol=2e-5, atol=1e-6)
        chex.assert_trees_all_close(train.unstack(both.params, i),
                                    train.unstack(one.params, 0), rtol=2e-4, atol=1e-6)  # fmt: skip
