"""Cross layers (DCN v1, v2, low-rank mixture) against per-example numpy loops."""

import jax
import numpy as np
import pytest

import resnets
from ctr.layers.cross import CrossMix, CrossNet, CrossV1, CrossV2

B, W = 3, 6


def _x(seed):
    return np.random.default_rng(seed).normal(size=(B, W)).astype(np.float32)


def _v1(p, x0, x):
    w, b = np.asarray(p["kernel"])[:, 0], np.asarray(p["bias"])[0]
    return np.stack([x0[n] * (x[n] @ w) + b for n in range(B)])


def _v2(p, x0, x):
    k, b = np.asarray(p["dense"]["kernel"]), np.asarray(p["dense"]["bias"])
    return np.stack([x0[n] * (x[n] @ k + b) for n in range(B)])


def _mix(p, x0, x):
    u, v, c = (np.asarray(p[k]) for k in ("u", "v", "c"))
    bias, g = np.asarray(p["bias"])[0, 0], np.asarray(p["gate"]["kernel"])
    out = np.zeros((B, W))
    for n in range(B):
        logits = x[n] @ g
        gate = np.exp(logits - logits.max())
        gate /= gate.sum()
        for e in range(len(gate)):
            z = np.tanh(c[e].T @ np.tanh(v[e].T @ x[n]))
            out[n] += gate[e] * x0[n] * (u[e].T @ z + bias)
    return out


@pytest.mark.parametrize(
    "layer,oracle", [(CrossV1(), _v1), (CrossV2(), _v2), (CrossMix(3, 2), _mix)]
)
def test_cross_layer_matches_loop(layer, oracle):
    x0, x = _x(0), _x(1)
    params = layer.init(jax.random.key(0), x0, x)["params"]
    got = layer.apply({"params": params}, x0, x)
    np.testing.assert_allclose(got, oracle(params, x0, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind,oracle", [("v1", _v1), ("v2", _v2), ("mix", _mix)])
def test_crossnet_default_is_published_shortcut(kind, oracle):
    """family none keeps x_{l+1} = f(x_l) + x_l; builtin_shortcut=False gives f(x_l) only."""
    x0 = _x(2)
    for builtin in (True, False):
        net = CrossNet(2, resnets.get("none"), kind, 3, 2, builtin_shortcut=builtin)
        params = net.init(jax.random.key(1), x0)["params"]
        x = x0
        for i in range(2):
            x = oracle(params[f"cross_{i}"], x0, x) + (x if builtin else 0.0)
        np.testing.assert_allclose(net.apply({"params": params}, x0), x, rtol=1e-5, atol=1e-6)


def test_crossnet_identity_equals_none_default():
    x0 = _x(3)
    plain = CrossNet(3, resnets.get("none"))
    ident = CrossNet(3, resnets.get("identity"))
    params = plain.init(jax.random.key(2), x0)
    np.testing.assert_array_equal(plain.apply(params, x0), ident.apply(params, x0))


def test_crossnet_concat_keeps_width():
    x0 = _x(4)
    net = CrossNet(3, resnets.get("concat"), "v2")
    out, _ = net.init_with_output(jax.random.key(3), x0)
    assert out.shape == (B, W)
