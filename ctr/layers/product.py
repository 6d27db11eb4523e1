"""Pairwise products of field embeddings (PNN, Qu et al. 2016, sec. 3.1-3.3; FwFM; AFM; FiBiNET).

Pairs are i < j over the F embedded fields, in row-major order (P = F(F-1)/2):
  inner:    p_ij = <e_i, e_j>                        (IPNN product layer, FwFM, PNN's `p`)
  hadamard: p_ij = e_i ⊙ e_j                         (AFM's pair-wise interaction layer)
  outer:    p = f_Σ f_Σ^T, f_Σ = Σ_i e_i  (D x D)     (OPNN with superposition, eq. 14:
            Σ_{i,j} e_i e_j^T, all ordered pairs including i = j)
"""

from __future__ import annotations

import jax
import numpy as np


def pair_indices(num_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pairs i < j (static numpy, fine under jit)."""
    rows, cols = np.triu_indices(num_fields, k=1)
    return rows, cols


def hadamard_pairs(emb_BxFxD: jax.Array) -> jax.Array:
    """e_i ⊙ e_j for every pair i < j: prod_BxPxD."""
    rows, cols = pair_indices(emb_BxFxD.shape[1])
    return emb_BxFxD[:, rows] * emb_BxFxD[:, cols]


def inner_products(emb_BxFxD: jax.Array) -> jax.Array:
    """<e_i, e_j> for every pair i < j: prod_BxP."""
    return hadamard_pairs(emb_BxFxD).sum(axis=-1)


def outer_product_sum(emb_BxFxD: jax.Array) -> jax.Array:
    """Σ_{i,j} e_i e_j^T = f_Σ f_Σ^T (superposition): prod_BxDxD."""
    sum_BxD = emb_BxFxD.sum(axis=1)
    return sum_BxD[:, :, None] * sum_BxD[:, None, :]
