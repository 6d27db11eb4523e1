"""Stack-level normalization: pre/post placement against a hand-written two-layer formula, BN's
train/eval statistics (masked rows excluded, running averages, jitted == eager), dag refusal."""

from functools import partial

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from resnets_helpers import BATCH, WIDTH

import resnets
from ctr.layers.tower import Tower
from resnets.blocks import MLP

LN_EPS, BN_EPS = 1e-6, 1e-5  # flax defaults


def build(kind: str, norm: str, position: str, depth: int = 2, family: str = "identity"):
    factory = resnets.get(family)
    if kind == "stack":
        return resnets.ResidualStack(partial(MLP, WIDTH), factory, depth, norm, position)
    return Tower((WIDTH,) * depth, factory, out_dim=None, norm=norm, norm_position=position)


def random_variables(module, x, seed=0):
    """init, then every norm scale/bias and BN running statistic drawn at random."""
    variables = jax.tree.map(np.asarray, module.init(jax.random.key(seed), x))
    rng = np.random.default_rng(seed)
    out = {}
    for col, tree in variables.items():
        out[col] = jax.tree_util.tree_map_with_path(
            lambda p, v, col=col: (
                rng.uniform(0.5, 2.0, v.shape).astype(v.dtype)
                if col == "batch_stats" and p[-1].key == "var"
                else rng.normal(size=v.shape).astype(v.dtype)
                if col == "batch_stats" or "norm" in p[0].key
                else v
            ),
            tree,
        )
    return out


def oracle(variables, x, norm: str, position: str):
    """pre: h' = h + f(N(h)); post: h' = N(h + f(h)); f(h) = relu(h W + b), by hand in numpy."""
    p, s = variables["params"], variables.get("batch_stats", {})

    def n(i, h):
        q = p[f"norm_{i}"]
        if norm == "ln":
            z = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + LN_EPS)
        else:
            z = (h - s[f"norm_{i}"]["mean"]) / np.sqrt(s[f"norm_{i}"]["var"] + BN_EPS)
        return z * q["scale"] + q["bias"]

    def f(i, h):
        d = p[f"block_{i}"]["Dense_0"]
        return np.maximum(h @ d["kernel"] + d["bias"], 0.0)

    h = np.asarray(x, np.float64)
    for i in range(2):
        h = h + f(i, n(i, h)) if position == "pre" else n(i, h + f(i, h))
    return h


@pytest.mark.parametrize("kind", ["stack", "tower"])
@pytest.mark.parametrize("norm", ["ln", "bn"])
@pytest.mark.parametrize("position", ["pre", "post"])
def test_placement_matches_two_layer_formula(kind, norm, position, x_BxD):
    module = build(kind, norm, position)
    variables = random_variables(module, x_BxD)
    got = module.apply(variables, x_BxD, train=False)
    np.testing.assert_allclose(got, oracle(variables, x_BxD, norm, position), rtol=1e-5, atol=1e-5)
    # pre and post really differ (the oracle would not catch a swapped flag otherwise)
    other = build(kind, norm, {"pre": "post", "post": "pre"}[position])
    assert not np.allclose(got, other.apply(variables, x_BxD, train=False), atol=1e-3)


@pytest.mark.parametrize("kind", ["stack", "tower"])
def test_bn_train_uses_masked_batch_statistics_and_updates_running_averages(kind):
    mask_B = jnp.arange(16) < 11  # the 5 padding rows must not enter the statistics
    x = jax.random.normal(jax.random.key(3), (16, WIDTH)) * 3.0 + 1.0
    x = x.at[11:].set(100.0)
    module = build(kind, "bn", "pre", depth=1)
    variables = random_variables(module, x)
    h, upd = module.apply(variables, x, train=True, mask_B=mask_B, mutable=["batch_stats"])
    real = np.asarray(x[:11], np.float64)
    old, new = variables["batch_stats"]["norm_0"], upd["batch_stats"]["norm_0"]
    np.testing.assert_allclose(new["mean"], 0.9 * old["mean"] + 0.1 * real.mean(0), rtol=1e-5)
    np.testing.assert_allclose(new["var"], 0.9 * old["var"] + 0.1 * real.var(0), rtol=1e-4)
    # train mode normalizes with the (masked) batch statistics, not the running ones
    q, d = variables["params"]["norm_0"], variables["params"]["block_0"]["Dense_0"]
    n0 = (real - real.mean(0)) / np.sqrt(real.var(0) + BN_EPS) * q["scale"] + q["bias"]
    want = real + np.maximum(n0 @ d["kernel"] + d["bias"], 0.0)
    np.testing.assert_allclose(h[:11], want, rtol=1e-4, atol=1e-4)
    jitted = jax.jit(partial(module.apply, train=True, mutable=["batch_stats"]))
    chex.assert_trees_all_close(jitted(variables, x, mask_B=mask_B), (h, upd), rtol=1e-5)


def test_bn_eval_uses_running_statistics_jit_equals_eager(x_BxD):
    module = build("tower", "bn", "post")
    variables = random_variables(module, x_BxD)
    eager = module.apply(variables, x_BxD, train=False)
    jitted = jax.jit(partial(module.apply, train=False))(variables, x_BxD)
    chex.assert_trees_all_close(eager, jitted, rtol=1e-6, atol=1e-6)
    # eval rows are independent of the batch: each row alone gives the same output
    rows = jnp.concatenate([module.apply(variables, x_BxD[i : i + 1]) for i in range(BATCH)])
    np.testing.assert_allclose(rows, eager, rtol=1e-5, atol=1e-6)
    # and the running statistics matter (changing them changes the output)
    shifted = jax.tree.map(lambda v: v + 1.0, variables["batch_stats"])
    moved = module.apply({**variables, "batch_stats": shifted}, x_BxD)
    assert not np.allclose(moved, eager, atol=1e-3)


def test_in_block_batch_norm_default_is_unchanged_by_a_full_mask():
    """BARS's in-block BN: passing an all-ones mask is bit-identical to passing none."""
    tower = Tower((16, 16), resnets.get("identity"), dropout=0.0, batch_norm=True)
    x = jax.random.normal(jax.random.key(0), (32, 12))
    variables = tower.init(jax.random.key(1), x)
    assert not any(k.startswith("norm_") for k in variables["params"])
    a = tower.apply(variables, x, train=True, mutable=["batch_stats"])
    b = tower.apply(variables, x, train=True, mask_B=jnp.ones(32), mutable=["batch_stats"])
    chex.assert_trees_all_equal(a, b)


def test_errors_name_the_problem(x_BxD):
    with pytest.raises(ValueError, match="norm='group'"):
        build("tower", "group", "pre").init(jax.random.key(0), x_BxD)
    with pytest.raises(ValueError, match="norm_position='mid'"):
        build("stack", "ln", "mid").init(jax.random.key(0), x_BxD)
    for kind in ("stack", "tower"):
        with pytest.raises(ValueError, match="dag with norm='bn'"):
            build(kind, "bn", "pre", family="dag").init(jax.random.key(0), x_BxD)


@pytest.mark.parametrize("activation", ["relu", "dice"])
def test_stack_mlp_blocks_keep_padding_rows_out_of_their_statistics(activation):
    # in-block BatchNorm (and Dice's) of a ResidualStack's MLP blocks, not only stack-level norm
    stack = resnets.ResidualStack(
        partial(MLP, WIDTH, activation=activation, batch_norm=True), resnets.get("identity"), 2
    )
    x = jax.random.normal(jax.random.key(3), (16, WIDTH))
    variables = stack.init(jax.random.key(0), x)
    mask_B = jnp.arange(16) < 11
    apply = partial(stack.apply, variables, train=True, mutable=["batch_stats"])
    _, padded = apply(x.at[11:].set(100.0), mask_B=mask_B)
    _, real = apply(x[:11])
    chex.assert_trees_all_close(padded, real, rtol=1e-5, atol=1e-6)
