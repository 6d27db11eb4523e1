"""residual (ResiDual): the hand-written two-layer formula, the stack's norm option, 1-wide slots,
causality of the stream and of the accumulator, jit == eager, deep, shared, width change, 3-D."""

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from resnets_helpers import BATCH, WIDTH, mlp_stack, randomize
from stream_checks import check_deep_stack

import resnets
from resnets.blocks import MLP

LN_EPS = 1e-6  # flax's nn.LayerNorm default


def _ln(v, p):
    mean = v.mean(-1, keepdims=True)
    var = ((v - mean) ** 2).mean(-1, keepdims=True)
    return (v - mean) / np.sqrt(var + LN_EPS) * np.asarray(p["scale"]) + np.asarray(p["bias"])


def _f(params, k, v):
    blk = params[f"block_{k}"]["Dense_0"]
    return np.tanh(v @ np.asarray(blk["kernel"], np.float64) + np.asarray(blk["bias"]))


def _init(model, x, seed=0):
    return model.init(jax.random.key(seed), x)["params"]


def test_two_layers_match_the_hand_written_formula():
    """x1 = LN1(h0 + f1(h0)), x2 = LN2(x1 + f2(x1)), acc = h0 + f1(h0) + f2(x1),
    y = x2 + LN_out(acc); input 5 wide, so h0 enters both as P h0 (one P)."""
    h0 = jax.random.normal(jax.random.key(2), (BATCH, 5))
    model = mlp_stack("residual", 2, "tanh")
    params = randomize(_init(model, h0), ("scale", "bias", "kernel"))
    p0, p1 = params["conn_0"], params["conn_1"]
    assert set(p0) == {"projection", "post_norm"} and set(p1) == {"post_norm", "out_norm"}
    h = np.asarray(h0, np.float64)
    f1 = _f(params, 0, h)
    ph = h @ np.asarray(p0["projection"]["kernel"], np.float64)
    x1 = _ln(ph + f1, p0["post_norm"])
    f2 = _f(params, 1, x1)
    x2 = _ln(x1 + f2, p1["post_norm"])
    acc = ph + f1 + f2
    want = x2 + _ln(acc, p1["out_norm"])
    got = model.apply({"params": params}, h0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_one_layer_at_init_is_twice_the_post_norm(x_BxD):
    model = mlp_stack("residual", 1, "tanh")
    params = _init(model, x_BxD)
    h = np.asarray(x_BxD, np.float64)
    unit = {"scale": np.ones(WIDTH), "bias": np.zeros(WIDTH)}
    want = 2.0 * _ln(h + _f(params, 0, h), unit)
    np.testing.assert_allclose(model.apply({"params": params}, x_BxD), want, rtol=1e-4, atol=1e-5)


def test_pre_norm_is_an_extra_norm_inside_the_branch(x_BxD):
    model = resnets.ResidualStack(
        partial(MLP, WIDTH, "tanh"), resnets.get("residual"), 2, norm="ln", norm_position="pre"
    )
    params = randomize(_init(model, x_BxD), ("scale", "bias"))
    x = np.asarray(x_BxD, np.float64)
    acc = x
    for k in range(2):
        fx = _f(params, k, _ln(x, params[f"norm_{k}"]))
        x, acc = _ln(x + fx, params[f"conn_{k}"]["post_norm"]), acc + fx
    want = x + _ln(acc, params["conn_1"]["out_norm"])
    np.testing.assert_allclose(model.apply({"params": params}, x_BxD), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm", ["ln", "bn"])
def test_post_norm_is_refused_with_the_fix(x_BxD, norm):
    model = resnets.ResidualStack(
        partial(MLP, WIDTH), resnets.get("residual"), 2, norm=norm, norm_position="post"
    )
    with pytest.raises(ValueError, match=r"residual normalises after every merge itself.*"):
        model.init(jax.random.key(0), x_BxD)
    with pytest.raises(ValueError, match=r"use norm='none' \(ResiDual as published\)"):
        model.init(jax.random.key(0), x_BxD)


class _OneWide(nn.Module):
    """A one-layer stack on (B, 1) states: the shape of the wide + deep sum."""

    builtin_shortcut: bool

    @nn.compact
    def __call__(self, wide_Bx1, deep_Bx1):
        return resnets.residual_stack(
            wide_Bx1,
            [lambda h: deep_Bx1],
            resnets.get("residual"),
            train=False,
            builtin_shortcut=self.builtin_shortcut,
        )


def test_one_wide_states_keep_the_builtin_shortcut_or_raise():
    wide, deep = jnp.array([[0.5], [-1.0]]), jnp.array([[1.5], [0.25]])
    out, variables = _OneWide(True).init_with_output(jax.random.key(0), wide, deep)
    np.testing.assert_array_equal(out, wide + deep)
    assert not variables
    with pytest.raises(ValueError, match="residual needs states at least 2 wide"):
        _OneWide(False).init(jax.random.key(0), wide, deep)


def _every_layer(depth, shared):
    class Stack(nn.Module):
        @nn.compact
        def __call__(self, x):
            blocks = [MLP(WIDTH, "tanh", name=f"block_{k}") for k in range(depth)]
            factory = resnets.get("residual", shared=shared)
            return resnets.residual_stack(x, blocks, factory, train=False, every_layer=True)

    return Stack()


@pytest.mark.parametrize("shared", [False, True])
def test_no_output_depends_on_a_later_layer(shared):
    """Through the stream (recorded state x_{k+1}) and through the accumulator (the readout
    after layer k): d/dθ_j = 0 for blocks j > k and != 0 for j <= k."""
    depth, x = 3, jax.random.normal(jax.random.key(1), (BATCH, 5))
    model = _every_layer(depth, shared)
    params = _init(model, x)

    def outputs(p):
        readouts, state = model.apply({"params": p}, x, mutable=["intermediates"])
        inter = state["intermediates"]
        if shared:
            return list(inter["conn"]["state"]), readouts
        return [inter[f"conn_{k}"]["state"][0] for k in range(depth)], readouts

    for which in (0, 1):
        for k in range(depth):
            r = jax.random.normal(jax.random.key(k), (BATCH, WIDTH))
            grads = jax.grad(
                lambda p, k=k, r=r, w=which: jnp.sum(outputs(p)[w][k] * r)  # noqa: B023
            )(params)
            for j in range(depth):
                norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads[f"block_{j}"]))
                assert (norm == 0.0) if j > k else (norm > 0.0), (which, k, j)


def test_jit_equals_eager_shared_and_3d_states_act_row_by_row():
    x_BxFxD = jax.random.normal(jax.random.key(3), (BATCH, 3, 5))
    for shared in (False, True):
        model = mlp_stack("residual", 3, shared=shared)
        params = randomize(_init(model, x_BxFxD), ("scale", "bias"))
        if shared:
            assert [k for k in params if k.startswith("conn")] == ["conn"]
        apply = lambda p, x, model=model: model.apply({"params": p}, x)
        eager = apply(params, x_BxFxD)
        np.testing.assert_allclose(eager, jax.jit(apply)(params, x_BxFxD), rtol=1e-5, atol=1e-5)
        rows = apply(params, x_BxFxD.reshape(-1, 5)).reshape(eager.shape)
        np.testing.assert_allclose(eager, rows, rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # the registry loop's deep-stack test runs the defaults in the fast suite
def test_32_layers_pass_finite_gradients_to_the_first_block():
    check_deep_stack("residual", {}, in_width=5)
