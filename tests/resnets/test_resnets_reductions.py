"""Exact reductions between families (shared block parameters) and a brute-force dense oracle."""

import jax
import jax.numpy as jnp
import numpy as np
from resnets_helpers import DEPTH, mlp_stack, randomize, with_blocks


def _apply(model, params, x):
    return model.apply({"params": params}, x)


def _pair(fam_a, opts_a, fam_b, opts_b, x, shared=False):
    a, b = mlp_stack(fam_a, shared=shared, **opts_a), mlp_stack(fam_b, shared=shared, **opts_b)
    pa = a.init(jax.random.key(0), x)["params"]
    pb = with_blocks(pa, b.init(jax.random.key(5), x)["params"])
    return _apply(a, pa, x), _apply(b, pb, x)


def test_scaled_one_is_identity(x_BxD):
    ya, yb = _pair("scaled", {"beta_init": 1.0, "w": "one"}, "identity", {}, x_BxD)
    np.testing.assert_array_equal(ya, yb)


def test_scaled_lowrank_and_full_start_as_identity(x_BxD):
    for w in ("lowrank", "full", "channel", "scalar"):
        ya, yb = _pair("scaled", {"w": w, "beta": "channel"}, "identity", {}, x_BxD)
        np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6, err_msg=w)


def test_dense_resnet_is_identity_and_plain_is_none(x_BxD):
    for gran in ("edge", "channel", "neuron"):
        ya, yb = _pair("dense", {"granularity": gran}, "identity", {}, x_BxD)
        np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6, err_msg=gran)
        ya, yb = _pair("dense", {"granularity": gran, "preset": "plain"}, "none", {}, x_BxD)
        np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6, err_msg=gran)


def test_shared_dense_with_max_depth_is_identity(x_BxD):
    ya, yb = _pair("dense", {"max_depth": DEPTH}, "identity", {}, x_BxD, shared=True)
    np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6)


def test_gated_with_zero_gate_kernel_is_scaled(x_BxD):
    b = -1.3
    s = float(jax.nn.sigmoid(b))
    ya, yb = _pair(
        "gated",
        {"carry_bias": b, "gate_kernel_init": "zeros"},
        "scaled",
        {"beta_init": s, "w": "scalar", "w_init": 1.0 - s},
        x_BxD,
    )
    np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-6)


def test_rezero_starts_as_input(x_BxD):
    model = mlp_stack("rezero")
    variables = model.init(jax.random.key(0), x_BxD)
    np.testing.assert_array_equal(model.apply(variables, x_BxD), x_BxD)


def _dense_oracle(params, x, granularity, gates):
    """Explicit loops over layers and edges: h_{k+1} = Σ_j σ(G_j) A_j ⊙ h_j + σ(G) A ⊙ f(x)."""
    hist = [np.asarray(x, np.float64)]
    for k in range(DEPTH):
        blk = params[f"block_{k}"]["Dense_0"]
        fx = np.maximum(hist[-1] @ np.asarray(blk["kernel"]) + np.asarray(blk["bias"]), 0.0)
        conn = params[f"conn_{k}"]
        adj = np.asarray(conn["adjacency"], np.float64)
        out = np.zeros_like(fx)
        for j, s in enumerate([*hist, fx]):
            g = 1.0 / (1.0 + np.exp(-float(conn["gate_logits"][j]))) if gates else 1.0
            if granularity == "edge":
                out += g * adj[j] * s
            elif granularity == "channel":
                for c in range(s.shape[1]):
                    out[:, c] += g * adj[j, c] * s[:, c]
            else:
                out += g * s @ adj[j]
        hist.append(out)
    return hist[-1]


def test_dense_matches_brute_force_loops(x_BxD):
    for gran in ("edge", "channel", "neuron"):
        for gates in (False, True):
            model = mlp_stack("dense", granularity=gran, gates=gates, preset="uniform")
            params = model.init(jax.random.key(0), x_BxD)["params"]
            params = randomize(params, ("adjacency", "gate_logits"))
            got = model.apply({"params": params}, x_BxD)
            want = _dense_oracle(params, x_BxD, gran, gates)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{gran} {gates}")


CAUSAL_CASES = [
    ("none", {}, False),
    ("identity", {}, False),
    ("concat", {}, False),
    ("concat", {"project": True}, False),
    ("scaled", {"w": "full", "beta": "channel"}, False),
    ("rezero", {"beta_init": 0.5}, False),
    ("gated", {}, True),
    ("dense", {"granularity": "channel", "gates": True, "preset": "uniform"}, False),
    ("dense", {"granularity": "neuron", "preset": "uniform", "max_depth": DEPTH}, True),
]


def test_no_state_depends_on_a_later_layer(x_BxD):
    """d h_{k+1} / d θ_j = 0 for every block j > k, and != 0 for j <= k (so the test can fail)."""
    for family, opts, shared in CAUSAL_CASES:
        model = mlp_stack(family, shared=shared, activation="tanh", **opts)
        params = model.init(jax.random.key(0), x_BxD)["params"]

        def states(p, model=model):
            _, state = model.apply({"params": p}, x_BxD, mutable=["intermediates"])
            inter = state["intermediates"]
            if "conn" in inter:
                return list(inter["conn"]["state"])
            return [inter[f"conn_{k}"]["state"][0] for k in range(DEPTH)]

        for k in range(DEPTH):
            r = jax.random.normal(jax.random.key(k), states(params)[k].shape)
            grads = jax.grad(lambda p, k=k, r=r: jnp.sum(states(p)[k] * r))(params)  # noqa: B023
            for j in range(DEPTH):
                norm = sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads[f"block_{j}"]))
                if j > k:
                    assert norm == 0.0, (family, opts, k, j)
                else:
                    assert norm > 0.0, (family, opts, k, j)
