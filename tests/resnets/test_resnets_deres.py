"""deres: equals the plain residual at init (any gate), a brute-force numpy oracle of the proposed
equations with learned gate and queries, plus the contract checks."""

from functools import partial

import attnres_oracle as oracle
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import stream_checks as checks
from resnets_helpers import BATCH, WIDTH, mlp_stack, randomize, with_blocks

from resnets.deres import DeResConnection

LEARNED = ("query", "key_scale", "logit_bias", "gate_logit", "kernel")


def _init(model, x, seed=0):
    return model.init(jax.random.key(seed), x)["params"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize(
    "opts,shared",
    [({}, False), ({"block": 2}, False), ({"gate": "dynamic", "block": 3}, False), ({}, True)],
)
def test_init_is_the_plain_residual(opts, shared, x_BxD):
    model = mlp_stack("deres", depth=5, shared=shared, activation="tanh", **opts)
    params = _init(model, x_BxD)
    ident = mlp_stack("identity", depth=5, shared=shared, activation="tanh")
    p = with_blocks(params, _init(ident, x_BxD, seed=5))
    got = checks.recorded_states(model, {"params": params}, x_BxD)
    want = checks.recorded_states(ident, {"params": p}, x_BxD)
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=1e-5, atol=1e-5)


def test_init_with_width_change_is_identity_with_the_same_projection():
    x5 = jax.random.normal(jax.random.key(2), (BATCH, 5))
    model = mlp_stack("deres", depth=3, block=2)
    params = _init(model, x5)
    ident = mlp_stack("identity", depth=3)
    p = with_blocks(params, _init(ident, x5, seed=5))
    p["conn_0"] = {"projection": params["conn_0"]["projection"]}
    np.testing.assert_allclose(
        model.apply({"params": params}, x5), ident.apply({"params": p}, x5), rtol=1e-5, atol=1e-5
    )


def _gate(conn, x, dynamic):
    logit = np.asarray(conn["gate_logit"], np.float64)
    if dynamic:
        rms = np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + oracle.EPS)
        logit = logit + (x / rms) @ np.asarray(conn["gate_proj"]["kernel"], np.float64)
    return _sigmoid(logit)


def _oracle_l4_b2(params, x, pointwise, dynamic):
    """x_{k+1} = g ⊙ (x_k + f_k) + (1 − g) ⊙ attend(sources), L=4, S=2, sources by hand."""
    f = partial(oracle.block, params)

    def step(k, xk, fk, sources):
        conn = params[f"conn_{k}"]
        g = _gate(conn, xk, dynamic)
        return g * (xk + fk) + (1.0 - g) * oracle.attend(conn, sources, pointwise)

    h0 = np.asarray(x, np.float64)
    f0 = f(0, h0)
    x1 = step(0, h0, f0, [h0, f0])
    f1 = f(1, x1)
    x2 = step(1, x1, f1, [h0, f0 + f1])
    f2 = f(2, x2)
    x3 = step(2, x2, f2, [h0, f0 + f1, f2])
    f3 = f(3, x3)
    return [x1, x2, x3, step(3, x3, f3, [h0, f0 + f1, f2 + f3])]


@pytest.mark.parametrize("pointwise", [True, False])
@pytest.mark.parametrize("gate", ["static", "dynamic"])
def test_matches_brute_force_with_learned_gate_and_queries(pointwise, gate, x_BxD):
    model = mlp_stack("deres", depth=4, activation="tanh", block=2, pointwise=pointwise, gate=gate)
    params = _init(model, x_BxD)
    conns = {k: randomize(v, LEARNED, seed=7) for k, v in params.items() if k.startswith("conn")}
    params = {**params, **conns}
    want = _oracle_l4_b2(params, x_BxD, pointwise, gate == "dynamic")
    got = checks.recorded_states(model, {"params": params}, x_BxD)
    np.testing.assert_allclose(np.stack(got), np.stack(want), rtol=1e-5, atol=1e-5)


def test_gate_gets_no_gradient_while_the_paths_agree(x_BxD):
    """At init both paths are h_{k+1}, so d out / d γ = (u − a) ⊙ g' = 0 to float; the queries
    still learn."""
    model = mlp_stack("deres", depth=4, block=2)
    params = _init(model, x_BxD)
    grads = jax.grad(lambda p: jnp.sum(model.apply({"params": p}, x_BxD) ** 2))(params)
    for k in range(4):
        np.testing.assert_allclose(grads[f"conn_{k}"]["gate_logit"], 0.0, atol=1e-5)
    assert np.abs(grads["conn_3"]["query"]).sum() > 1e-3


def test_gate_and_depth_weights_are_sown(x_BxD):
    model = mlp_stack("deres", depth=3)
    _, state = model.apply(model.init(jax.random.key(0), x_BxD), x_BxD, mutable=["intermediates"])
    for k in range(3):
        inter = state["intermediates"][f"conn_{k}"]
        np.testing.assert_allclose(inter["gate"][0], np.full(WIDTH, 0.5))
        np.testing.assert_allclose(inter["depth_weights"][0], np.ones(k + 2), rtol=1e-6)


def test_learned_leaves_are_parameters(x_BxD):
    params = _init(mlp_stack("deres", depth=2), x_BxD)
    for k in range(2):
        assert set(DeResConnection.learned) <= set(params[f"conn_{k}"])


def test_bad_gate_raises(x_BxD):
    with pytest.raises(ValueError, match="gate must be one of"):
        _init(mlp_stack("deres", depth=2, gate="vector"), x_BxD)


OPTIONS = [{}, {"block": 2, "gate": "dynamic"}, {"pointwise": False}]


@pytest.mark.parametrize("opts", OPTIONS)
def test_jit_equals_eager(opts, x_BxD):
    checks.check_jit_equals_eager("deres", opts)


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("shared", [False, True])
def test_causal(opts, shared, x_BxD):
    checks.check_causal("deres", opts, shared=shared, depth=4)


@pytest.mark.slow
def test_32_layers_pass_a_finite_gradient_to_the_first_block():
    """The defaults run in test_resnets_registry's deep-stack test."""
    checks.check_deep_stack("deres", dict(block=4, gate="dynamic"))


@pytest.mark.parametrize("opts", OPTIONS)
def test_width_change_and_3d_state(opts):
    checks.check_width_change("deres", opts)
    checks.check_3d_state("deres", opts)
