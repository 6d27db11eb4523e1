"""mhc (manifold-constrained hyper-connections): the Sinkhorn-Knopp projection on its own, the
chosen initialisation as the pre-norm residual, a brute-force per-row oracle with trained-like
weights, and the checks every family passes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from resnets_helpers import DEPTH, randomize
from stream_checks import (
    check_3d_state,
    check_causal,
    check_deep_stack,
    check_jit_equals_eager,
    check_width_change_matches_identity,
    identity_reference,
    probe_stack,
    run_with_inputs,
)

import resnets
from resnets.mhc import res_bias, sinkhorn_knopp

PERTURB = ("phi_pre", "phi_post", "phi_res", "alpha_pre", "alpha_post", "alpha_res")
PERTURB_ALL = (*PERTURB, "b_pre", "b_post", "b_res")
TOL = 1e-5


def _sums_are_one(m, axis):
    np.testing.assert_allclose(np.asarray(m).sum(axis=axis), 1.0, rtol=0, atol=TOL)


def _closed_form(n, p):
    """p on the diagonal, (1 - p)/(n - 1) elsewhere."""
    return np.eye(n) * p + (1.0 - np.eye(n)) * (1.0 - p) / max(n - 1, 1)


@pytest.mark.parametrize("n", range(1, 9))
def test_sinkhorn_at_init_is_doubly_stochastic_and_the_chosen_matrix(n):
    for p in (0.95, 0.5, 1.0 / n) if n > 1 else (0.95,):
        m = sinkhorn_knopp(jnp.asarray(res_bias(n, p)), 20)
        _sums_are_one(m, -1)
        _sums_are_one(m, -2)
        np.testing.assert_allclose(m, _closed_form(n, p) if n > 1 else [[1.0]], atol=1e-6)


@pytest.mark.parametrize("n", [2, 3, 4, 8])
def test_sinkhorn_of_random_logits(n):
    """Logits N(0, 2²), 256 draws. Every output is non-negative, its rows sum to 1 (the last
    step normalises rows) and it is a diagonal scaling of exp(L): log M - L = u_i + v_j. Columns
    converge to 1: within 1e-5 after enough rounds. At the paper's 20 rounds they do not for
    about a third of such draws (up to ~4e-2 off, slow near-permutation cases); the module
    keeps 20 (mHC eq. 9)."""
    logits = 2.0 * jax.random.normal(jax.random.key(n), (256, n, n))
    m = np.asarray(sinkhorn_knopp(logits, 20), np.float64)
    assert np.all(m >= 0.0)
    _sums_are_one(m, -1)
    scaling = np.log(m) - np.asarray(logits, np.float64)
    centred = (
        scaling
        - scaling.mean(axis=-1, keepdims=True)
        - scaling.mean(axis=-2, keepdims=True)
        + scaling.mean(axis=(-2, -1), keepdims=True)
    )
    np.testing.assert_allclose(centred, 0.0, atol=1e-4)
    converged = sinkhorn_knopp(logits, 5000)
    _sums_are_one(converged, -1)
    _sums_are_one(converged, -2)


def test_sinkhorn_2x2_matches_its_closed_form_limit():
    """exp(L) = [[a, b], [c, d]]: the doubly stochastic limit has diagonal √(ad)/(√(ad)+√(bc))."""
    logits = jax.random.normal(jax.random.key(0), (256, 2, 2))
    e = np.exp(np.asarray(logits, np.float64))
    diag = np.sqrt(e[:, 0, 0] * e[:, 1, 1])
    p = diag / (diag + np.sqrt(e[:, 0, 1] * e[:, 1, 0]))
    want = np.stack([np.stack([p, 1 - p], -1), np.stack([1 - p, p], -1)], -2)
    np.testing.assert_allclose(sinkhorn_knopp(logits, 500), want, atol=1e-5)


def test_initialisation_is_the_chosen_one(x_BxD):
    n = 4
    params = probe_stack("mhc", n=n).init(jax.random.key(0), x_BxD)["params"]
    for k in range(DEPTH):
        conn = params[f"conn_{k}"]
        for name in ("pre", "post", "res"):
            np.testing.assert_array_equal(conn[f"phi_{name}"], 0.0)
            np.testing.assert_allclose(conn[f"alpha_{name}"], 0.01)
        np.testing.assert_allclose(jax.nn.sigmoid(conn["b_pre"]), 1.0 / n, rtol=1e-6)
        np.testing.assert_array_equal(conn["b_post"], 0.0)
        c = np.log(3 * 0.95 / 0.05)
        np.testing.assert_allclose(conn["b_res"], c * np.eye(n), rtol=1e-6)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("uniform", [False, True])
def test_at_init_reads_the_pre_norm_states(x_BxD, n, uniform):
    """H_pre = 1/n, H_post = 1, H_res row-stochastic keep the streams h_k: reads == h_k and
    readout == n·h_L to float rounding (σ(logit(1/n)) and SK are exact only to rounding)."""
    opts = {"n": n, "res_diag": 1.0 / n if uniform else 0.95}
    for norm in ("none", "ln"):
        model = probe_stack("mhc", norm=norm, **opts)
        params = model.init(jax.random.key(0), x_BxD)["params"]
        y, reads = run_with_inputs(model, params, x_BxD)
        want, want_reads = identity_reference(model, params, x_BxD, norm=norm)
        for got, ref in zip(reads, want_reads, strict=True):
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y, n * want, rtol=1e-5, atol=1e-6)
        mean = probe_stack("mhc", norm=norm, readout_mode="mean", **opts)
        y_mean = mean.apply({"params": params}, x_BxD)
        np.testing.assert_allclose(y_mean, want, rtol=1e-5, atol=1e-6)


def test_one_stream_reads_half_the_state_which_the_pre_norm_removes(x_BxD):
    """n = 1: H_res = SK(0) = 1 and H_post = 2σ(0) = 1 exactly, H_pre = σ(0) = 1/2: the pre-norm
    residual up to the LayerNorm's eps."""
    model = probe_stack("mhc", n=1)
    params = model.init(jax.random.key(0), x_BxD)["params"]
    y, _ = run_with_inputs(model, params, x_BxD)
    want, _ = identity_reference(model, params, x_BxD)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def _oracle(params, x, n, iters=20):
    """Eq. 3, 7-9 row by row in float64 (plain-domain Sinkhorn, no stack norm): the output and
    every layer's batch-mean H_res."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    out, h_res_mean = [], np.zeros((DEPTH, n, n))
    for row in np.asarray(x, np.float64):
        h = np.stack([row] * n)
        for k in range(DEPTH):
            conn, dense = p[f"conn_{k}"], p[f"block_{k}"]["Dense_0"]
            flat = h.reshape(-1)
            flat = flat / np.sqrt(np.mean(flat**2) + 1e-6)
            pre = sig(conn["alpha_pre"] * flat @ conn["phi_pre"] + conn["b_pre"])
            post = 2.0 * sig(conn["alpha_post"] * flat @ conn["phi_post"] + conn["b_post"])
            m = np.exp(conn["alpha_res"] * (flat @ conn["phi_res"]).reshape(n, n) + conn["b_res"])
            for _ in range(iters):
                m = m / m.sum(axis=0, keepdims=True)
                m = m / m.sum(axis=1, keepdims=True)
            h_res_mean[k] += m / len(x)
            fx = np.tanh(sum(pre[i] * h[i] for i in range(n)) @ dense["kernel"] + dense["bias"])
            h = np.stack([sum(m[i, j] * h[j] for j in range(n)) + post[i] * fx for i in range(n)])
        out.append(h.sum(axis=0))
    return np.stack(out), h_res_mean


def test_matches_brute_force_with_trained_like_weights(x_BxD):
    n = 3
    model = probe_stack("mhc", n=n, norm="none")
    params = model.init(jax.random.key(0), x_BxD)["params"]
    params = randomize(params, PERTURB_ALL)
    y, state = model.apply({"params": params}, x_BxD, mutable=["intermediates"])
    want, h_res_mean = _oracle(params, x_BxD, n)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    for k in range(DEPTH):
        sown = state["intermediates"][f"conn_{k}"]["h_res"][0]
        np.testing.assert_allclose(sown, h_res_mean[k], rtol=1e-5, atol=1e-6)


def test_shared_instance_starts_as_the_pre_norm_residual(x_BxD):
    model = probe_stack("mhc", shared=True, readout_mode="mean")
    params = model.init(jax.random.key(0), x_BxD)["params"]
    assert "conn" in params and "conn_0" not in params
    y, state = model.apply({"params": params}, x_BxD, mutable=["intermediates"])
    want, _ = identity_reference(model, params, x_BxD)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    sown = state["intermediates"]["conn"]["h_res"]
    assert len(sown) == DEPTH
    np.testing.assert_allclose(sown[0], _closed_form(4, 0.95), atol=1e-6)


def test_learned_names_are_parameter_leaves(x_BxD):
    params = probe_stack("mhc").init(jax.random.key(0), x_BxD)["params"]
    assert set(resnets.CONNECTIONS["mhc"].learned) <= set(params["conn_0"])


def test_jit_equals_eager():
    check_jit_equals_eager("mhc", {}, PERTURB_ALL)


@pytest.mark.parametrize("shared", [False, True])
def test_causal(shared):
    check_causal("mhc", {}, PERTURB_ALL, shared)


@pytest.mark.slow  # the registry loop's deep-stack test runs the defaults in the fast suite
def test_32_layers_pass_gradients():
    check_deep_stack("mhc", {})


def test_width_change():
    check_width_change_matches_identity("mhc", {})


def test_3d_state():
    check_3d_state("mhc", {}, PERTURB_ALL)


@pytest.mark.parametrize(
    "opts,message",
    [
        ({"n": 0}, "n \\(streams\\) must be an int >= 1"),
        ({"readout_mode": "last"}, "readout_mode must be one of"),
        ({"sinkhorn_iters": 0}, "sinkhorn_iters must be an int >= 1"),
        ({"res_diag": 1.0}, "res_diag \\(the diagonal of H_res at init\\) must lie in"),
    ],
)
def test_bad_options_raise(opts, message):
    with pytest.raises(ValueError, match=f"mhc: {message}"):
        resnets.get("mhc", **opts)()
