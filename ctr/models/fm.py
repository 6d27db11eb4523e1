"""Factorization machine (Rendle 2010, eq. 1).

logit = b + sum_f w_f[id_f] + sum_{i<j} <e_i, e_j>   (LinearTerm + fm_interaction).
No residual slot: the connection is accepted for the uniform model contract and ignored.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.fm import fm_interaction
from resnets import ConnectionFactory


class FM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        del train
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        return LinearTerm(self.spec, name="linear")(batch) + fm_interaction(emb_BxFxD)
