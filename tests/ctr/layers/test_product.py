"""Pairwise product layers (PNN inner/outer, AFM's hadamard pairs) against explicit loops."""

import numpy as np

from ctr.layers.product import hadamard_pairs, inner_products, outer_product_sum

B, F, D = 2, 5, 3
EMB = np.random.default_rng(0).normal(size=(B, F, D)).astype(np.float32)
PAIRS = [(i, j) for i in range(F) for j in range(i + 1, F)]


def test_inner_products_match_loop():
    want = np.stack([[EMB[n, i] @ EMB[n, j] for i, j in PAIRS] for n in range(B)])
    np.testing.assert_allclose(inner_products(EMB), want, rtol=1e-5, atol=1e-6)


def test_hadamard_pairs_match_loop():
    want = np.stack([[EMB[n, i] * EMB[n, j] for i, j in PAIRS] for n in range(B)])
    np.testing.assert_allclose(hadamard_pairs(EMB), want, rtol=1e-6)


def test_outer_product_is_sum_over_all_field_pairs():
    want = np.stack(
        [sum(np.outer(EMB[n, i], EMB[n, j]) for i in range(F) for j in range(F)) for n in range(B)]
    )
    np.testing.assert_allclose(outer_product_sum(EMB), want, rtol=1e-5, atol=1e-5)
