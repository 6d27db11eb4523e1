"""FiBiNET's SENET against its formula and the three bilinear types against pair loops."""

import jax
import numpy as np
import pytest

from ctr.layers.senet import SENET, Bilinear

B, F, D = 2, 6, 3
EMB = np.random.default_rng(0).normal(size=(B, F, D)).astype(np.float32)
PAIRS = [(i, j) for i in range(F) for j in range(i + 1, F)]


def test_senet_matches_formula():
    layer = SENET(reduction_ratio=3)
    p = layer.init(jax.random.key(0), EMB)["params"]
    w1, w2 = np.asarray(p["Dense_0"]["kernel"]), np.asarray(p["Dense_1"]["kernel"])
    assert w1.shape == (F, 2)
    z = EMB.mean(-1)
    a = np.maximum(np.maximum(z @ w1, 0) @ w2, 0)
    np.testing.assert_allclose(layer.apply({"params": p}, EMB), EMB * a[:, :, None], rtol=1e-5)


@pytest.mark.parametrize("kind", ["field_all", "field_each", "field_interaction"])
def test_bilinear_matches_loop(kind):
    layer = Bilinear(kind)
    p = layer.init(jax.random.key(1), EMB)["params"]
    k = np.asarray(p["kernel"])
    assert k.shape[0] == {"field_all": 1, "field_each": F, "field_interaction": len(PAIRS)}[kind]
    want = np.zeros((B, len(PAIRS), D))
    for n in range(B):
        for q, (i, j) in enumerate(PAIRS):
            w = k[{"field_all": 0, "field_each": i, "field_interaction": q}[kind]]
            want[n, q] = (EMB[n, i] @ w) * EMB[n, j]
    np.testing.assert_allclose(layer.apply({"params": p}, EMB), want, rtol=1e-5, atol=1e-6)
