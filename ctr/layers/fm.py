"""Factorization-machine pairwise term (Rendle 2010, eq. 1 and the O(kn) form of Lemma 3.1).

bi_interaction(e) = 1/2 [(sum_f e_f)^2 - sum_f e_f^2]  (a D-vector; NFM's Bi-Interaction pooling)
fm_interaction(e) = sum over the D components = sum_{i<j} <e_i, e_j>
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def bi_interaction(emb_BxFxD: jax.Array) -> jax.Array:
    """sum_{i<j} e_i * e_j elementwise, via the sum-square trick: emb_BxD."""
    sum_BxD = emb_BxFxD.sum(axis=1)
    return 0.5 * (sum_BxD * sum_BxD - (emb_BxFxD * emb_BxFxD).sum(axis=1))


def fm_interaction(emb_BxFxD: jax.Array) -> jax.Array:
    """sum_{i<j} <e_i, e_j>: logits_B."""
    return bi_interaction(emb_BxFxD).sum(axis=-1)


def fm_interaction_bruteforce(emb_BxFxD: jax.Array) -> jax.Array:
    """The explicit pairwise sum, the oracle for the trick (tests only; O(F^2))."""
    f = emb_BxFxD.shape[1]
    return sum(
        jnp.sum(emb_BxFxD[:, i] * emb_BxFxD[:, j], axis=-1)
        for i in range(f)
        for j in range(i + 1, f)
    )
