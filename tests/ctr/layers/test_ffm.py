"""FFM and FwFM pairwise terms against explicit field-aware pair loops."""

import jax
import numpy as np

from ctr.layers.ffm import FieldWeightedInteraction, ffm_interaction

B, F, D = 2, 4, 3
RNG = np.random.default_rng(0)


def test_ffm_matches_field_aware_loop():
    emb = RNG.normal(size=(B, F, F, D)).astype(np.float32)  # emb[:, i, j]: field i towards j
    want = np.zeros(B)
    for n in range(B):
        for i in range(F):
            for j in range(i + 1, F):
                want[n] += emb[n, i, j] @ emb[n, j, i]
    np.testing.assert_allclose(ffm_interaction(emb), want, rtol=1e-5, atol=1e-6)


def test_fwfm_matches_weighted_loop():
    emb = RNG.normal(size=(B, F, D)).astype(np.float32)
    layer = FieldWeightedInteraction()
    params = layer.init(jax.random.key(0), emb)["params"]
    r = RNG.normal(size=params["pair_weight"].shape).astype(np.float32)
    pairs = [(i, j) for i in range(F) for j in range(i + 1, F)]
    want = np.array(
        [sum(r[0, p] * (emb[n, i] @ emb[n, j]) for p, (i, j) in enumerate(pairs)) for n in range(B)]
    )
    got = layer.apply({"params": {"pair_weight": r}}, emb)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
