"""Attentional Factorization Machine (Xiao et al. 2017, "Attentional Factorization Machines",
eq. 3-5).

logit = b + Σ_i w_i x_i  +  p^T Σ_{i<j} a_ij (e_i ⊙ e_j),
a_ij = softmax_{(i,j)}(h^T ReLU(W (e_i ⊙ e_j) + b))  (ctr.layers.attention.AttentionalPooling)

Residual slot: the linear + attention sum (ctr.layers.slots.Combine), published sum as built-in
shortcut; combine="sum" pins it. There is no tower, so `dag` has nothing to rewire (compat).
Defaults: BARS Frappe_x1 (attention_dim 128, attention dropout 0.1 / 0.1).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.attention import AttentionalPooling
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.slots import Combine
from resnets import ConnectionFactory


class AFM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    attention_dim: int = 128
    attention_dropout: tuple[float, float] = (0.1, 0.1)
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        pooling = AttentionalPooling(
            self.attention_dim, tuple(self.attention_dropout), name="attention"
        )
        pairs_B = pooling(emb_BxFxD, train=train)
        linear_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(linear_B, pairs_B, train=train)
