"""FiBiNET (Huang et al. 2019, "FiBiNET: Combining Feature Importance and Bilinear feature
Interaction for Click-Through Rate Prediction", eq. 3-11; FuxiCTR FiBiNET).

V = SENET(E);  p = Bilinear(E), q = Bilinear(V) (field_all | field_each | field_interaction);
logit = b + Σ_i w_i x_i  +  Tower([vec(p); vec(q)])

Residual slots:
  * every tower layer (`none` gives the published plain MLP);
  * the linear + deep sum (ctr.layers.slots.Combine; combine="sum" pins it).
Defaults: BARS Frappe_x1 (hidden 400x3, dropout 0.3, BatchNorm), FuxiCTR field_interaction and
reduction ratio 3.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ctr.features import FeatureSpec
from ctr.layers.embedding import FeatureEmbedding, LinearTerm
from ctr.layers.senet import SENET, Bilinear
from ctr.layers.slots import Combine
from ctr.layers.tower import Tower
from resnets import ConnectionFactory


class FiBiNET(nn.Module):
    spec: FeatureSpec
    connection: ConnectionFactory
    embedding_dim: int = 10
    bilinear_type: str = "field_interaction"
    reduction_ratio: float = 3.0
    hidden: tuple[int, ...] = (400, 400, 400)
    activation: str = "relu"
    dropout: float = 0.3
    batch_norm: bool = True
    combine: str = "connection"  # ctr.layers.slots.COMBINE

    @nn.compact
    def __call__(self, batch: dict[str, jax.Array], *, train: bool = False) -> jax.Array:
        emb_BxFxD = FeatureEmbedding(self.spec, dim=self.embedding_dim, name="embedding")(batch)
        b = emb_BxFxD.shape[0]
        senet_BxFxD = SENET(self.reduction_ratio, name="senet")(emb_BxFxD)
        p_BxPxD = Bilinear(self.bilinear_type, name="bilinear")(emb_BxFxD)
        q_BxPxD = Bilinear(self.bilinear_type, name="bilinear_senet")(senet_BxFxD)
        x = jnp.concatenate([p_BxPxD.reshape(b, -1), q_BxPxD.reshape(b, -1)], axis=-1)
        tower = Tower(
            tuple(self.hidden), self.connection, self.activation, self.dropout, self.batch_norm,
            name="tower",
        )  # fmt: skip
        deep_B = tower(x, train=train, mask_B=batch.get("mask"))[:, 0]
        wide_B = LinearTerm(self.spec, name="linear")(batch)
        combine = Combine(self.connection, self.combine, name="combine")
        return combine(wide_B, deep_B, train=train)
