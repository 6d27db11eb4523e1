"""Field-aware Factorization Machine (Juan et al. 2016, "Field-aware Factorization Machines in a
Real-world Online Advertising System", eq. 2).

logit = b + Σ_i w_i x_i  +  Σ_{i<j} <e_{i, f_j}, e_{j, f_i}>
Each field keeps F embeddings of width D, one per field it meets (a table of width F·D, named
table_* so the embedding regularizer sees it).

Residual slot: the linear + pairwise sum (ctr.layers.slots.Combine), published sum as built-in
shortcut; combine="sum" pins it. There is no tower, so `dag` has nothing to rewire (compat).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.ffm import ffm_interaction
from ctr.layers.slots import Combine
from resnets import ConnectionFactory


class FFM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        f = len(self.spec.categorical) + len(self.spec.multihot) + len(self.spec.numeric)
        d = self.embedding_dim
        emb = FeatureEmbedding(self.spec, dim=f * d, name="embedding")(batch)
        pairs_B = ffm_interaction(emb.reshape(emb.shape[0], f, f, d))
        linear_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(linear_B, pairs_B, train=train)
