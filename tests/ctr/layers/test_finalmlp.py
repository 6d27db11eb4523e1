"""FinalMLP feature gating and multi-head bilinear fusion against their formulas."""

import jax
import numpy as np

import resnets
from ctr.layers.finalmlp import BilinearFusion, FeatureGate

RNG = np.random.default_rng(0)


def test_feature_gate_matches_formula():
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    ctx = RNG.normal(size=(3, 4)).astype(np.float32)
    layer = FeatureGate((5,), resnets.get("none"))
    p = layer.init(jax.random.key(0), x, ctx)["params"]["gate"]
    k0, b0 = (
        np.asarray(p["block_0"]["Dense_0"]["kernel"]),
        np.asarray(p["block_0"]["Dense_0"]["bias"]),
    )
    k1, b1 = np.asarray(p["out"]["kernel"]), np.asarray(p["out"]["bias"])
    gate = 2 / (1 + np.exp(-(np.maximum(ctx @ k0 + b0, 0) @ k1 + b1)))
    got = layer.apply({"params": {"gate": p}}, x, ctx)
    np.testing.assert_allclose(got, gate * x, rtol=1e-5, atol=1e-6)


def test_feature_gate_without_context_starts_at_one():
    """A zero learned context and a zero out-layer give gates 2σ(0) = 1 (FuxiCTR's start)."""
    x = RNG.normal(size=(3, 6)).astype(np.float32)
    layer = FeatureGate((5,), resnets.get("none"))
    params = layer.init(jax.random.key(1), x, None)["params"]
    params = jax.tree.map(np.zeros_like, params)
    np.testing.assert_allclose(layer.apply({"params": params}, x, None), x, rtol=1e-6)


def test_bilinear_fusion_matches_per_head_loop():
    o1, o2 = RNG.normal(size=(3, 6)).astype(np.float32), RNG.normal(size=(3, 4)).astype(np.float32)
    layer = BilinearFusion(num_heads=2)
    p = layer.init(jax.random.key(2), o1, o2)["params"]
    w3 = np.asarray(p["w_xy"])
    want = (o1 @ np.asarray(p["w_x"]["kernel"]) + np.asarray(p["w_x"]["bias"]))[:, 0]
    want += (o2 @ np.asarray(p["w_y"]["kernel"]) + np.asarray(p["w_y"]["bias"]))[:, 0]
    for n in range(3):
        for h in range(2):
            want[n] += o1[n, 3 * h : 3 * h + 3] @ w3[h] @ o2[n, 2 * h : 2 * h + 2]
    np.testing.assert_allclose(layer.apply({"params": p}, o1, o2), want, rtol=1e-5, atol=1e-5)
