"""xDeepFM (Lian et al. 2018, "xDeepFM: Combining Explicit and Implicit Feature Interactions
for Recommender Systems", eq. 8).

logit = w_linear^T x + b  +  w_cin^T p^+ + b_cin  +  Tower([e_1; ...; e_F])
with p^+ the sum-pooled CIN feature maps (ctr.layers.cin, eq. 6-7).

Residual slots:
  * the CIN layers: h_{k+1} = connection(hist, CIN_k(h_k)) over the H_k feature maps
    (published: no shortcut, `none`); fixed width, `concat` projects;
  * every deep tower layer (`none` gives the published plain MLP);
  * the linear + (CIN + deep) sum (ctr.layers.slots.Combine; combine="sum" pins the sum).
Defaults: BARS Frappe_x1 (hidden 400x3, dropout 0.2, BatchNorm), FuxiCTR CIN units (16, 16, 16).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.cin import CIN
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.slots import Combine
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class XDeepFM(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    cin_units: tuple[int, ...] = (16, 16, 16)
    hidden: tuple[int, ...] = (400, 400, 400)  # () gives LR + CIN
    activation: str = "relu"
    dropout: float = 0.2
    batch_norm: bool = True
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        pooled = CIN(tuple(self.cin_units), self.connection, name="cin")(emb_BxFxD, train=train)
        deep_B = nn.Dense(1, name="cin_out")(pooled)[:, 0]
        if self.hidden:
            tower = Tower(
                tuple(self.hidden), self.connection, self.activation, self.dropout,
                self.batch_norm, name="tower",
            )  # fmt: skip
            x_BxI = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
            deep_B = deep_B + tower(x_BxI, train=train, mask_B=batch.get("mask"))[:, 0]
        wide_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(wide_B, deep_B, train=train)
