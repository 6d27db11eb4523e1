"""laurel (LAuReL): exact reductions to identity/scaled, a brute-force oracle of eq. 6 (and of
every other variant), causality, jit == eager, deep, shared, width change and 3-D states."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from resnets_helpers import BATCH, WIDTH, mlp_stack, randomize, with_blocks
from stream_checks import check_deep_stack

import resnets
from resnets.laurel import VARIANTS, LaurelConnection

FACTORS = ("alpha", "beta", "alpha_logit", "beta_logit", "gamma", "lr_a", "lr_b", "pa_a", "pa_b")


def _init(model, x, seed=0):
    return model.init(jax.random.key(seed), x)["params"]


def _apply(model, params, x):
    return model.apply({"params": params}, x)


def _same_blocks(fam_a, opts_a, fam_b, opts_b, x, depth=3, randomized=()):
    """Outputs of two stacks with the same blocks; `randomized` leaves of the first perturbed."""
    a, b = mlp_stack(fam_a, depth, **opts_a), mlp_stack(fam_b, depth, **opts_b)
    pa = randomize(_init(a, x), randomized)
    pb = with_blocks(pa, _init(b, x, seed=5))
    return pa, pb, _apply(a, pa, x), _apply(b, pb, x)


def test_unbounded_rw_with_unit_weights_is_identity(x_BxD):
    for per_dim in (False, True):
        opts = {"variant": "rw", "bound": "none", "per_dim": per_dim}
        *_, ya, yb = _same_blocks("laurel", opts, "identity", {}, x_BxD)
        np.testing.assert_array_equal(ya, yb)


def test_lr_with_zero_b_is_identity_for_any_a(x_BxD):
    *_, ya, yb = _same_blocks(
        "laurel", {"variant": "lr"}, "identity", {}, x_BxD, randomized=("lr_a",)
    )
    np.testing.assert_array_equal(ya, yb)


def test_pa_with_zero_gamma_is_identity_and_lowrank_reads_with_zero_b_drop_out(x_BxD):
    *_, ya, yb = _same_blocks("laurel", {"variant": "pa"}, "identity", {}, x_BxD)
    np.testing.assert_array_equal(ya, yb)
    noise = ("gamma", "pa_a")
    *_, ya, yb = _same_blocks("laurel", {"variant": "lr+pa"}, "identity", {}, x_BxD, 3, noise)
    np.testing.assert_array_equal(ya, yb)


def test_rw_lr_pa_with_zero_b_is_rw(x_BxD):
    noise = ("alpha_logit", "beta_logit", "gamma", "pa_a")
    pa, pb, ya, _ = _same_blocks(
        "laurel", {"variant": "rw+lr+pa"}, "laurel", {"variant": "rw"}, x_BxD, 3, noise
    )
    for k in range(3):
        pb[f"conn_{k}"] = {n: pa[f"conn_{k}"][n] for n in ("alpha_logit", "beta_logit")}
    np.testing.assert_array_equal(ya, _apply(mlp_stack("laurel", variant="rw"), pb, x_BxD))


def test_lr_is_scaled_lowrank_with_the_same_factors(x_BxD):
    pa, pb, ya, _ = _same_blocks(
        "laurel", {"variant": "lr"}, "scaled", {"w": "lowrank"}, x_BxD, 3, ("lr_a", "lr_b")
    )
    for k in range(3):
        pb[f"conn_{k}"] = {"beta": pb[f"conn_{k}"]["beta"]} | {
            "w_a": pa[f"conn_{k}"]["lr_a"],
            "w_b": pa[f"conn_{k}"]["lr_b"],
        }
    yb = _apply(mlp_stack("scaled", w="lowrank"), pb, x_BxD)
    np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _oracle(params, x, variant, bound, depth, shared):
    """Explicit loops over layers and over j (float64):
    x_{i+1} = α f(x_i) + β (P x_i + [P x_i A B] + Σ_{j<min(k, i+1)} γ_j h_j(P x_{i-j}))."""
    parts = variant.split("+")
    hist = [np.asarray(x, np.float64)]
    for i in range(depth):
        conn = {k: np.asarray(v, np.float64) if not isinstance(v, dict) else v
                for k, v in params["conn" if shared else f"conn_{i}"].items()}  # fmt: skip
        blk = params[f"block_{i}"]["Dense_0"]
        fx = np.maximum(hist[-1] @ np.asarray(blk["kernel"]) + np.asarray(blk["bias"]), 0.0)

        def fit(h, conn=conn):
            w = h.shape[-1]
            return h if w == WIDTH else h @ np.asarray(conn[f"projection_{w}"]["kernel"])

        carry = fit(hist[-1])
        if "pa" in parts:
            for j in range(min(3, len(hist))):
                read = fit(hist[-1 - j])
                if "lr" in parts:
                    read = read @ conn["pa_a"][j] @ conn["pa_b"][j]
                carry = carry + conn["gamma"][j] * read
        elif "lr" in parts:
            carry = carry + carry @ conn["lr_a"] @ conn["lr_b"]
        if "rw" not in parts:
            hist.append(fx + carry)
            continue
        if bound == "none":
            alpha, beta = conn["alpha"], conn["beta"]
        elif bound == "sigmoid":
            alpha, beta = _sigmoid(conn["alpha_logit"]), _sigmoid(conn["beta_logit"])
        else:
            ea, eb = np.exp(conn["alpha_logit"]), np.exp(conn["beta_logit"])
            alpha, beta = ea / (ea + eb), eb / (ea + eb)
        hist.append(alpha * fx + beta * carry)
    return hist[-1]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_matches_brute_force_loops(variant):
    """rw+lr+pa is eq. 6 (k = 3) on a 4-layer stack; input 5 wide so projections are covered."""
    x = jax.random.normal(jax.random.key(2), (BATCH, 5))
    cases = [("softmax", False, False), ("sigmoid", True, False), ("none", False, True)]
    for bound, per_dim, shared in cases:
        opts = {"variant": variant} | ({"k_prev": 3} if "pa" in variant else {})
        if "rw" in variant:
            opts |= {"bound": bound, "per_dim": per_dim}
        model = mlp_stack("laurel", 4, shared=shared, **opts)
        params = randomize(_init(model, x), FACTORS)
        got = _apply(model, params, x)
        want = _oracle(params, x, variant, bound, 4, shared)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{bound} {shared}")


def test_jit_equals_eager_and_3d_states_act_row_by_row():
    """B x F x D (the attention slot's shape) gives the (B·F) x D result row by row."""
    x_BxFxD = jax.random.normal(jax.random.key(3), (BATCH, 3, WIDTH))
    for variant in VARIANTS:
        opts = {"variant": variant} | ({"per_dim": True} if "rw" in variant else {})
        model = mlp_stack("laurel", 4, **opts)
        params = randomize(_init(model, x_BxFxD), FACTORS)
        eager = _apply(model, params, x_BxFxD)
        jitted = jax.jit(partial(_apply, model))(params, x_BxFxD)
        np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-5, err_msg=variant)
        rows = _apply(model, params, x_BxFxD.reshape(-1, WIDTH)).reshape(eager.shape)
        np.testing.assert_allclose(eager, rows, rtol=1e-5, atol=1e-6, err_msg=variant)


def _states(model, params, x, depth):
    _, state = model.apply({"params": params}, x, mutable=["intermediates"])
    inter = state["intermediates"]
    if "conn" in inter:
        return list(inter["conn"]["state"])
    return [inter[f"conn_{k}"]["state"][0] for k in range(depth)]


@pytest.mark.parametrize("shared", [False, True])
def test_no_state_depends_on_a_later_layer(shared):
    """d h_{k+1} / d θ_j = 0 for every block j > k and != 0 for j <= k (perturbed factors, so
    the low-rank and previous-state reads carry gradient)."""
    x = jax.random.normal(jax.random.key(1), (BATCH, 5))
    depth = 4
    for variant in ("rw+lr", "rw+pa", "rw+lr+pa"):
        model = mlp_stack("laurel", depth, "tanh", shared=shared, variant=variant)
        params = randomize(_init(model, x), FACTORS)
        for k in range(depth):
            r = jax.random.normal(jax.random.key(k), _states(model, params, x, depth)[k].shape)
            grads = jax.grad(
                lambda p, k=k, r=r: jnp.sum(_states(model, p, x, depth)[k] * r)  # noqa: B023
            )(params)
            for j in range(depth):
                norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads[f"block_{j}"]))
                assert (norm == 0.0) if j > k else (norm > 0.0), (variant, k, j)


@pytest.mark.slow  # compiling 32 layers takes ~20 s on 2 cores; the registry loop runs rw+lr
def test_32_layers_pass_finite_gradients_to_the_first_block():
    grads = check_deep_stack("laurel", {"variant": "rw+lr+pa"}, in_width=5)
    assert np.abs(grads["conn_31"]["pa_b"]).sum() > 0.0


def test_shared_instance_holds_one_set_of_parameters(x_BxD):
    for variant in VARIANTS:
        params = _init(mlp_stack("laurel", 4, shared=True, variant=variant), x_BxD)
        assert [k for k in params if k.startswith("conn")] == ["conn"], variant


def test_learned_leaves_are_listed_for_logging():
    x = jax.random.normal(jax.random.key(1), (BATCH, 5))
    for variant in VARIANTS:
        for bound in ("softmax", "none") if "rw" in variant else (None,):
            opts = {"variant": variant} | ({"bound": bound} if bound else {})
            conn = _init(mlp_stack("laurel", 2, **opts), x)["conn_1"]
            leaves = {k for k in conn if not k.startswith("projection_")}
            assert leaves and leaves <= set(LaurelConnection.learned), (variant, leaves)


@pytest.mark.parametrize(
    "opts,match",
    [
        ({"variant": "lr+rw"}, r"laurel: variant='lr\+rw'; choose from"),
        ({"bound": "tanh"}, r"laurel: bound='tanh'; choose from"),
        ({"rank": 0}, r"laurel: rank must be an integer >= 1, got 0"),
        ({"variant": "lr", "bound": "sigmoid"}, r"option 'bound' belongs to the 'rw' part"),
        ({"variant": "rw", "k_prev": 2}, r"option 'k_prev' belongs to the 'pa' part"),
    ],
)
def test_bad_options_are_named(opts, match):
    with pytest.raises(ValueError, match=match):
        resnets.get("laurel", **opts)
