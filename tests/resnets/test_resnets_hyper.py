"""hyper (hyper-connections): exact reductions to the pre-norm residual at init, a brute-force
per-row oracle with trained-like weights, and the checks every family passes."""

import jax
import numpy as np
import pytest
from resnets_helpers import DEPTH, WIDTH, randomize
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

VARIANTS = [{}, {"dynamic": True}, {"dynamic": True, "stream_norm": "rms", "tanh": False}]
PERTURB = (
    "static_alpha",
    "static_beta",
    "dynamic_alpha_fn",
    "dynamic_beta_fn",
    "dynamic_alpha_scale",
    "dynamic_beta_scale",
    "stream_norm",
)


def _init(model, x):
    return model.init(jax.random.key(0), x)["params"]


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("position", ["pre", "post"])
def test_one_stream_at_init_is_the_identity_residual_bitwise(x_BxD, dynamic, position):
    """n = 1, HC = [[0, 1], [1, 1]] (eq. 15): h + f(LN h) (pre) or LN(h + f(h)) (post), exactly."""
    model = probe_stack("hyper", n=1, dynamic=dynamic, norm="ln", position=position)
    params = _init(model, x_BxD)
    y, reads = run_with_inputs(model, params, x_BxD)
    want, want_reads = identity_reference(model, params, x_BxD, norm="ln", position=position)
    np.testing.assert_array_equal(y, want)
    for got, ref in zip(reads, want_reads, strict=True):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("opts", VARIANTS)
def test_any_n_at_init_reads_the_pre_norm_states(x_BxD, n, opts):
    """Every stream stays h_k and A_m = e_{k mod n} reads it: reads == h_k bitwise (no stack
    norm, so the block input is the read itself; with LN, LN of it), readout n·h_L."""
    for norm in ("none", "ln"):
        model = probe_stack("hyper", n=n, norm=norm, **opts)
        params = _init(model, x_BxD)
        y, reads = run_with_inputs(model, params, x_BxD)
        want, want_reads = identity_reference(model, params, x_BxD, norm=norm)
        for got, ref in zip(reads, want_reads, strict=True):
            np.testing.assert_array_equal(got, ref)
        np.testing.assert_allclose(y, n * want, rtol=1e-6)
        mean = probe_stack("hyper", n=n, norm=norm, readout_mode="mean", **opts)
        np.testing.assert_allclose(mean.apply({"params": params}, x_BxD), want, rtol=1e-6)


def test_initialisation_is_the_papers(x_BxD):
    """A_m = e_{k mod n}, A_r = I, B = 1 (eq. 14); W = 0, s = 0.01, norm scale 1."""
    n, depth = 4, 6
    params = _init(probe_stack("hyper", depth=depth, n=n, dynamic=True), x_BxD)
    for k in range(depth):
        conn = params[f"conn_{k}"]
        a_m = np.zeros(n)
        a_m[k % n] = 1.0
        np.testing.assert_array_equal(conn["static_alpha"][:, 0], a_m)
        np.testing.assert_array_equal(conn["static_alpha"][:, 1:], np.eye(n))
        np.testing.assert_array_equal(conn["static_beta"], np.ones(n))
        np.testing.assert_array_equal(conn["dynamic_alpha_fn"], 0.0)
        np.testing.assert_array_equal(conn["dynamic_beta_fn"], 0.0)
        np.testing.assert_allclose([conn["dynamic_alpha_scale"], conn["dynamic_beta_scale"]], 0.01)
        np.testing.assert_array_equal(conn["stream_norm"]["scale"], 1.0)


def _layer_norm(h, scale, rms):
    if rms:
        return h / np.sqrt(np.mean(h**2, axis=-1, keepdims=True) + 1e-6) * scale
    centred = h - h.mean(axis=-1, keepdims=True)
    return centred / np.sqrt(np.mean(centred**2, axis=-1, keepdims=True) + 1e-6) * scale


def _oracle(params, x, n, dynamic, tanh=True, rms=False):
    """Eq. 2-5 and 10-13 row by row, stream by stream, in float64 (no stack norm)."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    out = []
    for row in np.asarray(x, np.float64):
        h = [row.copy() for _ in range(n)]
        for k in range(DEPTH):
            conn, dense = p[f"conn_{k}"], p[f"block_{k}"]["Dense_0"]
            alpha, beta = conn["static_alpha"].copy(), conn["static_beta"].copy()
            if dynamic:
                squash = np.tanh if tanh else (lambda z: z)
                for i in range(n):
                    h_bar = _layer_norm(h[i], conn["stream_norm"]["scale"], rms)
                    alpha[i] += conn["dynamic_alpha_scale"] * squash(
                        h_bar @ conn["dynamic_alpha_fn"]
                    )
                    beta[i] += conn["dynamic_beta_scale"] * squash(h_bar @ conn["dynamic_beta_fn"])
            read = sum(alpha[i, 0] * h[i] for i in range(n))
            fx = np.tanh(read @ dense["kernel"] + dense["bias"])
            h = [beta[j] * fx + sum(alpha[i, 1 + j] * h[i] for i in range(n)) for j in range(n)]
        out.append(sum(h))
    return np.stack(out)


@pytest.mark.parametrize("opts", VARIANTS)
def test_matches_brute_force_with_trained_like_weights(x_BxD, opts):
    n = 3
    model = probe_stack("hyper", n=n, norm="none", **opts)
    params = randomize(_init(model, x_BxD), PERTURB)
    want = _oracle(
        params,
        x_BxD,
        n,
        opts.get("dynamic", False),
        opts.get("tanh", True),
        opts.get("stream_norm") == "rms",
    )
    np.testing.assert_allclose(model.apply({"params": params}, x_BxD), want, rtol=1e-5, atol=1e-5)


def test_shared_instance_starts_as_the_pre_norm_residual(x_BxD):
    """shared=True: one `conn` (A_m = e_0 for every layer), still the pre-norm residual."""
    model = probe_stack("hyper", shared=True, dynamic=True, readout_mode="mean")
    params = _init(model, x_BxD)
    assert "conn" in params and "conn_0" not in params
    np.testing.assert_array_equal(params["conn"]["static_alpha"][:, 0], [1.0, 0.0, 0.0, 0.0])
    y, _ = run_with_inputs(model, params, x_BxD)
    want, _ = identity_reference(model, params, x_BxD)
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_dynamic_weights_are_sown_as_batch_means(x_BxD):
    """Layer 0 sees n copies of x: alpha = A + s_α tanh(LN(x) W) per row, averaged over rows."""
    model = probe_stack("hyper", n=3, dynamic=True)
    params = randomize(_init(model, x_BxD), PERTURB)
    _, state = model.apply({"params": params}, x_BxD, mutable=["intermediates"])
    conn, p = state["intermediates"]["conn_0"], jax.tree.map(np.asarray, params["conn_0"])
    h_bar = _layer_norm(np.asarray(x_BxD, np.float64), p["stream_norm"]["scale"], rms=False)
    dyn_alpha = np.tanh(h_bar @ p["dynamic_alpha_fn"]).mean(axis=0)
    dyn_beta = np.tanh(h_bar @ p["dynamic_beta_fn"]).mean(axis=0)
    want_alpha = p["static_alpha"] + p["dynamic_alpha_scale"] * dyn_alpha[None, :]
    np.testing.assert_allclose(conn["alpha"][0], want_alpha, rtol=1e-5, atol=1e-6)
    want_beta = p["static_beta"] + p["dynamic_beta_scale"] * dyn_beta
    np.testing.assert_allclose(conn["beta"][0], want_beta, rtol=1e-5, atol=1e-6)
    static = probe_stack("hyper", n=3)
    _, state = static.apply({"params": _init(static, x_BxD)}, x_BxD, mutable=["intermediates"])
    assert set(state["intermediates"]["conn_1"]) == {"state"}  # static: the parameters suffice


def test_learned_names_are_parameter_leaves(x_BxD):
    params = _init(probe_stack("hyper", dynamic=True), x_BxD)
    assert set(resnets.CONNECTIONS["hyper"].learned) <= set(params["conn_0"])


@pytest.mark.parametrize("opts", VARIANTS)
def test_jit_equals_eager(opts):
    check_jit_equals_eager("hyper", opts, PERTURB)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("opts", VARIANTS[:2])
def test_causal(opts, shared):
    check_causal("hyper", opts, PERTURB, shared)


@pytest.mark.slow  # the registry loop's deep-stack test runs the defaults in the fast suite
@pytest.mark.parametrize("opts", VARIANTS[:2])
def test_32_layers_pass_gradients(opts):
    check_deep_stack("hyper", opts)


@pytest.mark.parametrize("opts", VARIANTS[:2])
def test_width_change(opts):
    check_width_change_matches_identity("hyper", opts)


@pytest.mark.parametrize("opts", VARIANTS[:2])
def test_3d_state(opts):
    check_3d_state("hyper", opts, PERTURB)


@pytest.mark.parametrize(
    "opts,message",
    [
        ({"n": 0}, "n \\(streams\\) must be an int >= 1"),
        ({"readout_mode": "max"}, "readout_mode must be one of"),
        ({"stream_norm": "batch"}, "stream_norm must be one of"),
    ],
)
def test_bad_options_raise(opts, message):
    with pytest.raises(ValueError, match=f"hyper: {message}"):
        resnets.get("hyper", **opts)()


def test_a_transformer_block_reads_out_the_streams_mean():
    """Each Transformer block is its own stack; a sum readout would multiply the residual stream
    by n at every block. At init (zero output projections) a block is the identity map."""
    from resnets.blocks import TransformerBlock

    x = jax.random.normal(jax.random.key(1), (2, 3, WIDTH))
    for family in ("hyper", "mhc"):
        block = TransformerBlock(2, connection=resnets.get(family, n=4))
        y = block.apply(block.init(jax.random.key(0), x), x)
        np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5, err_msg=family)
    assert resnets.slot_factory(resnets.get("hyper"), nested=True).options["readout_mode"] == "mean"
