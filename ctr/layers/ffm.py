"""Field-aware FM (Juan et al. 2016, eq. 2) and field-weighted FM (Pan et al. 2018, eq. 3).

FFM:  φ = Σ_{i<j} <e_{i, f_j}, e_{j, f_i}>, one embedding of field i per other field f_j.
FwFM: φ = Σ_{i<j} <e_i, e_j> r_{f_i, f_j}, one learned scalar per field pair.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.layers.product import inner_products, pair_indices


def ffm_interaction(emb_BxFxFxD: jax.Array) -> jax.Array:
    """Σ_{i<j} <e_{i,j}, e_{j,i}> where emb[:, i, j] is field i's embedding aimed at field j."""
    rows, cols = pair_indices(emb_BxFxFxD.shape[1])
    return (emb_BxFxFxD[:, rows, cols] * emb_BxFxFxD[:, cols, rows]).sum(axis=(1, 2))


class FieldWeightedInteraction(nn.Module):
    """FwFM pairwise term Σ_{i<j} r_ij <e_i, e_j>: logits_B."""

    @nn.compact
    def __call__(self, emb_BxFxD: jax.Array) -> jax.Array:
        prod_BxP = inner_products(emb_BxFxD)
        r = self.param("pair_weight", nn.initializers.ones, (1, prod_BxP.shape[-1]))
        return (prod_BxP * r).sum(axis=-1)
