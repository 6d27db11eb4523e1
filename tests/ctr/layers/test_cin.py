"""CIN (xDeepFM) against a loop of einsums over output maps."""

import jax
import numpy as np

import resnets
from ctr.layers.cin import CIN, CINLayer

B, F, D = 2, 4, 3


def _emb(seed):
    return np.random.default_rng(seed).normal(size=(B, F, D)).astype(np.float32)


def _layer(p, x0_BxFxD, xk_BxHxD):
    """X^k_{h,*} = Σ_{i,j} W_{ijh} (X^{k-1}_{i,*} ⊙ X^0_{j,*}) + b_h, field-major layout."""
    w, b = np.asarray(p["kernel"]), np.asarray(p["bias"])[0, 0]
    out = np.zeros((B, w.shape[-1], D))
    for o in range(w.shape[-1]):
        for f in range(F):
            for h in range(xk_BxHxD.shape[1]):
                out[:, o] += w[f, h, o] * np.einsum("bd,bd->bd", x0_BxFxD[:, f], xk_BxHxD[:, h])
        out[:, o] += b[o]
    return out


def test_cin_layer_matches_loop():
    x0, xk = _emb(0), np.random.default_rng(1).normal(size=(B, 5, D)).astype(np.float32)
    layer = CINLayer(3)
    xk_BxDxH = np.swapaxes(xk, 1, 2)
    params = layer.init(jax.random.key(0), x0, xk_BxDxH)["params"]
    got = np.swapaxes(layer.apply({"params": params}, x0, xk_BxDxH), 1, 2)
    np.testing.assert_allclose(got, _layer(params, x0, xk), rtol=1e-5, atol=1e-5)


def test_cin_stack_pools_each_layer():
    x0 = _emb(2)
    cin = CIN((3, 2), resnets.get("none"))
    params = cin.init(jax.random.key(1), x0)["params"]
    x1 = _layer(params["cin_0"], x0, x0)
    x2 = _layer(params["cin_1"], x0, x1)
    want = np.concatenate([x1.sum(-1), x2.sum(-1)], axis=-1)
    np.testing.assert_allclose(cin.apply({"params": params}, x0), want, rtol=1e-5, atol=1e-5)


def test_cin_identity_projects_maps():
    x0 = _emb(3)
    out, variables = CIN((3, 3), resnets.get("identity")).init_with_output(jax.random.key(2), x0)
    assert out.shape == (B, 6)
    assert variables["params"]["conn_0"]["projection"]["kernel"].shape == (F, 3)
    assert "conn_1" not in variables["params"]  # equal widths: no projection
