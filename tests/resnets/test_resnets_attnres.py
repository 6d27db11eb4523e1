"""attnres: exact reductions (one source, zero queries, SiLU with the z* bias) and brute-force
numpy oracles of the full and block source lists, plus the contract checks."""

from functools import partial

import attnres_oracle as oracle
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import stream_checks as checks
from resnets_helpers import BATCH, WIDTH, mlp_stack, randomize, with_blocks

import resnets
from resnets.attnres import Z_STAR, AttnResConnection, depth_attention
from resnets.blocks import MLP


def _init(model, x, seed=0):
    return model.init(jax.random.key(seed), x)["params"]


def _identity_states(params, x, depth, **stack):
    """The plain pre-norm residual's recorded states with the same blocks."""
    ident = _stack("identity", depth, **stack)
    p = with_blocks(params, _init(ident, x, seed=5))
    return checks.recorded_states(ident, {"params": p}, x)


def _stack(family, depth, norm="none", shared=False, **opts):
    factory = resnets.get(family, shared=shared, **opts)
    return resnets.ResidualStack(partial(MLP, WIDTH, "tanh"), factory, depth, norm=norm)


def test_silu_of_z_star_is_one():
    assert abs(Z_STAR / (1.0 + np.exp(-Z_STAR)) - 1.0) < 1e-15


class _OneSource(nn.Module):
    @nn.compact
    def __call__(self, s):
        return depth_attention(self, s[None], pointwise=False)


def test_attention_over_a_single_earlier_state_returns_it(x_BxD):
    """Softmax over one source is exactly 1, whatever the query and the key norm."""
    module = _OneSource()
    params = randomize(_init(module, x_BxD), ("query", "key_scale"), seed=3)
    np.testing.assert_array_equal(module.apply({"params": params}, x_BxD), x_BxD)


def test_one_layer_reads_input_and_outputs_the_mean(x_BxD):
    model = _stack("attnres", 1)
    params = _init(model, x_BxD)
    fx = oracle.block(params, 0, np.asarray(x_BxD, np.float64))  # block 0 read h_0 itself
    want = (x_BxD + fx) / 2
    np.testing.assert_allclose(model.apply({"params": params}, x_BxD), want, 1e-5, 1e-6)


def _sources_l5_b2(read, x, params):
    """Block AttnRes, L=5, S=2, its source lists written out by hand (b_0 = h_0; blocks
    {f0, f1}, {f2, f3}, {f4}); `read(k, sources)` is layer k's aggregation. Returns the reads
    after each layer; the last is the stack's output."""
    f = partial(oracle.block, params)
    h0 = np.asarray(x, np.float64)
    f0 = f(0, h0)
    x1 = read(0, [h0, f0])
    f1 = f(1, x1)
    x2 = read(1, [h0, f0 + f1])
    f2 = f(2, x2)
    x3 = read(2, [h0, f0 + f1, f2])
    f3 = f(3, x3)
    x4 = read(3, [h0, f0 + f1, f2 + f3])
    f4 = f(4, x4)
    return [x1, x2, x3, x4, read(4, [h0, f0 + f1, f2 + f3, f4])]


def _sources_l3_full(read, x, params):
    """Full AttnRes, L=3: every block output is its own source."""
    f = partial(oracle.block, params)
    h0 = np.asarray(x, np.float64)
    f0 = f(0, h0)
    x1 = read(0, [h0, f0])
    f1 = f(1, x1)
    x2 = read(1, [h0, f0, f1])
    return [x1, x2, read(2, [h0, f0, f1, f(2, x2)])]


CASES = [(5, 2, _sources_l5_b2), (3, 1, _sources_l3_full)]


@pytest.mark.parametrize("depth,block,written_out", CASES)
def test_zero_queries_read_the_mean_of_the_sources(depth, block, written_out, x_BxD):
    model = _stack("attnres", depth, block=block)
    params = _init(model, x_BxD)
    want = written_out(lambda k, sources: np.mean(sources, axis=0), x_BxD, params)
    got = checks.recorded_states(model, {"params": params}, x_BxD)
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("depth,block,written_out", CASES)
@pytest.mark.parametrize("pointwise", [False, True])
def test_matches_brute_force_with_learned_queries(depth, block, written_out, pointwise, x_BxD):
    model = _stack("attnres", depth, block=block, pointwise=pointwise)
    params = randomize(_init(model, x_BxD), ("query", "key_scale", "logit_bias"), seed=1)
    read = lambda k, sources: oracle.attend(params[f"conn_{k}"], sources, pointwise)
    want = written_out(read, x_BxD, params)
    got = checks.recorded_states(model, {"params": params}, x_BxD)
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=1e-5, atol=1e-5)


def _sources_per_layer(depth, block):
    """Sources of layer k's aggregation: h_0, completed blocks, the open block if not empty."""
    return [1 + (k + 1) // block + ((k + 1) % block > 0) for k in range(depth)]


@pytest.mark.parametrize("block", [1, 2])
def test_softmax_zero_queries_is_the_pre_norm_residual_up_to_scale(block, x_BxD):
    """With a pre-LayerNorm inside every branch, read_k · (#sources) is the plain state h_{k+1}
    (LayerNorm removes the scalar 1/m, up to its eps)."""
    depth = 5
    model = _stack("attnres", depth, norm="ln", block=block)
    params = _init(model, x_BxD)
    got = checks.recorded_states(model, {"params": params}, x_BxD)
    want = _identity_states(params, x_BxD, depth, norm="ln")
    for k, m in enumerate(_sources_per_layer(depth, block)):
        np.testing.assert_allclose(got[k] * m, want[k], rtol=1e-4, atol=1e-4, err_msg=str(k))


@pytest.mark.parametrize("block,shared", [(1, False), (2, False), (3, True)])
def test_pointwise_with_z_star_reads_the_plain_residual_sum(block, shared, x_BxD):
    depth = 5
    model = _stack("attnres", depth, shared=shared, block=block, pointwise=True)
    params = _init(model, x_BxD)
    got = checks.recorded_states(model, {"params": params}, x_BxD)
    want = _identity_states(params, x_BxD, depth, shared=shared)
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=1e-5, atol=1e-5)


def test_pointwise_width_change_is_identity_with_the_same_projection():
    x5 = jax.random.normal(jax.random.key(2), (BATCH, 5))
    model = _stack("attnres", 3, block=2, pointwise=True)
    params = _init(model, x5)
    ident = _stack("identity", 3)
    p = with_blocks(params, _init(ident, x5, seed=5))
    p["conn_0"] = {"projection": params["conn_0"]["projection"]}
    np.testing.assert_allclose(
        model.apply({"params": params}, x5), ident.apply({"params": p}, x5), rtol=1e-5, atol=1e-6
    )


def test_depth_weights_are_sown_and_sum_to_one(x_BxD):
    model = _stack("attnres", 5, block=2)
    params = randomize(_init(model, x_BxD), ("query",), seed=2)
    _, state = model.apply({"params": params}, x_BxD, mutable=["intermediates"])
    for k, m in enumerate(_sources_per_layer(5, 2)):
        (weights,) = state["intermediates"][f"conn_{k}"]["depth_weights"]
        assert weights.shape == (m,)
        np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)
        assert np.ptp(weights) > 0.0  # learned queries: not uniform


def test_learned_leaves_are_parameters(x_BxD):
    params = _init(_stack("attnres", 2, pointwise=True), x_BxD)
    for k in range(2):
        assert set(AttnResConnection.learned) <= set(params[f"conn_{k}"])


def test_post_merge_function_applies_to_the_read(x_BxD):
    factory = resnets.get("attnres")
    model = resnets.ResidualStack(
        partial(MLP, WIDTH, "tanh"), factory, 3, norm="ln", norm_position="post"
    )
    y = model.apply(model.init(jax.random.key(0), x_BxD), x_BxD)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-3)


@pytest.mark.parametrize("block", [0, -1, 1.5, True])
def test_bad_block_raises(block, x_BxD):
    with pytest.raises(ValueError, match="block must be a positive int"):
        _stack("attnres", 2, block=block).init(jax.random.key(0), x_BxD)


OPTIONS = [{}, {"block": 2}, {"block": 2, "pointwise": True}]


@pytest.mark.parametrize("opts", OPTIONS)
def test_jit_equals_eager(opts, x_BxD):
    checks.check_jit_equals_eager("attnres", opts)


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("shared", [False, True])
def test_causal(opts, shared, x_BxD):
    checks.check_causal("attnres", opts, shared=shared, depth=4)


@pytest.mark.slow
def test_32_layers_pass_a_finite_gradient_to_the_first_block():
    """The defaults run in test_resnets_registry's deep-stack test."""
    checks.check_deep_stack("attnres", dict(block=4, pointwise=True))


@pytest.mark.parametrize("opts", OPTIONS)
def test_width_change_and_3d_state(opts):
    checks.check_width_change("attnres", opts)
    checks.check_3d_state("attnres", opts)


def test_shared_instance_has_one_query(x_BxD):
    model = mlp_stack("attnres", depth=4, shared=True, block=2)
    params = _init(model, x_BxD)
    assert params["conn"]["query"].shape == (WIDTH,)
    assert np.all(np.isfinite(model.apply({"params": params}, x_BxD)))
    assert jnp.shape(params["conn"]["key_scale"]) == (WIDTH,)
