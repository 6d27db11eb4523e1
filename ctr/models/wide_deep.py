"""Wide & Deep (Cheng et al. 2016, "Wide & Deep Learning for Recommender Systems", eq. 3).

logit = w_wide^T x + b  +  Tower([e_1; ...; e_F])   (FuxiCTR WideDeep: LR + DNN)

Residual slots:
  * every tower layer (`none` gives the published plain MLP);
  * the wide + deep sum (ctr.layers.slots.Combine): connection([wide], deep) on width-1 states,
    the published sum being its built-in shortcut; combine="sum" pins the sum for every family.
Defaults: BARS Frappe_x1 (hidden 400x3, dropout 0.6, BatchNorm).
"""

from __future__ import annotations

import flax.linen as nn
import jax

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.slots import Combine
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class WideDeep(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.6
    batch_norm: bool = True
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        tower = Tower(
            tuple(self.hidden), self.connection, self.activation, self.dropout, self.batch_norm,
            name="tower",
        )  # fmt: skip
        x_BxI = emb_BxFxD.reshape(emb_BxFxD.shape[0], -1)
        deep_B = tower(x_BxI, train=train, mask_B=batch.get("mask"))[:, 0]
        wide_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(wide_B, deep_B, train=train)
