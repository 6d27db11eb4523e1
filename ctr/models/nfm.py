"""Neural Factorization Machine (He & Chua 2017, "Neural Factorization Machines", eq. 2-4).

logit = w_0 + Σ_i w_i x_i + Tower(f_BI),   f_BI = Σ_{i<j} e_i ⊙ e_j (Bi-Interaction pooling)

Residual slots:
  * every tower layer (`none` gives the published plain MLP; the first layer reads width D);
  * the linear + deep sum (ctr.layers.slots.Combine; combine="sum" pins the sum).
Defaults: BARS Frappe_x1 (hidden 400x3, dropout 0.4, no BatchNorm).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.fm import bi_interaction
from ctr.layers.slots import Combine
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class NFM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.4
    batch_norm: bool = False
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        tower = Tower(
            tuple(self.hidden), self.connection, self.activation, self.dropout, self.batch_norm,
            name="tower",
        )  # fmt: skip
        deep_B = tower(bi_interaction(emb_BxFxD), train=train, mask_B=batch.get("mask"))[:, 0]
        wide_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(wide_B, deep_B, train=train)
