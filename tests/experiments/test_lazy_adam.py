"""lazy_adam: dense Adam where every row is touched, untouched rows frozen bit for bit, touched
rows equal a numpy Adam on just those rows, optax.adam on non-embedding leaves."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from runner_helpers import TINY_DATA, tiny

import ctr.datasets
from ctr.datasets.device import put_on_device
from ctr.features import FeatureSpec, Field
from experiments import train
from experiments.configs import TrainConfig
from experiments.optimizers import lazy_adam, row_bounds

V, D = 12, 3
LR = 1e-2


def make_params(key=0):
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(key), 3)
    return {
        "embedding": {"table_a": jax.random.normal(k1, (V, D))},
        "tower": {"kernel": jax.random.normal(k2, (D, 2)), "bias": jax.random.normal(k3, (2,))},
    }


def grads_touching(rows, key):
    """Random gradients; table rows outside `rows` exactly zero."""
    g = jax.tree.map(lambda p: jax.random.normal(jax.random.PRNGKey(key), p.shape), make_params())
    mask = np.zeros((V, 1), np.float32)
    mask[list(rows)] = 1
    g["embedding"]["table_a"] = g["embedding"]["table_a"] * mask
    return g


def run(tx, params, grads_list):
    state = tx.init(params)
    step = jax.jit(
        lambda p, s, g: (lambda u, s: (optax.apply_updates(p, u), s))(*tx.update(g, s, p))
    )
    for g in grads_list:
        params, state = step(params, state, g)
    return params, state


def test_every_row_touched_equals_adam():
    grads = [grads_touching(range(V), k) for k in range(4)]
    ref, _ = run(optax.adam(LR), make_params(), grads)
    for max_rows in (None, V, 100):  # no bound, bound == vocab, bound > vocab: dense path
        got, _ = run(lazy_adam(LR, max_rows=max_rows), make_params(), grads)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), got, ref)


def numpy_lazy_adam(table, touched_per_step, grads, b1=0.9, b2=0.999, eps=1e-8):
    p, m, v = np.array(table, np.float64), np.zeros((V, D)), np.zeros((V, D))
    for t, (rows, g) in enumerate(zip(touched_per_step, grads, strict=True), start=1):
        r = sorted(rows)
        gr = np.asarray(g["embedding"]["table_a"], np.float64)[r]
        m[r] = b1 * m[r] + (1 - b1) * gr
        v[r] = b2 * v[r] + (1 - b2) * gr**2
        p[r] -= LR * (m[r] / (1 - b1**t)) / (np.sqrt(v[r] / (1 - b2**t)) + eps)
    return p, m, v


@pytest.mark.parametrize("max_rows", [4, {"table_a": 5}, None])  # sparse, sparse, dense path
def test_untouched_rows_frozen_touched_rows_match_numpy(max_rows):
    touched = [{0, 3, 7}, {3, 5}, {0, 3, 7, 11}]  # row 11 first seen at step 3
    grads = [grads_touching(rows, k) for k, rows in enumerate(touched)]
    p0 = make_params()
    got, state = run(lazy_adam(LR, max_rows=max_rows), p0, grads)
    never = sorted(set(range(V)) - set().union(*touched))
    table = np.asarray(got["embedding"]["table_a"])
    np.testing.assert_array_equal(table[never], np.asarray(p0["embedding"]["table_a"])[never])
    assert not np.any(np.asarray(state.mu["embedding"]["table_a"])[never])
    assert not np.any(np.asarray(state.nu["embedding"]["table_a"])[never])
    p, m, v = numpy_lazy_adam(p0["embedding"]["table_a"], touched, grads)
    np.testing.assert_allclose(table, p, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(state.mu["embedding"]["table_a"], m, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(state.nu["embedding"]["table_a"], v, rtol=1e-5, atol=1e-9)
    # non-embedding leaves: optax.adam's update
    ref, _ = run(optax.adam(LR), p0, grads)
    np.testing.assert_allclose(got["tower"]["kernel"], ref["tower"]["kernel"], rtol=1e-6)
    np.testing.assert_allclose(got["tower"]["bias"], ref["tower"]["bias"], rtol=1e-6)


def test_a_row_frozen_at_one_step_keeps_its_bits():
    grads = [grads_touching({1, 2}, 0), grads_touching({2}, 1)]
    p1, s1 = run(lazy_adam(LR, max_rows=3), make_params(), grads[:1])
    p2, s2 = run(lazy_adam(LR, max_rows=3), make_params(), grads)
    for a, b in [(p1, p2), (s1.mu, s2.mu), (s1.nu, s2.nu)]:
        np.testing.assert_array_equal(a["embedding"]["table_a"][1], b["embedding"]["table_a"][1])


def test_more_touched_rows_than_the_bound_poisons_the_update():
    got, _ = run(lazy_adam(LR, max_rows=2), make_params(), [grads_touching({0, 1, 2}, 0)])
    assert np.isnan(got["embedding"]["table_a"][:2]).all()  # loud, not a silent drop
    assert np.isfinite(got["tower"]["kernel"]).all()


def test_inject_hyperparams_lr_change_vmap_and_jit():
    tx = optax.inject_hyperparams(lazy_adam)(learning_rate=LR, max_rows={"table_a": 4})
    ref_tx = optax.inject_hyperparams(optax.adam)(learning_rate=LR)
    with pytest.raises(TypeError, match="static_args"):
        optax.inject_hyperparams(lazy_adam)(learning_rate=LR, max_rows=4).init(make_params())
    p0 = jax.tree.map(lambda *xs: jnp.stack(xs), make_params(0), make_params(1))
    g = jax.tree.map(
        lambda *xs: jnp.stack(xs), grads_touching(range(V), 0), grads_touching(range(V), 1)
    )
    g_part = jax.tree.map(
        lambda *xs: jnp.stack(xs), grads_touching({1, 4}, 2), grads_touching({5}, 3)
    )

    def steps(tx, p, g):
        s = tx.init(p)
        s.hyperparams["learning_rate"] = jnp.asarray(LR * 0.1)  # the protocol's lr decay
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    all_tx = optax.inject_hyperparams(lazy_adam)(learning_rate=LR, max_rows={"table_a": V})
    got, _ = jax.jit(jax.vmap(lambda p, g: steps(all_tx, p, g)))(p0, g)
    ref, _ = jax.jit(jax.vmap(lambda p, g: steps(ref_tx, p, g)))(p0, g)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), got, ref)
    # vmapped sparse updates equal one seed at a time
    vm, _ = jax.jit(jax.vmap(lambda p, g: steps(tx, p, g)))(p0, g_part)
    for i in range(2):
        one, _ = steps(tx, *jax.tree.map(lambda x, i=i: x[i], (p0, g_part)))
        jax.tree.map(lambda a, b, i=i: np.testing.assert_array_equal(a[i], b), vm, one)


def test_row_bounds_count_slots_per_table():
    spec = FeatureSpec(
        fields=(
            Field(name="item", kind="categorical", vocab_size=9, group="item"),
            Field(name="hist", kind="sequence", vocab_size=9, group="item", max_len=5),
            Field(name="user", kind="categorical", vocab_size=4),
            Field(name="price", kind="numeric"),
        )
    )
    assert row_bounds(spec, 16) == {"table_item": 16 * 6, "table_user": 16}


def test_config_validates_the_optimizer():
    with pytest.raises(ValueError, match="adam.*lazy_adam"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="embedding_l2"):
        TrainConfig(optimizer="lazy_adam", embedding_l2=1e-4)


def test_deepfm_trains_with_lazy_adam(tmp_path):
    cfg = tiny("deepfm", "identity", optimizer="lazy_adam", lr=1e-2)
    spec, splits = ctr.datasets.load("synthetic", data_dir=tmp_path, **TINY_DATA)
    cols = [f.name for f in spec.fields] + ["label"]
    data = put_on_device({c: splits["train"][c] for c in cols})
    model = train.build_model(cfg, spec)
    tx = train.make_optimizer(cfg.train, spec)
    sample = {c: data[c][:2] for c in cols} | {"mask": jnp.ones(2)}
    states = train.stack([train.init_state(model, tx, jax.random.PRNGKey(0), sample)])
    step = train.make_train_step(model, tx, dataclasses.replace(cfg.train))
    epoch = train.make_epoch_fn(step, batch_size=cfg.train.batch_size)
    losses = []
    for e in range(3):
        states, m = epoch(states, data, jnp.array([0]), e, jnp.array([cfg.train.lr]))
        losses.append(float(m["bce"][0].mean()))
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.01, losses
